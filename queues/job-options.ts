import type { BackoffStrategy, JobsOptions } from 'bullmq';
import { retryDelayMs } from '../src/scrape/retry-policy.js';

export interface ScrapeJobPolicy {
  /** Attempts per job before it fails. */
  attempts: number;
  /** Retry delay when nothing else of the vendor waits; doubles each attempt, with jitter. */
  backoffMs: number;
}

/** Backoff type of scrape jobs: the worker's strategy looks at the vendor's queue (see scrapeBackoffStrategy). */
export const SCRAPE_BACKOFF_TYPE = 'vendor-queue';

/** Defaults of every scrape job: bounded attempts, queue-aware retry timing, bounded history. */
export function scrapeJobOptions(policy: ScrapeJobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: SCRAPE_BACKOFF_TYPE, delay: policy.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 2000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
}

/**
 * The workers' backoff strategy for scrape jobs: a retry joins the back of its vendor's queue at once when
 * other pages wait there, else it waits the job's delay, doubling (retryDelayMs). When the queue cannot be
 * read, the plain doubling delay.
 */
export function scrapeBackoffStrategy(waitingIn: (queueName: string) => Promise<number>): BackoffStrategy {
  return async (attemptsMade, type, _err, job) => {
    const gapMs = typeof job?.opts.backoff === 'object' ? job.opts.backoff.delay : undefined;
    if (type !== SCRAPE_BACKOFF_TYPE || !job) return retryDelayMs(attemptsMade, 0, { gapMs });
    const waiting = await waitingIn(job.queueName).catch(() => 0);
    return retryDelayMs(attemptsMade, waiting, { gapMs });
  };
}

/** How an export or merge job came: asked for by rows or an export, the safety-net scheduler, or run now by a person. */
export type PublishJobKind = 'request' | 'schedule' | 'now';

/**
 * Defaults of export and merge jobs. Attempts: 5 for a request (rows keep arriving, the publish must land),
 * 3 for the safety net (it comes again), 1 for a run now (its caller reports the failure). Retries back off
 * exponentially from 5 s with 50% jitter. History: completed jobs a day, failed ones a week, 500 of each.
 */
export function publishJobOptions(kind: PublishJobKind): JobsOptions {
  const history = { removeOnComplete: { age: 24 * 3600, count: 500 }, removeOnFail: { age: 7 * 24 * 3600, count: 500 } };
  if (kind === 'now') return { attempts: 1, ...history };
  return { attempts: kind === 'request' ? 5 : 3, backoff: { type: 'exponential', delay: 5_000, jitter: 0.5 }, ...history };
}
