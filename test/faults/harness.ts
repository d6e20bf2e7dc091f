/**
 * The fault suite's harness: the whole system as production runs it, on this machine.
 *
 * - three pollers `api1`, `api2`, `api3`, each `poller start` (the built bin/poller.js) in a process group of
 *   its own, each with its OWN private redis-server started here (AOF on unless a test says otherwise);
 * - one sqld (Turso's server) with Ed25519 token auth: TURSO_DATABASE_URL http://127.0.0.1:PORT + TURSO_AUTH_TOKEN;
 * - the publishing remote: a bare repository created here (`git init --bare`; no role creates one), served over
 *   git smart HTTP with a GITHUB_TOKEN (test/support/git-http-server.ts) behind a TCP gate that a test can close
 *   and open again on the same port (the HTTP server gone and back);
 * - the local vendor fleet in the test process, on a small catalogue (2 coins x 3 dealers per poller).
 *
 * A test may run fewer pollers (`pollers`) and give them a `file:` database instead of sqld (`fileDatabase`).
 *
 * Rows are counted from a FRESH libSQL client every time (never a writer's: a writer may believe in rows that never
 * committed). A run is one scheduler iteration of one target: its row has the key `apiN/repeat:apiN:coin:vendor:DUE`,
 * DUE = k x interval + the scheduler's offset (queues/scrape-schedulers.ts plans the offsets), so the runs a
 * window should hold are known in advance and the rows found are matched against them key by key.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClient } from '@libsql/client';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../../src/catalogue/load.js';
import type { CatalogueFile } from '../../src/catalogue/schema.js';
import { CONFIG_VARIABLES, defaultStaggerMs } from '../../src/config/env.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../../src/fleet/index.js';
import { freePort, redisAnswers, startRedisServer, type RedisServerHandle } from '../../src/redis/redis-server.js';
import { planSchedulers, type PlannedScheduler } from '../../queues/scrape-schedulers.js';
import { scrapeQueueName } from '../../queues/names.js';
import { startGitHttpServer, type GitHttpServer } from '../support/git-http-server.js';
import { startSqld, type SqldHandle } from '../support/sqld.js';

export const POLLER_BIN = resolve('bin/poller.js');
export const POLLERS = ['api1', 'api2', 'api3'] as const;
export type PollerId = (typeof POLLERS)[number];
/** SCRAPE_INTERVAL_MINUTES=1: the shortest cycle the configuration accepts. */
export const INTERVAL_MS = 60_000;
/** WORKER_LOCK_MS: a crashed worker's job runs again within 1.5 x this. */
export const LOCK_MS = 3000;
export const COINS = ['age', 'ase'];
export const VENDORS = ['apmex', 'jmbullion', 'sdbullion'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------
// Processes

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<number | null>;
  alive(): boolean;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/**
 * Every process group this module started. Killed if the test process ends without a teardown (exit, a signal, or
 * vitest's IPC channel gone): the pollers run detached, and would outlive it.
 */
const groups = new Set<number>();
function killAllGroups(): void {
  for (const pid of groups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  groups.clear();
}
process.once('exit', killAllGroups);
process.once('disconnect', killAllGroups);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllGroups();
    process.kill(process.pid, signal);
  });
}

/** `node bin/poller.js ...args` in a process group of its own (a host, for a kill), its output kept and logged to a file. */
export function spawnPollerGroup(name: string, args: string[], env: Record<string, string>, logFile: string): Proc {
  const child = spawn(process.execPath, [POLLER_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid!;
  groups.add(pid);
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    const s = d.toString();
    out += s;
    try {
      appendFileSync(logFile, s);
    } catch {
      /* the folder may be gone at teardown */
    }
    for (const w of waiters) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code, signal) => {
      groups.delete(pid);
      r(code ?? (signal ? -1 : null));
    }),
  );
  return {
    name,
    child,
    pid,
    exited,
    output: () => out,
    alive: () => child.exitCode === null && child.signalCode === null,
    waitFor(pattern, timeoutMs = 45_000) {
      return new Promise((resolveFn, reject) => {
        let done = false;
        const finish = (err?: Error) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolveFn();
        };
        const timer = setTimeout(() => finish(new Error(`${name}: timed out waiting for ${pattern}; output:\n${tail(out)}`)), timeoutMs);
        const check = () => {
          if (pattern.test(out)) finish();
        };
        waiters.add(check);
        check();
        void exited.then(() => {
          if (!pattern.test(out)) finish(new Error(`${name} exited before ${pattern}; output:\n${tail(out)}`));
        });
      });
    },
  };
}

export function tail(text: string, lines = 40): string {
  return text.split('\n').slice(-lines).join('\n');
}

/** SIGKILL to a whole process group (the poller and every git it runs): a host gone. */
export async function killGroup(p: Proc): Promise<void> {
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  await p.exited;
}

/** SIGTERM (a clean stop, exit 0), SIGKILL to the group if it takes longer than `graceMs`. */
export async function stopProc(p: Proc, graceMs = 15_000): Promise<number | null> {
  if (!p.alive()) return p.exited;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    /* gone */
  }
  const code = await Promise.race([p.exited, sleep(graceMs).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    await killGroup(p);
    return -1;
  }
  return code;
}

// ---------------------------------------------------------------------------------------------------------------
// The git remote behind a gate

/** A TCP forwarder on a fixed port: close() is the git server gone (connections refused), open() brings it back. */
export class Gate {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  get isOpen(): boolean {
    return this.server !== null;
  }

  async open(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = createConnection(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    for (let attempt = 0; ; attempt++) {
      try {
        await new Promise<void>((ok, fail) => {
          server.once('error', fail);
          server.listen(this.port, '127.0.0.1', () => {
            server.off('error', fail);
            ok();
          });
        });
        break;
      } catch (err) {
        if (attempt > 50) throw err;
        await sleep(100);
      }
    }
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }
}

export function git(gitDir: string, ...args: string[]): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function gitOrNull(gitDir: string, ...args: string[]): string | null {
  try {
    return git(gitDir, ...args);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The system

export interface PollerHost {
  id: PollerId;
  redis: RedisServerHandle;
  redisDir: string;
  persist: boolean;
  apiPort: number;
  proc: Proc | null;
  /** Extra `poller worker` processes of this host. */
  workers: Proc[];
  env: Record<string, string>;
}

export interface SystemOptions {
  label: string;
  /** Redis persistence per poller (AOF); default on, as deploy/redis.conf runs it. */
  persist?: Partial<Record<PollerId, boolean>>;
  /** PUBLISH_DIR per poller (e.g. a tmpfs); default a folder of the run. */
  publishDir?: Partial<Record<PollerId, string>>;
  /** Extra environment for every poller. */
  env?: Record<string, string>;
  /** The pollers to run (default all three); hosts holds only these. */
  pollers?: readonly PollerId[];
  /**
   * A `file:` database (an embedded libSQL file, as a single poller runs by default) instead of sqld: the pollers get
   * TURSO_DATABASE_URL=this and no TURSO_AUTH_TOKEN, and no sqld is started (`sys.sqld` throws). Default: sqld.
   */
  fileDatabase?: string;
}

export interface System {
  dir: string;
  fleet: FleetHandle;
  catalogue: Catalogue;
  /** The sqld of the system; throws when it runs on a file database (SystemOptions.fileDatabase). */
  sqld: SqldHandle;
  /** What the pollers write to, for a fresh reader: sqld's URL and token, or the `file:` URL. */
  database: { url: string; authToken?: string };
  /** The pollers this system runs (hosts holds only these). */
  pollers: readonly PollerId[];
  gitServer: GitHttpServer;
  gate: Gate;
  /** The bare repository the HTTP server serves. */
  bare: string;
  remoteUrl: string;
  githubToken: string;
  hosts: Record<PollerId, PollerHost>;
  /** When every poller's schedulers were in Redis: runs due after it must all have a row. */
  readyAt: number;
  startPoller(id: PollerId, extraEnv?: Record<string, string>): Promise<Proc>;
  stopPoller(id: PollerId): Promise<number | null>;
  /** A host down: SIGKILL the poller's process group (and its extra workers), then its Redis. */
  killHost(id: PollerId): Promise<void>;
  spawnWorker(id: PollerId): Promise<Proc>;
  killRedis(id: PollerId): Promise<void>;
  restartRedis(id: PollerId): Promise<void>;
  redisConnection(id: PollerId): Redis;
  health(id: PollerId): Promise<{ code: number; status: string; problems: string[]; body: Record<string, unknown> }>;
  /** Every poller process's output so far (for secrets and error checks). */
  allOutput(): string;
  stop(): Promise<void>;
}

/** Catalogue of the suite: 2 coins x 3 dealers (6 targets a poller, 18 runs a minute over the three). */
export async function smallCatalogue(): Promise<CatalogueFile> {
  const real = await loadCatalogue('config/providers.json');
  const file = structuredClone(real.file);
  file.coins = Object.fromEntries(
    COINS.map((slug) => [slug, { ...file.coins[slug], providers: file.coins[slug].providers.filter((p) => VENDORS.includes(p.id) && p.enabled !== false) }]),
  );
  return file;
}

export async function startSystem(options: SystemOptions): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), `poller-faults-${options.label}-`));
  const githubToken = `ghs_Faults${randomBytes(12).toString('hex')}`;
  const started: Array<() => Promise<void>> = [];
  const pollers = options.pollers ?? POLLERS;
  try {
    const fileDatabase = options.fileDatabase;
    if (fileDatabase !== undefined && !fileDatabase.startsWith('file:')) throw new Error(`fileDatabase must be a file: URL, got ${fileDatabase}`);
    const [sqld, fleet] = await Promise.all([
      fileDatabase ? null : startSqld(dir, { auth: true }),
      smallCatalogue().then((c) => startFleet({ catalogue: c, latencyMs: [30, 200], seed: 7 })),
    ]);
    if (sqld) started.push(() => sqld.stop());
    started.push(() => fleet.close());
    const database = sqld ? { url: sqld.url, authToken: sqld.token } : { url: fileDatabase! };
    const file = rewriteCatalogueForFleet(await smallCatalogue(), fleet.url);
    const cataloguePath = join(dir, 'providers.json');
    writeFileSync(cataloguePath, JSON.stringify(file, null, 2));
    const catalogue = parseCatalogue(JSON.stringify(file), cataloguePath);
    const vendorsPath = join(dir, 'vendors.json');
    // Politeness off: the fleet is ours, and a cycle must end in seconds.
    writeFileSync(vendorsPath, JSON.stringify({ defaults: { rateLimit: null, timeoutMs: 10_000 }, vendors: {} }));

    // The remote: a bare repository made here, served over HTTP with a token, behind a gate.
    const root = join(dir, 'git-root');
    const bare = join(root, 'remote.git');
    mkdirSync(root, { recursive: true });
    execFileSync('git', ['init', '--bare', '--quiet', bare]);
    git(bare, 'config', 'http.receivepack', 'true');
    const gitServer = await startGitHttpServer({ projectRoot: root, token: githubToken });
    started.push(() => gitServer.stop());
    const gate = new Gate(await freePort(), Number(new URL(gitServer.url).port));
    await gate.open();
    started.push(() => gate.close());
    const remoteUrl = `http://127.0.0.1:${gate.port}/remote.git`;

    const hosts = {} as Record<PollerId, PollerHost>;
    for (const id of pollers) {
      const persist = options.persist?.[id] ?? true;
      const redisDir = join(dir, id, 'redis');
      const redis = await startRedisServer({ dir: redisDir, persist });
      const apiPort = await freePort();
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => v !== undefined && !CONFIG_VARIABLES.includes(k))) as Record<string, string>;
      const env: Record<string, string> = {
        ...clean,
        POLLER_ID: id,
        REDIS_URL: redis.url,
        TURSO_DATABASE_URL: database.url,
        ...(database.authToken ? { TURSO_AUTH_TOKEN: database.authToken } : {}),
        CATALOGUE_PATH: cataloguePath,
        VENDORS_PATH: vendorsPath,
        CATALOGUE_WATCH_MS: '0',
        RECOVERY_LOG_DIR: join(dir, id, 'recovery'),
        DATA_DIR: join(dir, id, 'data'),
        SCRAPE_INTERVAL_MINUTES: String(INTERVAL_MS / 60_000),
        SCRAPE_TIMEOUT_MS: '15000',
        WORKER_LOCK_MS: String(LOCK_MS),
        SHUTDOWN_GRACE_MS: '3000',
        SCHEDULER_CHECK_SECONDS: '5',
        EXPORT_MIN_INTERVAL_MS: '2000',
        EXPORT_EVERY_MINUTES: '1',
        MERGE_EVERY_MINUTES: '1',
        SNAPSHOT_EVERY_HOURS: '0',
        API_HOST: '127.0.0.1',
        API_PORT: String(apiPort),
        API_DATA_REPO: remoteUrl,
        GITHUB_TOKEN: githubToken,
        PUBLISH_DIR: options.publishDir?.[id] ?? join(dir, id, 'publish'),
        LOG_LEVEL: 'info',
        ...options.env,
      };
      hosts[id] = { id, redis, redisDir, persist, apiPort, proc: null, workers: [], env };
    }

    const logFile = (name: string) => join(dir, `${name}.log`);
    const sys: System = {
      dir,
      fleet,
      catalogue,
      get sqld(): SqldHandle {
        if (!sqld) throw new Error(`no sqld in this system: its pollers write to ${database.url}`);
        return sqld;
      },
      database,
      pollers,
      gitServer,
      gate,
      bare,
      remoteUrl,
      githubToken,
      hosts,
      readyAt: 0,
      async startPoller(id, extraEnv = {}) {
        const host = hosts[id];
        const proc = spawnPollerGroup(id, ['start'], { ...host.env, ...extraEnv }, logFile(id));
        host.proc = proc;
        await proc.waitFor(/poller api\d running/, 60_000);
        return proc;
      },
      async stopPoller(id) {
        const host = hosts[id];
        const code = host.proc ? await stopProc(host.proc) : null;
        return code;
      },
      async killHost(id) {
        const host = hosts[id];
        await Promise.all([...host.workers, ...(host.proc ? [host.proc] : [])].map(killGroup));
        await sys.killRedis(id);
      },
      async spawnWorker(id) {
        const host = hosts[id];
        const proc = spawnPollerGroup(`${id}-worker${host.workers.length + 1}`, ['worker'], host.env, logFile(`${id}-worker${host.workers.length + 1}`));
        host.workers.push(proc);
        await proc.waitFor(/scrape workers started/, 60_000);
        // `ready` comes after the log line: give the BullMQ workers a moment to block on their queues.
        await sleep(500);
        return proc;
      },
      async killRedis(id) {
        const host = hosts[id];
        const pid = await redisPid(host.redis.url);
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
        await host.redis.stop(); // resolves on exit
      },
      async restartRedis(id) {
        const host = hosts[id];
        host.redis = await startRedisServer({ dir: host.redisDir, port: host.redis.port, persist: host.persist });
      },
      redisConnection(id) {
        const r = new Redis(hosts[id].redis.url, { maxRetriesPerRequest: 1, lazyConnect: false });
        r.on('error', () => undefined);
        return r;
      },
      async health(id) {
        const res = await fetch(`http://127.0.0.1:${hosts[id].apiPort}/healthz`, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as Record<string, unknown>;
        return { code: res.status, status: String(body.status), problems: (body.problems as string[]) ?? [], body };
      },
      allOutput() {
        return pollers.map((id) => {
          const h = hosts[id];
          return [h.proc?.output() ?? '', ...h.workers.map((w) => w.output())].join('\n');
        }).join('\n');
      },
      async stop() {
        for (const id of pollers) {
          const h = hosts[id];
          await Promise.all([...h.workers, ...(h.proc ? [h.proc] : [])].map((p) => stopProc(p, 8000)));
        }
        await Promise.all(pollers.map((id) => hosts[id].redis.stop().catch(() => undefined)));
        for (const stop of started.reverse()) await stop().catch(() => undefined);
        if (!process.env.FAULTS_KEEP) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        else console.log(`[faults] kept ${dir}`);
      },
    };
    // api1 first (it creates the schema), then the two others together, as hosts come up in any order.
    await sys.startPoller(pollers[0]);
    await Promise.all(pollers.slice(1).map((id) => sys.startPoller(id)));
    sys.readyAt = Date.now();
    return sys;
  } catch (err) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

async function redisPid(url: string): Promise<number | null> {
  if (!(await redisAnswers(url, 500))) return null;
  const r = new Redis(url, { maxRetriesPerRequest: 1 });
  r.on('error', () => undefined);
  try {
    const info = await r.info('server');
    const m = /process_id:(\d+)/.exec(info);
    return m ? Number(m[1]) : null;
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Runs, rows, counting

export interface Slot {
  key: string;
  poller: PollerId;
  coin: string;
  vendor: string;
  due: number;
}

const plans = new Map<string, PlannedScheduler[]>();
export function planOf(sys: Pick<System, 'catalogue'>, poller: PollerId): PlannedScheduler[] {
  let p = plans.get(poller);
  if (!p) plans.set(poller, (p = planSchedulers(sys.catalogue.targets, { pollerId: poller, intervalMs: INTERVAL_MS, staggerMs: defaultStaggerMs(poller, INTERVAL_MS) % INTERVAL_MS, spread: true })));
  return p;
}

export interface RunWindow {
  /** Runs due after `from` and at or before `to` (epoch ms). */
  from: number;
  to: number;
  pollers: readonly PollerId[];
  /** Runs that are not expected: a host down, a Redis without persistence down over a due time. */
  exclude?: Array<{ poller: PollerId; from: number; to: number; why: string }>;
}

/** Every run (target x due time) of the window that should leave a row. */
export function expectedSlots(sys: Pick<System, 'catalogue'>, w: RunWindow): Slot[] {
  const out: Slot[] = [];
  for (const poller of w.pollers) {
    for (const s of planOf(sys, poller)) {
      const first = Math.floor((w.from - s.offset) / s.every) * s.every + s.offset;
      for (let due = first; due <= w.to; due += s.every) {
        if (due <= w.from) continue;
        if (w.exclude?.some((x) => x.poller === poller && due > x.from && due <= x.to)) continue;
        out.push({ key: `${poller}/repeat:${s.id}:${due}`, poller, coin: s.data.target.coin, vendor: s.data.target.vendor, due });
      }
    }
  }
  return out;
}

export interface DbRow {
  key: string;
  poller: string;
  coin: string;
  vendor: string;
  scrapedAt: string;
  failed: boolean;
  outcome: string | null;
}

/** Every row of the database, read with a fresh client (never a writer's). */
export async function readRows(sys: Pick<System, 'database'>): Promise<DbRow[]> {
  const client = createClient({ url: sys.database.url, authToken: sys.database.authToken });
  try {
    const res = await client.execute('SELECT idem_key, poller_id, coin_slug, vendor, scraped_at, is_failed, outcome FROM price_snapshots');
    return res.rows.map((r) => ({
      key: String(r.idem_key),
      poller: String(r.poller_id),
      coin: String(r.coin_slug),
      vendor: String(r.vendor),
      scrapedAt: String(r.scraped_at),
      failed: Number(r.is_failed) === 1,
      outcome: r.outcome === null ? null : String(r.outcome),
    }));
  } finally {
    client.close();
  }
}

export interface RunCount {
  /** Poller cycles touched by the window (one cycle scrapes each target of a poller once). */
  runs: number;
  /** Target runs due in the window that should have a row. */
  expected: number;
  /** Of those, runs with a row. */
  found: number;
  lost: number;
  /** Rows beyond the first for one run (the same key twice, or two keys for one target's due time). */
  duplicated: number;
  missing: string[];
  /** Runs whose row records a failed scrape (still a row: the run is not lost). */
  failedRows: number;
}

const KEY = /^(api\d+)\/repeat:(api\d+):([^:]+):([^:]+):(\d+)$/;

export function countRuns(sys: Pick<System, 'catalogue'>, w: RunWindow, rows: DbRow[]): RunCount {
  const slots = expectedSlots(sys, w);
  const byKey = new Map<string, DbRow[]>();
  for (const r of rows) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  // One run = one (poller, target, due): two rows for it, whatever their keys, are a duplicate.
  const perRun = new Map<string, number>();
  for (const r of rows) {
    const m = KEY.exec(r.key);
    if (!m) continue;
    const plan = planOf(sys, m[1] as PollerId).find((p) => p.id === `${m[2]}:${m[3]}:${m[4]}`);
    const due = Number(m[5]);
    const slot = plan ? Math.round((due - plan.offset) / plan.every) : due;
    const run = `${m[1]}:${m[3]}:${m[4]}:${slot}`;
    perRun.set(run, (perRun.get(run) ?? 0) + 1);
  }
  let duplicated = 0;
  for (const n of perRun.values()) if (n > 1) duplicated += n - 1;
  for (const list of byKey.values()) if (list.length > 1) duplicated += list.length - 1;
  const missing = slots.filter((s) => !byKey.has(s.key)).map((s) => s.key);
  const cycles = new Set(slots.map((s) => `${s.poller}:${Math.floor((s.due - defaultStaggerMs(s.poller, INTERVAL_MS)) / INTERVAL_MS)}`));
  return {
    runs: cycles.size,
    expected: slots.length,
    found: slots.length - missing.length,
    lost: missing.length,
    duplicated,
    missing,
    failedRows: slots.filter((s) => byKey.get(s.key)?.some((r) => r.failed)).length,
  };
}

/** Counts, waiting (up to `timeoutMs`) for the last runs' rows to land. */
export async function settleAndCount(sys: System, w: RunWindow, timeoutMs = 30_000): Promise<RunCount> {
  const deadline = Date.now() + timeoutMs;
  // Nothing can be in before its due time: wait for the last due time of the window.
  if (w.to > Date.now()) await sleep(w.to - Date.now());
  for (;;) {
    const c = countRuns(sys, w, await readRows(sys).catch(() => []));
    if (c.lost === 0 || Date.now() > deadline) return c;
    await sleep(500);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Waiting and timing

export async function waitUntil(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, pollMs = 250): Promise<number> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await check();
    } catch {
      ok = false;
    }
    if (ok) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(pollMs);
  }
}

export { sleep };

/** The next due time of a poller's runs after `after` + `leadMs`, and the targets due then. */
export function nextDue(sys: Pick<System, 'catalogue'>, poller: PollerId, after = Date.now(), leadMs = 0): { due: number; targets: PlannedScheduler[] } {
  const from = after + leadMs;
  let best = Infinity;
  for (const s of planOf(sys, poller)) {
    const due = Math.ceil((from - s.offset) / s.every) * s.every + s.offset;
    if (due < best) best = due;
  }
  return { due: best, targets: planOf(sys, poller).filter((s) => (best - s.offset) % s.every === 0) };
}

/** Sleeps until `at` (epoch ms). */
export async function until(at: number): Promise<void> {
  const ms = at - Date.now();
  if (ms > 0) await sleep(ms);
}

/** Waits for the first rows of every poller: the system is flowing. */
export async function waitFlowing(sys: System, timeoutMs = 45_000): Promise<void> {
  await waitUntil(
    'a row from every poller',
    async () => {
      const rows = await readRows(sys);
      return sys.pollers.every((p) => rows.some((r) => r.poller === p));
    },
    timeoutMs,
    500,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The published side

export interface Manifest {
  generated_at: string;
  latest_window: string | null;
}

export function manifestAt(sys: Pick<System, 'bare'>, ref: string): Manifest | null {
  const text = gitOrNull(sys.bare, 'show', `${ref}:data/api/manifest.json`);
  return text ? (JSON.parse(text) as Manifest) : null;
}

/** Age in seconds of the newest price on `ref` (the manifest's generated_at comes from the data, not the clock). */
export function newestPriceAge(sys: Pick<System, 'bare'>, ref = 'main'): number | null {
  const m = manifestAt(sys, ref);
  return m ? (Date.now() - Date.parse(m.generated_at)) / 1000 : null;
}

export function headOf(sys: Pick<System, 'bare'>, ref: string): string | null {
  return gitOrNull(sys.bare, 'rev-parse', '--verify', '--quiet', `refs/heads/${ref}`);
}

/** Newest scraped_at of a poller's priced rows (ISO), or of all pollers. */
export function newestScrape(rows: DbRow[], poller?: string): string | null {
  const mine = rows.filter((r) => (!poller || r.poller === poller) && !r.failed);
  return mine.map((r) => r.scrapedAt).sort().at(-1) ?? null;
}

/** Scheduler counts in a poller's Redis: scrape schedulers across its vendor queues. */
export async function scrapeSchedulerCount(sys: System, id: PollerId): Promise<number> {
  const r = sys.redisConnection(id);
  try {
    let n = 0;
    for (const v of VENDORS) {
      const q = new Queue(scrapeQueueName(v), { connection: r, prefix: 'bull' });
      try {
        n += await q.getJobSchedulersCount();
      } finally {
        await q.close();
      }
    }
    return n;
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Results

export interface FaultResult {
  fault: string;
  runs: number;
  expected: number;
  found: number;
  lost: number;
  duplicated: number;
  recoverySeconds: number | null;
  /** The bound the test asserts on recoverySeconds. */
  boundSeconds: number | null;
  /** pass, finding (an honest it.fails) or skipped. */
  outcome: 'pass' | 'finding' | 'skipped';
  note?: string;
}

declare module 'vitest' {
  interface TaskMeta {
    faultResult?: FaultResult;
  }
}

/** Attaches the result row to the test (the reporter collects it, writes the JSON file and prints the table). */
export function recordResult(task: { meta: { faultResult?: FaultResult } }, row: FaultResult): void {
  task.meta.faultResult = row;
}

export function fromCount(fault: string, c: RunCount, recoverySeconds: number | null, boundSeconds: number | null, outcome: FaultResult['outcome'] = 'pass', note?: string): FaultResult {
  return { fault, runs: c.runs, expected: c.expected, found: c.found, lost: c.lost, duplicated: c.duplicated, recoverySeconds: recoverySeconds === null ? null : Math.round(recoverySeconds * 10) / 10, boundSeconds, outcome, note };
}

/** Secrets that must never reach a log line. */
export function leakedSecrets(text: string, secrets: string[]): string[] {
  return secrets.filter((s) => s && text.includes(s));
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers shared by the fault files

/** Mounts a tmpfs of `size` (e.g. `2m`) in a fresh temp folder named after `label`, or says why it cannot. */
export async function mountTmpfs(label: string, size: string): Promise<{ dir: string } | { skip: string }> {
  if (process.platform !== 'linux') return { skip: `needs Linux tmpfs (platform ${process.platform})` };
  if (process.getuid?.() !== 0) return { skip: `needs root to mount a tmpfs (running as uid ${process.getuid?.()})` };
  const dir = await mkdtemp(join(tmpdir(), `poller-faults-${label}-`));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    return { skip: `mount -t tmpfs refused (no CAP_SYS_ADMIN in this container?): ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}` };
  }
}

/** Keys of every line of a poller's recovery logs. */
export async function loggedKeys(dir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^prices-.*\.jsonl$/.test(name)) continue;
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (!line.trim()) continue;
      try {
        keys.add(String((JSON.parse(line) as { key: string }).key));
      } catch {
        /* a torn line */
      }
    }
  }
  return keys;
}

/** A well-formed Turso token signed by a key sqld does not know, with `claims` added to its body. */
export function foreignToken(claims: Record<string, unknown> = {}): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'EdDSA', typ: 'JWT' })}.${enc({ a: 'rw', iat: Math.floor(Date.now() / 1000), ...claims })}`;
  return `${body}.${sign(null, Buffer.from(body), privateKey).toString('base64url')}`;
}
