import { UnrecoverableError, type Processor } from 'bullmq';
import type { FeedJobData, SpotJobName, SyncJobData } from '../queues/feed-jobs.js';

/** What a feed job returns (Bull Board shows it): whether it wrote something new, and its own summary. */
export interface FeedJobResult {
  /** New rows or files: the poller's tree must be exported again. */
  changed: boolean;
  /** One line for the job log and the worker's log line. */
  summary: string;
  [detail: string]: unknown;
}

export interface SpotProcessorDeps {
  /** One function per job name; each reads its provider and writes the database (src/spot, src/goldback). */
  run: Record<SpotJobName, (data: FeedJobData) => Promise<FeedJobResult>>;
  /** Asks for an export of the poller once a job wrote something new. */
  afterFeed: (pollerId: string) => Promise<void>;
  /** Whether a failure cannot be mended by trying again (a refused key, a page without a rate): no more attempts. Default never. */
  isPermanent?: (err: unknown) => boolean;
}

/** Thin adapter: run the feed job by its name, log its summary, ask for an export when it changed something. */
export function createSpotProcessor(deps: SpotProcessorDeps): Processor<FeedJobData, FeedJobResult> {
  return async (job) => {
    const run = deps.run[job.name as SpotJobName];
    if (!run) throw new Error(`unknown job "${job.name}" on the spot queue: expected one of ${Object.keys(deps.run).join(', ')}`);
    let result: FeedJobResult;
    try {
      result = await run(job.data);
    } catch (err) {
      if (deps.isPermanent?.(err)) throw new UnrecoverableError((err as Error).message);
      throw err;
    }
    await job.log(result.summary).catch(() => undefined);
    if (result.changed) await deps.afterFeed(job.data.pollerId);
    return result;
  };
}

/** Thin adapter: the nightly sync. */
export function createSyncProcessor(sync: (data: SyncJobData) => Promise<FeedJobResult>): Processor<SyncJobData, FeedJobResult> {
  return async (job) => {
    const result = await sync(job.data);
    await job.log(result.summary).catch(() => undefined);
    return result;
  };
}
