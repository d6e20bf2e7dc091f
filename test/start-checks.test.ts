/**
 * Bad configuration is refused at start with the variable (or catalogue field) named and the fix said, instead of
 * crashing later (issue 16, item 4): interval floors, API_HOST, folders, a database that does not answer (the worker
 * goes on in log-only mode and replays when it answers), and a catalogue edit that would drop most targets at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { CatalogueError, loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { checkShrink, SHRINK_MARKER } from '../src/catalogue/shrink-guard.js';
import { checkFolders, folderProblem } from '../src/config/check-folders.js';
import { checkApiHost } from '../src/config/check-host.js';
import { checkDatabase } from '../src/config/check-database.js';
import { ConfigError, loadConfig } from '../src/config/env.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { freePort } from '../src/redis/redis-server.js';
import { planSchedulers } from '../queues/scrape-schedulers.js';
import { scrapeQueueName } from '../queues/names.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { runPoller, spawnPoller } from './support/cli.js';
import { deleteByPrefix, testRedis } from './support/redis.js';
import { countRows } from './support/rows.js';
import { startSqld, type SqldHandle } from './support/sqld.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const REAL = 'test/fixtures/contract/config/providers.json';
/** A stack trace line, which none of these messages may carry. */
const STACK = /^\s+at .+\(?.*:\d+:\d+\)?$/m;
const HAS_PROC = existsSync('/proc/self');

const withInterval = (value: unknown): string => {
  const j = JSON.parse(JSON.stringify({ coins: { ase: { name: 'ASE', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', url: 'https://a.example/ase' }] } } }));
  j.coins.ase.providers[0].interval_minutes = value;
  return JSON.stringify(j);
};

describe('interval floors: whole minutes, at least 1', () => {
  for (const bad of [0.000001, 0, 0.5, 2.5, -15, 1441, '15']) {
    it(`a catalogue interval_minutes of ${JSON.stringify(bad)} is refused, naming coin, provider and field`, () => {
      expect(() => parseCatalogue(withInterval(bad))).toThrow(CatalogueError);
      expect(() => parseCatalogue(withInterval(bad))).toThrow(/coin "ase", provider #1 \(apmex\), field interval_minutes: expected whole minutes from 1 to 1440/);
    });
  }

  it('whole minutes from 1 to 1440 are scheduled as such', () => {
    for (const ok of [1, 60, 1440]) {
      const c = parseCatalogue(withInterval(ok));
      expect(planSchedulers(c.targets, { pollerId: 'api1', intervalMs: 900_000, staggerMs: 0 })[0].every).toBe(ok * 60_000);
    }
  });

  it('SCRAPE_INTERVAL_MINUTES below a minute or fractional is refused, naming it', () => {
    for (const bad of ['0', '0.5', '0.000001', '-1', '1441']) {
      expect(() => loadConfig({ SCRAPE_INTERVAL_MINUTES: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ SCRAPE_INTERVAL_MINUTES: bad })).toThrow(/SCRAPE_INTERVAL_MINUTES: expected whole minutes from 1 to 1440/);
    }
    expect(loadConfig({ SCRAPE_INTERVAL_MINUTES: '1' }).intervalMs).toBe(60_000);
  });

  it('a plan never hands BullMQ a degenerate interval (a target built in code, not read from a file)', () => {
    const [t] = parseCatalogue(withInterval(1)).targets;
    expect(() => planSchedulers([{ ...t, intervalMinutes: 0.000001 }], { pollerId: 'api1', intervalMs: 900_000, staggerMs: 0 })).toThrow(/api1:ase:apmex: scrape interval of 0 ms is below the floor/);
  });

  it('poller scheduler with interval_minutes 0.000001 stops with the field named, no stack, exit 2', async () => {
    const dir = await tempDir('interval');
    try {
      const path = join(dir.path, 'providers.json');
      const j = JSON.parse(await readFile(REAL, 'utf8'));
      j.coins.ase.providers[0].interval_minutes = 0.000001;
      await writeFile(path, JSON.stringify(j));
      const { code, out } = await runPoller(['scheduler'], { CATALOGUE_PATH: path, REDIS_URL: 'redis://127.0.0.1:1', CATALOGUE_WATCH_MS: '0' });
      expect(code).toBe(2);
      expect(out).toMatch(/coin "ase", provider #1 \(apmex\), field interval_minutes: expected whole minutes from 1 to 1440/);
      expect(out).not.toMatch(STACK);
    } finally {
      await dir.remove();
    }
  });
});

describe('API_HOST: an IP address or a host name that resolves', () => {
  it('the variable refuses what is no host at all, and takes addresses and names', () => {
    for (const bad of ['http://x', 'not a host', 'host:8080', '-x', '999.1.1.1']) expect(() => loadConfig({ API_HOST: bad }), bad).toThrow(/API_HOST: expected an IP address or a host name/);
    for (const ok of ['0.0.0.0', '127.0.0.1', '::1', '[::1]', 'localhost', 'poller-1.internal']) expect(loadConfig({ API_HOST: ok }).apiHost).toBe(ok);
  });

  it('is looked up at start: a name that does not resolve is a ConfigError naming API_HOST and the fix', async () => {
    await expect(checkApiHost('127.0.0.1')).resolves.toBe('127.0.0.1');
    await expect(checkApiHost('[::1]')).resolves.toBe('::1');
    await expect(checkApiHost('localhost')).resolves.toMatch(/^(127\.|::1)/);
    const refused = checkApiHost('not-a-host');
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(checkApiHost('not-a-host.invalid')).rejects.toThrow(/API_HOST: "not-a-host\.invalid" is neither an IP address nor a host name that resolves here \(\w+\); set API_HOST to/);
  });

  it('poller api with API_HOST=not-a-host stops before anything starts: one message, exit 2, no database created', async () => {
    const dir = await tempDir('api-host');
    try {
      const db = join(dir.path, 'prices.db');
      const { code, out } = await runPoller(['api'], {
        API_HOST: 'not-a-host', API_PORT: '0', ADMIN_TOKEN: 'a-token-of-sixteen-chars', REDIS_URL: 'redis://127.0.0.1:1', TURSO_DATABASE_URL: `file:${db}`, CATALOGUE_PATH: REAL,
      });
      expect(code).toBe(2);
      expect(out).toMatch(/API_HOST: "not-a-host" is neither an IP address nor a host name that resolves here/);
      expect(out).not.toMatch(/TypeError|unexpected failure/);
      expect(out).not.toMatch(STACK);
      expect(existsSync(db)).toBe(false);
    } finally {
      await dir.remove();
    }
  });
});

describe('API_HOST and API_PORT the server cannot listen on', () => {
  const redis = testRedis('api-listen');
  afterAll(async () => redis.cleanup());

  it('a port taken by another process, or an address of another machine: one message naming the variable, exit 2', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    const dir = await tempDir('api-listen');
    try {
      const env = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, TURSO_DATABASE_URL: `file:${join(dir.path, 'prices.db')}`, CATALOGUE_PATH: REAL, RECOVERY_LOG_DIR: join(dir.path, 'log') };
      const taken = await runPoller(['api'], { ...env, API_PORT: String(port) });
      expect(taken.code).toBe(2);
      expect(taken.out).toMatch(new RegExp(`API_PORT: cannot listen on 127\\.0\\.0\\.1:${port} \\(EADDRINUSE: another process listens there\\); set API_PORT to a free port`));
      expect(taken.out).not.toMatch(STACK);
      const elsewhere = await runPoller(['api'], { ...env, API_HOST: '192.0.2.1', API_PORT: '0', ADMIN_TOKEN: 'a-token-of-sixteen-chars' });
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.out).toMatch(/API_HOST: cannot listen on 192\.0\.2\.1:0 \(EADDRNOTAVAIL: not an address of this machine\)/);
      expect(elsewhere.out).not.toMatch(STACK);
    } finally {
      busy.close();
      await dir.remove();
    }
  });
});

describe('folders: RECOVERY_LOG_DIR, DATA_DIR, PUBLISH_DIR must be writable folders, or creatable', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('folders');
    await writeFile(join(dir.path, 'a-file'), 'x');
  });
  afterAll(async () => dir.remove());

  it('a missing folder is created; a file, or a path that cannot be created, is refused naming the variable', async () => {
    const nested = join(dir.path, 'new', 'deeper');
    await expect(checkFolders({ RECOVERY_LOG_DIR: nested })).resolves.toBeUndefined();
    expect(existsSync(nested)).toBe(true);
    await expect(checkFolders({ RECOVERY_LOG_DIR: '/etc/passwd' })).rejects.toThrow(/RECOVERY_LOG_DIR: \/etc\/passwd is a file, not a folder; set RECOVERY_LOG_DIR to a folder this process can write/);
    const both = checkFolders({ DATA_DIR: join(dir.path, 'a-file'), PUBLISH_DIR: join(dir.path, 'a-file', 'sub') });
    await expect(both).rejects.toThrow(ConfigError);
    const message = await checkFolders({ DATA_DIR: join(dir.path, 'a-file'), PUBLISH_DIR: join(dir.path, 'a-file', 'sub') }).catch((e: Error) => e.message);
    expect(message).toMatch(/DATA_DIR: .*a-file is a file, not a folder/);
    expect(message).toMatch(/PUBLISH_DIR: .*a-file\/sub cannot be a folder: a part of its path is a file; set PUBLISH_DIR to/);
  });

  it.runIf(HAS_PROC)('a path under /proc is refused at once (node 20 mkdir -p would spin on it for ever)', async () => {
    const started = Date.now();
    expect(await folderProblem('/proc/nope/recovery')).toMatch(/does not exist and cannot be created \(ENOENT at \/proc\/nope\)/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it.runIf(HAS_PROC)('opening a file: database under /proc fails at once instead of blocking the process', () => {
    // In a child process: the bug being guarded against is a synchronous endless loop.
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import { openDatabase } from './dist/src/store/database.js'; try { openDatabase({ url: 'file:/proc/nope/prices.db' }); console.log('opened'); } catch (e) { console.log(e.code); }"],
      { encoding: 'utf8', timeout: 10_000 },
    );
    expect(r.error).toBeUndefined();
    expect(r.stdout.trim()).toBe('ENOENT');
  });

  for (const [role, variable, value] of [
    ['worker', 'RECOVERY_LOG_DIR', '/etc/passwd'],
    ['exporter', 'PUBLISH_DIR', '/etc/passwd'],
    ['merger', 'PUBLISH_DIR', '/etc/hostname'],
  ] as const) {
    it(`poller ${role} with ${variable}=${value} stops naming ${variable}, exit 2`, async () => {
      const { code, out } = await runPoller([role], {
        [variable]: value, REDIS_URL: 'redis://127.0.0.1:1', CATALOGUE_PATH: REAL, TURSO_DATABASE_URL: `file:${join(dir.path, `${role}.db`)}`,
        API_DATA_REPO: join(dir.path, 'remote.git'), RECOVERY_LOG_DIR: variable === 'RECOVERY_LOG_DIR' ? value : join(dir.path, 'log'),
      });
      expect(code).toBe(2);
      expect(out).toMatch(new RegExp(`${variable}: ${value} is a file, not a folder; set ${variable} to a folder this process can write`));
      expect(out).not.toMatch(STACK);
    });
  }

  it('without REDIS_URL (a private redis-server may keep its data there), DATA_DIR must be a folder', async () => {
    const { code, out } = await runPoller(['scheduler'], { REDIS_URL: '', DATA_DIR: join(dir.path, 'a-file'), CATALOGUE_PATH: REAL });
    expect(code).toBe(2);
    expect(out).toMatch(/DATA_DIR: .*a-file is a file, not a folder; set DATA_DIR to a folder/);
  });
});

/** A TCP port that holds connections without answering until `open(port)` forwards it to a real server. */
async function startGate(): Promise<{ port: number; open(to: number): void; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let target: number | null = null;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  };
  const server: Server = createServer((client) => {
    track(client);
    if (target === null) return; // a black hole: accepted, never answered
    const upstream = connect(target, '127.0.0.1');
    track(upstream);
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    open(to) {
      target = to;
      for (const s of sockets) s.destroy(); // what was held never gets an answer: the client sees a reset
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('a database that does not answer at start', () => {
  const redis = testRedis('db-start');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sqld: SqldHandle;
  let fleet: FleetHandle;
  let catalogue: Catalogue;
  let cataloguePath: string;
  beforeAll(async () => {
    dir = await tempDir('db-start');
    sqld = await startSqld(dir.path, { auth: true });
    const real = await loadCatalogue(REAL);
    const small: CatalogueFile = { ...real.file, coins: { ase: { ...real.file.coins.ase, providers: real.file.coins.ase.providers.filter((p) => ['apmex', 'jmbullion'].includes(p.id)) } } };
    fleet = await startFleet({ catalogue: small });
    const rewritten = rewriteCatalogueForFleet(small, fleet.url);
    cataloguePath = join(dir.path, 'providers.json');
    await writeFile(cataloguePath, JSON.stringify(rewritten));
    catalogue = parseCatalogue(JSON.stringify(rewritten), cataloguePath);
  });
  afterAll(async () => {
    await fleet?.close();
    await sqld?.stop();
    await redis.cleanup();
    await dir?.remove();
  });

  it('checkDatabase gives up at its deadline with one line naming TURSO_DATABASE_URL, never the token', async () => {
    const started = Date.now();
    const r = await checkDatabase(() => new Promise(() => undefined), { description: 'http://127.0.0.1:9', token: 'tok-SECRET-123', timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r).toMatchObject({ ok: false, reason: 'no answer within 300 ms' });
    if (r.ok) throw new Error('unreachable');
    expect(r.message).toBe('database TURSO_DATABASE_URL=http://127.0.0.1:9 does not answer (no answer within 300 ms): check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN, and that the server runs');
    const failing = await checkDatabase(() => Promise.reject(new Error('401 for token tok-SECRET-123')), { description: 'http://x', token: 'tok-SECRET-123' });
    expect(JSON.stringify(failing)).not.toContain('tok-SECRET-123');
  });

  it.runIf(HAS_PROC)('TURSO_DATABASE_URL=file:/proc/nope/prices.db: the worker says so in one line and runs in log-only mode', async () => {
    const prefix = `${redis.prefix}-proc`;
    const worker = spawnPoller(['worker'], {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: cataloguePath, CATALOGUE_WATCH_MS: '0', VENDORS_PATH: join(dir.path, 'none.json'),
      TURSO_DATABASE_URL: 'file:/proc/nope/prices.db', RECOVERY_LOG_DIR: join(dir.path, 'proc-log'),
    });
    try {
      await worker.waitFor(/scrape workers started/, 10_000);
      const out = worker.output();
      expect(out.match(/does not answer/g)).toHaveLength(1);
      expect(out).toMatch(/database TURSO_DATABASE_URL=file:\/proc\/nope\/prices\.db does not answer \(ENOENT[^)]*\): check TURSO_DATABASE_URL/);
      expect(out).toMatch(/log-only mode: rows go to the recovery log/);
      expect(out).not.toMatch(STACK);
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      await deleteByPrefix(redis.connection, prefix);
    }
  });

  it('a remote database that hangs: reported after the deadline, rows go to the recovery log, replayed once it answers', async () => {
    const gate = await startGate();
    const prefix = `${redis.prefix}-hang`;
    const logDir = join(dir.path, 'hang-log');
    const worker = spawnPoller(['worker'], {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: cataloguePath, CATALOGUE_WATCH_MS: '0', VENDORS_PATH: join(dir.path, 'none.json'),
      TURSO_DATABASE_URL: `http://127.0.0.1:${gate.port}`, TURSO_AUTH_TOKEN: sqld.token, RECOVERY_LOG_DIR: logDir,
    });
    try {
      const started = Date.now();
      await worker.waitFor(/scrape workers started/, 15_000);
      // The deadline (5 s), not the HTTP client's minutes.
      expect(Date.now() - started).toBeLessThan(12_000);
      expect(worker.output()).toMatch(new RegExp(`database TURSO_DATABASE_URL=http://127\\.0\\.0\\.1:${gate.port} does not answer \\(no answer within 5 s\\): check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN, and that the server runs`));
      expect(worker.output()).toMatch(/log-only mode: rows go to the recovery log/);

      const ids = await enqueueScrapesNow(catalogue.targets, { connection: redis.connection, prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 100 }, batchId: 'hang' });
      expect(await waitForJobs(ids, { connection: redis.connection, prefix, timeoutMs: 30_000, pollMs: 100 })).toMatchObject({ completed: 2, failed: 0 });
      const logged = (await Promise.all((await readdir(logDir)).filter((f) => f.endsWith('.jsonl')).map((f) => readFile(join(logDir, f), 'utf8')))).join('').trim().split('\n');
      expect(logged).toHaveLength(2);

      // The database answers: the worker replays the log into it.
      gate.open(Number(new URL(sqld.url).port));
      await worker.waitFor(/database is back; recovery log replayed/, 40_000);
      await waitUntil('both rows in the database', async () => (await countRows(sqld.url, sqld.token).catch(() => 0)) === 2, 10_000);
      expect(worker.output()).not.toContain(sqld.token!);
      expect(worker.output()).not.toMatch(STACK);
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      await gate.close();
      await deleteByPrefix(redis.connection, prefix);
    }
  }, 90_000);

  it('poller status against a database that hangs: one line naming TURSO_DATABASE_URL, exit 1, within the deadline', async () => {
    const gate = await startGate();
    try {
      const started = Date.now();
      const { code, out } = await runPoller(['status'], { TURSO_DATABASE_URL: `http://127.0.0.1:${gate.port}`, TURSO_AUTH_TOKEN: 'tok-SECRET-status' }, 30_000);
      expect(code).toBe(1);
      expect(Date.now() - started).toBeLessThan(12_000);
      expect(out.trim().split('\n')).toEqual([`poller status: database TURSO_DATABASE_URL=http://127.0.0.1:${gate.port} does not answer (no answer within 5 s): check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN, and that the server runs`]);
      expect(out).not.toContain('tok-SECRET-status');
    } finally {
      await gate.close();
    }
  });

  it('poller status against a database that refuses: one line naming TURSO_DATABASE_URL, exit 1', async () => {
    const port = await freePort();
    const { code, out } = await runPoller(['status'], { TURSO_DATABASE_URL: `http://127.0.0.1:${port}`, TURSO_AUTH_TOKEN: 'tok-SECRET-status' });
    expect(code).toBe(1);
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(/^poller status: database http:\/\/127\.0\.0\.1:\d+ does not answer \(fetch failed: ECONNREFUSED\): check TURSO_DATABASE_URL/);
    expect(out).not.toContain('tok-SECRET-status');
  });
});

describe('a catalogue edit that would drop most targets at once', () => {
  const redis = testRedis('shrink');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let real: Catalogue;
  beforeAll(async () => {
    dir = await tempDir('shrink');
    real = await loadCatalogue(REAL);
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir?.remove();
  });

  const only = (coins: string[], extra: Record<string, unknown> = {}) =>
    ({ ...extra, ...real.file, coins: Object.fromEntries(coins.map((c) => [c, real.file.coins[c]])) }) as CatalogueFile;
  const parse = (file: object) => parseCatalogue(JSON.stringify(file), 'providers.json');

  it('is refused when more than half of the enabled targets are gone, unless the file confirms the number it leaves', () => {
    const empty = parse({ coins: {} });
    expect(checkShrink(real, empty).problem).toMatch(/^catalogue providers\.json would drop 166 of the 166 enabled targets at once \(more than 50%: .*\), leaving 0; refused, the last good catalogue stays in force\. If this is intended, add "accept_shrink_to": 0 at the top level of the file/);
    expect(checkShrink(real, parse({ [SHRINK_MARKER]: 0, coins: {} })).problem).toBeNull();
    // A marker with another number confirms nothing (it was for another edit).
    const ase = parse({ ...only(['ase']), [SHRINK_MARKER]: 3 });
    expect(ase.targets).toHaveLength(9);
    expect(checkShrink(real, ase).problem).toMatch(/would drop 157 of the 166 .* "accept_shrink_to": 9 /);
    expect(checkShrink(real, parse({ ...only(['ase']), [SHRINK_MARKER]: 9 })).problem).toBeNull();
    // Ordinary edits pass: a vendor leaving, half the coins gone, growth.
    const file = structuredClone(real.file);
    for (const coin of Object.values(file.coins)) coin.providers = coin.providers.filter((p) => p.id !== 'summitmetals');
    expect(checkShrink(real, parse(file)).problem).toBeNull();
    const half = Object.keys(real.file.coins).slice(0, 12);
    const halfCatalogue = parse(only(half));
    expect(checkShrink(real, halfCatalogue).gone).toBeLessThanOrEqual(83);
    expect(checkShrink(real, halfCatalogue).problem).toBeNull();
    expect(checkShrink(empty, real).problem).toBeNull();
    // Scheduler keys count like targets.
    expect(checkShrink(['ase:apmex', 'ase:jmbullion', 'age:apmex'], parse(only(['ape']))).problem).toMatch(/would drop 3 of the 3/);
  });

  it('the marker must be a whole number', () => {
    expect(() => parse({ [SHRINK_MARKER]: 'yes', coins: {} })).toThrow(/field accept_shrink_to: expected the number of enabled targets the edit leaves/);
  });

  it('a running scheduler keeps its last good catalogue on "coins": {}; the confirmed edit is applied; a start that would shrink is refused', async () => {
    const prefix = `${redis.prefix}-sched`;
    const path = join(dir.path, 'providers.json');
    await writeFile(path, JSON.stringify(real.file));
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: path, POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '100' };
    const vendors = [...new Set(real.targets.map((t) => t.vendor))];
    const count = async () => {
      let n = 0;
      for (const v of vendors) {
        const q = new Queue(scrapeQueueName(v), { connection: redis.connection, prefix });
        n += (await q.getJobSchedulers(0, -1)).length;
        await q.close();
      }
      return n;
    };
    const p = spawnPoller(['scheduler'], env);
    try {
      await p.waitFor(/job schedulers reconciled/);
      expect(await count()).toBe(166);
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(path, JSON.stringify({ ...real.file, coins: {} }));
      await p.waitFor(/would drop 166 of the 166 enabled targets at once/);
      await new Promise((r) => setTimeout(r, 500));
      expect(await count()).toBe(166);
      expect(p.output().match(/job schedulers reconciled/g)).toHaveLength(1);

      await writeFile(path, JSON.stringify({ [SHRINK_MARKER]: 9, ...only(['ase']) }));
      await p.waitFor(/"schedulers":9,"removed":\[/);
      expect(await count()).toBe(9);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }

    // Redis holds 9 schedulers of api1: a start with a catalogue that keeps 1 of them is refused, and touches nothing.
    await writeFile(path, JSON.stringify(only(['age'])));
    const refused = await runPoller(['scheduler'], { ...env, CATALOGUE_WATCH_MS: '0' });
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/would drop 9 of the 9 enabled targets at once .* refused, this poller's job schedulers in Redis are left as they are\. If this is intended, add "accept_shrink_to": \d+ at the top level/);
    expect(refused.out).not.toMatch(STACK);
    expect(await count()).toBe(9);
    await deleteByPrefix(redis.connection, prefix);
  });

  it('a worker without a scheduler (watching the file itself) keeps its last good catalogue too', async () => {
    const prefix = `${redis.prefix}-worker`;
    const path = join(dir.path, 'worker-providers.json');
    await writeFile(path, JSON.stringify(real.file));
    const p = spawnPoller(['worker'], {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: path, CATALOGUE_WATCH_MS: '100', VENDORS_PATH: join(dir.path, 'none.json'),
      TURSO_DATABASE_URL: `file:${join(dir.path, 'worker.db')}`, RECOVERY_LOG_DIR: join(dir.path, 'worker-log'),
    });
    try {
      await p.waitFor(/scrape workers started/);
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(path, '{"coins": {}}');
      await p.waitFor(/would drop 166 of the 166 enabled targets at once/);
    } finally {
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
      await deleteByPrefix(redis.connection, prefix);
    }
  });
});
