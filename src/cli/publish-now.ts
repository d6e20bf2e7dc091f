import type { Job, Queue } from 'bullmq';
import type { Config } from '../config/env.js';
import { activity, connectRedis, inspectQueue, OperatorError, waitForJob, waitForWorkers, workersOf } from './operator.js';

export interface PublishNowArgs {
  json: boolean;
  /** How long to wait for the job, in ms. */
  timeoutMs: number;
  /** How long to wait for an exporter or merger to be connected, in ms. */
  workerWaitMs: number;
}

export interface PublishNowOutcome<R> {
  queue: string;
  job: string;
  /** An export or merge was already pending and carries this request too. */
  joined: boolean;
  /** It was waiting for its time (the throttle) and was made due now. */
  promoted: boolean;
  state: 'completed' | 'failed';
  attempts: number;
  result: R | null;
  failedReason: string | null;
  /** How long the job itself ran, in ms. */
  ms: number | null;
}

/**
 * Asks for one export, merge or feed job through the queue as the system does (deduplicated: a pending one carries the
 * request, and is made due now), after checking that a worker of that role is connected; waits for it to end.
 */
export async function publishNow<R>(
  config: Config,
  args: PublishNowArgs,
  what: { queueName: string; role: 'exporter' | 'merger' | 'worker'; add: (queue: Queue) => Promise<Job>; startHint?: string },
): Promise<PublishNowOutcome<R>> {
  const { redis, display } = await connectRedis(config);
  const queue = inspectQueue(redis, config.redisPrefix, what.queueName);
  const progress = activity();
  try {
    let workers = await workersOf(queue);
    if (workers === 0) {
      progress.update(`no ${what.role} on ${what.queueName} yet; waiting up to ${Math.round(args.workerWaitMs / 1000)} s`);
      workers = await waitForWorkers(queue, args.workerWaitMs);
      progress.done();
    }
    if (workers === 0) {
      const start = what.startHint ?? (what.role === 'exporter' ? `poller exporter (or poller start) with POLLER_ID=${config.pollerId}` : what.role === 'worker' ? 'poller worker (or poller start)' : 'poller merger (or poller start)');
      throw new OperatorError(
        `no ${what.role} is connected to ${what.queueName} (Redis ${display}, prefix ${config.redisPrefix}) after ${Math.round(args.workerWaitMs / 1000)} s: nothing would take the job. ` +
          `Start one with the same REDIS_URL and REDIS_PREFIX: ${start}, then try again`,
      );
    }
    if (workers === null) process.stderr.write(`this Redis refuses CLIENT LIST, so ${what.role}s cannot be counted; waiting for the job anyway\n`);
    if (await queue.isPaused()) process.stderr.write(`${what.queueName} is paused: the job waits until the queue is resumed\n`);
    const job = await what.add(queue);
    const jobId = job.id!;
    // A deduplicated request returns the pending job (it may be one the throttle holds back for a while): its
    // stored timestamp is not the one of the job we built.
    const stored = await queue.getJob(jobId);
    const joined = stored !== undefined && stored.timestamp !== job.timestamp;
    let promoted = false;
    if ((await queue.getJobState(jobId)) === 'delayed') {
      try {
        await (await queue.getJob(jobId))?.promote();
        promoted = true;
      } catch {
        /* it became due meanwhile */
      }
    }
    if (joined) process.stderr.write(`a job was already pending on ${what.queueName} (job ${jobId}): it carries this request${promoted ? ' and was made due now' : ''}\n`);
    let settled;
    try {
      settled = await waitForJob<R>(queue, jobId, { timeoutMs: args.timeoutMs, onState: (t) => progress.update(t) });
    } finally {
      progress.done();
    }
    const { job: done, state } = settled;
    return {
      queue: what.queueName,
      job: jobId,
      joined,
      promoted,
      state,
      attempts: done.attemptsMade,
      result: state === 'completed' ? (done.returnvalue as R) : null,
      failedReason: state === 'failed' ? done.failedReason : null,
      ms: done.finishedOn && done.processedOn ? done.finishedOn - done.processedOn : null,
    };
  } finally {
    progress.done();
    await queue.close();
    redis.disconnect();
  }
}

