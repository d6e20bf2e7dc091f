import type { MetalPriceApiClient, RejectedSpot } from './metal-price-api.js';
import { SPOT_METALS, type SpotMetal } from './metals.js';
import { addDays, backfillSpan, catchUpRanges, hourKey, marketsClosed, missingHours, naiveToMs, quarterWindow, seedDue, utcDate, type DateRange } from './spot-plan.js';
import type { SpotDailyRow, SpotWindowRow } from './spot-schema.js';
import { SEED_PROVIDER, type SpotStore } from './spot-store.js';

/** The three spot jobs (latest poll, hourly backfill, history catch-up) as functions; the queue code calls them. */

/** Provider named in rows fetched from MetalPriceAPI. */
export const API_PROVIDER = 'MetalPriceAPI';

/** The part of a logger the jobs use (a pino Logger fits). */
export interface SpotLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SpotFeedParts {
  api: MetalPriceApiClient;
  store: SpotStore;
  /** This poller (`api1`), written with each row. */
  pollerId: string;
  /** Clock. Default Date.now. */
  now?: () => number | Date;
  /** Recorded as every row's provider (SIMULATED_PROVIDER for the simulator). Default: MetalPriceAPI, and StakTrakr for the seed. */
  provider?: string;
  logger?: SpotLogger;
}

export interface PollLatestResult {
  /** The quarter window written, `YYYY-MM-DD HH:MM:00`. */
  window: string;
  prices: Partial<Record<SpotMetal, number>>;
  /** Rows new to the table (0 when another poller already wrote this window: the first value stands). */
  written: number;
  rejected: RejectedSpot[];
  /** The provider's update time (ISO), or null when it gave none. */
  providerTimestamp: string | null;
  /** The provider timestamp did not move since the last poll: markets closed (weekend, holiday). Normal, not a failure. */
  unchanged: boolean;
  /** The daily StakTrakr seed written by this poll, or null when none was due. */
  seed: { date: string; written: number } | null;
}

/** Polls /latest once: the current quarter window of each metal, and today's seed when it is due (17:00 UTC rule). */
export async function pollLatestSpot(parts: SpotFeedParts): Promise<PollLatestResult> {
  const { api, store, pollerId, logger } = parts;
  const at = new Date(parts.now?.() ?? Date.now());
  const window = quarterWindow(at);
  const previous = await store.lastProviderTimestamp();
  const quote = await api.latest();
  const providerTimestamp = quote.providerTimestamp ? quote.providerTimestamp.toISOString() : null;
  const fetchedAt = at.toISOString();
  const rows: SpotWindowRow[] = metalsOf(quote.prices).map((metal) => ({
    metal, window_start: window, spot: quote.prices[metal]!, provider: parts.provider ?? API_PROVIDER, source: 'latest', fetched_at: fetchedAt, poller_id: pollerId, provider_at: providerTimestamp,
  }));
  const recorded = await store.recordWindows(rows);
  const unchanged = providerTimestamp !== null && previous === providerTimestamp;

  let seed: PollLatestResult['seed'] = null;
  const date = utcDate(at);
  if (seedDue(at, await store.hasStakTrakrSeed(date))) {
    const daily: SpotDailyRow[] = metalsOf(quote.prices).map((metal) => ({
      metal, date, spot: quote.prices[metal]!, provider: parts.provider ?? SEED_PROVIDER, source: 'seed', fetched_at: fetchedAt, poller_id: pollerId,
    }));
    seed = { date, written: (await store.recordDaily(daily)).written };
  }
  if (quote.rejected.length > 0 || recorded.refused.length > 0) {
    logger?.warn({ window, rejected: quote.rejected, refused: recorded.refused.map((r) => r.reason) }, 'spot: some MetalPriceAPI values were refused; the others were kept');
  }
  logger?.info({ window, written: recorded.written, unchanged, seed }, unchanged ? 'spot: rates unchanged since the last poll (markets closed)' : 'spot: latest rates recorded');
  return { window, prices: quote.prices, written: recorded.written, rejected: quote.rejected, providerTimestamp, unchanged, seed };
}

export interface BackfillResult {
  /** First and last hour looked at (`YYYY-MM-DD HH`); the current hour is not backfilled. */
  from: string;
  to: string;
  /** Hours without data for at least one metal, oldest first. */
  missing: string[];
  /** Missing hours that got a value for every metal that lacked one. */
  filled: string[];
  /** Missing hours the provider had no (valid) point for, for some metal. */
  unfilled: string[];
  /** Rows new to the table. */
  rows: number;
  /** /hourly calls made (one per metal with missing hours). */
  calls: number;
  rejected: Array<{ metal: SpotMetal; at: string; reason: string }>;
}

/**
 * Fills the past `hoursBack` complete hours that have no window, per metal, from /hourly: one value per hour at
 * HH:00. Windows already in the table are never replaced (first wins).
 */
export async function backfillSpotHours(parts: SpotFeedParts & { hoursBack?: number }): Promise<BackfillResult> {
  const { api, store, pollerId, logger, hoursBack = 24 } = parts;
  const at = new Date(parts.now?.() ?? Date.now());
  const { from, to } = backfillSpan(at, hoursBack);
  const missingAll = new Set<string>();
  const unfilled = new Set<string>();
  const rejected: BackfillResult['rejected'] = [];
  let calls = 0;
  const found: SpotWindowRow[] = [];
  for (const metal of SPOT_METALS) {
    const missing = missingHours(at, await store.hoursWithData({ from, to, metal }), hoursBack);
    if (missing.length === 0) continue;
    missing.forEach((h) => missingAll.add(h));
    const wanted = new Set(missing);
    const answer = await api.hourly(metal, naiveToMs(missing[0]) / 1000, naiveToMs(missing[missing.length - 1]) / 1000);
    calls++;
    const got = new Map<string, number>();
    for (const p of answer.points) {
      const hour = hourKey(p.at);
      if (wanted.has(hour) && !got.has(hour)) got.set(hour, p.spot);
    }
    answer.rejected.forEach((r) => rejected.push({ metal, at: r.at.toISOString(), reason: r.reason }));
    missing.filter((h) => !got.has(h)).forEach((h) => unfilled.add(h));
    for (const [hour, spot] of got) {
      found.push({ metal, window_start: `${hour}:00:00`, spot, provider: parts.provider ?? API_PROVIDER, source: 'hourly', fetched_at: at.toISOString(), poller_id: pollerId });
    }
  }
  // One batch for every metal: an export in between would publish a window with some metals, and a 15-minute file
  // is written once.
  const rows = (await store.recordWindows(found)).written;
  const missing = [...missingAll].sort();
  const result: BackfillResult = { from, to, missing, filled: missing.filter((h) => !unfilled.has(h)), unfilled: [...unfilled].sort(), rows, calls, rejected };
  logger?.info({ from, to, missing: missing.length, rows, unfilled: result.unfilled.length, calls }, 'spot: hourly backfill done');
  return result;
}

export interface CatchUpResult {
  /** Newest daily date before today when the catch-up started, or null. */
  lastDate: string | null;
  /** /timeframe ranges asked, in order. */
  ranges: DateRange[];
  /** Daily rows new to the table. */
  rows: number;
  /** Saturday and Sunday dates the answers held and that were skipped (markets closed). */
  weekendDaysSkipped: number;
  rejected: Array<{ date: string; metal: SpotMetal; reason: string }>;
}

/**
 * Brings spot_daily from its last date before today up to yesterday through /timeframe, in chunks of at most
 * `chunkDays` (365) dates, provider MetalPriceAPI, weekends skipped. Each chunk is written as it arrives.
 */
export async function catchUpSpotHistory(parts: SpotFeedParts & { firstDate?: string; chunkDays?: number }): Promise<CatchUpResult> {
  const { api, store, pollerId, logger } = parts;
  const at = new Date(parts.now?.() ?? Date.now());
  const newest = await store.lastDailyDate({ before: utcDate(at) });
  // A weekday missed within the last GAP_DAYS (an outage, a spent quota) is asked again, not only what follows the newest.
  const lastDate = newest === null ? null : await beforeFirstGap(store, newest, at, parts.firstDate);
  const ranges = catchUpRanges(lastDate, at, { firstDate: parts.firstDate, chunkDays: parts.chunkDays });
  const result: CatchUpResult = { lastDate, ranges, rows: 0, weekendDaysSkipped: 0, rejected: [] };
  for (const range of ranges) {
    const days = await api.timeframe(range.start, range.end);
    const rows: SpotDailyRow[] = [];
    for (const day of days) {
      if (marketsClosed(day.date)) {
        result.weekendDaysSkipped++;
        continue;
      }
      day.rejected.forEach((r) => result.rejected.push({ date: day.date, ...r }));
      for (const metal of metalsOf(day.prices)) {
        rows.push({ metal, date: day.date, spot: day.prices[metal]!, provider: parts.provider ?? API_PROVIDER, source: 'timeframe', fetched_at: at.toISOString(), poller_id: pollerId });
      }
    }
    result.rows += (await store.recordDaily(rows)).written;
  }
  if (result.rejected.length > 0) logger?.warn({ rejected: result.rejected.slice(0, 10) }, 'spot: some daily values were refused; the others were kept');
  logger?.info({ lastDate, ranges: ranges.length, rows: result.rows }, 'spot: history catch-up done');
  return result;
}

/** How far back the history catch-up looks for weekdays without a value of every metal. */
export const GAP_DAYS = 30;

/** The day before the first weekday of the last GAP_DAYS (not before firstDate) that lacks a metal, else `newest`. */
async function beforeFirstGap(store: SpotStore, newest: string, at: Date, firstDate: string | undefined): Promise<string> {
  let from = addDays(utcDate(at), -GAP_DAYS);
  if (firstDate && firstDate > from) from = firstDate;
  if (from > newest) return newest;
  const complete = await store.completeDailyDates({ from, to: newest });
  for (let d = from; d <= newest; d = addDays(d, 1)) if (!marketsClosed(d) && !complete.has(d)) return addDays(d, -1);
  return newest;
}

function metalsOf(prices: Partial<Record<SpotMetal, number>>): SpotMetal[] {
  return SPOT_METALS.filter((m) => prices[m] !== undefined);
}
