import type { DailyCoinAggregate, VendorState } from './model.js';

/** Each vendor's newest observation and newest in-stock price over a coin's days (any order). */
export function vendorStatesFromDays(days: readonly DailyCoinAggregate[]): VendorState[] {
  const byVendor = new Map<string, VendorState>();
  for (const day of days) {
    for (const v of day.vendors) {
      const known = byVendor.get(v.vendor);
      if (!known) {
        byVendor.set(v.vendor, { vendor: v.vendor, last: v.last, lastInStock: v.lastInStock });
        continue;
      }
      if (isNewer(v.last.scrapedAt, known.last.scrapedAt)) known.last = v.last;
      if (v.lastInStock && (!known.lastInStock || isNewer(v.lastInStock.scrapedAt, known.lastInStock.scrapedAt))) known.lastInStock = v.lastInStock;
    }
  }
  return [...byVendor.values()].sort((a, b) => (a.vendor < b.vendor ? -1 : a.vendor > b.vendor ? 1 : 0));
}

// Stored scraped_at strings share one ISO format, so text order is time order.
function isNewer(a: string, b: string): boolean {
  return a > b;
}
