import type { Processor } from 'bullmq';
import type { MergeJobData } from '../queues/publish-jobs.js';

export interface MergeJobResult {
  committed: boolean;
  sha: string | null;
  used: string[];
  skipped: Array<{ branch: string; reason: string }>;
  ms: number;
}

/** Thin adapter: merge the poller branches into main. */
export function createMergeProcessor(merge: () => Promise<MergeJobResult>): Processor<MergeJobData, MergeJobResult> {
  return async (job) => {
    const result = await merge();
    await job.updateProgress(100);
    return result;
  };
}
