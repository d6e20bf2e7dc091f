/**
 * The queues on a real Redis Cluster: three `redis-server --cluster-enabled yes` masters on loopback, joined by
 * `redis-cli --cluster create`, and a poller's scheduler, worker, exporter and merger on it with REDIS_URL
 * redis-cluster://... and a hash-tagged REDIS_PREFIX. Scheduled scrapes write rows to a libSQL file, the exporter
 * and the merger publish to a local bare remote, and the keys are gone afterwards. A prefix without a hash tag is
 * refused at start. Skipped only when redis-server or redis-cli is not installed.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { pino } from 'pino';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { ConfigError, loadConfig, type Config } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { ensureLocalRemote } from '../src/publish/local-remote.js';
import { deleteKeys } from '../src/redis/delete-keys.js';
import { freePort, redisAnswers } from '../src/redis/redis-server.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { main } from '../src/cli/main.js';
import { createRedisConnection, openRedisConnection, TrackedCluster } from '../queues/connection.js';
import { discoverQueues } from '../queues/discover-queues.js';
import { RedisOutageTracker } from '../queues/redis-outage.js';
import { exportQueueName, MERGE_QUEUE_NAME, scrapeQueueName } from '../queues/names.js';
import { readPublishLog } from '../queues/publish-log.js';
import { readPublishMetrics } from '../queues/publish-metrics.js';
import { hashTagOf, parseRedisTarget } from '../src/redis/redis-target.js';
import { readScrapeMetrics } from '../queues/scrape-metrics.js';
import { redisVisionBudget } from '../queues/vision-budget.js';
import { countRows } from './support/rows.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const run = promisify(execFile);
const missing = ['redis-server', 'redis-cli'].filter((bin) => spawnSync(bin, ['--version']).error);
const SKIP_REASON = `skipped: ${missing.join(' and ')} not installed (apt-get install redis-server, or bash deploy/install-system-deps.sh)`;
if (missing.length) console.warn(`redis-cluster.test.ts ${SKIP_REASON}`);

const VENDORS = ['apmex', 'jmbullion'];
const COINS = ['ase', 'age', 'maple-silver', 'buffalo'];
/** Tagged, and deeper than the tag, as the demo builds `${prefix}:${pollerId}`. */
const PREFIX = '{st-cluster}:api1';
const git = (gitDir: string, ...args: string[]) => spawnSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8' });

interface Node {
  port: number;
  /** Its cluster bus port (Redis 7 and later; before, port + 10000). */
  bus: number | null;
  child: ChildProcess;
  output: () => string;
}

/** Redis 7 takes the cluster bus port as an option; before it, the bus is port + 10000. */
function redisMajor(): number {
  return Number(/v=(\d+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? 0);
}

async function freePorts(used: Set<number>): Promise<{ port: number; bus: number | null }> {
  const pick = async () => {
    for (;;) {
      const p = await freePort();
      if (!used.has(p) && p + 10_000 <= 65_535) return used.add(p), p;
    }
  };
  const port = await pick();
  return { port, bus: redisMajor() >= 7 ? await pick() : null };
}

/** A cluster-enabled redis-server in `dir`; started again with the same ports, it rejoins from its nodes file. */
async function startNode(dir: string, port: number, bus: number | null): Promise<Node> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
      ...(bus ? ['--cluster-port', String(bus)] : []), '--cluster-node-timeout', '5000', '--appendonly', 'no', '--save', '', '--dir', dir,
      '--maxmemory-policy', 'noeviction', '--logfile', ''],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(`redis://127.0.0.1:${port}`, 300))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server --cluster-enabled did not start on ${port}:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, bus, child, output: () => out };
}

const stopNode = (n: Node) =>
  new Promise<void>((done) => {
    if (n.child.exitCode !== null || n.child.signalCode !== null) return done();
    n.child.once('exit', () => done());
    n.child.kill('SIGKILL');
  });

async function clusterState(port: number): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'cluster', 'info'], { timeout: 5000 });
  return /cluster_state:(\w+)/.exec(stdout)?.[1] ?? 'unknown';
}

describe('REDIS_URL for a Redis Cluster', () => {
  it('REDIS_URL seed lists are checked, and their messages never carry the password', () => {
    expect(parseRedisTarget('redis-cluster://u:p%40ss@10.0.0.1:7000,[::1]:7001,redis-b')).toEqual({
      kind: 'cluster',
      seeds: [{ host: '10.0.0.1', port: 7000 }, { host: '::1', port: 7001 }, { host: 'redis-b', port: 6379 }],
      username: 'u',
      password: 'p@ss',
      tls: false,
    });
    expect(parseRedisTarget('rediss-cluster://h:1/').tls).toBe(true);
    for (const [bad, why] of [
      ['redis-cluster://', /at least one seed node/],
      ['redis-cluster://:pw/with,slash@h1:1,,h2:2', /seed node 2 is empty/],
      ['redis-cluster://:pw@h1:99999', /port from 1 to 65535/],
      ['redis-cluster://:pw@h1:1/3', /database 0 only/],
      ['redis-cluster://:pw@::1:7000', /IPv6 address in brackets/],
    ] as const) {
      expect(() => loadConfig({ REDIS_URL: bad, REDIS_PREFIX: '{x}' }), bad).toThrow(why);
      try {
        loadConfig({ REDIS_URL: bad, REDIS_PREFIX: '{x}' });
      } catch (err) {
        expect((err as Error).message).toMatch(/REDIS_URL: /);
        expect((err as Error).message).not.toMatch(/pw/);
      }
    }
    expect(hashTagOf('{st}:api1')).toBe('st');
    expect(hashTagOf('demo:{api1}')).toBe('api1');
    expect(hashTagOf('{}{x}')).toBeNull();
  });
});

describe.skipIf(missing.length > 0)(`the queues on a Redis Cluster${missing.length ? ` (${SKIP_REASON})` : ''}`, () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const nodes: Node[] = [];
  let url: string;
  let fleet: FleetHandle | undefined;
  let catalogue: Catalogue;
  let config: Config;
  let poller: Poller | undefined;
  let control: Redis;
  const lines: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('redis-cluster');
    const used = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const { port, bus } = await freePorts(used);
      nodes.push(await startNode(dir.path, port, bus));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { cwd: dir.path, timeout: 30_000 });
    for (const n of nodes) await waitUntil(`cluster_state:ok on ${n.port}`, async () => (await clusterState(n.port)) === 'ok', 20_000);
    // Two seeds of three: ioredis finds the third from CLUSTER SLOTS.
    url = `redis-cluster://${addresses.slice(0, 2).join(',')}`;
    control = createRedisConnection(url, { blocking: false, connectionName: 'cluster-test' });
    await control.ping();
  }, 60_000);

  afterAll(async () => {
    await poller?.close().catch(() => undefined);
    await fleet?.close();
    control?.disconnect();
    await Promise.all(nodes.map(stopNode));
    await dir?.remove();
  });

  it('REDIS_URL redis-cluster://... opens an ioredis Cluster over every master', async () => {
    expect(control).toBeInstanceOf(Cluster);
    expect(control).toBeInstanceOf(TrackedCluster);
    const masters = (control as unknown as Cluster).nodes('master');
    expect(masters.map((m) => m.options.port).sort()).toEqual(nodes.map((n) => n.port).sort());
    // Blocking use, as BullMQ requires, and tracked duplicates (BullMQ's blocking connections).
    const blocking = openRedisConnection(url) as Cluster;
    try {
      expect(blocking.options.redisOptions?.maxRetriesPerRequest).toBeNull();
      const copy = blocking.duplicate(undefined, { redisOptions: { ...blocking.options.redisOptions, connectionName: 'copy' } });
      expect(copy).toBeInstanceOf(TrackedCluster);
      expect(await copy.ping()).toBe('PONG');
      copy.disconnect();
    } finally {
      blocking.disconnect();
    }
  });

  it('a cluster that does not answer is one line naming its seeds, never the password, nothing unhandled', async () => {
    const dead = await freePort();
    const tracker = new RedisOutageTracker();
    const said: string[] = [];
    tracker.useLogger({ warn: (_f, m) => void said.push(m), info: (_f, m) => void said.push(m), debug: () => undefined });
    const consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const stderr = vi.spyOn(process.stderr, 'write');
    const down = openRedisConnection(`redis-cluster://:s3cret-pass@127.0.0.1:${dead}`, { blocking: false, outages: tracker });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      // ioredis asks the seeds for the layout on connections of its own and reports only that they closed.
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(new RegExp(`^redis unreachable at 127\\.0\\.0\\.1:${dead}: (ECONNREFUSED|Connection is closed\\.); retrying$`));
      expect(consoleError).not.toHaveBeenCalled();
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).not.toMatch(/Unhandled error event|s3cret-pass/);
    } finally {
      down.disconnect();
      vi.restoreAllMocks();
    }
  });

  it('a prefix without a hash tag is refused at start, naming REDIS_PREFIX and the fix, never the password', async () => {
    const withPassword = url.replace('//', '//:s3cret-pass@');
    expect(() => loadConfig({ REDIS_URL: withPassword, REDIS_PREFIX: 'staktrakr' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_URL: withPassword, REDIS_PREFIX: 'staktrakr' })).toThrow(/REDIS_PREFIX: .*hash tag.*set REDIS_PREFIX=\{staktrakr\}/);
    // The default prefix too, and braces that make no tag (`{}` is empty: Redis hashes the whole key).
    expect(() => loadConfig({ REDIS_URL: url })).toThrow(/REDIS_PREFIX=\{bull\}/);
    expect(() => loadConfig({ REDIS_URL: url, REDIS_PREFIX: '{}staktrakr' })).toThrow(/REDIS_PREFIX/);
    expect(loadConfig({ REDIS_URL: url, REDIS_PREFIX: PREFIX }).redisPrefix).toBe(PREFIX);
    // A single Redis takes any prefix, braces included.
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'bull' }).redisPrefix).toBe('bull');
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: '{bull}' }).redisPrefix).toBe('{bull}');

    // The real entry point: `poller start` exits 2 with the message before it connects to anything.
    const saved = { ...process.env };
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => (written.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      Object.assign(process.env, { REDIS_URL: withPassword, REDIS_PREFIX: 'staktrakr', LOG_LEVEL: 'silent' });
      expect(await main(['start'])).toBe(2);
    } finally {
      process.stderr.write = write;
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const text = written.join('');
    expect(text).toMatch(/^poller start: configuration is invalid:\n\s+- REDIS_PREFIX: .*REDIS_PREFIX=\{staktrakr\}/);
    expect(text).not.toContain('s3cret-pass');
  });

  it('scheduler, worker, exporter and merger run on the cluster: scheduled scrapes write rows, a commit reaches main, keys stay in one slot', async () => {
    const real = await loadCatalogue('config/providers.json');
    const pick = (slug: string) => ({ ...real.file.coins[slug], providers: real.file.coins[slug].providers.filter((p) => VENDORS.includes(p.id)) });
    const small: CatalogueFile = { ...real.file, coins: Object.fromEntries(COINS.map((c) => [c, pick(c)])) };
    fleet = await startFleet({ catalogue: small });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'cluster');
    const db = `file:${join(dir.path, 'prices.db')}`;
    const remote = join(dir.path, 'remote.git');
    await ensureLocalRemote(remote);
    const base = loadConfig({
      POLLER_ID: 'api1',
      REDIS_URL: url,
      REDIS_PREFIX: PREFIX,
      // The floor, spread over the minute: with 4 targets a vendor, one is due every 15 s.
      SCRAPE_INTERVAL_MINUTES: '1',
      CATALOGUE_WATCH_MS: '0',
      SPOT_FEED: 'off',
      GOLDBACK_URL: 'off',
      EXPORT_MIN_INTERVAL_MS: '300',
      LOG_LEVEL: 'info',
    });
    config = { ...base, databaseUrl: db, recoveryLogDir: join(dir.path, 'recovery'), publishRemote: remote, publishDir: join(dir.path, 'publish'), publishBranches: ['api1'] };
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
    const started = Date.now();
    poller = await startPoller({
      config,
      logger,
      roles: ['scheduler', 'worker', 'exporter', 'merger'],
      redisUrl: url,
      catalogue,
      vendors: vendorDirectory({ defaults: { concurrency: 2, rateLimit: null } }, 1),
    });
    expect(poller.connection).toBeInstanceOf(TrackedCluster);

    // The job schedulers are in the cluster, one per target.
    for (const vendor of VENDORS) {
      const queue = new Queue(scrapeQueueName(vendor), { connection: control, prefix: PREFIX });
      try {
        const ids = (await queue.getJobSchedulers(0, -1)).map((s) => s.key).sort();
        expect(ids).toEqual(COINS.map((c) => `api1:${c}:${vendor}`).sort());
      } finally {
        await queue.close();
      }
    }

    // Scheduled scrapes (no job was added by hand) write rows; the export they ask for and the merge reach main.
    await waitUntil('rows from scheduled scrapes', async () => (await countRows(db)) >= 2, 45_000);
    await waitUntil('a commit on main of the remote', async () => git(remote, 'rev-parse', '--verify', '--quiet', 'main').status === 0, 30_000);
    const files = git(remote, 'ls-tree', '-r', '--name-only', 'main').stdout.split('\n');
    expect(files).toEqual(expect.arrayContaining(['data/api/manifest.json']));
    expect(git(remote, 'log', '-1', '--format=%s', 'api1').stdout).toMatch(/^api1: \d{4}-\d{2}-\d{2} \d{2}:\d{2} export/);
    const completed: string[] = [];
    for (const vendor of VENDORS) {
      const queue = new Queue(scrapeQueueName(vendor), { connection: control, prefix: PREFIX });
      completed.push(...(await queue.getJobs(['completed'])).map((j) => j.id!));
      await queue.close();
    }
    expect(completed.length).toBeGreaterThanOrEqual(2);
    expect(completed.every((id) => id.startsWith('repeat:api1:'))).toBe(true);
    console.info(`redis-cluster: first rows and main within ${((Date.now() - started) / 1000).toFixed(1)} s of the start`);

    // The other writers (MULTI, Lua) worked on the cluster: metrics, the publish log, the freshness fold, the vision budget.
    const scrapes = await readScrapeMetrics(control, PREFIX);
    expect(scrapes.scrapes.reduce((n, s) => n + s.count, 0)).toBeGreaterThanOrEqual(2);
    await waitUntil('the merge in the publish log', async () => (await readPublishLog(control, PREFIX)).last.merge.api1?.committed === true, 20_000);
    const publish = await readPublishMetrics(control, PREFIX);
    expect(publish.last.filter((r) => r.ok).map((r) => r.kind).sort()).toEqual(['export', 'merge']);
    expect(publish.freshness.count).toBeGreaterThanOrEqual(1);
    const budget = redisVisionBudget(control, PREFIX, 'api1', { perMinute: 5, perDay: 50 });
    expect(await budget.take()).toEqual({ ok: true });
    expect((await budget.used()).minute).toBe(1);

    // Every queue of the prefix is found over the masters; every key of the prefix is in the tag's slot.
    const found = await discoverQueues(control, PREFIX);
    expect(found.queues).toEqual(expect.arrayContaining([...VENDORS.map(scrapeQueueName), exportQueueName('api1'), MERGE_QUEUE_NAME]));
    // The operator's `poller queues --json` reads the same queues through the cluster.
    const saved = { ...process.env };
    const printed: string[] = [];
    const out = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => (printed.push(String(chunk)), true)) as typeof process.stdout.write;
    try {
      Object.assign(process.env, { REDIS_URL: url, REDIS_PREFIX: PREFIX, CATALOGUE_PATH: 'config/providers.json', LOG_LEVEL: 'silent' });
      expect(await main(['queues', '--json'])).toBe(0);
    } finally {
      process.stdout.write = out;
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
    expect(printed.join('')).toContain(`"${MERGE_QUEUE_NAME}"`);
    const slot = Number(await control.cluster('KEYSLOT', PREFIX));
    const keys: string[] = [];
    for (const node of (control as unknown as Cluster).nodes('master')) keys.push(...(await node.keys(`${PREFIX}:*`)));
    expect(keys.length).toBeGreaterThan(20);
    const slots = new Set(await Promise.all(keys.map(async (k) => Number(await control.cluster('KEYSLOT', k)))));
    expect([...slots]).toEqual([slot]);

    // Nothing went wrong on the way: no CROSSSLOT, no outage, no failed job.
    const problems = lines.filter((l) => /"level":(40|50|60)/.test(l));
    expect(problems.join('')).not.toMatch(/CROSSSLOT|MOVED|unreachable|ClusterAllFailed/);
    expect(lines.join('')).toMatch(/job schedulers reconciled with the catalogue/);
  }, 120_000);

  it("deletes the test's keys over every master", async () => {
    await poller?.close();
    poller = undefined;
    // Keys with no hash tag land on every master: the scan must visit them all.
    const spread = Array.from({ length: 60 }, (_, i) => `cluster-test:k${i}`);
    await Promise.all(spread.map((k) => control.set(k, '1')));
    // Queues under an untagged prefix (meta keys only: BullMQ itself needs the tag) are found on every master too.
    await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((q) => control.hset(`untagged:${q}:meta`, 'version', '1')));
    const masters = (control as unknown as Cluster).nodes('master');
    const holding = await Promise.all(masters.map(async (m) => (await m.keys('cluster-test:*')).length));
    expect(holding.filter((n) => n > 0).length).toBe(3);
    expect((await discoverQueues(control, 'untagged')).queues).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);

    expect(await deleteKeys(control, 'cluster-test:*')).toBe(60);
    expect(await deleteKeys(control, 'untagged:*')).toBe(6);
    expect(await deleteKeys(control, `${PREFIX}:*`)).toBeGreaterThan(20);
    // Nothing is left anywhere: every key the system wrote was under its prefix.
    const left = await Promise.all(masters.map((m) => m.dbsize()));
    expect(left).toEqual([0, 0, 0]);
  });
  it('a master that restarts is one line down and one line back; the cluster serves again', async () => {
    const tracker = new RedisOutageTracker();
    const said: string[] = [];
    tracker.useLogger({ warn: (_f, m) => void said.push(m), info: (_f, m) => void said.push(m), debug: () => undefined });
    const watched = openRedisConnection(url, { outages: tracker }) as Cluster;
    try {
      // A key on each master, so that every node connection is open.
      const keys = Array.from({ length: 30 }, (_, i) => `restart-test:k${i}`);
      await Promise.all(keys.map((k) => watched.set(k, '1')));
      const victim = nodes[2];
      await stopNode(victim);
      await waitUntil('the outage line', async () => said.length === 1, 10_000);
      expect(said[0]).toMatch(new RegExp(`^redis unreachable at 127\\.0\\.0\\.1:${victim.port}: (ECONNREFUSED|ECONNRESET|Connection is closed\\.); retrying$`));
      nodes[2] = await startNode(dir.path, victim.port, victim.bus);
      await waitUntil('the outage to end', async () => tracker.counts.ended === 1, 20_000);
      expect(said[1]).toMatch(new RegExp(`^redis back at 127\\.0\\.0\\.1:${victim.port} after \\d+ s$`));
      for (const n of nodes) await waitUntil(`cluster_state:ok on ${n.port}`, async () => (await clusterState(n.port)) === 'ok', 20_000);
      // The restarted master lost its keys (no persistence here); writes to its slots work again.
      await Promise.all(keys.map((k) => watched.set(k, '2')));
      expect(await deleteKeys(watched, 'restart-test:*')).toBe(30);
      expect(said).toHaveLength(2);
    } finally {
      watched.disconnect();
    }
  });
});
