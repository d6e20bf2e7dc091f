import type { Processor } from 'bullmq';
import type { Job } from 'bullmq';
import type { PublishProgress } from '../src/publish/progress.js';
import type { ExportJobData } from '../queues/publish-jobs.js';

export interface ExportProcessorDeps {
  /** Builds this poller's tree from the database and publishes it on its branch, telling how far it has come. */
  publish: (pollerId: string, progress: PublishProgress) => Promise<{ committed: boolean; sha: string | null; files: number; ms: number }>;
  /** Asks for a merge once a branch moved. */
  afterPublish: (pollerId: string) => Promise<void>;
}

export interface ExportJobResult {
  committed: boolean;
  sha: string | null;
  files: number;
  ms: number;
}

/** Thin adapter: export and publish, then ask for a merge when the branch moved. */
export function createExportProcessor(deps: ExportProcessorDeps): Processor<ExportJobData, ExportJobResult> {
  return async (job) => {
    // From here on the database is read: a row written now must schedule the next export, not be absorbed by this one.
    await job.removeDeduplicationKey();
    const result = await deps.publish(job.data.pollerId, jobProgress(job));
    await job.updateProgress(100);
    if (result.committed) await deps.afterPublish(job.data.pollerId);
    return result;
  };
}

/** Progress of a long publishing job in Bull Board: the percentage on the job, the phase in its log. */
export function jobProgress(job: Job): PublishProgress {
  return (percent, phase) => {
    void job.updateProgress(percent).catch(() => undefined);
    void job.log(`${percent}%: ${phase}`).catch(() => undefined);
  };
}
