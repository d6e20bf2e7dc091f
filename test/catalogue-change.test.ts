/**
 * Jobs queued before a restart or a catalogue edit scrape the catalogue as it is when they run: a URL the
 * catalogue no longer has is never fetched (the demo's fleet moves to a new port on every start).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { loadConfig } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { createLogger } from '../src/log.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { deleteKeys } from '../src/redis/delete-keys.js';
import { PriceStore } from '../src/store/price-store.js';
import { scrapeQueueName } from '../queues/names.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { countRows } from './support/rows.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';

describe('a catalogue that changed under queued jobs', () => {
  const redis = testRedis('catalogue-change');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleets: FleetHandle[] = [];
  let poller: Poller | undefined;
  let store: PriceStore | undefined;
  beforeAll(async () => {
    dir = await tempDir('catalogue-change');
  });
  afterAll(async () => {
    await poller?.close();
    await store?.close();
    for (const f of fleets) await f.close();
    await redis.cleanup();
    await dir?.remove();
  });

  it('scrapes the URLs the catalogue has when the job runs, and drops a job whose target left it', async () => {
    const real = await loadCatalogue('config/providers.json');
    const small: CatalogueFile = {
      ...real.file,
      coins: Object.fromEntries(['ase', 'age', 'ape'].map((slug) => [slug, { ...real.file.coins[slug], providers: real.file.coins[slug].providers.filter((p) => p.id === 'apmex') }])),
    };
    // The previous run: its fleet and its URLs. Jobs are queued, then it stops before they run.
    const before = await startFleet({ catalogue: small });
    fleets.push(before);
    const old = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, before.url)), 'before');
    const ids = await enqueueScrapesNow(old.targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 2, backoffMs: 100 }, batchId: 'before' });
    await before.close();

    // This run: a new fleet on another port, and ape dropped from the catalogue.
    const now = await startFleet({ catalogue: small });
    fleets.push(now);
    const { ape: _dropped, ...kept } = small.coins;
    const current = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet({ ...small, coins: kept }, now.url)), 'now');
    const db = `file:${join(dir.path, 'prices.db')}`;
    store = new PriceStore({ url: db });
    await store.migrate();
    const config = { ...loadConfig({ POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'silent' }), redisPrefix: redis.prefix, databaseUrl: db, recoveryLogDir: join(dir.path, 'log') };
    poller = await startPoller({ config, logger: createLogger({ level: 'silent' }), roles: ['worker'], redisUrl: redis.url, store, catalogue: current, vendors: vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1) });

    const settled = await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 30_000, pollMs: 100 });
    expect(settled).toMatchObject({ completed: 2, failed: 1 });
    // Every request went to this run's fleet: none to the old port (it would have failed with ECONNREFUSED).
    expect(now.stats().byVendor.apmex).toBe(2);
    expect(await countRows(db, undefined, "outcome = 'ok' OR outcome = 'out_of_stock'")).toBe(2);
    // The dropped target wrote no row and says why.
    expect(await countRows(db, undefined, "coin_slug = 'ape'")).toBe(0);
    const queue = new Queue(scrapeQueueName('apmex'), { connection: redis.connection, prefix: redis.prefix });
    try {
      const failed = await queue.getFailed();
      expect(failed.map((j) => j.failedReason)).toEqual(['ape@apmex is no longer in the catalogue: nothing scraped']);
    } finally {
      await queue.close();
    }
  });

  it('a running worker follows an edit of the catalogue file: jobs queued before it scrape the new URLs', async () => {
    const real = await loadCatalogue('config/providers.json');
    const small: CatalogueFile = { ...real.file, coins: { ase: { ...real.file.coins.ase, providers: real.file.coins.ase.providers.filter((p) => p.id === 'jmbullion') } } };
    const oldFleet = await startFleet({ catalogue: small });
    const newFleet = await startFleet({ catalogue: small });
    fleets.push(oldFleet, newFleet);
    const path = join(dir.path, 'providers.json');
    await writeFile(path, JSON.stringify(rewriteCatalogueForFleet(small, oldFleet.url)));
    const db = `file:${join(dir.path, 'running.db')}`;
    const prefix = `${redis.prefix}-running`;
    const config = {
      ...loadConfig({ POLLER_ID: 'api1', CATALOGUE_PATH: path, CATALOGUE_WATCH_MS: '100', LOG_LEVEL: 'silent' }),
      redisPrefix: prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'running-log'),
    };
    const running = await startPoller({ config, logger: createLogger({ level: 'silent' }), roles: ['worker'], redisUrl: redis.url, vendors: vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1) });
    const queue = new Queue(scrapeQueueName('jmbullion'), { connection: redis.connection, prefix });
    try {
      // Jobs wait in a paused queue with the old URL; meanwhile the catalogue moves to the new fleet.
      await queue.pause();
      const old = parseCatalogue(await readFile(path, 'utf8'), path);
      const ids = await enqueueScrapesNow(old.targets, { connection: redis.connection, prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 100 }, batchId: 'running' });
      await oldFleet.close();
      await writeFile(path, JSON.stringify(rewriteCatalogueForFleet(small, newFleet.url)));
      await new Promise((r) => setTimeout(r, 1000)); // the watcher checks every 100 ms
      await queue.resume();
      expect(await waitForJobs(ids, { connection: redis.connection, prefix, timeoutMs: 20_000, pollMs: 100 })).toMatchObject({ completed: 1, failed: 0 });
      expect(newFleet.stats().byVendor.jmbullion).toBe(1);
    } finally {
      await queue.close();
      await running.close();
      await deleteKeys(redis.connection, `${prefix}:*`);
    }
  });
});
