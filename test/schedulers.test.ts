import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { planSchedulers, reconcileSchedulers } from '../queues/scrape-schedulers.js';
import { scrapeQueueName } from '../queues/names.js';
import { testRedis } from './support/redis.js';
import { spawnPoller } from './support/cli.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const REAL = 'test/fixtures/contract/config/providers.json';
const policy = { attempts: 3, backoffMs: 1000 };

async function schedulerIds(url: string, prefix: string, vendors: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const v of vendors) {
    const q = new Queue(scrapeQueueName(v), { connection: { url } as never, prefix });
    ids.push(...(await q.getJobSchedulers(0, -1)).map((s) => s.key));
    await q.close();
  }
  return ids.sort();
}

describe('planSchedulers', () => {
  let catalogue: Catalogue;
  beforeAll(async () => {
    catalogue = await loadCatalogue(REAL);
  });

  it('plans one readable scheduler per enabled target', () => {
    const plan = planSchedulers(catalogue.targets, { pollerId: 'api1', intervalMs: 900_000, staggerMs: 0 });
    expect(plan).toHaveLength(166);
    expect(new Set(plan.map((p) => p.id)).size).toBe(166);
    expect(plan.find((p) => p.id === 'api1:ase:apmex')).toMatchObject({ queue: 'scrape.apmex', every: 900_000 });
  });

  it('spreads each vendor evenly over the interval, shifted by the poller stagger', () => {
    for (const [pollerId, stagger] of [['api1', 0], ['api2', 300_000], ['api3', 600_000]] as const) {
      const plan = planSchedulers(catalogue.targets, { pollerId, intervalMs: 900_000, staggerMs: stagger });
      const apmex = plan.filter((p) => p.queue === 'scrape.apmex').map((p) => p.offset).sort((a, b) => a - b);
      expect(apmex).toHaveLength(23);
      const gaps = apmex.slice(1).map((o, i) => o - apmex[i]);
      // 23 targets over 15 min: one every ~39 s, never two at once.
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(Math.floor(900_000 / 23) - 2);
      expect(apmex.every((o) => o >= 1 && o < 900_000)).toBe(true);
      expect(plan.find((p) => p.id === `${pollerId}:age:apmex`)!.offset).toBe(Math.max(1, stagger));
    }
  });

  it('without spreading, every target of a poller is due at its stagger; per-target intervals are kept', () => {
    const targets = catalogue.targets.map((t, i) => (i === 0 ? { ...t, intervalMinutes: 60 } : t));
    const plan = planSchedulers(targets, { pollerId: 'api2', intervalMs: 900_000, staggerMs: 300_000, spread: false });
    expect(plan.find((p) => p.data.target === targets[0])).toMatchObject({ every: 3_600_000, offset: 300_000 });
    expect(new Set(plan.filter((p) => p.every === 900_000).map((p) => p.offset))).toEqual(new Set([300_000]));
  });
});

describe('reconcileSchedulers against Redis', () => {
  const redis = testRedis('sched');
  let catalogue: Catalogue;
  let vendors: string[];
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    catalogue = await loadCatalogue(REAL);
    vendors = [...new Set(catalogue.targets.map((t) => t.vendor))];
    dir = await tempDir('sched');
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir.remove();
  });

  const opts = () => ({ connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy });
  const plan = (c: Catalogue) => planSchedulers(c.targets, { pollerId: 'api1', intervalMs: 900_000, staggerMs: 0 });

  it('creates exactly one scheduler per enabled target, also when two reconciles run at once, and again on restart', async () => {
    await Promise.all([reconcileSchedulers(plan(catalogue), opts()), reconcileSchedulers(plan(catalogue), opts())]);
    await reconcileSchedulers(plan(catalogue), opts());
    const ids = await schedulerIds(redis.url, redis.prefix, vendors);
    expect(ids).toEqual(catalogue.targets.map((t) => `api1:${t.coin}:${t.vendor}`).sort());
    // Each scheduler has exactly one next job waiting (delayed), not one per reconcile.
    const q = new Queue('scrape.apmex', { connection: redis.connection, prefix: redis.prefix });
    expect(await q.getDelayedCount() + (await q.getWaitingCount())).toBe(23);
    await q.close();
  });

  it('removes the scheduler of a disabled target and of a vendor that left the catalogue, and nothing else', async () => {
    const file = structuredClone(catalogue.file);
    file.coins.ase.providers.find((p) => p.id === 'apmex')!.enabled = false;
    for (const coin of Object.values(file.coins)) coin.providers = coin.providers.filter((p) => p.id !== 'summitmetals');
    const edited = parseCatalogue(JSON.stringify(file));
    const report = await reconcileSchedulers(plan(edited), opts());
    expect(report.removed).toContain('api1:ase:apmex');
    expect(report.removed.filter((id) => id.endsWith(':summitmetals'))).toHaveLength(16);
    const ids = await schedulerIds(redis.url, redis.prefix, vendors);
    expect(ids).toEqual(edited.targets.map((t) => `api1:${t.coin}:${t.vendor}`).sort());
    expect(ids).toHaveLength(166 - 1 - 16);
  });

  it('two scheduler processes started at the same moment leave exactly one scheduler per target', async () => {
    const prefix = `${redis.prefix}-procs`;
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: REAL, POLLER_ID: 'api2', CATALOGUE_WATCH_MS: '0' };
    const a = spawnPoller(['scheduler'], env);
    const b = spawnPoller(['scheduler'], env);
    await Promise.all([a.waitFor(/job schedulers reconciled/), b.waitFor(/job schedulers reconciled/)]);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    const ids = await schedulerIds(redis.url, prefix, vendors);
    expect(ids).toEqual(catalogue.targets.map((t) => `api2:${t.coin}:${t.vendor}`).sort());
    const { deleteByPrefix } = await import('./support/redis.js');
    await deleteByPrefix(redis.connection, prefix);
  });

  it('a running scheduler follows catalogue edits and refuses a broken edit, keeping the last good catalogue', async () => {
    const prefix = `${redis.prefix}-watch`;
    const path = join(dir.path, 'providers.json');
    const file = structuredClone(catalogue.file);
    await writeFile(path, JSON.stringify(file));
    const p = spawnPoller(['scheduler'], { REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: path, POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '100' });
    try {
      await p.waitFor(/job schedulers reconciled/);
      await new Promise((r) => setTimeout(r, 300));
      await writeFile(path, '{"coins": {"ase": {"name": "x", "metal": "silver"}}}');
      await p.waitFor(/catalogue edit refused/);
      expect(await schedulerIds(redis.url, prefix, vendors)).toHaveLength(166);
      file.coins.ase.providers.find((x) => x.id === 'jmbullion')!.enabled = false;
      await writeFile(path, JSON.stringify(file));
      await p.waitFor(/"removed":\["api1:ase:jmbullion"\]/);
      expect(await schedulerIds(redis.url, prefix, vendors)).toHaveLength(165);
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
      const { deleteByPrefix } = await import('./support/redis.js');
      await deleteByPrefix(redis.connection, prefix);
    }
  });

  it('recreates job schedulers that Redis lost (scrape schedulers and the merge safety net)', async () => {
    const prefix = `${redis.prefix}-lost`;
    const env = {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: REAL, POLLER_ID: 'api3', CATALOGUE_WATCH_MS: '0', SCHEDULER_CHECK_SECONDS: '1',
      TURSO_DATABASE_URL: `file:${join(dir.path, 'lost.db')}`, API_DATA_REPO: join(dir.path, 'lost-remote.git'), PUBLISH_DIR: join(dir.path, 'lost-publish'),
    };
    const scheduler = spawnPoller(['scheduler'], env);
    const merger = spawnPoller(['merger'], env);
    const merge = new Queue('merge', { connection: redis.connection, prefix });
    const { deleteByPrefix } = await import('./support/redis.js');
    try {
      await Promise.all([scheduler.waitFor(/job schedulers reconciled/), merger.waitFor(/poller api3 running/)]);
      expect(await schedulerIds(redis.url, prefix, vendors)).toHaveLength(166);
      // What a Redis restarted without persistence looks like to these processes: their keys are gone.
      await deleteByPrefix(redis.connection, prefix);
      await Promise.all([scheduler.waitFor(/scrape job schedulers missing from Redis/), merger.waitFor(/the merge scheduler missing from Redis/)]);
      await waitUntil('the schedulers to be recreated', async () => (await schedulerIds(redis.url, prefix, vendors)).length >= 166, 15_000);
      expect(await schedulerIds(redis.url, prefix, vendors)).toEqual(catalogue.targets.map((t) => `api3:${t.coin}:${t.vendor}`).sort());
      expect(await merge.getJobScheduler('merge')).toBeTruthy();
    } finally {
      scheduler.child.kill('SIGTERM');
      merger.child.kill('SIGTERM');
      await Promise.all([scheduler.exited, merger.exited]);
      await merge.close();
      await deleteByPrefix(redis.connection, prefix);
    }
  });
});
