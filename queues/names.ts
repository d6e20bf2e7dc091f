import type { Target } from '../src/catalogue/target.js';

/** One scrape queue per vendor, so that the queue limiter is the per-vendor politeness. */
export function scrapeQueueName(vendor: string): string {
  return `scrape.${vendor}`;
}

/** Scheduler id, readable in Bull Board and redis-cli: `api1:ase:apmex`. */
export function scrapeSchedulerId(pollerId: string, target: Pick<Target, 'coin' | 'vendor'>): string {
  return `${pollerId}:${target.coin}:${target.vendor}`;
}

/** One export queue per poller: pollers sharing a Redis (the demo) never take each other's exports. */
export function exportQueueName(pollerId: string): string {
  return `export.${pollerId}`;
}

/** The merge queue: any merger may take a merge (pushes to main are leased, so two never collide). */
export const MERGE_QUEUE_NAME = 'merge';

/** Keys this program keeps beside BullMQ's, under the same prefix. */
export const appKeys = {
  /** Set of the scrape queues that hold this poller's schedulers (so removed vendors are cleaned up too). */
  scrapeQueues: (prefix: string, pollerId: string) => `${prefix}:staktrakr:${pollerId}:scrape-queues`,
  /** Hash of a vendor's pages answered with a bot wall since it last served one (coin -> epoch ms). */
  vendorWalls: (prefix: string, pollerId: string, vendor: string) => `${prefix}:staktrakr:${pollerId}:walls:${vendor}`,
  /** Lock held while one scheduler process reconciles. */
  reconcileLock: (prefix: string, pollerId: string) => `${prefix}:staktrakr:${pollerId}:reconcile-lock`,
};
