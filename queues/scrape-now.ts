import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Target } from '../src/catalogue/target.js';
import { scrapeQueueName, scrapeSchedulerId } from './names.js';
import { scrapeJobOptions, type ScrapeJobPolicy } from './job-options.js';
import type { ScrapeJobData } from './scrape-schedulers.js';

export interface ScrapeNowOptions {
  connection: Redis;
  prefix: string;
  pollerId: string;
  policy: ScrapeJobPolicy;
  /** Distinguishes this batch; part of every job id (so the batch is idempotent too). */
  batchId: string;
}

/** Enqueues one scrape of each target now, outside the schedule (smoke runs, operators). Returns job ids by queue. */
export async function enqueueScrapesNow(targets: Target[], options: ScrapeNowOptions): Promise<Map<string, string[]>> {
  const byQueue = new Map<string, Target[]>();
  for (const t of targets) byQueue.set(scrapeQueueName(t.vendor), [...(byQueue.get(scrapeQueueName(t.vendor)) ?? []), t]);
  const ids = new Map<string, string[]>();
  for (const [name, list] of byQueue) {
    const queue = new Queue<ScrapeJobData>(name, { connection: options.connection, prefix: options.prefix });
    try {
      const jobs = await queue.addBulk(
        list.map((target) => {
          const id = scrapeSchedulerId(options.pollerId, target);
          // BullMQ refuses custom ids with ':' (it reserves them for scheduler ids).
          return { name: id, data: { pollerId: options.pollerId, target }, opts: { ...scrapeJobOptions(options.policy), jobId: `now/${id.replaceAll(':', '/')}/${options.batchId}` } };
        }),
      );
      ids.set(name, jobs.map((j) => j.id!));
    } finally {
      await queue.close();
    }
  }
  return ids;
}

/** Waits until every listed job is completed or failed; reports progress. Throws after `timeoutMs`. */
export async function waitForJobs(
  ids: Map<string, string[]>,
  options: { connection: Redis; prefix: string; timeoutMs: number; onProgress?: (settled: number, total: number) => void; /** Default 500. */ pollMs?: number },
): Promise<{ completed: number; failed: number; /** Epoch ms when the last job finished. */ lastFinishedOn: number }> {
  const total = [...ids.values()].reduce((n, l) => n + l.length, 0);
  const queues = [...ids.keys()].map((name) => new Queue(name, { connection: options.connection, prefix: options.prefix }));
  const deadline = Date.now() + options.timeoutMs;
  try {
    for (;;) {
      let completed = 0;
      let failed = 0;
      for (const q of queues) {
        for (const id of ids.get(q.name)!) {
          const state = await q.getJobState(id);
          if (state === 'completed') completed++;
          else if (state === 'failed') failed++;
        }
      }
      options.onProgress?.(completed + failed, total);
      if (completed + failed >= total) {
        let lastFinishedOn = 0;
        for (const q of queues) {
          for (const id of ids.get(q.name)!) lastFinishedOn = Math.max(lastFinishedOn, (await q.getJob(id))?.finishedOn ?? 0);
        }
        return { completed, failed, lastFinishedOn };
      }
      if (Date.now() > deadline) throw new Error(`${total - completed - failed} of ${total} jobs had not settled after ${options.timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  } finally {
    await Promise.all(queues.map((q) => q.close()));
  }
}
