import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import { loadConfig } from '../config/env.js';
import { vendorDirectory } from '../config/vendors.js';
import type { FleetHandle } from '../fleet/index.js';
import { startPoller } from '../roles/poller.js';
import { PriceStore } from '../store/price-store.js';
import { createRedisConnection } from '../../queues/connection.js';
import type { ScrapeJobPolicy } from '../../queues/job-options.js';
import { enqueueScrapesNow, waitForJobs } from '../../queues/scrape-now.js';
import { median, peakRssMb, round } from './stats.js';

export interface CycleTimeOptions {
  redisUrl: string;
  prefix: string;
  /** Catalogue pointed at a fleet started with the wanted latency (and faults). */
  catalogue: Catalogue;
  fleet: FleetHandle;
  workdir: string;
  logger: Logger;
  /** Attempts and retry gap of the jobs. Default: as configured in production (3 attempts, 1 s gap). */
  policy?: ScrapeJobPolicy;
  /** Names the database file, so that two measurements in one run never share rows. Default `cycle`. */
  label?: string;
}

export interface CycleTimeResult {
  targets: number;
  vendors: number;
  /** The host whose realized floor is the highest: with one request at a time per vendor, nothing can beat it. */
  busiestHost: string;
  busiestHostTargets: number;
  /** Time the busiest host held our requests (hung ones until we gave up) plus the Retry-After time it asked for. */
  realizedFloorMs: number;
  /** The configured page latency drawn for the busiest host alone (the floor of a fleet without faults). */
  latencyFloorMs: number;
  /** Enqueue to the last row whose price and stock are the fleet's truth. */
  toLastRightRowMs: number;
  /** Enqueue to the last job settled (right, failed or wrong). */
  toLastRowMs: number;
  /** toLastRightRowMs / realizedFloorMs - 1, in percent. */
  lastRightOverFloorPct: number;
  /** toLastRowMs / realizedFloorMs - 1, in percent. */
  lastRowOverFloorPct: number;
  /** Rows with a price: how many carry the true price, and the true stock. */
  prices: { priced: number; right: number; rightPct: number; stockRight: number; wrong: string[] };
  /** Jobs that ended without a price, by the outcome of their row. */
  unpriced: Record<string, number>;
  /** One row per target is expected (a price or the last failure). */
  rows: { expected: number; found: number; missing: number; duplicated: number };
  /** Each 429's Retry-After against the time until our next request to that host (excess = waited - asked). */
  rateLimits: { count: number; askedMs: number; excessMsMin: number | null; excessMsMedian: number | null; excessMsMax: number | null };
  /** Requests the fleet answered with each fault. */
  faults: Record<string, number>;
  requests: number;
  workerPeakRssMb: number;
}

interface SettledJob {
  coin: string;
  vendor: string;
  finishedOn: number;
  price: number | null;
  inStock: boolean | null;
}

/**
 * Every target due at the same moment (as after a restart), one request at a time per vendor: the time to
 * the last right row and to the last row, against the floor the hosts themselves imposed in this run (the
 * latency they served, hangs until our timeout, and the Retry-After they asked), with every price checked
 * against the fleet's truth and every row counted.
 */
export async function measureCycleTime(options: CycleTimeOptions): Promise<CycleTimeResult> {
  const { catalogue, fleet } = options;
  const config = {
    ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: options.redisUrl, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn' }),
    redisPrefix: options.prefix,
    databaseUrl: `file:${join(options.workdir, `${options.label ?? 'cycle'}.db`)}`,
    recoveryLogDir: join(options.workdir, `${options.label ?? 'cycle'}-log`),
  };
  const policy = options.policy ?? { attempts: config.scrapeAttempts, backoffMs: config.scrapeBackoffMs };
  const store = new PriceStore({ url: config.databaseUrl });
  await store.migrate();
  // Politeness as in production (one request at a time per vendor), without the extra spacing of a rate limit.
  const vendors = vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1);
  const poller = await startPoller({ config, logger: options.logger, roles: ['worker'], redisUrl: options.redisUrl, store, catalogue, vendors });
  const control = createRedisConnection(options.redisUrl, { blocking: false });
  try {
    await poller.worker!.ready();
    fleet.reset({ stats: true });
    const started = Date.now();
    const ids = await enqueueScrapesNow(catalogue.targets, { connection: control, prefix: options.prefix, pollerId: 'api1', policy, batchId: 'cycle' });
    const settled = await waitForJobs(ids, { connection: control, prefix: options.prefix, timeoutMs: 30 * 60_000, pollMs: 250 });
    const stats = fleet.stats();
    const jobs = await settledJobs(ids, control, options.prefix);

    const floors = Object.keys(stats.servedMsByVendor).map((v) => ({ vendor: v, ms: (stats.servedMsByVendor[v] ?? 0) + (stats.retryAfterMsByVendor[v] ?? 0) }));
    const busiest = floors.sort((a, b) => b.ms - a.ms)[0];
    const wrong: string[] = [];
    let right = 0;
    let stockRight = 0;
    let lastRight = started;
    const priced = jobs.filter((j) => j.price !== null);
    for (const j of priced) {
      const truth = fleet.truth(j.vendor, j.coin);
      const priceOk = j.price === truth.price;
      const stockOk = j.inStock === truth.inStock;
      if (priceOk) right++;
      if (stockOk) stockRight++;
      if (priceOk && stockOk) lastRight = Math.max(lastRight, j.finishedOn);
      else if (wrong.length < 20) wrong.push(`${j.coin}@${j.vendor}: ${j.price} ${j.inStock ? 'in' : 'out of'} stock, truth ${truth.price} ${truth.inStock ? 'in' : 'out of'} stock`);
    }
    const rows = await countRowsPerTarget(config.databaseUrl);
    const unpriced: Record<string, number> = {};
    for (const r of rows.unpricedOutcomes) unpriced[r] = (unpriced[r] ?? 0) + 1;
    const excess = stats.rateLimitWaits.map((w) => w.waitedMs - w.askedMs);
    const faults: Record<string, number> = {};
    for (const byKind of Object.values(stats.faultsByVendor)) for (const [k, n] of Object.entries(byKind)) faults[k] = (faults[k] ?? 0) + n;
    const toLastRightRowMs = lastRight - started;
    const toLastRowMs = settled.lastFinishedOn - started;
    return {
      targets: catalogue.targets.length,
      vendors: new Set(catalogue.targets.map((t) => t.vendor)).size,
      busiestHost: busiest.vendor,
      busiestHostTargets: catalogue.targets.filter((t) => t.vendor === busiest.vendor).length,
      realizedFloorMs: round(busiest.ms, 0),
      latencyFloorMs: round(stats.latencyMsByVendor[busiest.vendor] ?? 0, 0),
      toLastRightRowMs,
      toLastRowMs,
      lastRightOverFloorPct: round((toLastRightRowMs / busiest.ms - 1) * 100, 1),
      lastRowOverFloorPct: round((toLastRowMs / busiest.ms - 1) * 100, 1),
      prices: { priced: priced.length, right, rightPct: priced.length ? round((100 * right) / priced.length, 2) : 0, stockRight, wrong },
      unpriced,
      rows: { expected: catalogue.targets.length, found: rows.total, missing: catalogue.targets.length - rows.targets, duplicated: rows.total - rows.targets },
      rateLimits: {
        count: stats.rateLimitWaits.length,
        askedMs: stats.rateLimitWaits[0]?.askedMs ?? 0,
        excessMsMin: excess.length ? round(Math.min(...excess), 0) : null,
        excessMsMedian: excess.length ? round(median(excess), 0) : null,
        excessMsMax: excess.length ? round(Math.max(...excess), 0) : null,
      },
      faults,
      requests: stats.requests,
      workerPeakRssMb: peakRssMb(),
    };
  } finally {
    await poller.close();
    await store.close();
    control.disconnect();
  }
}

/** Each job's target, finish time and the price and stock it returned (null for a failed job). */
async function settledJobs(ids: Map<string, string[]>, connection: ReturnType<typeof createRedisConnection>, prefix: string): Promise<SettledJob[]> {
  const out: SettledJob[] = [];
  for (const [name, list] of ids) {
    const queue = new Queue(name, { connection, prefix });
    try {
      for (const id of list) {
        const job = await queue.getJob(id);
        if (!job) continue;
        const value = job.returnvalue as { price?: number | null; inStock?: boolean | null } | null;
        out.push({ coin: job.data.target.coin, vendor: job.data.target.vendor, finishedOn: job.finishedOn ?? 0, price: value?.price ?? null, inStock: value?.inStock ?? null });
      }
    } finally {
      await queue.close();
    }
  }
  return out;
}

/** Rows in the database, the targets they cover, and the outcomes of the rows without a price (read by a fresh client). */
async function countRowsPerTarget(url: string): Promise<{ total: number; targets: number; unpricedOutcomes: string[] }> {
  const client = createClient({ url });
  try {
    const total = Number((await client.execute('SELECT COUNT(*) AS n FROM price_snapshots')).rows[0].n);
    const targets = Number((await client.execute('SELECT COUNT(DISTINCT coin_slug || \'@\' || vendor) AS n FROM price_snapshots')).rows[0].n);
    const unpriced = await client.execute("SELECT outcome FROM price_snapshots WHERE is_failed = 1 AND outcome NOT IN ('ok', 'out_of_stock')");
    return { total, targets, unpricedOutcomes: unpriced.rows.map((r) => String(r.outcome)) };
  } finally {
    client.close();
  }
}
