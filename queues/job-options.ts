import type { JobsOptions } from 'bullmq';

export interface ScrapeJobPolicy {
  /** Attempts per job before it fails. */
  attempts: number;
  /** First retry delay; doubles each attempt, with jitter. */
  backoffMs: number;
}

/** Defaults of every scrape job: bounded attempts, exponential backoff with 50% jitter, bounded history. */
export function scrapeJobOptions(policy: ScrapeJobPolicy): JobsOptions {
  return {
    attempts: policy.attempts,
    backoff: { type: 'exponential', delay: policy.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 2000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
}
