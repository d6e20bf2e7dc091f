import { Queue, QueueEvents, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { publishJobOptions } from './job-options.js';

export interface ExportJobData {
  pollerId: string;
  /** What asked: `rows` (a written row), `schedule` (the safety net), `manual`. */
  cause: 'rows' | 'schedule' | 'manual';
}

export interface MergeJobData {
  cause: 'export' | 'schedule' | 'manual';
}

/**
 * Throttled fan-in: the first request of a quiet period creates an export due in `minIntervalMs`;
 * requests until then are absorbed (the export reads the database when it runs, so it carries their rows).
 * The key lives as long as the delay, and the export removes it when it starts reading (processors/export.ts),
 * so a row written while an export runs schedules the next one: steady arrivals publish every `minIntervalMs`,
 * and the last row of a burst is never stranded.
 */
export async function requestExport(queue: Queue<ExportJobData>, pollerId: string, minIntervalMs: number, cause: ExportJobData['cause'] = 'rows'): Promise<void> {
  await addExportJob(queue, pollerId, minIntervalMs, cause);
}

/** requestExport, returning the job that carries the request: a new one, or the pending export it was absorbed by (operators wait on it). */
export async function addExportJob(queue: Queue<ExportJobData>, pollerId: string, minIntervalMs: number, cause: ExportJobData['cause']): Promise<Job<ExportJobData>> {
  const window = Math.max(1, minIntervalMs);
  return queue.add(
    'export',
    { pollerId, cause },
    { ...publishJobOptions('request'), delay: minIntervalMs, deduplication: { id: `export.${pollerId}`, ttl: window } },
  );
}

/** A merge soon after an export; exports of several pollers within `delayMs` share one merge. */
export async function requestMerge(queue: Queue<MergeJobData>, delayMs: number, data: MergeJobData): Promise<void> {
  await addMergeJob(queue, delayMs, data);
}

/** requestMerge, returning the job that carries the request: a new one, or the pending merge it was absorbed by (operators wait on it). */
export async function addMergeJob(queue: Queue<MergeJobData>, delayMs: number, data: MergeJobData): Promise<Job<MergeJobData>> {
  return queue.add('merge', data, { ...publishJobOptions('request'), delay: delayMs, deduplication: { id: 'merge', ttl: Math.max(1, delayMs) } });
}

/** Scheduler ids of the safety nets. */
export const exportSchedulerId = (pollerId: string): string => `${pollerId}:export`;
export const MERGE_SCHEDULER_ID = 'merge';

/** Safety-net schedulers: an export of this poller every `exportEveryMs`, a merge every `mergeEveryMs`. */
export async function upsertExportScheduler(queue: Queue<ExportJobData>, pollerId: string, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(exportSchedulerId(pollerId), { every: everyMs }, { name: 'export', data: { pollerId, cause: 'schedule' }, opts: publishJobOptions('schedule') });
}

export async function upsertMergeScheduler(queue: Queue<MergeJobData>, everyMs: number): Promise<void> {
  await queue.upsertJobScheduler(MERGE_SCHEDULER_ID, { every: everyMs }, { name: 'merge', data: { cause: 'schedule' }, opts: publishJobOptions('schedule') });
}

/**
 * Runs one job now (an export or a merge outside the throttle, a feed job), for smoke runs and operators, and
 * waits for its end. Returns the job's result as one line; throws with the job's failure reason.
 */
export async function runJobNow<D extends object>(
  connection: Redis,
  prefix: string,
  queueName: string,
  name: string,
  data: D,
  jobId: string,
  timeoutMs = 5 * 60_000,
): Promise<string> {
  const queue = new Queue<D>(queueName, { connection, prefix });
  const blocking = connection.duplicate({ maxRetriesPerRequest: null });
  const events = new QueueEvents(queueName, { connection: blocking, prefix });
  try {
    await events.waitUntilReady();
    const job = await queue.add(name as never, data as never, { ...publishJobOptions('now'), jobId });
    const result = await job.waitUntilFinished(events, timeoutMs);
    return JSON.stringify(result);
  } finally {
    await queue.close();
    await events.close();
    blocking.disconnect();
  }
}
