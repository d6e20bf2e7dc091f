import { Queue, Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Target } from '../catalogue/target.js';
import type { Config } from '../config/env.js';
import type { VendorDirectory } from '../config/vendors.js';
import type { RowSink } from '../recovery/row-sink.js';
import { failedRow } from '../scrape/scrape-row.js';
import { createRedisConnection, onRedisErrors } from '../../queues/connection.js';
import { scrapeBackoffStrategy } from '../../queues/job-options.js';
import { scrapeQueueName } from '../../queues/names.js';
import { redisWallStore } from '../../queues/vendor-walls.js';
import type { ScrapeJobData } from '../../queues/scrape-schedulers.js';
import { createScrapeProcessor, rowContext, type ScrapeProcessorDeps } from '../../processors/scrape.js';

export interface WorkerRole {
  /** Starts workers for vendors that are new in this catalogue (existing ones keep running). */
  addVendors(catalogue: Catalogue): void;
  /** Vendors served. */
  vendors(): string[];
  /** Stops taking jobs; lets running jobs finish within the grace period, then hands the rest back. */
  close(graceMs?: number): Promise<void>;
  /** Resolves when every worker is ready to take jobs. */
  ready(): Promise<void>;
  workers: Map<string, Worker<ScrapeJobData>>;
}

export interface WorkerRoleOptions {
  config: Config;
  logger: Logger;
  redisUrl: string;
  catalogue: Catalogue;
  vendors: VendorDirectory;
  sink: RowSink;
  fetch?: ScrapeProcessorDeps['fetch'];
  priceContext?: ScrapeProcessorDeps['priceContext'];
  /** Follow-up of every scrape attempt (the export fan-in, metrics). Errors are logged, never thrown. */
  afterScrape?: ScrapeProcessorDeps['afterScrape'];
  /** Spot for the sanity check, read at each scrape. Default: the configured SPOT_USD_PER_OZ. */
  spot?: ScrapeProcessorDeps['spot'];
  /** The browser tier, screenshots and vision (reader-tiers.ts). Default: the HTTP tier alone. */
  tiers?: Pick<ScrapeProcessorDeps, 'browser' | 'screenshotOf' | 'keepScreenshot' | 'secondReader'>;
}

/** How often a worker looks for jobs whose worker died: half the lock, so recovery takes at most 1.5 locks. */
export function stalledCheckMs(lockMs: number): number {
  return Math.max(500, Math.round(lockMs / 2));
}

/** One BullMQ worker per vendor queue, with that vendor's concurrency and rate limit. */
export function startWorkerRole(options: WorkerRoleOptions): WorkerRole {
  const { config, logger, vendors, sink } = options;
  const workers = new Map<string, Worker<ScrapeJobData>>();
  const connections: Array<ReturnType<typeof createRedisConnection>> = [];
  const queues = new Map<string, Queue>();
  const producer = createRedisConnection(options.redisUrl, { blocking: false, connectionName: `${config.pollerId}:worker-control` });

  const queueOf = (vendor: string) => {
    let q = queues.get(vendor);
    if (!q) {
      q = onRedisErrors(new Queue(scrapeQueueName(vendor), { connection: producer, prefix: config.redisPrefix }), (err) => logger.warn({ vendor, err: err.message }, 'scrape queue error'));
      queues.set(vendor, q);
    }
    return q;
  };
  // The catalogue as last accepted: jobs scrape its URLs, and "every page of a vendor walled" counts its pages.
  let vendorPages = new Map<string, number>();
  let targets = new Map<string, Target>();
  const acceptCatalogue = (catalogue: Catalogue) => {
    vendorPages = new Map();
    for (const t of catalogue.targets) vendorPages.set(t.vendor, (vendorPages.get(t.vendor) ?? 0) + 1);
    targets = new Map(catalogue.targets.map((t) => [`${t.coin}@${t.vendor}`, t]));
  };
  const vendorOfQueue = new Map<string, string>();
  const backoffStrategy = scrapeBackoffStrategy(async (queueName) => {
    const vendor = vendorOfQueue.get(queueName);
    return vendor ? queueOf(vendor).getWaitingCount() : 0;
  });
  const processor = createScrapeProcessor({
    sink,
    vendors,
    timeoutMs: config.scrapeTimeoutMs,
    rateLimit: (vendor, ms) => queueOf(vendor).rateLimit(ms),
    logger,
    fetch: options.fetch,
    spot: options.spot ?? (() => config.spotUsdPerOz),
    ...options.tiers,
    priceContext: options.priceContext,
    walls: redisWallStore(producer, config.redisPrefix, config.pollerId),
    vendorPages: (vendor) => vendorPages.get(vendor) ?? 0,
    afterScrape: async (attempt) => {
      // One line per attempt: what an operator follows in the log (the row holds the price and the reason).
      logger.info({ target: `${attempt.target.coin}@${attempt.target.vendor}`, poller: attempt.pollerId, tier: attempt.tier, ms: attempt.durationMs, outcome: attempt.outcome }, attempt.final ? 'scrape done' : 'scrape attempt, will retry');
      await options.afterScrape?.(attempt);
    },
    resolveTarget: (t) => targets.get(`${t.coin}@${t.vendor}`) ?? null,
  });

  const onFailed = (job: Job<ScrapeJobData> | undefined, err: Error) => {
    if (!job) return;
    // Attempts that reached the processor are logged by its follow-up (one line each, with the outcome).
    logger.debug({ job: job.id, target: job.name, attempt: job.attemptsMade, err: err.message }, 'scrape attempt failed');
    // A job that stalled too often never reached the processor's own failure row: record it here.
    if (/stalled more than/i.test(err.message)) {
      logger.warn({ job: job.id, target: job.name, err: err.message }, 'scrape job stalled too often; a failed row records it');
      void sink.submit(failedRow(rowContext(job), `job ${err.message}`)).catch(() => undefined);
    }
  };

  const addVendor = (vendor: string) => {
    if (workers.has(vendor)) return;
    const settings = vendors.get(vendor);
    const connection = createRedisConnection(options.redisUrl, { connectionName: `${config.pollerId}:worker:${vendor}` });
    connections.push(connection);
    const worker = new Worker<ScrapeJobData>(scrapeQueueName(vendor), processor, {
      connection,
      prefix: config.redisPrefix,
      concurrency: settings.concurrency,
      limiter: settings.rateLimit ? { max: settings.rateLimit.max, duration: settings.rateLimit.durationMs } : undefined,
      // A crashed worker's lock expires within lockDuration; another worker's stalled check, every half of it,
      // then puts the job at the front of the queue: it runs again within 1.5 x WORKER_LOCK_MS (tested).
      lockDuration: config.workerLockMs,
      stalledInterval: stalledCheckMs(config.workerLockMs),
      maxStalledCount: 1,
      settings: { backoffStrategy },
    });
    vendorOfQueue.set(scrapeQueueName(vendor), vendor);
    worker.on('failed', onFailed);
    // Connection errors are the outage tracker's (one line per outage); the rest are logged here.
    onRedisErrors(worker, (err) => logger.error({ vendor, err: err.message }, 'worker error'));
    workers.set(vendor, worker);
  };

  const addVendors = (catalogue: Catalogue) => {
    acceptCatalogue(catalogue);
    for (const v of new Set(catalogue.targets.map((t) => t.vendor))) addVendor(v);
  };
  addVendors(options.catalogue);
  logger.info({ vendors: [...workers.keys()] }, 'scrape workers started');

  return {
    workers,
    addVendors,
    vendors: () => [...workers.keys()],
    async ready() {
      await Promise.all([...workers.values()].map((w) => w.waitUntilReady()));
    },
    async close(graceMs = config.shutdownGraceMs) {
      const all = [...workers.values()];
      await Promise.all(all.map((w) => w.pause(true).catch(() => undefined))).catch(() => undefined);
      const graceful = Promise.all(all.map((w) => w.close()));
      const timedOut = await Promise.race([graceful.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) {
        logger.warn({ graceMs }, 'jobs still running after the grace period; handing them back (they will be retried)');
        await Promise.all(all.map((w) => w.close(true)));
      }
      await Promise.all([...queues.values()].map((q) => q.close()));
      // BullMQ leaves connections it was given open: they are ours to close.
      for (const c of [producer, ...connections]) c.disconnect();
    },
  };
}
