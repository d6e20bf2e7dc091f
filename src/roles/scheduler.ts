import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { CatalogueError, type Catalogue } from '../catalogue/load.js';
import { checkShrink } from '../catalogue/shrink-guard.js';
import { watchCatalogue } from '../catalogue/watch.js';
import type { Config } from '../config/env.js';
import { missingSchedulers, planSchedulers, reconcileSchedulers, scheduledTargets } from '../../queues/scrape-schedulers.js';
import { watchSchedulers } from '../../queues/scheduler-watch.js';

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
  return {
    get catalogue() {
      return current;
    },
    reconcile,
    async close() {
      stopWatching();
      stopChecking();
    },
  };
}
