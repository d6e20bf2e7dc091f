import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { CatalogueError, type Catalogue } from '../catalogue/load.js';
import { checkShrink } from '../catalogue/shrink-guard.js';
import { watchCatalogue } from '../catalogue/watch.js';
import type { Config } from '../config/env.js';
import { missingSchedulers, planSchedulers, reconcileSchedulers, scheduledTargets } from '../../queues/scrape-schedulers.js';
import { watchSchedulers } from '../../queues/scheduler-watch.js';
import { onRedisErrors } from '../../queues/connection.js';
import { Queue } from 'bullmq';
import {
  addStartupFeedJobs,
  feedSchedulerIds,
  missingFeedSchedulers,
  SPOT_QUEUE_NAME,
  SYNC_QUEUE_NAME,
  upsertFeedSchedulers,
  upsertSyncScheduler,
  type FeedJobData,
  type FeedSchedule,
  type SyncJobData,
} from '../../queues/feed-jobs.js';

/** This poller's feed schedule from the configuration: spot at its stagger within the spot interval, Goldback daily. */
export function feedSchedule(config: Config): FeedSchedule {
  const spotOn = config.spotFeed.mode !== 'off';
  return {
    pollerId: config.pollerId,
    spotEveryMs: spotOn ? config.spotFeed.everyMs : null,
    spotOffsetMs: spotOn ? config.staggerMs % config.spotFeed.everyMs : 0,
    goldbackAtUtc: config.goldback.url ? config.goldback.atUtc : null,
  };
}

export interface SchedulerRole {
  /** The catalogue currently scheduled (the last good one). */
  readonly catalogue: Catalogue;
  reconcile(catalogue: Catalogue): Promise<void>;
  close(): Promise<void>;
}

/** Keeps BullMQ job schedulers equal to the catalogue: at start and on every good edit of the file. */
export async function startSchedulerRole(options: {
  config: Config;
  logger: Logger;
  connection: Redis;
  catalogue: Catalogue;
  /** Called with each catalogue edit that was accepted (workers start queues of new vendors). */
  onAccepted?: (catalogue: Catalogue) => void;
}): Promise<SchedulerRole> {
  const { config, logger, connection } = options;
  let current = options.catalogue;
  const planFor = (catalogue: Catalogue) =>
    planSchedulers(catalogue.targets, {
      pollerId: config.pollerId,
      intervalMs: config.intervalMs,
      staggerMs: config.staggerMs,
      spread: config.spread,
    });
  const reconcile = async (catalogue: Catalogue) => {
    const plan = planFor(catalogue);
    const report = await reconcileSchedulers(plan, {
      connection,
      prefix: config.redisPrefix,
      pollerId: config.pollerId,
      policy: { attempts: config.scrapeAttempts, backoffMs: config.scrapeBackoffMs },
    });
    current = catalogue;
    logger.info({ schedulers: report.upserted, removed: report.removed, queues: report.queues.length }, 'job schedulers reconciled with the catalogue');
  };
  // A start with a catalogue that drops most of what this poller's schedulers scrape now is refused like a broken
  // file: the schedulers in Redis stay as they are (shrink-guard.ts says how to confirm it).
  const scheduled = await scheduledTargets({ connection, prefix: config.redisPrefix, pollerId: config.pollerId });
  const shrink = checkShrink(scheduled, current, "this poller's job schedulers in Redis are left as they are");
  if (shrink.problem) throw new CatalogueError(current.source, [shrink.problem]);
  await reconcile(current);
  const stopWatching =
    config.catalogueWatchMs > 0
      ? watchCatalogue(config.cataloguePath, {
          intervalMs: config.catalogueWatchMs,
          onChange: async (c) => {
            const shrink = checkShrink(current, c);
            if (shrink.problem) {
              logger.warn({ before: shrink.before, gone: shrink.gone, after: shrink.after }, shrink.problem);
              return;
            }
            logger.info({ targets: c.targets.length }, 'catalogue changed');
            options.onAccepted?.(c);
            await reconcile(c).catch((err) => logger.error({ err: err.message }, 'reconcile failed; will retry on the next change'));
          },
          onError: (err) => logger.error({ err: err.message }, 'catalogue edit refused; keeping the last good catalogue'),
        })
      : () => undefined;
  const stopChecking = watchSchedulers({
    everyMs: config.schedulerCheckMs,
    findMissing: () => missingSchedulers(planFor(current), { connection, prefix: config.redisPrefix }),
    repair: () => reconcile(current),
    logger,
    what: 'scrape job schedulers',
    connection,
  });
  // The feeds (spot, Goldback, the nightly sync) are scheduled here too, and caught up at start.
  const queueError = (err: Error) => logger.warn({ err: err.message }, 'feed queue error');
  const spotQueue = onRedisErrors(new Queue<FeedJobData>(SPOT_QUEUE_NAME, { connection, prefix: config.redisPrefix }), queueError);
  const syncQueue = onRedisErrors(new Queue<SyncJobData>(SYNC_QUEUE_NAME, { connection, prefix: config.redisPrefix }), queueError);
  const feeds = feedSchedule(config);
  const syncAt = config.sync.fallbackRepo ? config.sync.atUtc : null;
  const scheduleFeeds = async () => {
    await upsertFeedSchedulers(spotQueue, feeds);
    await upsertSyncScheduler(syncQueue, syncAt);
  };
  let started: string[];
  try {
    await scheduleFeeds();
    started = await addStartupFeedJobs(spotQueue, feeds, new Date());
  } catch (err) {
    stopWatching();
    stopChecking();
    await spotQueue.close().catch(() => undefined);
    await syncQueue.close().catch(() => undefined);
    throw err;
  }
  logger.info({ feeds: started, spotEveryMinutes: feeds.spotEveryMs ? feeds.spotEveryMs / 60_000 : null, spot: config.spotFeed.mode, goldbackAtUtc: feeds.goldbackAtUtc, syncAtUtc: syncAt }, 'feed schedulers set; catching up at start');
  if (config.spotFeed.mode === 'simulated') {
    logger.warn('SPOT_FEED: no METAL_PRICE_API_KEY, so spot comes from the built-in MetalPriceAPI simulator: NOT real prices. Set METAL_PRICE_API_KEY (or SPOT_FEED=off) in production');
  }
  const stopCheckingFeeds = watchSchedulers({
    everyMs: config.schedulerCheckMs,
    findMissing: async () => [...(await missingFeedSchedulers(spotQueue, feeds)), ...(syncAt && !(await syncQueue.getJobScheduler(feedSchedulerIds.sync)) ? [feedSchedulerIds.sync] : [])],
    repair: scheduleFeeds,
    logger,
    what: 'feed job schedulers',
    connection,
  });
  return {
    get catalogue() {
      return current;
    },
    reconcile,
    async close() {
      stopWatching();
      stopChecking();
      stopCheckingFeeds();
      await spotQueue.close();
      await syncQueue.close();
    },
  };
}
