/**
 * Checking a scraped Goldback rate against what dealers ask for goldback notes: dealers sell at a premium
 * over the official rate, so the rate sits at or under the retail price per G1, and not far under it.
 */
import type { Client } from '@libsql/client';
import { fromCents, medianCents, toCents } from '../export/cents.js';
import { formatUsd } from '../scrape/extract/money.js';

/** How far the scraped rate can be trusted: the published file's `confidence`. */
export type GoldbackConfidence = 'high' | 'medium' | 'low';

export interface RetailCheckOptions {
  /** The time of the check: retail prices of the `windowHours` before it count. */
  now: Date | number;
  /** How far back retail prices count, in hours. Default 48. */
  windowHours?: number;
  /**
   * The goldback coins of the catalogue (the caller knows it). Default: every coin slug containing `goldback`.
   */
  slugs?: readonly string[];
  /**
   * Notes per unit of a coin (the catalogue's goldback `weight_oz`), by slug. Default: the `-gN` suffix of the
   * slug (`goldback-utah-g5` -> 5), else 1.
   */
  notesPerUnit?: Readonly<Record<string, number>>;
  /** Lowest share of the median retail price per G1 that the rate may be. Default 0.6. */
  minShareOfRetail?: number;
}

export interface RetailCheck {
  confidence: GoldbackConfidence;
  /** Why the confidence is not high; null when it is. */
  reason: string | null;
  /** Median retail price per G1 note over the listings compared, or null when there were none. */
  medianRetailPerG1: number | null;
  /** Listings compared: the newest in-stock price of each coin x vendor in the window. */
  listings: number;
}

const DEFAULT_WINDOW_HOURS = 48;
const DEFAULT_MIN_SHARE = 0.6;
/** One cent and a hair: a rate equal to the median to the cent is "at" it. */
const CENT = 0.0100001;

/** Notes in one unit of a goldback coin, from its slug (`-g5` -> 5), or null when the slug does not say. */
export function notesFromSlug(slug: string): number | null {
  const m = /-g(\d{1,3})$/.exec(slug);
  return m && Number(m[1]) > 0 ? Number(m[1]) : null;
}

/** The newest in-stock retail price of each goldback coin x vendor in the window, per G1 note. */
export async function retailPricesPerG1(client: Client, options: RetailCheckOptions): Promise<number[]> {
  const nowMs = typeof options.now === 'number' ? options.now : options.now.getTime();
  const hours = options.windowHours ?? DEFAULT_WINDOW_HOURS;
  const since = new Date(nowMs - hours * 3_600_000).toISOString();
  const until = new Date(nowMs).toISOString();
  const slugs = options.slugs;
  if (slugs && slugs.length === 0) return [];
  const coinFilter = slugs ? `coin_slug IN (${slugs.map(() => '?').join(', ')})` : `coin_slug LIKE '%goldback%'`;
  // SQLite returns the bare `price` of the row holding MAX(scraped_at): the newest price of each listing.
  const sql = `SELECT coin_slug, vendor, price, MAX(scraped_at) AS at FROM price_snapshots
    WHERE is_failed = 0 AND price IS NOT NULL AND price > 0 AND in_stock = 1 AND (outcome IS NULL OR outcome = 'ok')
      AND scraped_at >= ? AND scraped_at <= ? AND ${coinFilter}
    GROUP BY coin_slug, vendor`;
  let rows;
  try {
    rows = (await client.execute({ sql, args: [since, until, ...(slugs ?? [])] })).rows;
  } catch (err) {
    // A database without the price table yet (no scrape ever ran) has no retail prices: not an error here.
    if (/no such table|no such column/i.test(String((err as Error)?.message))) return [];
    throw err;
  }
  const out: number[] = [];
  for (const r of rows) {
    const slug = String(r.coin_slug);
    const notes = options.notesPerUnit?.[slug] ?? notesFromSlug(slug) ?? 1;
    const price = Number(r.price);
    if (Number.isFinite(price) && price > 0 && notes > 0) out.push(price / notes);
  }
  return out;
}

/**
 * Judges a G1 rate against retail: `high` when it is at or under the median retail price per G1 and at least
 * 60% of it, `low` (with the reason) otherwise, `medium` when no retail price is there to compare. Never throws
 * on an empty or missing price table.
 */
export async function checkAgainstRetail(client: Client, g1Usd: number, options: RetailCheckOptions): Promise<RetailCheck> {
  const prices = await retailPricesPerG1(client, options);
  const hours = options.windowHours ?? DEFAULT_WINDOW_HOURS;
  if (!prices.length) return { confidence: 'medium', reason: 'no retail prices to compare', medianRetailPerG1: null, listings: 0 };
  const share = options.minShareOfRetail ?? DEFAULT_MIN_SHARE;
  const m = fromCents(medianCents(prices.map(toCents))!);
  const of = `the median retail price ${formatUsd(m)} per G1 of ${prices.length} in-stock goldback listing${prices.length === 1 ? '' : 's'} (last ${hours} h)`;
  if (g1Usd > m + CENT) {
    return { confidence: 'low', reason: `the rate ${formatUsd(g1Usd)} is above ${of}: dealers sell over the rate, so it may be another denomination or a dealer's price`, medianRetailPerG1: m, listings: prices.length };
  }
  if (g1Usd < share * m - CENT) {
    return { confidence: 'low', reason: `the rate ${formatUsd(g1Usd)} is under ${Math.round(share * 100)}% of ${of}: it may be a melt value or a part of a note`, medianRetailPerG1: m, listings: prices.length };
  }
  return { confidence: 'high', reason: null, medianRetailPerG1: m, listings: prices.length };
}
