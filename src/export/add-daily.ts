import type { DailyVendorAggregate, InStockPrice, Observation } from './model.js';

/**
 * A date's aggregates of one coin with the aggregates of rows added since (both sorted by vendor): counts and sums
 * add up, and the newest rows are picked as the SQL does, by the larger `scraped_at|window|cents|stock|confidence|source`
 * text. The result is what one GROUP BY over all the rows gives (confidences are whole numbers by then: two rows of
 * the same millisecond, window, price and stock could only differ in a rounded-away fraction).
 */
export function addDailyAggregates(previous: readonly DailyVendorAggregate[], added: readonly DailyVendorAggregate[]): DailyVendorAggregate[] {
  const byVendor = new Map(previous.map((v) => [v.vendor, v]));
  for (const a of added) {
    const p = byVendor.get(a.vendor);
    byVendor.set(
      a.vendor,
      !p
        ? a
        : {
            vendor: a.vendor,
            rows: p.rows + a.rows,
            inStockRows: p.inStockRows + a.inStockRows,
            inStockSumCents: p.inStockSumCents + a.inStockSumCents,
            outOfStockSumCents: p.outOfStockSumCents + a.outOfStockSumCents,
            last: lastRowKey(a.last) > lastRowKey(p.last) ? a.last : p.last,
            lastInStock: newerInStock(p.lastInStock, a.lastInStock),
          },
    );
  }
  return [...byVendor.values()].sort((x, y) => (x.vendor < y.vendor ? -1 : 1));
}

function lastRowKey(o: Observation): string {
  return `${o.scrapedAt}|${o.window}|${o.priceCents}|${o.inStock ? 1 : 0}|${o.confidence ?? ''}|${o.source}`;
}

function newerInStock(p: InStockPrice | null, a: InStockPrice | null): InStockPrice | null {
  if (!p || !a) return p ?? a;
  return `${a.scrapedAt}|${a.priceCents}` > `${p.scrapedAt}|${p.priceCents}` ? a : p;
}
