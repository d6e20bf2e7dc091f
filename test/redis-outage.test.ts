/**
 * Redis going away under a running process is one message, not noise (issue 16, item 7): one line when the
 * outage starts ("redis unreachable at host:port: ECONNREFUSED; retrying"), one when it ends ("redis back at
 * host:port after N s"), nothing unhandled in between, from every connection of the process (ours and the ones
 * BullMQ duplicates), and never the URL's password.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { loadCatalogue, parseCatalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { freePort } from '../src/redis/redis-server.js';
import { createRedisConnection, onRedisErrors } from '../queues/connection.js';
import { isRedisConnectionError, RedisOutageTracker, type OutageLogger } from '../queues/redis-outage.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { spawnPoller } from './support/cli.js';
import { countRows } from './support/rows.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const PASSWORD = 'pw-Secret-4711';

/**
 * A redis-server of our own that needs a password, on a fixed port, so that it can be stopped and started again;
 * its data persists in `dir` (append-only file), as deploy runs it.
 */
async function passwordRedis(port: number, dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--requirepass', PASSWORD, '--maxmemory-policy', 'noeviction', '--logfile', ''],
    { stdio: 'ignore' },
  );
  const url = `redis://:${PASSWORD}@127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    const ok = await probe.connect().then(() => probe.ping(), () => null).catch(() => null);
    probe.disconnect();
    if (ok === 'PONG') break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`redis-server did not start on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

function captureLogger(): OutageLogger & { lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  return {
    lines,
    warn: (_f, message) => void lines.push({ level: 'warn', message }),
    info: (_f, message) => void lines.push({ level: 'info', message }),
    debug: () => undefined,
  };
}

describe('the outage tracker', () => {
  it('says an outage once when it starts and once when it ends, however many connections fail how often', () => {
    let now = 1_000_000;
    const tracker = new RedisOutageTracker(() => now);
    const log = captureLogger();
    tracker.useLogger(log);
    tracker.useEndpoint('127.0.0.1:6380');
    tracker.ready(); // up already: nothing to say
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6380'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 277; i++) tracker.failed(refused, '127.0.0.1:6380');
    now += 12_400;
    tracker.ready();
    tracker.ready();
    expect(log.lines).toEqual([
      { level: 'warn', message: 'redis unreachable at 127.0.0.1:6380: ECONNREFUSED; retrying' },
      { level: 'info', message: 'redis back at 127.0.0.1:6380 after 12 s' },
    ]);
    expect(tracker.counts).toEqual({ started: 1, ended: 1 });
  });

  it('names a new kind of failure within an outage once, and never a password', () => {
    const tracker = new RedisOutageTracker();
    const log = captureLogger();
    tracker.useLogger(log);
    tracker.failed(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), '127.0.0.1:6380');
    tracker.failed(new Error('WRONGPASS invalid username-password pair'), '127.0.0.1:6380');
    tracker.failed(new Error('WRONGPASS invalid username-password pair'), '127.0.0.1:6380');
    tracker.failed(new Error('failed for redis://user:hunter2@127.0.0.1:6380'), '127.0.0.1:6380');
    // A reset and a refusal are the same kind: the server went away.
    tracker.failed(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), '127.0.0.1:6380');
    expect(log.lines.map((l) => l.message)).toEqual([
      'redis unreachable at 127.0.0.1:6380: ECONNREFUSED; retrying',
      'redis still unreachable at 127.0.0.1:6380: WRONGPASS invalid username-password pair; retrying',
      'redis still unreachable at 127.0.0.1:6380: failed for redis://***@127.0.0.1:6380; retrying',
    ]);
  });

  it('tells connection errors (part of the outage) from other errors (the caller logs them)', () => {
    expect(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisConnectionError(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisConnectionError(new Error('Reached the max retries per request limit (which is 3).'))).toBe(true);
    expect(isRedisConnectionError(new Error('Missing lock for job 12. moveToFinished'))).toBe(false);
    const tracker = new RedisOutageTracker();
    expect(tracker.absorb(new Error('Connection is closed.'))).toBe(true);
    expect(tracker.absorb(new Error('job stalled more than allowable limit'))).toBe(false);
  });
});

describe('connections from queues/connection.ts against a real redis-server stopped and started', () => {
  const errors: unknown[][] = [];
  afterEach(() => vi.restoreAllMocks());

  it('ours, BullMQ\'s duplicates, a Worker and a Queue: one line down, one line back, nothing on stderr', async () => {
    const port = await freePort();
    const dir = await tempDir('outage-connections');
    let server = await passwordRedis(port, dir.path);
    const tracker = new RedisOutageTracker();
    const log = captureLogger();
    tracker.useLogger(log);
    const spy = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args));
    const stderr = vi.spyOn(process.stderr, 'write');
    const control = createRedisConnection(server.url, { blocking: false, connectionName: 'outage-test:control', outages: tracker });
    const blocking = createRedisConnection(server.url, { connectionName: 'outage-test:worker', outages: tracker });
    const queue = onRedisErrors(new Queue('outage-test', { connection: control, prefix: 'outage-test' }), (e) => errors.push(['queue', e]), tracker);
    const worker = onRedisErrors(new Worker('outage-test', async () => 'done', { connection: blocking, prefix: 'outage-test' }), (e) => errors.push(['worker', e]), tracker);
    try {
      await worker.waitUntilReady();
      await queue.add('before', {});
      await waitUntil('the first job done', async () => (await queue.getCompletedCount()) === 1, 10_000);
      await server.stop();
      // Long enough for every connection (the Worker's blocking duplicate too) to fail and retry several times.
      await new Promise((r) => setTimeout(r, 4000));
      // A server going down resets the open connections, then refuses new ones: one outage, one line.
      expect(log.lines).toHaveLength(1);
      expect(log.lines[0]).toEqual({ level: 'warn', message: expect.stringMatching(new RegExp(`^redis unreachable at 127\\.0\\.0\\.1:${port}: (ECONNREFUSED|ECONNRESET); retrying$`)) });
      server = await passwordRedis(port, dir.path);
      await waitUntil('the outage to end', async () => tracker.counts.ended === 1, 15_000);
      await queue.add('after', {});
      await waitUntil('the job queued after the outage done', async () => (await queue.getCompletedCount()) === 2, 15_000);
      expect(log.lines).toHaveLength(2);
      expect(log.lines[1].message).toMatch(new RegExp(`^redis back at 127\\.0\\.0\\.1:${port} after \\d+ s$`));
      expect(errors).toEqual([]);
      expect(spy).not.toHaveBeenCalled();
      const written = stderr.mock.calls.map((c) => String(c[0])).join('');
      expect(written).not.toMatch(/Unhandled error event/);
      expect(JSON.stringify(log.lines)).not.toContain(PASSWORD);
    } finally {
      await worker.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
      control.disconnect();
      blocking.disconnect();
      await server.stop();
      await dir.remove();
    }
  }, 40_000);
});

describe('poller start with Redis stopped and started under it', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  beforeAll(async () => {
    dir = await tempDir('redis-outage');
  });
  afterAll(async () => {
    await fleet?.close();
    await dir?.remove();
  });

  it('logs one line when Redis goes, one when it is back, no "Unhandled error event", no password; it scrapes again after', async () => {
    const real = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const small: CatalogueFile = { ...real.file, coins: { ase: { ...real.file.coins.ase, providers: real.file.coins.ase.providers.filter((p) => ['apmex', 'jmbullion'].includes(p.id)) } } };
    fleet = await startFleet({ catalogue: small });
    const rewritten = rewriteCatalogueForFleet(small, fleet.url);
    const path = join(dir.path, 'providers.json');
    await writeFile(path, JSON.stringify(rewritten));
    const catalogue = parseCatalogue(JSON.stringify(rewritten));
    const port = await freePort();
    let server = await passwordRedis(port, join(dir.path, 'redis'));
    const db = `file:${join(dir.path, 'prices.db')}`;
    const poller = spawnPoller(['start'], {
      REDIS_URL: server.url, REDIS_PREFIX: 'outage', CATALOGUE_PATH: path, CATALOGUE_WATCH_MS: '0', VENDORS_PATH: join(dir.path, 'none.json'),
      TURSO_DATABASE_URL: db, RECOVERY_LOG_DIR: join(dir.path, 'log'), PUBLISH_DIR: join(dir.path, 'publish'), API_DATA_REPO: join(dir.path, 'remote.git'),
      API_PORT: '0', SCHEDULER_CHECK_SECONDS: '1', DATA_DIR: join(dir.path, 'data'),
    });
    const enqueue = async (batchId: string) => {
      const connection = new Redis(server.url, { maxRetriesPerRequest: null });
      try {
        return await enqueueScrapesNow(catalogue.targets, { connection, prefix: 'outage', pollerId: 'api1', policy: { attempts: 2, backoffMs: 100 }, batchId });
      } finally {
        connection.disconnect();
      }
    };
    try {
      await poller.waitFor(/poller api1 running/, 30_000);
      await server.stop();
      await new Promise((r) => setTimeout(r, 6000));
      expect(poller.child.exitCode).toBeNull();
      server = await passwordRedis(port, join(dir.path, 'redis'));
      await poller.waitFor(new RegExp(`redis back at 127\\.0\\.0\\.1:${port} after \\d+ s`), 20_000);

      const ids = await enqueue('after');
      const connection = new Redis(server.url, { maxRetriesPerRequest: null });
      try {
        expect(await waitForJobs(ids, { connection, prefix: 'outage', timeoutMs: 30_000, pollMs: 100 })).toMatchObject({ completed: 2 });
      } finally {
        connection.disconnect();
      }
      await waitUntil('2 rows', async () => (await countRows(db, undefined, "poller_id = 'api1' AND idem_key LIKE '%after%'")) === 2, 10_000);

      const out = poller.output();
      expect(out.match(/unreachable at/g)).toHaveLength(1);
      expect(out.split('\n').filter((l) => /unreachable at/.test(l)).join('\n')).toMatch(new RegExp(`redis unreachable at 127\\.0\\.0\\.1:${port}: (ECONNREFUSED|ECONNRESET|EPIPE); retrying`));
      expect(out.match(/redis back at/g)).toHaveLength(1);
      expect(out).not.toMatch(/Unhandled error event/);
      // A job that was running when Redis went may log its own loss once (a missing lock); never the connection.
      expect(out.split('\n').filter((l) => /worker error|queue error/.test(l) && /ECONN|Connection is closed|max retries/i.test(l))).toEqual([]);
      // The one outage line; its reason is how the socket noticed (refused, reset, or a write into a closed pipe).
      expect(out.split('\n').filter((l) => /ECONNREFUSED|ECONNRESET|EPIPE/.test(l))).toHaveLength(1);
      expect(out).not.toContain(PASSWORD);
    } finally {
      poller.child.kill('SIGTERM');
      expect(await poller.exited).toBe(0);
      await server.stop();
    }
  }, 120_000);
});
