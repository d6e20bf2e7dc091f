import type { Client } from '@libsql/client';
import { readChangedWindows, readDailyAggregates, readMaxId, readNewestWindow, readRowKey, type ExportScope } from './export-queries.js';
import { EXPORT_STATE_VERSION, type ExportState } from './export-state.js';
import { addDailyAggregates } from './add-daily.js';
import type { DailyVendorAggregate } from './model.js';
import { addDays, utcDate } from './rules.js';

export interface RefreshDailyOptions {
  client: Client;
  scope: ExportScope;
  /** The previous export's state, or null for a full rebuild. */
  previous: ExportState | null;
  /** Wall clock: only dates from `retentionDays` before it are kept. */
  now: Date;
  retentionDays: number;
}

export interface RefreshDailyResult {
  state: ExportState;
  /** True when every date was read again (no usable previous state). */
  full: boolean;
  datesRecomputed: string[];
  /** Windows that got rows since the previous export (ascending), or null on a full rebuild. */
  changedWindows: string[] | null;
  /** Result rows read from the database (groups, not raw rows). */
  rowsRead: number;
}

/**
 * Brings the per-day aggregates up to date: for dates that got new rows since the previous export, the new rows'
 * aggregates (one GROUP BY over the row-id range per date) are added to the state's (addDailyAggregates); other
 * dates come from the previous state as they are. A full rebuild reads every date of the retention period whole;
 * both paths give the same aggregates (tested byte for byte against full rebuilds).
 */
export async function refreshDailyAggregates(options: RefreshDailyOptions): Promise<RefreshDailyResult> {
  const { client, scope, previous, now, retentionDays } = options;
  const { maxId, key } = await readMaxId(client);
  const firstDate = addDays(utcDate(now.getTime()), -retentionDays);
  let rowsRead = 1;

  const usable = previous !== null && await isUsable(client, previous, scope, maxId);
  let dates: string[];
  let changedWindows: string[] | null = null;
  const days: ExportState['days'] = {};
  if (usable) {
    for (const [date, coins] of Object.entries(previous!.days)) if (date >= firstDate) days[date] = coins;
    changedWindows = maxId > previous!.maxId ? await readChangedWindows(client, scope, previous!.maxId, maxId) : [];
    dates = [...new Set(changedWindows.map((w) => w.slice(0, 10)))];
    rowsRead += dates.length + 1;
  } else {
    const newest = maxId > 0 ? await readNewestWindow(client, scope, maxId) : null;
    const lastDate = newest && newest.slice(0, 10) > utcDate(now.getTime()) ? newest.slice(0, 10) : utcDate(now.getTime());
    dates = newest ? dateRange(firstDate, lastDate) : [];
    rowsRead += 1;
  }
  dates = dates.filter((d) => d >= firstDate);

  for (const date of dates) {
    // Extending a usable state, only the rows added since are read and added to the date's aggregates.
    const byCoin = await readDailyAggregates(client, scope, date, maxId, usable ? previous!.maxId : null);
    for (const list of byCoin.values()) rowsRead += list.length;
    if (usable && days[date]) {
      const merged = { ...days[date] };
      for (const [coin, added] of byCoin) merged[coin] = addDailyAggregates(merged[coin] ?? [], added);
      days[date] = sortedByCoin(Object.entries(merged));
      continue;
    }
    delete days[date];
    if (byCoin.size === 0) continue;
    days[date] = sortedByCoin([...byCoin.entries()]);
  }
  return {
    state: { version: EXPORT_STATE_VERSION, scope, maxId, maxIdKey: key, days, windowsFrom: null },
    full: !usable,
    datesRecomputed: dates,
    changedWindows,
    rowsRead,
  };
}

/** A previous state can be extended when it is ours, of this scope, and of this database (its last row is still there). */
async function isUsable(client: Client, previous: ExportState, scope: ExportScope, maxId: number): Promise<boolean> {
  if (previous.version !== EXPORT_STATE_VERSION || previous.scope !== scope) return false;
  if (previous.maxId <= 0 || previous.maxId > maxId) return false;
  return (await readRowKey(client, previous.maxId)) === previous.maxIdKey;
}

function sortedByCoin(entries: Array<[string, DailyVendorAggregate[]]>): Record<string, DailyVendorAggregate[]> {
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Every date from `first` to `last`, inclusive. */
function dateRange(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = first; d <= last; d = addDays(d, 1)) out.push(d);
  return out;
}
