import { Worker } from 'bullmq';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Config, SpotPrices } from '../config/env.js';
import { startFakeMetalPriceApi, type FakeMetalPriceApiHandle } from '../fleet/metal-price-api.js';
import { GoldbackScrapeError, hasRateFor, scrapeGoldbackRate } from '../goldback/index.js';
import type { HttpFetchOptions } from '../scrape/fetch/http-fetch.js';
import { isBusyError } from '../store/database.js';
import { redactUrl } from '../secrets.js';
import { SpotApiError } from '../spot/spot-api-error.js';
import { SIMULATED_PROVIDER } from '../spot/spot-store.js';
import type { SpotFeedParts } from '../spot/spot-feed.js';
import { createMetalPriceApiClient } from '../spot/metal-price-api.js';
import { ensureSpotSchema } from '../spot/spot-schema.js';
import { backfillSpotHours, catchUpSpotHistory, pollLatestSpot } from '../spot/spot-feed.js';
import { SpotStore } from '../spot/spot-store.js';
import { syncRepositories } from '../sync/index.js';
import { createRedisConnection, onRedisErrors } from '../../queues/connection.js';
import { SPOT_QUEUE_NAME, SYNC_QUEUE_NAME, type FeedJobData, type SyncJobData } from '../../queues/feed-jobs.js';
import { createSpotProcessor, createSyncProcessor, type FeedJobResult } from '../../processors/feeds.js';

export interface FeedsRole {
  /** Where spot comes from: MetalPriceAPI's URL, the simulator's loopback URL, or null (off). */
  spotSource: string | null;
  close(): Promise<void>;
}

export interface FeedsRoleOptions {
  config: Config;
  logger: Logger;
  redisUrl: string;
  /** Opens the database client the feeds write with (spot_prices, spot_daily, goldback_rates) and read retail prices from; opened again after SQLITE_BUSY. */
  openClient: () => Client;
  /** The catalogue as last accepted: its goldback coins are what the Goldback rate is checked against. */
  catalogue: () => Catalogue;
  /** Spot as the sanity check sees it now: gold bounds the Goldback rate. */
  spot: () => SpotPrices;
  /** Asks for an export of the poller after a feed job wrote something new. */
  afterFeed: (pollerId: string) => Promise<void>;
  /** HTTP settings of the Goldback rate page (the `goldback` entry of config/vendors.json). Default: fetchPage's. */
  goldbackFetch?: HttpFetchOptions;
}

/**
 * The feed workers of a poller process: the `spot` queue (MetalPriceAPI spot, the Goldback rate) and, when a
 * fallback repository is configured, the nightly `sync`. One job at a time each: feeds are a few calls a quarter.
 * Without a MetalPriceAPI key (SPOT_FEED=simulated) the spot comes from the built-in simulator on loopback.
 */
export async function startFeedsRole(options: FeedsRoleOptions): Promise<FeedsRole> {
  const { config, logger } = options;
  const closers: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const c of closers) await c().catch(() => undefined);
  };
  try {
    return await startFeeds(options, closers);
  } catch (err) {
    await close();
    throw err;
  }
}

async function startFeeds(options: FeedsRoleOptions, closers: Array<() => Promise<void>>): Promise<FeedsRole> {
  const { config, logger } = options;
  // After SQLITE_BUSY a libSQL connection may report writes that never commit (design.md): a fresh client then.
  let client = options.openClient();
  closers.push(async () => client.close());
  const withClient = async <T>(use: (c: Client) => Promise<T>): Promise<T> => {
    try {
      return await use(client);
    } catch (err) {
      if (isBusyError(err)) {
        client.close();
        client = options.openClient();
      }
      throw err;
    }
  };
  let simulator: FakeMetalPriceApiHandle | null = null;
  if (config.spotFeed.mode === 'simulated') {
    simulator = await startFakeMetalPriceApi();
    closers.push(() => simulator!.close());
  }
  const spotSource = config.spotFeed.mode === 'off' ? null : simulator ? simulator.url : config.spotFeed.url;
  const api = spotSource ? createMetalPriceApiClient({ baseUrl: spotSource, apiKey: simulator ? 'simulated' : config.spotFeed.key! }) : null;
  const ready = new WeakMap<Client, Promise<void>>();
  const prepared = (c: Client) => {
    let p = ready.get(c);
    if (!p) ready.set(c, (p = ensureSpotSchema(c).catch((err) => (ready.delete(c), Promise.reject(err)))));
    return p;
  };
  // Made now when the database answers; else by the first job (a database down at start must not hold it).
  void prepared(client).catch(() => undefined);
  const spotJob = <R>(data: FeedJobData, job: (parts: SpotFeedParts) => Promise<R>) =>
    withClient(async (c) => {
      await prepared(c);
      return job({ api: api!, store: new SpotStore(c), pollerId: data.pollerId, logger, provider: simulator ? SIMULATED_PROVIDER : undefined });
    });
  const spotOff = async (): Promise<FeedJobResult> => ({ changed: false, summary: 'spot feed off (SPOT_FEED=off)' });

  const run: Record<string, (data: FeedJobData) => Promise<FeedJobResult>> = {
    'spot-latest': async (data) => {
      if (!api) return spotOff();
      const r = await spotJob(data, pollLatestSpot);
      const seed = r.seed ? `; daily seed ${r.seed.date} (${r.seed.written} new)` : '';
      return { changed: r.written > 0 || (r.seed?.written ?? 0) > 0, summary: `window ${r.window}: ${r.written} new of ${Object.keys(r.prices).length} metals${r.unchanged ? ' (rates unchanged: markets closed)' : ''}${seed}`, ...r };
    },
    'spot-backfill': async (data) => {
      if (!api) return spotOff();
      const r = await spotJob(data, (parts) => backfillSpotHours({ ...parts, hoursBack: config.spotFeed.backfillHours }));
      return { changed: r.rows > 0, summary: `backfill ${r.from}..${r.to}: ${r.missing.length} hours missing, ${r.filled.length} filled, ${r.unfilled.length} without data (${r.calls} calls)`, ...r };
    },
    'spot-history': async (data) => {
      if (!api) return spotOff();
      const r = await spotJob(data, (parts) => catchUpSpotHistory({ ...parts, firstDate: config.spotFeed.historyFrom }));
      return { changed: r.rows > 0, summary: `history from ${r.lastDate ?? config.spotFeed.historyFrom ?? 'January 1'}: ${r.ranges.length} ranges, ${r.rows} new daily rows`, ...r };
    },
    goldback: async (data) => {
      if (!config.goldback.url) return { changed: false, summary: 'Goldback feed off (GOLDBACK_URL=off)' };
      const now = new Date();
      const today = now.toISOString().slice(0, 10);
      // Every poller schedules it; the first of the day reads the page, the others find the day done.
      if (data.cause !== 'manual' && (await hasRateFor(client, today).catch(() => false))) return { changed: false, summary: `Goldback rate of ${today} already read` };
      const goldbacks = options.catalogue().targets.filter((t) => t.metal === 'goldback');
      const url = config.goldback.url;
      const r = await withClient((c) =>
        scrapeGoldbackRate({
          url,
          fetchOptions: options.goldbackFetch,
          client: c,
          slugs: [...new Set(goldbacks.map((t) => t.coin))],
          notesPerUnit: Object.fromEntries(goldbacks.map((t) => [t.coin, t.weightOz])),
          goldSpot: options.spot().gold ?? null,
          now,
        }),
      );
      if (r.confidence !== 'high') logger.warn({ g1: r.g1Usd, confidence: r.confidence, reason: r.reason }, 'Goldback rate stored with lowered confidence');
      return { changed: true, summary: `G1 $${r.g1Usd} (${r.confidence}${r.reason ? `: ${r.reason}` : ''}) from ${r.source}`, ...r };
    },
  };

  const workerFor = <D, R>(queue: string, processor: ConstructorParameters<typeof Worker<D, R>>[1]) => {
    const connection = createRedisConnection(options.redisUrl, { connectionName: `${config.pollerId}:${queue}` });
    const worker = new Worker<D, R>(queue, processor, { connection, prefix: config.redisPrefix, concurrency: 1, lockDuration: Math.max(config.workerLockMs, 120_000) });
    worker.on('completed', (job, result) => logger.info({ job: job.id, name: job.name, summary: (result as FeedJobResult).summary }, `${queue} job done`));
    worker.on('failed', (job, err) => logger.warn({ job: job?.id, name: job?.name, attempt: job?.attemptsMade, err: err.message }, `${queue} job failed`));
    onRedisErrors(worker, (err) => logger.error({ err: err.message }, `${queue} worker error`));
    closers.unshift(async () => {
      await worker.close();
      connection.disconnect();
    });
    return worker;
  };
  const spotWorker = workerFor<FeedJobData, FeedJobResult>(SPOT_QUEUE_NAME, createSpotProcessor({ run: run as never, afterFeed: options.afterFeed, isPermanent: isPermanentFeedFailure }));
  const waits = [spotWorker.waitUntilReady()];
  const fallback = config.sync.fallbackRepo;
  if (fallback) {
    const syncWorker = workerFor<SyncJobData, FeedJobResult>(
      SYNC_QUEUE_NAME,
      createSyncProcessor(async () => {
        const r = await syncRepositories({
          primary: { name: 'primary', url: config.publishRemote, token: config.githubToken },
          fallback: { name: 'fallback', url: fallback, token: config.sync.fallbackToken },
          branch: config.sync.branch,
          workDir: join(config.publishDir, 'sync'),
          logger,
        });
        return { changed: r.commits.length > 0, summary: `sync: +${r.primaryAdded.length} files to primary, +${r.fallbackAdded.length} to fallback, ${r.differing} differing left alone`, commits: r.commits, differing: r.differing, ms: r.ms };
      }),
    );
    waits.push(syncWorker.waitUntilReady());
  }
  await Promise.all(waits);
  logger.info({ spot: config.spotFeed.mode, spotSource: simulator ? `simulator ${simulator.url}` : spotSource && redactUrl(spotSource), goldback: config.goldback.url && redactUrl(config.goldback.url), sync: fallback ? 'on' : 'off' }, 'feed workers started');
  return {
    spotSource: simulator ? `simulator ${simulator.url}` : spotSource && redactUrl(spotSource),
    async close() {
      for (const c of closers) await c().catch(() => undefined);
    },
  };
}

/** A refused key or a page that states no rate: trying again within minutes mends neither. */
function isPermanentFeedFailure(err: unknown): boolean {
  if (err instanceof SpotApiError) return !err.retryable;
  return err instanceof GoldbackScrapeError && err.kind === 'no_rate';
}
