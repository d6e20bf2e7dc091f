import type { HistoryDay, HistoryFile } from '../contract/history-schema.js';
import { summariseVendorDays } from '../export/coin-history.js';
import { fromCents, toCents } from '../export/cents.js';
import { addDays } from '../export/rules.js';

export interface MergeHistoryOptions {
  /** Dates covered, ending at `lastDate` (7 or 30). */
  days: number;
  /** The date of the merged newest window. */
  lastDate: string;
}

/**
 * Merges history files by date. Per date and vendor the branches' averages are combined, weighted by
 * each branch's sample_count of that date (each branch averaged its own rows): in-stock averages only
 * when any branch saw the vendor in stock (then `inStock: true`), else the out-of-stock averages.
 * sample_count is the sum; avg_median and avg_low are recomputed by the builder's rule (median and lowest
 * of the in-stock vendors' averages). One branch merged alone comes out unchanged.
 */
export function mergeHistories(files: readonly HistoryFile[], options: MergeHistoryOptions): HistoryFile {
  const firstDate = addDays(options.lastDate, -(options.days - 1));
  const byDate = new Map<string, HistoryDay[]>();
  for (const file of files) {
    for (const day of file) {
      if (day.date < firstDate || day.date > options.lastDate) continue;
      let list = byDate.get(day.date);
      if (!list) byDate.set(day.date, (list = []));
      list.push(day);
    }
  }
  return [...byDate.keys()].sort().map((date) => mergeDay(date, byDate.get(date)!));
}

function mergeDay(date: string, days: readonly HistoryDay[]): HistoryDay {
  const vendorNames = [...new Set(days.flatMap((d) => Object.keys(d.vendors)))].sort();
  const vendors: HistoryDay['vendors'] = {};
  for (const vendor of vendorNames) {
    const seen = days.filter((d) => d.vendors[vendor]).map((d) => ({ weight: Math.max(1, d.sample_count), ...d.vendors[vendor] }));
    const inStock = seen.some((s) => s.inStock);
    const counted = seen.filter((s) => s.inStock === inStock && s.avg !== null);
    vendors[vendor] = { avg: weightedAverage(counted as Array<{ weight: number; avg: number }>), inStock };
  }
  return { date, ...summariseVendorDays(vendors), sample_count: days.reduce((n, d) => n + d.sample_count, 0), vendors };
}

/** Weighted mean in cents, rounded half up; null when nothing is counted. */
function weightedAverage(parts: ReadonlyArray<{ weight: number; avg: number }>): number | null {
  if (!parts.length) return null;
  let sum = 0;
  let weight = 0;
  for (const p of parts) {
    sum += p.weight * toCents(p.avg);
    weight += p.weight;
  }
  return fromCents(Math.round(sum / weight));
}
