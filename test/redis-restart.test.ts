/**
 * Redis stops and comes back (its data on disk, as deploy runs it) under a running worker process:
 * the process stays up, reconnects by itself and scrapes what is queued after the restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { startFleet, rewriteCatalogueForFleet } from '../src/fleet/index.js';
import { startRedisServer, type RedisServerHandle } from '../src/redis/redis-server.js';
import { enqueueScrapesNow } from '../queues/scrape-now.js';
import { scrapeQueueName } from '../queues/names.js';
import { Queue } from 'bullmq';
import { loadConfig } from '../src/config/env.js';
import { createLogger } from '../src/log.js';
import { startPoller } from '../src/roles/poller.js';
import { countRows } from './support/rows.js';
import { spawnPoller } from './support/cli.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

describe('Redis restarting under a running worker', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: Awaited<ReturnType<typeof startFleet>>;
  let redis: RedisServerHandle;
  beforeAll(async () => {
    dir = await tempDir('redis-restart');
    redis = await startRedisServer({ dir: join(dir.path, 'redis'), persist: true });
  });
  afterAll(async () => {
    await fleet?.close();
    await redis?.stop();
    await dir.remove();
  });

  it('the worker reconnects by itself and scrapes what is queued after the restart', async () => {
    const real = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const three = structuredClone(real.file);
    three.coins = { ase: { ...three.coins.ase, providers: three.coins.ase.providers.filter((p) => ['apmex', 'jmbullion', 'sdbullion'].includes(p.id)) } };
    fleet = await startFleet({ catalogue: three });
    const rewritten = rewriteCatalogueForFleet(three, fleet.url);
    const path = join(dir.path, 'providers.json');
    await writeFile(path, JSON.stringify(rewritten));
    const catalogue: Catalogue = parseCatalogue(JSON.stringify(rewritten));
    const db = `file:${join(dir.path, 'prices.db')}`;
    const worker = spawnPoller(['worker'], {
      REDIS_URL: redis.url, CATALOGUE_PATH: path, TURSO_DATABASE_URL: db, RECOVERY_LOG_DIR: join(dir.path, 'log'),
      VENDORS_PATH: join(dir.path, 'none.json'), CATALOGUE_WATCH_MS: '0',
    });
    const enqueue = async (batchId: string) => {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
      try {
        await enqueueScrapesNow(catalogue.targets, { connection, prefix: 'bull', pollerId: 'api1', policy: { attempts: 3, backoffMs: 100 }, batchId });
      } finally {
        connection.disconnect();
      }
    };
    try {
      await worker.waitFor(/scrape workers started/);
      await enqueue('before');
      await waitUntil('the first 3 rows', async () => (await countRows(db)) === 3, 30_000);

      await redis.stop();
      await new Promise((r) => setTimeout(r, 1500));
      expect(worker.child.exitCode).toBeNull();
      redis = await startRedisServer({ dir: join(dir.path, 'redis'), port: redis.port, persist: true });

      await enqueue('after');
      await waitUntil('3 more rows after the restart', async () => (await countRows(db)) === 6, 30_000);
      expect(worker.child.exitCode).toBeNull();
      // The outage is one line when it starts and one when it ends, never ioredis' unhandled errors.
      await worker.waitFor(/redis back at 127\.0\.0\.1:\d+ after \d+ s/);
      expect(worker.output().match(/unreachable at/g)).toHaveLength(1);
      expect(worker.output()).toMatch(/redis unreachable at 127\.0\.0\.1:\d+: (ECONNREFUSED|ECONNRESET); retrying/);
      expect(worker.output().match(/redis back at/g)).toHaveLength(1);
      expect(worker.output()).not.toMatch(/Unhandled error event|worker error/);
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
    expect(await countRows(db)).toBe(6);
  });

  it('a Redis restarted empty (no persistence) gets its job schedulers back as soon as the scheduler reconnects', async () => {
    const empty = await startRedisServer({ dir: join(dir.path, 'redis-empty'), persist: false });
    const real = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const two = structuredClone(real.file);
    two.coins = { ase: { ...two.coins.ase, providers: two.coins.ase.providers.filter((p) => ['apmex', 'jmbullion'].includes(p.id)) } };
    const catalogue = parseCatalogue(JSON.stringify(two));
    // The periodic check is an hour away: only the reconnect can bring the schedulers back in time.
    const config = { ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: empty.url, CATALOGUE_WATCH_MS: '0', SCHEDULER_CHECK_SECONDS: '3600', LOG_LEVEL: 'silent' }), databaseUrl: `file:${join(dir.path, 'empty.db')}`, recoveryLogDir: join(dir.path, 'empty-log') };
    let restarted = empty;
    const poller = await startPoller({ config, logger: createLogger({ level: 'silent' }), roles: ['scheduler'], redisUrl: empty.url, catalogue });
    const count = async () => {
      const connection = new Redis(restarted.url, { maxRetriesPerRequest: 1 });
      try {
        const queues = ['apmex', 'jmbullion'].map((v) => new Queue(scrapeQueueName(v), { connection, prefix: 'bull' }));
        const n = (await Promise.all(queues.map((q) => q.getJobSchedulersCount()))).reduce((a, b) => a + b, 0);
        await Promise.all(queues.map((q) => q.close()));
        return n;
      } finally {
        connection.disconnect();
      }
    };
    try {
      expect(await count()).toBe(2);
      await empty.stop();
      restarted = await startRedisServer({ dir: join(dir.path, 'redis-empty'), port: empty.port, persist: false });
      const back = Date.now();
      await waitUntil('the schedulers recreated after the reconnect', async () => (await count().catch(() => 0)) === 2, 15_000);
      expect(Date.now() - back).toBeLessThan(15_000);
    } finally {
      await poller.close();
      await restarted.stop();
    }
  });
});
