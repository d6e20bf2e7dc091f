import type { CoinLatestFile, VendorLatestEntry } from '../contract/coin-latest-schema.js';
import { fromCents, lowestCents, medianCents, toCents } from '../export/cents.js';
import { STALE_SOURCE, emptyCoinLatest, windowEntry } from '../export/coin-latest.js';
import { DEFAULT_PUBLISH_RULES, freshnessOf, inWindowRange, normaliseInstant, type PublishRules } from '../export/rules.js';
import { windowStart } from '../time/window.js';

/** What one branch says about a vendor, and in which window it was observed. */
interface Observation {
  order: number;
  window: string;
  entry: VendorLatestEntry | null; // null: out of stock
}

/**
 * Merges one coin's latest.json from several branches (given in priority order), by the builder's rules:
 * per vendor the newest observation wins (a fresh price in the last window of windows_24h that holds it,
 * a stale fill at its stale_since, an out-of-stock vendor at the branch's window_start, the only time the
 * file gives for it; ties go to the earlier branch),
 * then is aged against the merged newest window: fresh, stale fill, or gone. The last known in-stock
 * price of an out-of-stock vendor is the newest any branch knows. Median and lowest are recomputed
 * from the fresh vendors; windows_24h is the union per window (earlier branch wins per vendor), cut to
 * the 24 hours before `anchorWindow`, each window's median and lowest recomputed.
 */
export function mergeCoinLatest(slug: string, files: readonly CoinLatestFile[], anchorWindow: string, rules: PublishRules = DEFAULT_PUBLISH_RULES): CoinLatestFile {
  const merged = emptyCoinLatest(slug);
  const newest = new Map<string, Observation>();
  const lastInStock = new Map<string, { date: string; price: number; order: number }>();
  const offerLastInStock = (vendor: string, date: string, price: number, order: number) => {
    const known = lastInStock.get(vendor);
    if (!known || date > known.date) lastInStock.set(vendor, { date, price, order });
  };
  const offer = (vendor: string, o: Observation) => {
    const known = newest.get(vendor);
    if (!known || o.window > known.window) newest.set(vendor, o);
  };

  files.forEach((file, order) => {
    if (file.window_start === null) return;
    if (merged.window_start === null || file.window_start > merged.window_start) merged.window_start = file.window_start;
    const seenIn = lastWindowByVendor(file);
    for (const [vendor, entry] of Object.entries(file.vendors)) {
      const at = entry.stale ? windowStart(new Date(entry.stale_since!)) : seenIn.get(vendor) ?? file.window_start;
      offer(vendor, { order, window: at, entry });
      offerLastInStock(vendor, (entry.stale_since ?? file.window_start).slice(0, 10), entry.price as number, order);
    }
    for (const [vendor, available] of Object.entries(file.availability_by_site)) {
      if (!available && !file.vendors[vendor]) offer(vendor, { order, window: file.window_start, entry: null });
    }
    for (const [vendor, price] of Object.entries(file.last_known_price_by_site)) {
      offerLastInStock(vendor, file.last_available_date_by_site[vendor] ?? '', price, order);
    }
  });

  const freshCents: number[] = [];
  for (const vendor of [...newest.keys()].sort()) {
    const o = newest.get(vendor)!;
    const freshness = freshnessOf(o.window, anchorWindow, rules);
    if (freshness === 'expired') continue;
    merged.availability_by_site[vendor] = o.entry !== null;
    if (o.entry === null) {
      const known = lastInStock.get(vendor);
      if (known) {
        merged.last_known_price_by_site[vendor] = known.price;
        if (known.date) merged.last_available_date_by_site[vendor] = known.date;
      }
      continue;
    }
    if (freshness === 'fresh' && !o.entry.stale) {
      merged.vendors[vendor] = o.entry;
      freshCents.push(toCents(o.entry.price as number));
    } else {
      merged.vendors[vendor] = o.entry.stale ? o.entry : staleFill(o.entry, o.window);
    }
  }
  merged.median_price = centsOrNull(medianCents(freshCents));
  merged.lowest_price = centsOrNull(lowestCents(freshCents));
  merged.windows_24h = mergeWindows(files, anchorWindow, rules);
  return merged;
}

/** The newest window in which each vendor has a price: when a fresh entry was observed. */
function lastWindowByVendor(file: CoinLatestFile): Map<string, string> {
  const seen = new Map<string, string>();
  for (const w of file.windows_24h) for (const vendor of Object.keys(w.vendors)) if ((seen.get(vendor) ?? '') < w.window) seen.set(vendor, w.window);
  return seen;
}

/** A fresh price of an older branch seen from a newer one: a stale fill since that branch's window. */
function staleFill(entry: VendorLatestEntry, window: string): VendorLatestEntry {
  return { price: entry.price, confidence: null, source: STALE_SOURCE, inStock: true, stale: true, stale_since: normaliseInstant(window) };
}

function mergeWindows(files: readonly CoinLatestFile[], anchorWindow: string, rules: PublishRules): CoinLatestFile['windows_24h'] {
  const byWindow = new Map<string, Map<string, number>>();
  for (const file of files) {
    for (const w of file.windows_24h) {
      if (!inWindowRange(w.window, anchorWindow, rules)) continue;
      let vendors = byWindow.get(w.window);
      if (!vendors) byWindow.set(w.window, (vendors = new Map()));
      for (const [vendor, price] of Object.entries(w.vendors)) if (!vendors.has(vendor)) vendors.set(vendor, toCents(price));
    }
  }
  return [...byWindow.keys()].sort().map((window) => windowEntry(window, byWindow.get(window)!));
}

function centsOrNull(cents: number | null): number | null {
  return cents === null ? null : fromCents(cents);
}
