import type { Queue } from 'bullmq';
import { loadConfig } from '../config/env.js';
import { MERGE_QUEUE_NAME } from '../../queues/names.js';
import { addMergeJob, type MergeJobData } from '../../queues/publish-jobs.js';
import type { MergeJobResult } from '../../processors/merge.js';
import { OperatorError, printResult } from './operator.js';
import { publishNow, type PublishNowArgs } from './publish-now.js';

/** `poller merge-now`: a merge of PUBLISH_BRANCHES into main through the merge queue, cause `manual`; a running merger takes it. */
export async function mergeNowCommand(args: PublishNowArgs): Promise<number> {
  const config = loadConfig();
  const r = await publishNow<MergeJobResult>(config, args, {
    queueName: MERGE_QUEUE_NAME,
    role: 'merger',
    add: (queue) => addMergeJob(queue as Queue<MergeJobData>, 0, { cause: 'manual' }),
  });
  if (r.state === 'failed') {
    throw new OperatorError(`merge failed after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (job ${r.job}): ${r.failedReason ?? 'no reason given'}`);
  }
  const result = r.result!;
  const ms = result.ms ?? r.ms;
  const data = {
    kind: 'merge', branch: 'main', queue: r.queue, job: r.job, joined: r.joined, promoted: r.promoted, attempts: r.attempts,
    committed: result.committed, sha: result.sha, used: result.used, skipped: result.skipped, newestDataAt: result.newestDataAt, ms,
  };
  const what = result.committed ? `committed ${result.sha}` : result.sha ? `nothing changed; main stays at ${result.sha}` : 'nothing changed: no branch to merge yet';
  const lines = [`merge into main: ${what} in ${ms ?? '?'} ms (job ${r.job}${r.joined ? ', a pending merge' : ''})`];
  if (result.used.length) lines.push(`  merged: ${result.used.join(', ')}`);
  for (const s of result.skipped) lines.push(`  skipped ${s.branch}: ${s.reason}`);
  if (result.newestDataAt) lines.push(`  newest price on main scraped at ${result.newestDataAt}`);
  printResult(args.json, data, lines);
  return 0;
}
