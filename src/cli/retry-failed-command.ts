import { loadConfig } from '../config/env.js';
import { scrapeQueueName } from '../../queues/names.js';
import { UsageError } from './errors.js';
import { connectRedis, formatTable, inspectQueue, printResult, scrapeQueues, suggest, tryCatalogue, workersOf } from './operator.js';

/** Rows are idempotent per job: a retry keeps its job's row key, and its success replaces the failed row. */
export const ROW_NOTE = 'note: a retried job that succeeds replaces the failed row it stored and clears the failure streak (poller status)';

/**
 * `poller retry-failed [vendor]`: moves the failed jobs of one scrape queue, or of every scrape queue, back to
 * waiting (BullMQ Queue.retryJobs({state: 'failed'})); workers take them again (BullMQ keeps their attempt count).
 */
export async function retryFailedCommand(vendor: string | undefined, json: boolean): Promise<number> {
  const config = loadConfig();
  const { catalogue, problem } = await tryCatalogue(config);
  const { redis, display } = await connectRedis(config);
  try {
    const all = await scrapeQueues(redis, config, catalogue);
    let names = all;
    if (vendor !== undefined) {
      const name = scrapeQueueName(vendor);
      if (!all.includes(name)) {
        const vendors = all.map((q) => q.slice('scrape.'.length));
        throw new UsageError(`unknown vendor "${vendor}": no ${name} queue in the catalogue${problem ? ` (which cannot be read: ${problem})` : ''} or under prefix ${config.redisPrefix}; ${suggest(vendor, vendors, 'vendors')}`);
      }
      names = [name];
    }
    const rows: Array<{ queue: string; retried: number; workers: number | null }> = [];
    for (const name of names) {
      const queue = inspectQueue(redis, config.redisPrefix, name);
      try {
        const failed = await queue.getFailedCount();
        if (failed === 0) continue;
        await queue.retryJobs({ state: 'failed' });
        rows.push({ queue: name, retried: failed, workers: await workersOf(queue) });
      } finally {
        await queue.close();
      }
    }
    const retried = rows.reduce((n, r) => n + r.retried, 0);
    const idle = rows.filter((r) => r.workers === 0).map((r) => r.queue);
    const lines = [
      `retried ${retried} failed scrape job${retried === 1 ? '' : 's'} in ${vendor === undefined ? `${names.length} scrape queues` : names[0]} (Redis ${display}, prefix ${config.redisPrefix})`,
      ...(rows.length ? [formatTable(['queue', 'retried'], rows.map((r) => [r.queue, r.retried]))] : []),
      ...(idle.length ? [`no worker is connected to ${idle.join(', ')}: the jobs wait until one starts (poller worker)`] : []),
      ...(retried ? [ROW_NOTE] : []),
    ];
    printResult(json, { retried, queues: rows, redis: display, prefix: config.redisPrefix, ...(retried ? { note: ROW_NOTE } : {}) }, lines);
    return 0;
  } finally {
    redis.disconnect();
  }
}
