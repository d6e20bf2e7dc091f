import type { Client, Row } from '@libsql/client';
import { MAX_PRICE } from '../contract/names.js';
import { WINDOW_MS, windowStart } from '../time/window.js';
import { timeOf } from './rules.js';
import type { DailyVendorAggregate, InStockPrice, Observation, WindowPrice } from './model.js';

/**
 * The exporter's reads. Every query is bounded by `id <= maxId`, so one export sees one consistent set
 * of rows even while pollers keep writing, and the next export knows exactly what is new (`id > maxId`).
 * Aggregation happens in SQL: an export holds per-day and per-window groups, never raw rows.
 */

/**
 * Rows that may publish a price: read successfully, priced within the shared price rule (contract/names.ts:
 * above 0, at most MAX_PRICE; a row outside it reached the database by a side door and is ignored).
 * Rejected and failed rows never publish.
 */
const SUCCESSFUL = `is_failed = 0 AND outcome IN ('ok', 'out_of_stock') AND price IS NOT NULL AND price > 0 AND price <= ${MAX_PRICE}`;
/** An in-stock successful row (a null in_stock on an `ok` row counts as in stock). */
const IN_STOCK = "(outcome = 'ok' AND COALESCE(in_stock, 1) <> 0)";
const CENTS = 'CAST(ROUND(price * 100) AS INTEGER)';

/** Which rows an export covers: one poller's, or all (null). */
export type ExportScope = string | null;

function scopeFilter(scope: ExportScope): { sql: string; args: string[] } {
  return scope === null ? { sql: '', args: [] } : { sql: ' AND poller_id = ?', args: [scope] };
}

/**
 * The SQL of the scans that grow with the table, by scope (tests hold their query plans to the indexes).
 * Arguments, in order: changedWindows (sinceId, maxId), the day scans (dayStart, dayEnd, maxId), windowPrices
 * (firstWindow, lastWindow, maxId); then the poller id when scoped.
 */
export const EXPORT_SQL = {
  // NOT INDEXED: the rowid range is the narrow way in; the poller index would visit all the poller's rows.
  changedWindows: (scope: ExportScope) =>
    `SELECT DISTINCT window_start AS window FROM price_snapshots NOT INDEXED WHERE id > ? AND id <= ?${scopeFilter(scope).sql}`,
  // Two newest-row picks in one scan: MAX over "scraped_at|..." text (ISO times sort as text).
  // `added`: only rows with an id above one more argument (sinceId, before maxId), found through the rowid range.
  dailyAggregates: (scope: ExportScope, added = false) => `SELECT coin_slug, vendor, COUNT(*) AS n,
      SUM(${IN_STOCK}) AS in_n,
      SUM(CASE WHEN ${IN_STOCK} THEN ${CENTS} ELSE 0 END) AS in_sum,
      SUM(CASE WHEN ${IN_STOCK} THEN 0 ELSE ${CENTS} END) AS out_sum,
      MAX(scraped_at || '|' || window_start || '|' || ${CENTS} || '|' || ${IN_STOCK} || '|' || COALESCE(confidence, '') || '|' || source) AS last_row,
      MAX(CASE WHEN ${IN_STOCK} THEN scraped_at || '|' || ${CENTS} END) AS last_in_stock
    FROM price_snapshots${added ? ' NOT INDEXED' : ''}
    WHERE window_start >= ? AND window_start < ?${added ? ' AND id > ?' : ''} AND id <= ? AND ${SUCCESSFUL}${scopeFilter(scope).sql}
    GROUP BY coin_slug, vendor`,
  // One max() aggregate: SQLite then takes the bare `price` from the row holding it. `coins`: one more argument, a
  // JSON array of the slugs to read.
  windowPrices: (scope: ExportScope, coins = false) => `SELECT coin_slug, window_start, vendor, MAX(scraped_at) AS at, ${CENTS} AS cents
    FROM price_snapshots
    WHERE window_start >= ? AND window_start <= ? AND id <= ? AND ${SUCCESSFUL} AND ${IN_STOCK}${scopeFilter(scope).sql}${coins ? ' AND coin_slug IN (SELECT value FROM json_each(?))' : ''}
    GROUP BY coin_slug, window_start, vendor`,
  snapshotWindows: (scope: ExportScope) => `SELECT window_start, coin_slug, vendor, MAX(scraped_at) AS at, ${CENTS} AS cents, ${IN_STOCK} AS in_stock, confidence, source, COUNT(*) AS samples
    FROM price_snapshots
    WHERE window_start >= ? AND window_start < ? AND id <= ? AND ${SUCCESSFUL}${scopeFilter(scope).sql}
    GROUP BY window_start, coin_slug, vendor`,
} as const;

/** `[start, end)` of a UTC date in window_start text. */
function dayBounds(date: string): [string, string] {
  return hourBounds(date, [0, 24]);
}

/** `[start, end)` of hours `[from, to)` of a UTC date in window_start text (to = 24: the end of the day). */
function hourBounds(date: string, [from, to]: readonly [number, number]): [string, string] {
  const at = (h: number) => `${date}T${String(h).padStart(2, '0')}:00:00Z`;
  return [at(from), at(to)];
}

/** The newest row id: the export's consistent view is `id <= maxId`. 0 for an empty table. */
export async function readMaxId(client: Client): Promise<{ maxId: number; key: string | null }> {
  const res = await client.execute('SELECT id, idem_key FROM price_snapshots ORDER BY id DESC LIMIT 1');
  const row = res.rows[0];
  return row ? { maxId: Number(row.id), key: row.idem_key === null ? null : String(row.idem_key) } : { maxId: 0, key: null };
}

/** The idempotency key of one row id (null when the row is gone): detects a replaced database. */
export async function readRowKey(client: Client, id: number): Promise<string | null> {
  const res = await client.execute({ sql: 'SELECT idem_key FROM price_snapshots WHERE id = ?', args: [id] });
  const row = res.rows[0];
  return row && row.idem_key !== null ? String(row.idem_key) : null;
}

/** Windows (window_start) of rows added after `sinceId`, up to `maxId`, ascending. A primary-key range scan. */
export async function readChangedWindows(client: Client, scope: ExportScope, sinceId: number, maxId: number): Promise<string[]> {
  const res = await client.execute({ sql: EXPORT_SQL.changedWindows(scope), args: [sinceId, maxId, ...scopeFilter(scope).args] });
  return res.rows.map((r) => String(r.window)).sort();
}

/** The newest window_start of the scope (any outcome), for the range of dates a full rebuild visits. */
export async function readNewestWindow(client: Client, scope: ExportScope, maxId: number): Promise<string | null> {
  const s = scopeFilter(scope);
  const res = await client.execute({
    sql: `SELECT MAX(window_start) AS w FROM price_snapshots WHERE id <= ?${s.sql}`,
    args: [maxId, ...s.args],
  });
  const w = res.rows[0]?.w;
  return w === null || w === undefined ? null : String(w);
}

/** Per coin and vendor, the successful rows of one UTC date summed, with the newest row and newest in-stock row. */
export async function readDailyAggregates(client: Client, scope: ExportScope, date: string, maxId: number, sinceId: number | null = null): Promise<Map<string, DailyVendorAggregate[]>> {
  const added = sinceId !== null;
  const res = await client.execute({ sql: EXPORT_SQL.dailyAggregates(scope, added), args: [...dayBounds(date), ...(added ? [sinceId] : []), maxId, ...scopeFilter(scope).args] });
  const byCoin = new Map<string, DailyVendorAggregate[]>();
  for (const r of res.rows) {
    const coin = String(r.coin_slug);
    let list = byCoin.get(coin);
    if (!list) byCoin.set(coin, (list = []));
    list.push(dailyAggregateFromRow(r));
  }
  for (const list of byCoin.values()) list.sort((a, b) => (a.vendor < b.vendor ? -1 : 1));
  return byCoin;
}

function dailyAggregateFromRow(r: Row): DailyVendorAggregate {
  return {
    vendor: String(r.vendor),
    rows: Number(r.n),
    inStockRows: Number(r.in_n),
    inStockSumCents: Number(r.in_sum),
    outOfStockSumCents: Number(r.out_sum),
    last: parseLastRow(String(r.last_row)),
    lastInStock: r.last_in_stock === null ? null : parseInStock(String(r.last_in_stock)),
  };
}

function parseLastRow(text: string): Observation {
  const [scrapedAt, window, cents, inStock, confidence, ...source] = text.split('|');
  return {
    scrapedAt,
    window,
    priceCents: Number(cents),
    inStock: inStock === '1',
    confidence: confidence === '' ? null : Math.round(Number(confidence)),
    source: source.join('|'),
  };
}

function parseInStock(text: string): InStockPrice {
  const [scrapedAt, cents] = text.split('|');
  return { scrapedAt, priceCents: Number(cents) };
}

/** Windows per query of readWindowPrices: a result set of the whole range at 10x the catalogue held 100 MB at once. */
const WINDOWS_PER_READ = 8;

export interface WindowPriceRange {
  firstWindow: string;
  lastWindow: string;
  /** Only these coins. Default all. */
  coins?: readonly string[];
}

/**
 * Per coin, the newest in-stock price of each vendor in each window from `firstWindow` to `lastWindow`, added to
 * `into` (default a new map). Read a few windows at a time, so that memory holds the compact prices, never a
 * whole day's result set.
 */
export async function readWindowPrices(client: Client, scope: ExportScope, range: WindowPriceRange, maxId: number, into = new Map<string, WindowPrice[]>()): Promise<Map<string, WindowPrice[]>> {
  const last = timeOf(range.lastWindow);
  for (let from = timeOf(range.firstWindow); from <= last; from += WINDOWS_PER_READ * WINDOW_MS) {
    const to = Math.min(last, from + (WINDOWS_PER_READ - 1) * WINDOW_MS);
    const args = [windowStart(from), windowStart(to), maxId, ...scopeFilter(scope).args, ...(range.coins ? [JSON.stringify(range.coins)] : [])];
    const res = await client.execute({ sql: EXPORT_SQL.windowPrices(scope, range.coins !== undefined), args });
    for (const r of res.rows) {
      const coin = String(r.coin_slug);
      let list = into.get(coin);
      if (!list) into.set(coin, (list = []));
      list.push({ window: String(r.window_start), vendor: String(r.vendor), priceCents: Number(r.cents) });
    }
  }
  return into;
}


/** The arguments of EXPORT_SQL.snapshotWindows (per coin, vendor and window: the newest successful row, and how many there were) for `hours` of `date`. */
export function snapshotWindowArgs(scope: ExportScope, date: string, maxId: number, hours: readonly [number, number] = [0, 24]): Array<string | number> {
  return [...hourBounds(date, hours), maxId, ...scopeFilter(scope).args];
}
