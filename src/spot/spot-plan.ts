import { WINDOW_MS } from '../time/window.js';

/**
 * Pure time rules of the spot feed. Every time is UTC; spot files name times naively (`YYYY-MM-DD HH:MM:SS`,
 * no zone), hours as `YYYY-MM-DD HH` and dates as `YYYY-MM-DD`. `now` is always injected.
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The daily seed is taken at or after this UTC hour (after the London and New York fixes of the day). */
export const SEED_HOUR_UTC = 17;

/** `2026-03-14 15:47:12` for a time. */
export function naiveUtc(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 19).replace('T', ' ');
}

/** The instant of a naive UTC string (`2026-03-14 15:45:00`, `2026-03-14 15` or `2026-03-14`), in ms. */
export function naiveToMs(text: string): number {
  const [date, time = '00'] = text.split(' ');
  const [h = '00', m = '00', s = '00'] = time.split(':');
  return Date.parse(`${date}T${h}:${m}:${s}Z`);
}

/** The floored quarter of `now` as a window: `2026-03-14 15:45:00` for 15:47:12. */
export function quarterWindow(now: Date | number): string {
  const ms = new Date(now).getTime();
  return naiveUtc(Math.floor(ms / WINDOW_MS) * WINDOW_MS);
}

/** `2026-03-14 15` for any time in that hour. */
export function hourKey(at: Date | number): string {
  return naiveUtc(at).slice(0, 13);
}

/** `2026-03-14` for any time that day. */
export function utcDate(at: Date | number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The date `days` after a `YYYY-MM-DD` date (negative: before). */
export function addDays(date: string, days: number): string {
  return utcDate(naiveToMs(date) + days * DAY_MS);
}

/** Saturday or Sunday (UTC): markets are closed, rates do not move, no seed is taken and none is missing. */
export function marketsClosed(date: string | Date | number): boolean {
  const ms = typeof date === 'string' ? naiveToMs(date.slice(0, 10)) : new Date(date).getTime();
  const day = new Date(ms).getUTCDay();
  return day === 0 || day === 6;
}

/**
 * Hours of the last `hoursBack` complete hours that have no data, oldest first. The current hour is left out
 * on purpose: its windows are still being written by the 15-minute polls (and the provider has no hourly point
 * for it yet), so a backfill there would put an HH:00 value under a live hour.
 */
export function missingHours(now: Date | number, hoursWithData: Iterable<string>, hoursBack = 24): string[] {
  const have = new Set(hoursWithData);
  const current = Math.floor(new Date(now).getTime() / HOUR_MS) * HOUR_MS;
  const out: string[] = [];
  for (let i = hoursBack; i >= 1; i--) {
    const key = hourKey(current - i * HOUR_MS);
    if (!have.has(key)) out.push(key);
  }
  return out;
}

/** The first and last hour (`YYYY-MM-DD HH`) that missingHours looks at. */
export function backfillSpan(now: Date | number, hoursBack = 24): { from: string; to: string } {
  const current = Math.floor(new Date(now).getTime() / HOUR_MS) * HOUR_MS;
  return { from: hourKey(current - hoursBack * HOUR_MS), to: hourKey(current - HOUR_MS) };
}

export interface CatchUpOptions {
  /** Where to start when there is no daily row yet. Default January 1 of the current year. */
  firstDate?: string;
  /** Most dates per range (MetalPriceAPI's /timeframe limit). Default 365. */
  chunkDays?: number;
}

/** A range of dates, both included. */
export interface DateRange {
  start: string;
  end: string;
}

/**
 * The /timeframe calls that bring the daily history from the day after `lastDate` (or `firstDate`) to yesterday,
 * at most `chunkDays` dates each. Weekend days at either end of a range are trimmed (they are skipped anyway),
 * so nothing is asked when only a weekend is missing.
 */
export function catchUpRanges(lastDate: string | null, now: Date | number, options: CatchUpOptions = {}): DateRange[] {
  const { chunkDays = 365 } = options;
  if (!Number.isInteger(chunkDays) || chunkDays < 1) throw new RangeError(`chunkDays: expected a whole number >= 1, got ${chunkDays}`);
  const yesterday = addDays(utcDate(now), -1);
  const firstDate = options.firstDate ?? `${utcDate(now).slice(0, 4)}-01-01`;
  const start = lastDate ? addDays(lastDate, 1) : firstDate;
  const ranges: DateRange[] = [];
  for (let from = start; from <= yesterday; ) {
    const last = addDays(from, chunkDays - 1);
    const to = last < yesterday ? last : yesterday;
    const trimmed = trimWeekends(from, to);
    if (trimmed) ranges.push(trimmed);
    from = addDays(to, 1);
  }
  return ranges;
}

function trimWeekends(start: string, end: string): DateRange | null {
  let s = start;
  let e = end;
  while (s <= e && marketsClosed(s)) s = addDays(s, 1);
  while (e >= s && marketsClosed(e)) e = addDays(e, -1);
  return s <= e ? { start: s, end: e } : null;
}

/** True when the daily seed should be written now: a weekday, at or after 17:00 UTC, and today's StakTrakr seed missing. */
export function seedDue(now: Date | number, hasTodaysSeed: boolean): boolean {
  if (hasTodaysSeed || marketsClosed(now)) return false;
  return new Date(now).getUTCHours() >= SEED_HOUR_UTC;
}
