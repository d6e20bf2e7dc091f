import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import { loadConfig } from '../config/env.js';
import { vendorDirectory } from '../config/vendors.js';
import type { FleetHandle } from '../fleet/index.js';
import { startPoller } from '../roles/poller.js';
import { PriceStore } from '../store/price-store.js';
import { createRedisConnection } from '../../queues/connection.js';
import { enqueueScrapesNow, waitForJobs } from '../../queues/scrape-now.js';
import { peakRssMb, round } from './stats.js';

export interface CycleTimeOptions {
  redisUrl: string;
  prefix: string;
  /** Catalogue pointed at a fleet started with the wanted latency. */
  catalogue: Catalogue;
  fleet: FleetHandle;
  workdir: string;
  logger: Logger;
}

export interface CycleTimeResult {
  targets: number;
  vendors: number;
  largestVendor: string;
  largestVendorTargets: number;
  /** Sum of the page latencies of the slowest vendor: with one request at a time per vendor, nothing can beat it. */
  floorMs: number;
  wallMs: number;
  /** wall / floor - 1, in percent. Goal: within 10. */
  overFloorPct: number;
  workerPeakRssMb: number;
}

/**
 * Every target due at the same moment (as after a restart), one request at a time per vendor:
 * wall time from the enqueue to the last row, against the floor set by the busiest vendor.
 */
export async function measureCycleTime(options: CycleTimeOptions): Promise<CycleTimeResult> {
  const { catalogue, fleet } = options;
  const config = {
    ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: options.redisUrl, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn' }),
    redisPrefix: options.prefix,
    databaseUrl: `file:${join(options.workdir, 'cycle.db')}`,
    recoveryLogDir: join(options.workdir, 'cycle-log'),
  };
  const store = new PriceStore({ url: config.databaseUrl });
  await store.migrate();
  // Politeness as in production (one request at a time per vendor), without the extra spacing of a rate limit.
  const vendors = vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1);
  const poller = await startPoller({ config, logger: options.logger, roles: ['worker'], redisUrl: options.redisUrl, store, catalogue, vendors });
  const control = createRedisConnection(options.redisUrl, { blocking: false });
  try {
    fleet.reset({ stats: true });
    const started = Date.now();
    const ids = await enqueueScrapesNow(catalogue.targets, { connection: control, prefix: options.prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 1000 }, batchId: 'cycle' });
    const settled = await waitForJobs(ids, { connection: control, prefix: options.prefix, timeoutMs: 30 * 60_000, pollMs: 1000 });
    const wallMs = settled.lastFinishedOn - started;
    const perVendor = fleet.stats().latencyMsByVendor;
    const [largestVendor, floorMs] = Object.entries(perVendor).sort((a, b) => b[1] - a[1])[0];
    return {
      targets: catalogue.targets.length,
      vendors: new Set(catalogue.targets.map((t) => t.vendor)).size,
      largestVendor,
      largestVendorTargets: catalogue.targets.filter((t) => t.vendor === largestVendor).length,
      floorMs: round(floorMs, 0),
      wallMs: round(wallMs, 0),
      overFloorPct: round((wallMs / floorMs - 1) * 100, 1),
      workerPeakRssMb: peakRssMb(),
    };
  } finally {
    await poller.close();
    await store.close();
    control.disconnect();
  }
}
