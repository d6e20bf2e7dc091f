import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { Target } from '../src/catalogue/target.js';
import { appKeys, scrapeQueueName, scrapeSchedulerId } from './names.js';
import { scrapeJobOptions, type ScrapeJobPolicy } from './job-options.js';
import { onRedisErrors } from './connection.js';

/** What a scrape job carries: everything the worker needs, so workers do not need the catalogue file. */
export interface ScrapeJobData {
  pollerId: string;
  target: Target;
}

export interface SchedulePlanOptions {
  pollerId: string;
  /** Default interval between scrapes of a target. */
  intervalMs: number;
  /** This poller's place in the interval (api1 0, api2 5 min, api3 10 min). */
  staggerMs: number;
  /** Spread a vendor's targets evenly over the interval, so that no vendor sees a burst. Default true. */
  spread?: boolean;
}

export interface PlannedScheduler {
  queue: string;
  id: string;
  every: number;
  /** Milliseconds after each interval boundary at which the job is due. */
  offset: number;
  data: ScrapeJobData;
}

/** The least interval a plan accepts (configuration keeps 1 minute; benchmarks go lower, never under a second). */
const MIN_EVERY_MS = 1000;

/** Pure: one scheduler per enabled target, offsets staggered by poller and spread per vendor. */
export function planSchedulers(targets: Target[], options: SchedulePlanOptions): PlannedScheduler[] {
  const byVendor = new Map<string, Target[]>();
  for (const t of targets) byVendor.set(t.vendor, [...(byVendor.get(t.vendor) ?? []), t]);
  const plan: PlannedScheduler[] = [];
  for (const [vendor, list] of byVendor) {
    const sorted = [...list].sort((a, b) => a.coin.localeCompare(b.coin));
    sorted.forEach((target, i) => {
      const every = target.intervalMinutes ? Math.round(target.intervalMinutes * 60_000) : options.intervalMs;
      // The catalogue and SCRAPE_INTERVAL_MINUTES keep a 1-minute floor; below a second BullMQ fails obscurely.
      if (!Number.isFinite(every) || every < MIN_EVERY_MS) {
        throw new Error(`${scrapeSchedulerId(options.pollerId, target)}: scrape interval of ${every} ms is below the floor (interval_minutes and SCRAPE_INTERVAL_MINUTES: whole minutes, at least 1)`);
      }
      const spreadMs = options.spread === false ? 0 : Math.floor((i * every) / sorted.length);
      // BullMQ treats offset 0 as "now, unaligned": 1 ms keeps the job on the interval grid.
      const offset = Math.max(1, (options.staggerMs + spreadMs) % every);
      plan.push({
        queue: scrapeQueueName(vendor),
        id: scrapeSchedulerId(options.pollerId, target),
        every,
        offset,
        data: { pollerId: options.pollerId, target },
      });
    });
  }
  return plan;
}

export interface ReconcileOptions {
  connection: Redis;
  prefix: string;
  pollerId: string;
  policy: ScrapeJobPolicy;
}

export interface ReconcileReport {
  upserted: number;
  removed: string[];
  queues: string[];
}

/**
 * Makes Redis hold exactly the planned schedulers of this poller: upserts each (idempotent by id) and removes
 * this poller's schedulers that the plan no longer has, also on queues of vendors that left the catalogue.
 * A Redis lock serialises concurrent scheduler processes, so two starts never interleave.
 */
export async function reconcileSchedulers(plan: PlannedScheduler[], options: ReconcileOptions): Promise<ReconcileReport> {
  const { connection, prefix, pollerId } = options;
  return withLock(connection, appKeys.reconcileLock(prefix, pollerId), async () => {
    const registryKey = appKeys.scrapeQueues(prefix, pollerId);
    const planned = new Set(plan.map((p) => p.queue));
    const known = new Set(await connection.smembers(registryKey));
    const queues = [...new Set([...planned, ...known])].sort();
    if (planned.size) await connection.sadd(registryKey, ...planned);
    const wanted = new Set(plan.map((p) => p.id));
    const removed: string[] = [];
    for (const name of queues) {
      const queue = onRedisErrors(new Queue(name, { connection, prefix }));
      try {
        for (const p of plan.filter((x) => x.queue === name)) {
          await queue.upsertJobScheduler(
            p.id,
            { every: p.every, offset: p.offset },
            { name: p.id, data: p.data, opts: scrapeJobOptions(options.policy) },
          );
        }
        for (const s of await queue.getJobSchedulers(0, -1)) {
          const id = s.key;
          if (id.startsWith(`${pollerId}:`) && !wanted.has(id)) {
            await queue.removeJobScheduler(id);
            removed.push(id);
          }
        }
      } finally {
        await queue.close();
      }
      if (!planned.has(name)) await connection.srem(registryKey, name);
    }
    return { upserted: plan.length, removed, queues };
  });
}

/**
 * Targets (`coin:vendor`) that this poller's job schedulers in Redis scrape now, on the queues its registry lists:
 * what a scheduler that starts would replace (the catalogue's shrink guard compares with it).
 */
export async function scheduledTargets(options: { connection: Redis; prefix: string; pollerId: string }): Promise<string[]> {
  const { connection, prefix, pollerId } = options;
  const found: string[] = [];
  for (const name of (await connection.smembers(appKeys.scrapeQueues(prefix, pollerId))).sort()) {
    const queue = onRedisErrors(new Queue(name, { connection, prefix }));
    try {
      for (const s of await queue.getJobSchedulers(0, -1)) if (s.key.startsWith(`${pollerId}:`)) found.push(s.key.slice(pollerId.length + 1));
    } finally {
      await queue.close();
    }
  }
  return found;
}

/** Ids of planned schedulers that Redis does not hold. */
export async function missingSchedulers(plan: PlannedScheduler[], options: { connection: Redis; prefix: string }): Promise<string[]> {
  const missing: string[] = [];
  for (const name of [...new Set(plan.map((p) => p.queue))].sort()) {
    const queue = onRedisErrors(new Queue(name, { connection: options.connection, prefix: options.prefix }));
    try {
      const present = new Set((await queue.getJobSchedulers(0, -1)).map((s) => s.key));
      for (const p of plan) if (p.queue === name && !present.has(p.id)) missing.push(p.id);
    } finally {
      await queue.close();
    }
  }
  return missing;
}

/** Runs `fn` holding a Redis lock (SET NX PX); waits for a holder to finish. The lock expires if its holder dies. */
async function withLock<T>(redis: Redis, key: string, fn: () => Promise<T>, ttlMs = 60_000): Promise<T> {
  const token = randomBytes(8).toString('hex');
  const deadline = Date.now() + ttlMs * 2;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() > deadline) throw new Error(`could not take the lock ${key}; another scheduler holds it`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    // Release only our own lock.
    await redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end", 1, key, token);
  }
}
