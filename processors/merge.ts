import type { Processor } from 'bullmq';
import type { PublishProgress } from '../src/publish/progress.js';
import type { MergeJobData } from '../queues/publish-jobs.js';
import { jobProgress } from './export.js';

export interface MergeJobResult {
  committed: boolean;
  sha: string | null;
  used: string[];
  skipped: Array<{ branch: string; reason: string }>;
  ms: number;
  /** When the newest price on main was scraped, or null. */
  newestDataAt: string | null;
  /** Bytes of the SQLite snapshot on main, or null without one. */
  snapshotBytes: number | null;
}

/** Thin adapter: merge the poller branches into main. */
export function createMergeProcessor(merge: (progress: PublishProgress) => Promise<MergeJobResult>): Processor<MergeJobData, MergeJobResult> {
  return async (job) => {
    // From here on the branches are read: an export that lands now must ask for the next merge, not be absorbed by this one.
    await job.removeDeduplicationKey();
    const result = await merge(jobProgress(job));
    await job.updateProgress(100);
    return result;
  };
}
