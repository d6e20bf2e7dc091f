/**
 * The state rules of the status page, as pure functions: what colour a coin x vendor cell gets, and whether a
 * timestamp (a branch head, a feed, a poller's newest scrape) is fresh. No I/O, no clock: `now` is given.
 */

import { BLOCKED_VENDOR_REASON } from '../scrape/retry-policy.js';
import type { TargetOutcome } from '../store/price-store.js';

/** A cell's state, worst first in the order the page's summary lists them. */
export const CELL_STATES = ['blocked', 'failing', 'rejected', 'stale', 'out_of_stock', 'fresh', 'never', 'unlisted'] as const;
export type CellState = (typeof CELL_STATES)[number];

/** A success older than this many scrape intervals is stale: one missed cycle is tolerated, two are not. */
export const FRESH_INTERVALS = 2;

/** The fields of a `target_outcomes` record the rules read. */
export type CellOutcome = Pick<TargetOutcome, 'last_attempt_at' | 'last_outcome' | 'last_success_at' | 'last_price' | 'last_error' | 'last_error_at' | 'consecutive_failures'>;

export interface CellInput {
  /** The poller's outcome record of the target; null when it was never scraped. */
  outcome: CellOutcome | null;
  /** When the current failure streak began (its first failed row); null or absent when unknown. */
  streakSince?: string | null;
  /** Price of the last row (a rejected row keeps the refused value). */
  lastRowPrice?: number | null;
  /** The target's scrape interval. */
  intervalMs: number;
  /** Epoch ms. */
  now: number;
}

export interface Cell {
  state: CellState;
  /** The last accepted price (a successful read, in or out of stock); null when none yet. */
  price: number | null;
  /** When that price was read. */
  priceAt: string | null;
  /** now - priceAt, never negative; null without a price. */
  ageMs: number | null;
  /** blocked, failing, rejected: since when (the streak's first failure, else the last success, else the last error). */
  since: string | null;
  /** now - since; null without `since`. */
  sinceMs: number | null;
  /** Consecutive failed attempts. */
  failures: number;
  /** The last attempt's outcome (`ok`, `out_of_stock`, `blocked`, `error`, ...); null when never scraped. */
  outcome: string | null;
  /** Why the last attempt failed; null after a success. */
  reason: string | null;
  /** rejected: the price the spot check refused. */
  rejectedPrice: number | null;
  /** When the target was last attempted. */
  lastAttemptAt: string | null;
}

/** Milliseconds since an ISO time (never negative: a clock a little ahead is not a negative age); null for none. */
export function ageOf(at: string | null | undefined, now: number): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : Math.max(0, now - t);
}

/**
 * The state of one coin x vendor cell:
 * - never: the poller has no attempt of the target yet;
 * - blocked: the last attempts failed and the last one was a bot wall (outcome `blocked`, or the worker's
 *   `vendor blocked:` reason);
 * - rejected: the last attempts failed and the last one read a price the spot check refused (outcome `rejected`);
 * - failing: the last attempts failed otherwise (network, 5xx, 404, wrong product, no price...);
 * - stale: the last attempt succeeded but the newest success is older than FRESH_INTERVALS scrape intervals;
 * - out_of_stock: the last attempt read the page, which says out of stock (its advertised price is kept);
 * - fresh: the last attempt read an in-stock price within FRESH_INTERVALS intervals.
 * Failure states win over age: a failing target is failing however old its last price is.
 */
export function cellState(input: CellInput): Cell {
  const o = input.outcome;
  if (!o) {
    return { state: 'never', price: null, priceAt: null, ageMs: null, since: null, sinceMs: null, failures: 0, outcome: null, reason: null, rejectedPrice: null, lastAttemptAt: null };
  }
  const failures = Math.max(0, Number(o.consecutive_failures) || 0);
  const base = {
    price: o.last_success_at && o.last_price !== null ? Number(o.last_price) : null,
    priceAt: o.last_success_at,
    ageMs: ageOf(o.last_success_at, input.now),
    failures,
    outcome: o.last_outcome,
    lastAttemptAt: o.last_attempt_at,
  };
  if (failures > 0) {
    const since = input.streakSince ?? o.last_success_at ?? o.last_error_at ?? o.last_attempt_at;
    const failed = { ...base, since, sinceMs: ageOf(since, input.now), reason: o.last_error };
    if (o.last_outcome === 'blocked' || o.last_error?.startsWith(BLOCKED_VENDOR_REASON)) return { ...failed, state: 'blocked', rejectedPrice: null };
    if (o.last_outcome === 'rejected') return { ...failed, state: 'rejected', rejectedPrice: input.lastRowPrice ?? null };
    return { ...failed, state: 'failing', rejectedPrice: null };
  }
  const rest = { ...base, since: null, sinceMs: null, reason: null, rejectedPrice: null };
  if (base.ageMs === null || base.ageMs > FRESH_INTERVALS * input.intervalMs) return { ...rest, state: 'stale' };
  if (o.last_outcome === 'out_of_stock') return { ...rest, state: 'out_of_stock' };
  return { ...rest, state: 'fresh' };
}

/** A timestamp judged against a limit: `none` when there is none. */
export type AgeState = 'fresh' | 'stale' | 'none';

/** fresh when `at` is at most `maxAgeMs` old, stale beyond, none without a time. */
export function ageState(at: string | null | undefined, now: number, maxAgeMs: number): AgeState {
  const age = ageOf(at, now);
  if (age === null) return 'none';
  return age <= maxAgeMs ? 'fresh' : 'stale';
}

/** Counts per state, every state present (zeros included), in CELL_STATES order. */
export function countStates(states: Iterable<CellState>): Record<CellState, number> {
  const counts = Object.fromEntries(CELL_STATES.map((s) => [s, 0])) as Record<CellState, number>;
  for (const s of states) counts[s]++;
  return counts;
}
