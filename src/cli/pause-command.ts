import { loadConfig } from '../config/env.js';
import { scrapeQueueName } from '../../queues/names.js';
import { UsageError } from './errors.js';
import { catalogueVendors, connectRedis, discoverQueues, inspectQueue, printResult, suggest, tryCatalogue, workersOf } from './operator.js';

/**
 * `poller pause <vendor>` and `poller resume <vendor>`: BullMQ Queue.pause()/resume() of scrape.{vendor}.
 * Paused, workers take no job from the queue (running ones finish); schedulers keep adding jobs, which wait.
 */
export async function setVendorPaused(vendor: string, pause: boolean, json: boolean): Promise<number> {
  const config = loadConfig();
  const { catalogue, problem } = await tryCatalogue(config);
  const { redis, display } = await connectRedis(config);
  const name = scrapeQueueName(vendor);
  const queue = inspectQueue(redis, config.redisPrefix, name);
  try {
    // A vendor of the catalogue, or a queue Redis already holds (a vendor since removed from the catalogue).
    const known = catalogueVendors(catalogue);
    const inRedis = (await discoverQueues(redis, config.redisPrefix)).queues.filter((q) => q.startsWith('scrape.')).map((q) => q.slice('scrape.'.length));
    if (!known.includes(vendor) && !inRedis.includes(vendor)) {
      const all = [...new Set([...known, ...inRedis])].sort();
      throw new UsageError(`unknown vendor "${vendor}": no scrape.${vendor} queue in the catalogue${problem ? ` (which cannot be read: ${problem})` : ''} or under prefix ${config.redisPrefix}; ${suggest(vendor, all, 'vendors')}`);
    }
    const was = await queue.isPaused();
    if (pause) await queue.pause();
    else await queue.resume();
    const [now, counts, workers] = await Promise.all([queue.isPaused(), queue.getJobCounts('wait', 'prioritized', 'active', 'delayed'), workersOf(queue)]);
    const held = (counts.wait ?? 0) + (counts.prioritized ?? 0);
    const data = { queue: name, vendor, redis: display, prefix: config.redisPrefix, paused: now, wasPaused: was, waiting: held, active: counts.active ?? 0, delayed: counts.delayed ?? 0, workers };
    const state = now ? 'paused' : 'running';
    const lines = [
      `${name}: ${state}${was === now ? ` (it was already ${state})` : ` (was ${was ? 'paused' : 'running'})`}; ${held} waiting, ${counts.active ?? 0} active, ${counts.delayed ?? 0} delayed, ${workers ?? '?'} worker${workers === 1 ? '' : 's'} connected`,
      now
        ? `workers take no job from it (running ones finish; schedulers keep adding, the jobs wait). Resume: poller resume ${vendor}`
        : `workers take its jobs again${workers === 0 ? ', but none is connected: start one with poller worker' : ''}`,
    ];
    printResult(json, data, lines);
    return 0;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** `poller pause <vendor>`. */
export function pauseCommand(vendor: string, json: boolean): Promise<number> {
  return setVendorPaused(vendor, true, json);
}
