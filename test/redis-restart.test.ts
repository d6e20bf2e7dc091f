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
    } finally {
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
    }
    expect(await countRows(db)).toBe(6);
  });
});
