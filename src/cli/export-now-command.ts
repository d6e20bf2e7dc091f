import { loadConfig } from '../config/env.js';
import { exportQueueName } from '../../queues/names.js';
import { addExportJob, type ExportJobData } from '../../queues/publish-jobs.js';
import type { ExportJobResult } from '../../processors/export.js';
import type { Queue } from 'bullmq';
import { OperatorError, printResult } from './operator.js';
import { publishNow, type PublishNowArgs } from './publish-now.js';

/**
 * `poller export-now`: an export of this poller (POLLER_ID) through its export queue, cause `manual`, due at
 * once; a running exporter takes it. Prints the commit on branch POLLER_ID.
 */
export async function exportNowCommand(args: PublishNowArgs): Promise<number> {
  const config = loadConfig();
  const queueName = exportQueueName(config.pollerId);
  const r = await publishNow<ExportJobResult>(config, args, {
    queueName,
    role: 'exporter',
    add: (queue) => addExportJob(queue as Queue<ExportJobData>, config.pollerId, 0, 'manual'),
  });
  if (r.state === 'failed') {
    throw new OperatorError(`export of ${config.pollerId} failed after ${r.attempts} attempt${r.attempts === 1 ? '' : 's'} (job ${r.job}): ${r.failedReason ?? 'no reason given'}`);
  }
  const result = r.result!;
  const ms = result.ms ?? r.ms;
  const data = { kind: 'export', poller: config.pollerId, branch: config.pollerId, queue: r.queue, job: r.job, joined: r.joined, promoted: r.promoted, attempts: r.attempts, committed: result.committed, sha: result.sha, files: result.files, ms };
  const what = result.committed
    ? `committed ${result.sha} (${result.files} files)`
    : result.sha
      ? `nothing changed; branch ${config.pollerId} stays at ${result.sha}`
      : `nothing changed: no rows of ${config.pollerId} to export yet`;
  printResult(args.json, data, [`export ${config.pollerId}: ${what} in ${ms ?? '?'} ms (job ${r.job}${r.joined ? ', a pending export' : ''})`]);
  return 0;
}
