import type { JobsOptions, Queue } from 'bullmq';

/** The spot queue carries every feed that is not a dealer scrape: MetalPriceAPI spot and the Goldback rate. */
export const SPOT_QUEUE_NAME = 'spot';

/** The nightly additive sync between the two API repositories. */
export const SYNC_QUEUE_NAME = 'sync';

/**
 * Jobs of the spot queue:
 * - `spot-latest`: the current 15-minute window of every metal (and, from 17:00 UTC, today's daily seed);
 * - `spot-backfill`: hours of the last SPOT_BACKFILL_HOURS without data, filled from MetalPriceAPI's /hourly (at start, then hourly);
 * - `spot-history`: the daily values up to yesterday, gaps of the last 30 days included (spot-history-YYYY.json), in
 *   365-day chunks (at start, then daily at 00:20 UTC);
 * - `goldback`: the official one-Goldback rate of the day.
 */
export type SpotJobName = 'spot-latest' | 'spot-backfill' | 'spot-history' | 'goldback';

export interface FeedJobData {
  pollerId: string;
  /** `schedule` (a job scheduler), `start` (the catch-up at start), `manual` (an operator: runs even when done today). */
  cause: 'schedule' | 'start' | 'manual';
}

export interface SyncJobData {
  cause: 'schedule' | 'manual';
}

/** Feed jobs retry a few times (a provider's hiccup), then wait for the next round; history as for publishing. */
export function feedJobOptions(): JobsOptions {
  return {
    attempts: 3,
    backoff: { type: 'exponential', delay: 10_000, jitter: 0.5 },
    removeOnComplete: { age: 24 * 3600, count: 500 },
    removeOnFail: { age: 7 * 24 * 3600, count: 500 },
  };
}

/** Scheduler ids, readable in Bull Board and redis-cli: `api1:spot-latest`, `api1:goldback`, `sync`. */
export const feedSchedulerIds = {
  spotLatest: (pollerId: string) => `${pollerId}:spot-latest`,
  spotBackfill: (pollerId: string) => `${pollerId}:spot-backfill`,
  spotHistory: (pollerId: string) => `${pollerId}:spot-history`,
  goldback: (pollerId: string) => `${pollerId}:goldback`,
  sync: 'sync',
} as const;

/** A daily cron pattern (UTC) from `HH:MM`. */
export function dailyPattern(atUtc: string): string {
  const [h, m] = atUtc.split(':').map(Number);
  return `${m} ${h} * * *`;
}

export interface FeedSchedule {
  pollerId: string;
  /** MetalPriceAPI polls: every this long (null: the spot feed is off). */
  spotEveryMs: number | null;
  /** Where in that interval this poller polls (its stagger), so that pollers share the windows. */
  spotOffsetMs: number;
  /** The Goldback rate's daily time `HH:MM` UTC (null: off). */
  goldbackAtUtc: string | null;
}

/** Gaps left by an outage while the poller runs are filled by the backfill every hour and the history every day. */
const BACKFILL_EVERY_MS = 3_600_000;
const HISTORY_AT_UTC = '00:20';

/** The ids of the feed schedulers a schedule asks for. */
export function plannedFeedSchedulers(s: FeedSchedule): string[] {
  const spot = s.spotEveryMs ? [feedSchedulerIds.spotLatest(s.pollerId), feedSchedulerIds.spotBackfill(s.pollerId), feedSchedulerIds.spotHistory(s.pollerId)] : [];
  return [...spot, ...(s.goldbackAtUtc ? [feedSchedulerIds.goldback(s.pollerId)] : [])];
}

/** Upserts this poller's feed schedulers and removes those the configuration turned off. Idempotent. */
export async function upsertFeedSchedulers(queue: Queue<FeedJobData>, s: FeedSchedule): Promise<void> {
  const data: FeedJobData = { pollerId: s.pollerId, cause: 'schedule' };
  if (s.spotEveryMs) {
    // 30 s into the window: the provider has the new quarter's rate, and the entry lands in the window it is named for.
    const offset = Math.max(1, (s.spotOffsetMs + 30_000) % s.spotEveryMs);
    await queue.upsertJobScheduler(feedSchedulerIds.spotLatest(s.pollerId), { every: s.spotEveryMs, offset }, { name: 'spot-latest', data, opts: feedJobOptions() });
    // Between two polls of the hour, so that it never races the window it would find missing.
    const backfillOffset = Math.max(1, (offset + 7 * 60_000) % BACKFILL_EVERY_MS);
    await queue.upsertJobScheduler(feedSchedulerIds.spotBackfill(s.pollerId), { every: BACKFILL_EVERY_MS, offset: backfillOffset }, { name: 'spot-backfill', data, opts: feedJobOptions() });
    await queue.upsertJobScheduler(feedSchedulerIds.spotHistory(s.pollerId), { pattern: dailyPattern(HISTORY_AT_UTC), tz: 'UTC' }, { name: 'spot-history', data, opts: feedJobOptions() });
  } else {
    for (const id of [feedSchedulerIds.spotLatest, feedSchedulerIds.spotBackfill, feedSchedulerIds.spotHistory]) await queue.removeJobScheduler(id(s.pollerId));
  }
  if (s.goldbackAtUtc) {
    await queue.upsertJobScheduler(feedSchedulerIds.goldback(s.pollerId), { pattern: dailyPattern(s.goldbackAtUtc), tz: 'UTC' }, { name: 'goldback', data, opts: feedJobOptions() });
  } else await queue.removeJobScheduler(feedSchedulerIds.goldback(s.pollerId));
}

/** The feed schedulers of a schedule that Redis does not hold (lost with a Redis restarted without persistence). */
export async function missingFeedSchedulers(queue: Queue<FeedJobData>, s: FeedSchedule): Promise<string[]> {
  const missing: string[] = [];
  for (const id of plannedFeedSchedulers(s)) if (!(await queue.getJobScheduler(id))) missing.push(id);
  return missing;
}

/**
 * The catch-up at start: the current window now, the backfill of missing hours, the history up to yesterday and
 * today's Goldback rate (each job skips what is already done). One set per poller and hour: restarts within the
 * hour add nothing.
 */
export async function addStartupFeedJobs(queue: Queue<FeedJobData>, s: FeedSchedule, now: Date): Promise<string[]> {
  // Job ids may not hold ':' (BullMQ): `api1/spot-backfill/start/2026-12-07T10`.
  const hour = now.toISOString().slice(0, 13);
  const data: FeedJobData = { pollerId: s.pollerId, cause: 'start' };
  const names: SpotJobName[] = [...(s.spotEveryMs ? (['spot-latest', 'spot-backfill', 'spot-history'] as const) : []), ...(s.goldbackAtUtc ? (['goldback'] as const) : [])];
  for (const name of names) await queue.add(name, data, { ...feedJobOptions(), jobId: `${s.pollerId}/${name}/start/${hour}` });
  return names;
}

/** The nightly sync scheduler (one per Redis: every poller may upsert it, the id is shared). */
export async function upsertSyncScheduler(queue: Queue<SyncJobData>, atUtc: string | null): Promise<void> {
  if (!atUtc) {
    await queue.removeJobScheduler(feedSchedulerIds.sync);
    return;
  }
  await queue.upsertJobScheduler(feedSchedulerIds.sync, { pattern: dailyPattern(atUtc), tz: 'UTC' }, { name: 'sync', data: { cause: 'schedule' }, opts: feedJobOptions() });
}
