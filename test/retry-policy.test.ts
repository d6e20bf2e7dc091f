/**
 * Retry timing that serves the cycle, and bot walls: real workers on real Redis against the fleet.
 * A retry with other pages waiting joins the back of the vendor's queue at once; a vendor that walls every
 * page is reported blocked after one pass instead of having each page retried.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { join } from 'node:path';
import { parseCatalogue, loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { loadConfig } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { pino } from 'pino';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { judgeWall, memoryWallStore, retryDelayMs, WALL_SUSPECT_PAGES } from '../src/scrape/retry-policy.js';
import { PriceStore } from '../src/store/price-store.js';
import { appKeys, scrapeQueueName } from '../queues/names.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { testRedis } from './support/redis.js';
import { runPoller } from './support/cli.js';
import { tempDir } from './support/temp.js';
import { createClient } from '@libsql/client';

describe('retry timing', () => {
  it('joins the back of the queue at once when other pages wait, else waits the gap, doubling, with jitter', () => {
    expect(retryDelayMs(1, 5, { gapMs: 30_000 })).toBe(0);
    expect(retryDelayMs(2, 1, { gapMs: 30_000 })).toBe(0);
    expect(retryDelayMs(1, 0, { gapMs: 1000, jitter: 0 })).toBe(1000);
    expect(retryDelayMs(2, 0, { gapMs: 1000, jitter: 0 })).toBe(2000);
    expect(retryDelayMs(3, 0, { gapMs: 1000, jitter: 0 })).toBe(4000);
    expect(retryDelayMs(1, 0, { gapMs: 1000, jitter: 0.5 }, () => 0.5)).toBe(750);
    expect(retryDelayMs(1, 0, { gapMs: 1000, jitter: 0.5 }, () => 0)).toBe(1000);
    expect(retryDelayMs(1, 0, {})).toBeLessThanOrEqual(1000);
  });

  it('judges walls by distinct pages walled since the vendor last served one', () => {
    expect(judgeWall(0, 20)).toBe('open');
    expect(judgeWall(WALL_SUSPECT_PAGES - 1, 20)).toBe('open');
    expect(judgeWall(WALL_SUSPECT_PAGES, 20)).toBe('suspected');
    expect(judgeWall(20, 20)).toBe('walled');
    // A vendor with one page: that page walled is the whole vendor.
    expect(judgeWall(1, 1)).toBe('walled');
    expect(judgeWall(2, 2)).toBe('walled');
    // Unknown page count: never more than suspected.
    expect(judgeWall(50, 0)).toBe('suspected');
  });

  it('the memory store counts each page once and forgets the wall when a page is served', async () => {
    const store = memoryWallStore();
    expect(await store.recordBlocked('v', 'a', 100)).toEqual({ blockedPages: 1, since: 100, added: true });
    expect(await store.recordBlocked('v', 'a', 200)).toEqual({ blockedPages: 1, since: 100, added: false });
    expect(await store.recordBlocked('v', 'b', 300)).toEqual({ blockedPages: 2, since: 100, added: true });
    await store.recordServed('v');
    expect(await store.get('v')).toEqual({ blockedPages: 0, since: null });
  });
});

describe('retries and walls on real workers', () => {
  const redis = testRedis('retry');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let catalogue: Catalogue;
  let poller: Poller;
  let store: PriceStore;
  let db: string;
  const warnings: string[] = [];

  beforeAll(async () => {
    dir = await tempDir('retry');
    const real = await loadCatalogue('config/providers.json');
    // Six coins at one vendor (apmex) and one coin at another: enough to see queue order and walls.
    const coins = Object.entries(real.file.coins).filter(([, c]) => c.providers.some((p) => p.id === 'apmex' && p.enabled)).slice(0, 6);
    const small: CatalogueFile = { ...real.file, coins: Object.fromEntries(coins.map(([slug, c]) => [slug, { ...c, providers: c.providers.filter((p) => p.id === 'apmex' || (slug === coins[0][0] && p.id === 'jmbullion')) }])) };
    fleet = await startFleet({ catalogue: small, latencyMs: [100, 100] });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'retry test');
    db = `file:${join(dir.path, 'prices.db')}`;
    const config = {
      ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: redis.url, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn' }),
      redisPrefix: redis.prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'log'),
    };
    store = new PriceStore({ url: db });
    await store.migrate();
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    poller = await startPoller({ config, logger, roles: ['worker'], redisUrl: redis.url, store, catalogue, vendors: vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1) });
    await poller.worker!.ready();
  });
  afterEach(() => fleet.reset({ stats: true }));
  afterAll(async () => {
    await poller?.close();
    await store?.close();
    await fleet?.close();
    await redis.cleanup();
    await dir?.remove();
  });

  const apmex = () => catalogue.targets.filter((t) => t.vendor === 'apmex');

  async function run(batchId: string, targets = apmex(), backoffMs = 30_000) {
    const started = Date.now();
    const ids = await enqueueScrapesNow(targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 3, backoffMs }, batchId });
    const settled = await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 50_000, pollMs: 100 });
    const queue = new Queue(scrapeQueueName(targets[0].vendor), { connection: redis.connection, prefix: redis.prefix });
    try {
      const jobs = await Promise.all(ids.get(scrapeQueueName(targets[0].vendor))!.map((id) => queue.getJob(id)));
      return { ...settled, ms: settled.lastFinishedOn - started, jobs: await Promise.all(jobs.map(async (j) => ({ coin: j!.data.target.coin as string, attempts: j!.attemptsMade, finishedOn: j!.finishedOn!, state: j!.failedReason ? 'failed' : 'completed', reason: j!.failedReason, value: j!.returnvalue, logs: (await queue.getJobLogs(j!.id!)).logs }))) };
    } finally {
      await queue.close();
    }
  }

  async function rows(where: string): Promise<Array<Record<string, unknown>>> {
    const client = createClient({ url: db });
    try {
      return (await client.execute(`SELECT coin_slug, vendor, outcome, reason, idem_key FROM price_snapshots WHERE ${where} ORDER BY scraped_at`)).rows as unknown as Array<Record<string, unknown>>;
    } finally {
      client.close();
    }
  }

  it('a page that failed with others waiting is retried at the back of the queue at once, not after the backoff', async () => {
    const first = apmex()[0];
    fleet.setTarget('apmex', first.coin, { fault: '500', faultTimes: 1 });
    const r = await run('back');
    expect(r.completed).toBe(6);
    // The 30 s backoff was never waited: six pages of 100 ms and one retry.
    expect(r.ms).toBeLessThan(10_000);
    const retried = r.jobs.find((j) => j.coin === first.coin)!;
    expect(retried.attempts).toBe(2);
    // It went behind the five pages that were waiting: it finished last.
    expect(retried.finishedOn).toBe(Math.max(...r.jobs.map((j) => j.finishedOn)));
    expect(fleet.stats().byVendor.apmex).toBe(7);
    // What an operator sees in Bull Board: a log line per attempt, and the target, URL and outcome in the result.
    expect(retried.logs).toHaveLength(2);
    expect(retried.logs[0]).toMatch(/^attempt 1\/3: tier http, \d+ ms, error: HTTP 500 from the vendor .*; will be retried$/);
    expect(retried.logs[1]).toMatch(/^attempt 2\/3: tier http, \d+ ms, HTTP 200 http:\/\/127\.0\.0\.1:\d+\/apmex\/.*: (ok|out_of_stock) \$[\d.]+ by [a-z-]+.*; row written$/);
    expect(retried.value).toMatchObject({ target: { coin: first.coin, vendor: 'apmex', poller: 'api1' }, url: first.urls[0], tier: 'http', price: fleet.truth('apmex', first.coin).price });
  });

  it('with nothing else waiting, a retry follows after the gap', async () => {
    const [one] = apmex();
    fleet.setTarget('apmex', one.coin, { fault: '500', faultTimes: 1 });
    const r = await run('gap', [one], 1500);
    expect(r.completed).toBe(1);
    // 100 ms pages, a gap of 750-1500 ms (50% jitter) between the attempts.
    expect(r.ms).toBeGreaterThanOrEqual(750 + 200);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('a vendor that walls every page is reported blocked after one pass, without a retry per page; a page served clears it', async () => {
    fleet.setVendor('apmex', { fault: '403' });
    const r = await run('wall');
    expect(r.failed).toBe(6);
    // One request per page, plus the retries made before the wall was suspected (fewer than 3 pages in).
    expect(fleet.stats().byVendor.apmex).toBeLessThanOrEqual(6 + WALL_SUSPECT_PAGES - 1);
    const walled = await rows(`vendor = 'apmex' AND idem_key LIKE 'api1/now/%/wall'`);
    expect(walled).toHaveLength(6);
    expect(walled.every((row) => row.outcome === 'blocked')).toBe(true);
    expect(walled.filter((row) => /^vendor blocked: all 6 of its pages answered with a bot wall since /.test(String(row.reason))).length).toBeGreaterThanOrEqual(1);
    expect(await redis.connection.hlen(appKeys.vendorWalls(redis.prefix, 'api1', 'apmex'))).toBe(6);
    expect(warnings.filter((w) => w.includes('vendor blocks every page')).length).toBe(1);
    // `poller status` names the blocked vendor once instead of listing its six pages.
    const status = await runPoller(['status'], { TURSO_DATABASE_URL: db });
    expect(status.out).toMatch(/api1 apmex: vendor blocked: all 6 of its pages answered with a bot wall since /);
    expect(status.out).not.toMatch(/@apmex/);

    // The other vendor was never involved.
    const other = catalogue.targets.filter((t) => t.vendor === 'jmbullion');
    expect((await run('other', other)).completed).toBe(1);

    // The vendor serves again: the first page it serves clears the wall, and every page is read.
    fleet.reset();
    const back = await run('back-again');
    expect(back.completed).toBe(6);
    expect(await redis.connection.exists(appKeys.vendorWalls(redis.prefix, 'api1', 'apmex'))).toBe(0);
  });

  it('a wall on a few pages of a vendor that serves the rest is retried: it may get through', async () => {
    const [a, b] = apmex();
    fleet.setTarget('apmex', a.coin, { fault: 'challenge', faultTimes: 1 });
    fleet.setTarget('apmex', b.coin, { fault: '403', faultTimes: 1 });
    const r = await run('partial');
    expect(r.completed).toBe(6);
    expect(r.jobs.filter((j) => j.attempts === 2).map((j) => j.coin).sort()).toEqual([a.coin, b.coin].sort());
  });
});
