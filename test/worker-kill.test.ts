import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue } from '../src/catalogue/load.js';
import { startFleet, rewriteCatalogueForFleet } from '../src/fleet/index.js';
import { enqueueScrapesNow } from '../queues/scrape-now.js';
import { scrapeQueueName } from '../queues/names.js';
import { countRows } from './support/rows.js';
import { deleteByPrefix, testRedis } from './support/redis.js';
import { spawnPoller } from './support/cli.js';
import { tempDir } from './support/temp.js';

describe('a worker killed with SIGKILL in the middle of a job', () => {
  const redis = testRedis('kill');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: Awaited<ReturnType<typeof startFleet>>;
  beforeAll(async () => {
    dir = await tempDir('kill');
  });
  afterAll(async () => {
    await fleet?.close();
    await redis.cleanup();
    await dir.remove();
  });

  it('is retried by another worker and leaves exactly one row', async () => {
    const real = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const one = structuredClone(real.file);
    one.coins = { ase: { ...one.coins.ase, providers: one.coins.ase.providers.filter((p) => p.id === 'apmex') } };
    fleet = await startFleet({ catalogue: one });
    const rewritten = rewriteCatalogueForFleet(one, fleet.url);
    const path = join(dir.path, 'providers.json');
    await writeFile(path, JSON.stringify(rewritten));
    const catalogue = parseCatalogue(JSON.stringify(rewritten));
    const db = `file:${join(dir.path, 'prices.db')}`;
    const env = {
      REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, CATALOGUE_PATH: path, TURSO_DATABASE_URL: db,
      RECOVERY_LOG_DIR: join(dir.path, 'log'), WORKER_LOCK_MS: '1500', VENDORS_PATH: join(dir.path, 'none.json'), CATALOGUE_WATCH_MS: '0',
    };
    fleet.setTarget('apmex', 'ase', { latencyMs: 60_000 });
    const first = spawnPoller(['worker'], env);
    await first.waitFor(/scrape workers started/);
    await enqueueScrapesNow(catalogue.targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 3, backoffMs: 100 }, batchId: 'kill' });
    const deadline = Date.now() + 20_000;
    while (fleet.stats().requests < 1) {
      if (Date.now() > deadline) throw new Error(`the worker never fetched the page:\n${first.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    fleet.setTarget('apmex', 'ase', { latencyMs: 0 });
    expect(await countRows(db)).toBe(0);

    const second = spawnPoller(['worker'], env);
    try {
      const q = new Queue(scrapeQueueName('apmex'), { connection: redis.connection, prefix: redis.prefix });
      const until = Date.now() + 30_000;
      while ((await q.getCompletedCount()) < 1) {
        if (Date.now() > until) throw new Error(`job not completed:\n${second.output()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const [job] = await q.getCompleted();
      await q.close();
      expect(job.returnvalue).toMatchObject({ outcome: 'ok', price: fleet.truth('apmex', 'ase').price });
      expect(fleet.stats().requests).toBe(2);
      expect(await countRows(db)).toBe(1);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
    expect(await countRows(db)).toBe(1);
  });

  it('runs again on a worker that is up within 1.5 x WORKER_LOCK_MS of the crash', async () => {
    const real = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const one = structuredClone(real.file);
    one.coins = { age: { ...one.coins.age, providers: one.coins.age.providers.filter((p) => p.id === 'apmex') } };
    const bound = await startFleet({ catalogue: one });
    const rewritten = rewriteCatalogueForFleet(one, bound.url);
    const path = join(dir.path, 'providers-bound.json');
    await writeFile(path, JSON.stringify(rewritten));
    const prefix = `${redis.prefix}-bound`;
    const lockMs = 2000;
    const env = {
      REDIS_URL: redis.url, REDIS_PREFIX: prefix, CATALOGUE_PATH: path, TURSO_DATABASE_URL: `file:${join(dir.path, 'bound.db')}`,
      RECOVERY_LOG_DIR: join(dir.path, 'bound-log'), WORKER_LOCK_MS: String(lockMs), VENDORS_PATH: join(dir.path, 'none.json'), CATALOGUE_WATCH_MS: '0',
    };
    bound.setTarget('apmex', 'age', { latencyMs: 60_000 });
    const first = spawnPoller(['worker'], env);
    const second = { p: null as ReturnType<typeof spawnPoller> | null };
    try {
      await first.waitFor(/scrape workers started/);
      await enqueueScrapesNow(parseCatalogue(JSON.stringify(rewritten)).targets, { connection: redis.connection, prefix, pollerId: 'api1', policy: { attempts: 3, backoffMs: 100 }, batchId: 'bound' });
      const taken = Date.now() + 20_000;
      while (bound.stats().requests < 1) {
        if (Date.now() > taken) throw new Error('the first worker never fetched the page');
        await new Promise((r) => setTimeout(r, 20));
      }
      // Another worker is up before the crash, as in production.
      second.p = spawnPoller(['worker'], env);
      await second.p.waitFor(/scrape workers started/);
      bound.setTarget('apmex', 'age', { latencyMs: 0 });
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      await first.exited;
      const until = killedAt + 15_000;
      while (bound.stats().requests < 2) {
        if (Date.now() > until) throw new Error(`the job never ran again:\n${second.p.output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      // 1.5 locks, and a little for two processes on a loaded machine to notice.
      expect(Date.now() - killedAt).toBeLessThanOrEqual(1.5 * lockMs + 800);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      second.p?.child.kill('SIGTERM');
      if (second.p) await second.p.exited;
      await bound.close();
      await deleteByPrefix(redis.connection, prefix);
    }
  });
});
