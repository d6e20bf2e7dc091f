import type { CoinLatestFile, VendorLatestEntry, WindowEntry } from '../contract/coin-latest-schema.js';
import { fromCents, lowestCents, medianCents } from './cents.js';
import type { VendorState, WindowPrice } from './model.js';
import { DEFAULT_PUBLISH_RULES, freshnessOf, inWindowRange, normaliseInstant, utcDate, type PublishRules } from './rules.js';

/** The source published for a stale fill (the price is the vendor's last known in-stock price). */
export const STALE_SOURCE = 'last_known';

export interface CoinLatestInput {
  slug: string;
  /** Newest window of the whole export (all coins): the "now" of freshness and of windows_24h. null: no data. */
  anchorWindow: string | null;
  /** Per vendor, its newest observation and newest in-stock price within retention. */
  vendors: readonly VendorState[];
  /** In-stock prices per window and vendor; those outside the 24 hours before the anchor are ignored. */
  windowPrices: readonly WindowPrice[];
}

/**
 * `api/{slug}/latest.json`. Per vendor, by the age of its newest observation (see PublishRules):
 * - fresh and in stock: listed with its price, confidence and source; counts in median and lowest;
 * - fresh or recent and out of stock: not listed; `availability_by_site` false, and its last in-stock
 *   price and date in `last_known_price_by_site` / `last_available_date_by_site` when known;
 * - recent and in stock: a stale fill (`stale: true`, `stale_since` = when it was read, confidence null,
 *   source `last_known`), not counted in median and lowest;
 * - expired: left out.
 * `window_start` is the coin's newest window; windows_24h holds every window of the last 24 hours with an
 * in-stock price, each with the true median and lowest of its vendors.
 */
/** A coin's latest.json with no data yet: the shape every builder and the merge start from. */
export function emptyCoinLatest(slug: string): CoinLatestFile {
  return {
    slug,
    window_start: null,
    median_price: null,
    lowest_price: null,
    vendors: {},
    availability_by_site: {},
    last_known_price_by_site: {},
    last_available_date_by_site: {},
    windows_24h: [],
  };
}

export function buildCoinLatest(input: CoinLatestInput, rules: PublishRules = DEFAULT_PUBLISH_RULES): CoinLatestFile {
  const file = emptyCoinLatest(input.slug);
  const anchor = input.anchorWindow;
  if (anchor === null || input.vendors.length === 0) return file;
  file.window_start = input.vendors.map((v) => v.last.window).reduce((a, b) => (b > a ? b : a));

  const freshCents: number[] = [];
  for (const state of input.vendors) {
    const { last, lastInStock } = state;
    const freshness = freshnessOf(last.window, anchor, rules);
    if (freshness === 'expired') continue;
    file.availability_by_site[state.vendor] = last.inStock;
    if (!last.inStock) {
      if (lastInStock) {
        file.last_known_price_by_site[state.vendor] = fromCents(lastInStock.priceCents);
        file.last_available_date_by_site[state.vendor] = utcDate(lastInStock.scrapedAt);
      }
      continue;
    }
    file.vendors[state.vendor] = freshness === 'fresh' ? freshEntry(state) : staleEntry(state);
    if (freshness === 'fresh') freshCents.push(last.priceCents);
  }
  file.median_price = centsOrNull(medianCents(freshCents));
  file.lowest_price = centsOrNull(lowestCents(freshCents));
  file.windows_24h = buildWindows(input.windowPrices.filter((p) => inWindowRange(p.window, anchor, rules)));
  return file;
}

function freshEntry({ last }: VendorState): VendorLatestEntry {
  return { price: fromCents(last.priceCents), confidence: last.confidence, source: last.source, inStock: true };
}

function staleEntry({ last }: VendorState): VendorLatestEntry {
  return { price: fromCents(last.priceCents), confidence: null, source: STALE_SOURCE, inStock: true, stale: true, stale_since: normaliseInstant(last.scrapedAt) };
}

/** windows_24h entries from window prices (one per window and vendor), ascending by window. */
export function buildWindows(prices: readonly WindowPrice[]): WindowEntry[] {
  const byWindow = new Map<string, Map<string, number>>();
  for (const p of prices) {
    let vendors = byWindow.get(p.window);
    if (!vendors) byWindow.set(p.window, (vendors = new Map()));
    vendors.set(p.vendor, p.priceCents);
  }
  return [...byWindow.keys()].sort().map((window) => windowEntry(window, byWindow.get(window)!));
}

/** One windows_24h entry from its vendors' prices in cents. */
export function windowEntry(window: string, vendorCents: ReadonlyMap<string, number>): WindowEntry {
  const cents = [...vendorCents.values()];
  const vendors: Record<string, number> = {};
  for (const [vendor, c] of vendorCents) vendors[vendor] = fromCents(c);
  return { window, median: fromCents(medianCents(cents)!), low: fromCents(lowestCents(cents)!), vendors };
}

function centsOrNull(cents: number | null): number | null {
  return cents === null ? null : fromCents(cents);
}
