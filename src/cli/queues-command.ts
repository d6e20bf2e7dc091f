import { loadConfig } from '../config/env.js';
import { exportQueueName, MERGE_QUEUE_NAME, scrapeQueueName } from '../../queues/names.js';
import { catalogueVendors, connectRedis, discoverQueues, formatTable, inspectQueue, printResult, sortQueueNames, tryCatalogue, workersOf } from './operator.js';

/** Job states counted per queue (BullMQ's names). */
const STATES = ['wait', 'prioritized', 'waiting-children', 'active', 'delayed', 'failed', 'completed'] as const;

export interface QueueReport {
  name: string;
  /** The queue has a meta hash in Redis (it was used); a catalogue vendor never scraped yet has none. */
  exists: boolean;
  paused: boolean;
  counts: Record<(typeof STATES)[number], number>;
  schedulers: number;
  schedulerIds: string[];
  /** Connected workers; null when the server refuses CLIENT LIST. */
  workers: number | null;
}

/**
 * `poller queues`: every queue of the poller (scrape.{vendor} of the catalogue, export.{poller}, merge, and any
 * other queue under the prefix), with its jobs per state, job schedulers, connected workers and paused flag.
 */
export async function queuesCommand(json: boolean): Promise<number> {
  const config = loadConfig();
  const { catalogue, problem } = await tryCatalogue(config);
  if (problem) process.stderr.write(`poller queues: the catalogue cannot be read (${problem}); listing the queues Redis holds\n`);
  const { redis, display } = await connectRedis(config);
  try {
    const found = await discoverQueues(redis, config.redisPrefix);
    const names = sortQueueNames([
      ...catalogueVendors(catalogue).map(scrapeQueueName),
      exportQueueName(config.pollerId),
      MERGE_QUEUE_NAME,
      ...found.queues,
    ]);
    const existing = new Set(found.queues);
    const reports: QueueReport[] = [];
    for (const name of names) {
      const queue = inspectQueue(redis, config.redisPrefix, name);
      try {
        const [counts, paused, schedulers, workers] = await Promise.all([
          queue.getJobCounts(...STATES),
          queue.isPaused(),
          queue.getJobSchedulers(0, -1, true),
          workersOf(queue),
        ]);
        reports.push({
          name,
          exists: existing.has(name),
          paused,
          counts: Object.fromEntries(STATES.map((s) => [s, counts[s] ?? 0])) as QueueReport['counts'],
          schedulers: schedulers.length,
          schedulerIds: schedulers.map((s) => s.key),
          workers,
        });
      } finally {
        await queue.close();
      }
    }
    const totals = {
      queues: reports.length,
      waiting: reports.reduce((n, r) => n + waiting(r), 0),
      active: reports.reduce((n, r) => n + r.counts.active, 0),
      delayed: reports.reduce((n, r) => n + r.counts.delayed, 0),
      failed: reports.reduce((n, r) => n + r.counts.failed, 0),
      paused: reports.filter((r) => r.paused).map((r) => r.name),
      withoutWorkers: reports.filter((r) => r.workers === 0).map((r) => r.name),
    };
    const data = { redis: display, prefix: config.redisPrefix, poller: config.pollerId, queues: reports, totals, otherPrefixes: found.nestedPrefixes };
    const rows = reports.map((r) => [
      r.name,
      waiting(r),
      r.counts.active,
      r.counts.delayed,
      r.counts.failed,
      r.counts.completed,
      r.schedulers,
      r.workers ?? '?',
      r.paused ? 'PAUSED' : r.exists ? 'running' : 'unused',
    ]);
    const lines = [
      `Redis ${display}, prefix ${config.redisPrefix}, poller ${config.pollerId}`,
      formatTable(['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'schedulers', 'workers', 'state'], rows),
      `${reports.length} queues: ${totals.waiting} waiting, ${totals.active} active, ${totals.delayed} delayed, ${totals.failed} failed` +
        (totals.paused.length ? `; paused: ${totals.paused.join(', ')} (poller resume <vendor>)` : ''),
    ];
    if (reports.some((r) => r.workers === null)) lines.push('workers "?": this Redis refuses CLIENT LIST, so connected workers cannot be counted');
    if (found.queues.length === 0 && found.nestedPrefixes.length) {
      lines.push(`no queue uses the prefix ${config.redisPrefix} itself; queues were found under ${found.nestedPrefixes.join(', ')}: set REDIS_PREFIX to one of them`);
    }
    printResult(json, data, lines);
    return 0;
  } finally {
    redis.disconnect();
  }
}

/** Jobs due and not taken: wait (a paused queue's jobs stay there in BullMQ 6), prioritized, waiting for children. */
function waiting(r: QueueReport): number {
  return r.counts.wait + r.counts.prioritized + r.counts['waiting-children'];
}
