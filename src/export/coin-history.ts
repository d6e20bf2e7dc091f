import type { HistoryDay, HistoryFile } from '../contract/history-schema.js';
import { divideCents, fromCents, lowestCents, medianCents, toCents } from './cents.js';
import type { DailyCoinAggregate, DailyVendorAggregate } from './model.js';
import { addDays } from './rules.js';

export interface CoinHistoryOptions {
  /** How many dates the file covers, ending at `lastDate` (7 or 30). */
  days: number;
  /** The newest date covered: the date of the export's newest window. */
  lastDate: string;
}

/**
 * `api/{slug}/history-{7,30}d.json`: one entry per date with data among the `days` dates ending at
 * `lastDate`, ascending. Per vendor: `avg` of its in-stock prices that day and `inStock: true`; a vendor
 * never in stock that day keeps the average of its advertised prices with `inStock: false`.
 * `avg_median` and `avg_low` are the median and the lowest of the in-stock vendors' averages (null when
 * none); `sample_count` is the day's successful rows. The merge recomputes them by the same rule.
 */
export function buildCoinHistory(days: readonly DailyCoinAggregate[], options: CoinHistoryOptions): HistoryFile {
  const firstDate = addDays(options.lastDate, -(options.days - 1));
  return days
    .filter((d) => d.date >= firstDate && d.date <= options.lastDate && d.vendors.length > 0)
    .sort((a, b) => (a.date < b.date ? -1 : 1))
    .map(historyDay);
}

function historyDay(day: DailyCoinAggregate): HistoryDay {
  const vendors: HistoryDay['vendors'] = {};
  let rows = 0;
  for (const v of day.vendors) {
    vendors[v.vendor] = vendorDay(v);
    rows += v.rows;
  }
  return { date: day.date, ...summariseVendorDays(vendors), sample_count: rows, vendors };
}

function vendorDay(v: DailyVendorAggregate): HistoryDay['vendors'][string] {
  if (v.inStockRows > 0) return { avg: fromCents(divideCents(v.inStockSumCents, v.inStockRows)), inStock: true };
  const outRows = v.rows - v.inStockRows;
  return { avg: outRows > 0 ? fromCents(divideCents(v.outOfStockSumCents, outRows)) : null, inStock: false };
}

/** avg_median and avg_low of a day: median and lowest of the in-stock vendors' averages. */
export function summariseVendorDays(vendors: HistoryDay['vendors']): Pick<HistoryDay, 'avg_median' | 'avg_low'> {
  const cents = Object.values(vendors)
    .filter((v) => v.inStock && v.avg !== null)
    .map((v) => toCents(v.avg!));
  const median = medianCents(cents);
  const low = lowestCents(cents);
  return { avg_median: median === null ? null : fromCents(median), avg_low: low === null ? null : fromCents(low) };
}
