import type { Redis } from 'ioredis';
import type { VisionBudget } from '../src/vision/vision-budget.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

// Counts one request in the minute's and the day's counters, unless either is spent; atomic across processes.
const TAKE = `
local minute = tonumber(redis.call('GET', KEYS[1]) or '0')
local day = tonumber(redis.call('GET', KEYS[2]) or '0')
if day >= tonumber(ARGV[2]) then return {0, minute, day} end
if minute >= tonumber(ARGV[1]) then return {1, minute, day} end
redis.call('INCR', KEYS[1]); redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2]); redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {2, minute + 1, day + 1}
`;

export interface RedisVisionBudgetOptions {
  /** GEMINI_MAX_PER_MINUTE: requests per calendar minute (UTC) across every process of the poller. */
  perMinute: number;
  /** GEMINI_MAX_PER_DAY: requests per UTC day across every process of the poller. */
  perDay: number;
}

/** Redis keys of the budget: `{prefix}:staktrakr:{poller}:vision:{minute|day}:{index}`. */
export function visionBudgetKeys(prefix: string, pollerId: string, now: number): [string, string] {
  return [`${prefix}:staktrakr:${pollerId}:vision:minute:${Math.floor(now / MINUTE_MS)}`, `${prefix}:staktrakr:${pollerId}:vision:day:${Math.floor(now / DAY_MS)}`];
}

/**
 * The vision budget shared by all worker processes of a poller, in its Redis: a calendar-minute and a UTC-day counter.
 * A Redis that does not answer refuses the request (the reader then says so): never spend without a limit.
 */
export function redisVisionBudget(connection: Redis, prefix: string, pollerId: string, options: RedisVisionBudgetOptions): VisionBudget & { used(now?: number): Promise<{ minute: number; day: number; perMinute: number; perDay: number }> } {
  const limit = (n: number) => (Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER);
  return {
    async take(now = Date.now()) {
      const [minuteKey, dayKey] = visionBudgetKeys(prefix, pollerId, now);
      const [verdict, minute, day] = (await connection.eval(TAKE, 2, minuteKey, dayKey, limit(options.perMinute), limit(options.perDay), 2 * MINUTE_MS, 2 * DAY_MS)) as number[];
      if (verdict === 2) return { ok: true };
      if (verdict === 0) {
        const reset = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
        return { ok: false, reason: `GEMINI_MAX_PER_DAY (${options.perDay}) spent: ${day} requests today, resets at 00:00 UTC (in ${Math.ceil((reset - now) / 60_000)} min)` };
      }
      return { ok: false, reason: `GEMINI_MAX_PER_MINUTE (${options.perMinute}) spent: ${minute} requests this minute, the next one in ${Math.ceil((MINUTE_MS - (now % MINUTE_MS)) / 1000)} s` };
    },
    async used(now = Date.now()) {
      const [minuteKey, dayKey] = visionBudgetKeys(prefix, pollerId, now);
      const [minute, day] = await connection.mget(minuteKey, dayKey);
      return { minute: Number(minute ?? 0), day: Number(day ?? 0), perMinute: options.perMinute, perDay: options.perDay };
    },
  };
}
