import type { Queue } from 'bullmq';
import { loadConfig } from '../config/env.js';
import { feedJobOptions, SPOT_QUEUE_NAME, SYNC_QUEUE_NAME, type FeedJobData, type SpotJobName, type SyncJobData } from '../../queues/feed-jobs.js';
import type { FeedJobResult } from '../../processors/feeds.js';
import { OperatorError, printResult } from './operator.js';
import { publishNow, type PublishNowArgs } from './publish-now.js';

/** The feed jobs an operator can run now. */
import type { FeedJobChoice } from './feed-job-choice.js';
export { FEED_JOBS, type FeedJobChoice } from './feed-job-choice.js';

/**
 * `poller feed-now <job>`: one feed job (cause `manual`, one attempt) on the spot queue, or the sync on the sync
 * queue; a running worker takes it. Prints the job's summary. A manual Goldback job reads the page even when the
 * day's rate is already stored.
 */
export async function feedNowCommand(job: FeedJobChoice, args: PublishNowArgs): Promise<number> {
  const config = loadConfig();
  if (job === 'sync' && !config.sync.fallbackRepo) throw new OperatorError('the sync is off: set SYNC_FALLBACK_REPO (the fallback API repository) for this poller and its worker, then try again');
  const sync = job === 'sync';
  const queueName = sync ? SYNC_QUEUE_NAME : SPOT_QUEUE_NAME;
  const r = await publishNow<FeedJobResult>(config, args, {
    queueName,
    role: 'worker',
    startHint: `poller worker (or poller start) with POLLER_ID=${config.pollerId}${sync ? ' and SYNC_FALLBACK_REPO set' : ''}`,
    add: (queue) =>
      sync
        ? (queue as Queue<SyncJobData>).add('sync', { cause: 'manual' }, { ...feedJobOptions(), attempts: 1 })
        : (queue as Queue<FeedJobData>).add(job as SpotJobName, { pollerId: config.pollerId, cause: 'manual' }, { ...feedJobOptions(), attempts: 1 }),
  });
  if (r.state === 'failed') throw new OperatorError(`${job} failed (job ${r.job} on ${queueName}): ${r.failedReason ?? 'no reason given'}`);
  const result = r.result!;
  printResult(args.json, { kind: job, queue: r.queue, job: r.job, ms: r.ms, ...result }, [`${job}: ${result.summary} (job ${r.job} on ${queueName}, ${r.ms ?? '?'} ms)`]);
  return 0;
}
