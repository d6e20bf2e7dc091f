import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createClient, type Client, type InStatement } from '@libsql/client';
import { readMaxId, readNewestWindow, readSnapshotWindows, type ExportScope } from './export-queries.js';
import { isValidSlug, isValidVendorId } from '../contract/names.js';
import { addDays, timeOf, utcDate } from './rules.js';

/**
 * The published SQLite snapshot (`prices.db`): a compact, read-only copy of the last `days` days.
 *
 * What it holds: one row per coin, vendor and 15-minute window, the pollers' rows merged (the newest
 * successful row of the window wins; `samples` counts the rows merged). Failed and rejected rows are not
 * in it. Prices are integer cents; coins, vendors and sources are small lookup tables; there are no
 * secondary indexes (a reader creates what it needs), which keeps it at about 10-15 MB at the design load
 * (166 targets x 96 windows x 30 days), far from the raw table's 145 MB.
 *
 * How to open it:
 *   sqlite3 prices.db
 *   sqlite> SELECT * FROM meta;
 *   sqlite> SELECT * FROM price_windows WHERE coin_slug = 'ase' ORDER BY window_start DESC LIMIT 20;
 *   sqlite> CREATE INDEX c ON prices (coin_id, window);   -- the key is (window, coin_id, vendor_id)
 * `price_windows` is a view with readable columns (window_start text, coin_slug, vendor, price in dollars,
 * in_stock, confidence, source, samples); `prices` is the compact table behind it.
 *
 * Day to day, git stores it as a delta: `prices` is keyed by (window, coin_id, vendor_id) WITHOUT ROWID, so
 * a row's bytes do not depend on how many rows came before it, and the 29 days two snapshots share stay
 * byte for byte alike (measured at the design load: about 0.3 MB of packed growth a day instead of 3.7 MB).
 * The key is also the index most readers want.
 *
 * Consistency: every read is bounded by one row id (rows committed later are left for the next snapshot),
 * and the file is built in a fresh temporary folder of its own (next to `outFile`) and renamed into place, so
 * a reader or a commit never sees a half-written database, and nothing is written through a link: a symbolic
 * link at `outFile` is replaced by the file, never followed. Rows whose coin slug or vendor id breaks the
 * shared name rules (contract/names.ts) are left out and counted.
 */

const MiB = 1024 * 1024;

export interface WriteSnapshotOptions {
  client: Client;
  /** Where the snapshot goes, e.g. `DATA/prices.db`. Replaced atomically. */
  outFile: string;
  /** Days kept, ending at the newest date with data. Default 30. */
  days?: number;
  /** One poller's rows only; default null: every poller's rows merged. */
  pollerId?: ExportScope;
  /** Above this size the snapshot is written with a warning. Default 45 MiB (the publishing budget). */
  warnBytes?: number;
  /** Above this size the snapshot is refused (GitHub refuses files over 100 MiB). Default 95 MiB. */
  maxBytes?: number;
}

export interface SnapshotResult {
  rows: number;
  bytes: number;
  /** Set when the snapshot is larger than `warnBytes`. */
  warning: string | null;
  firstWindow: string | null;
  lastWindow: string | null;
  /** Row groups left out because their coin slug or vendor id is not a valid name. */
  skippedInvalidNames: number;
  ms: number;
}

/** A snapshot over the size limit; nothing was written. */
export class SnapshotTooLargeError extends Error {
  constructor(
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(`snapshot refused: ${formatBytes(bytes)} is over the ${formatBytes(maxBytes)} limit (GitHub refuses files over 100 MiB); keep fewer days`);
    this.name = 'SnapshotTooLargeError';
  }
}

const SCHEMA = [
  'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID',
  'CREATE TABLE coins (id INTEGER PRIMARY KEY, slug TEXT NOT NULL)',
  'CREATE TABLE vendors (id INTEGER PRIMARY KEY, vendor TEXT NOT NULL)',
  'CREATE TABLE sources (id INTEGER PRIMARY KEY, source TEXT NOT NULL)',
  // window: unix seconds of the window start; price in cents; in_stock 0/1; samples: rows merged.
  `CREATE TABLE prices (window INTEGER NOT NULL, coin_id INTEGER NOT NULL, vendor_id INTEGER NOT NULL, price_cents INTEGER NOT NULL,
    in_stock INTEGER NOT NULL, confidence INTEGER, source_id INTEGER NOT NULL, samples INTEGER NOT NULL,
    PRIMARY KEY (window, coin_id, vendor_id)) WITHOUT ROWID`,
  `CREATE VIEW price_windows AS
    SELECT strftime('%Y-%m-%dT%H:%M:00Z', p.window, 'unixepoch') AS window_start, c.slug AS coin_slug, v.vendor AS vendor,
      p.price_cents / 100.0 AS price, p.in_stock, p.confidence, s.source AS source, p.samples
    FROM prices p JOIN coins c ON c.id = p.coin_id JOIN vendors v ON v.id = p.vendor_id JOIN sources s ON s.id = p.source_id`,
];

/**
 * Rows go in as one JSON argument per statement: one small prepared statement per 1000 rows. (VALUES lists
 * leave a large prepared statement per call whose native memory the garbage collector does not see.)
 */
// A window written in two text forms by older software maps to one key: the later row wins, the snapshot never fails on it.
const INSERT_JSON_ROWS = `INSERT OR REPLACE INTO prices SELECT ${Array.from({ length: 8 }, (_, i) => `value ->> ${i}`).join(', ')} FROM json_each(?)`;
const ROWS_PER_STATEMENT = 1000;
/** Hours of windows read at once (24 / SLICE_HOURS reads a day). */
const SLICE_HOURS = 4;

/** Writes the compact snapshot (see the comment at the top of this file). Throws SnapshotTooLargeError over `maxBytes`. */
export async function writeSnapshot(options: WriteSnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const { client, outFile, days = 30, pollerId = null, warnBytes = 45 * MiB, maxBytes = 95 * MiB } = options;
  const { maxId } = await readMaxId(client);
  // A folder of our own: the database (and any file SQLite makes beside it) cannot meet a link we did not make.
  const folder = await mkdtemp(join(dirname(outFile), `.${basename(outFile)}.new-`));
  const tmp = join(folder, 'snapshot.db');
  // One connection: the pragmas below are per connection.
  const snap = createClient({ url: `file:${tmp}`, concurrency: 1 });
  let rows = 0;
  let skippedInvalidNames = 0;
  let firstWindow: string | null = null;
  let lastWindow: string | null = null;
  try {
    // A temporary file renamed only when complete needs no journal.
    await snap.execute('PRAGMA journal_mode = OFF');
    await snap.execute('PRAGMA synchronous = OFF');
    await snap.batch(SCHEMA, 'write');
    const ids = { coins: new Map<string, number>(), vendors: new Map<string, number>(), sources: new Map<string, number>() };
    const newest = maxId > 0 ? await newestDate(client, pollerId, maxId) : null;
    // Read and written a few hours at a time: memory follows the catalogue's size, not a whole day's windows.
    const slices = Array.from({ length: 24 / SLICE_HOURS }, (_, i) => [i * SLICE_HOURS, (i + 1) * SLICE_HOURS] as const);
    for (let date = newest ? addDays(newest, -(days - 1)) : ''; newest && date <= newest; date = addDays(date, 1)) {
      for (const hours of slices) {
        const windows = await readSnapshotWindows(client, pollerId, date, maxId, hours);
        if (!windows.length) continue;
        const statements: InStatement[] = [];
        const values: Array<Array<number | null>> = [];
        for (const w of windows) {
          if (!isValidSlug(w.coin) || !isValidVendorId(w.vendor)) {
            skippedInvalidNames++;
            continue;
          }
          values.push([timeOf(w.window) / 1000, idOf(ids.coins, w.coin), idOf(ids.vendors, w.vendor), w.priceCents, w.inStock ? 1 : 0, w.confidence, idOf(ids.sources, w.source), w.samples]);
          if (firstWindow === null || w.window < firstWindow) firstWindow = w.window;
          if (lastWindow === null || w.window > lastWindow) lastWindow = w.window;
        }
        if (!values.length) continue;
        for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
          statements.push({ sql: INSERT_JSON_ROWS, args: [JSON.stringify(values.slice(i, i + ROWS_PER_STATEMENT))] });
        }
        await snap.batch(statements, 'write');
      }
    }
    rows = Number((await snap.execute('SELECT COUNT(*) AS n FROM prices')).rows[0].n);
    await snap.batch(
      [
        ...lookupInserts('coins', 'slug', ids.coins),
        ...lookupInserts('vendors', 'vendor', ids.vendors),
        ...lookupInserts('sources', 'source', ids.sources),
        ...Object.entries({
          about: 'StakTrakr prices: one row per coin, vendor and 15-minute window, pollers merged (newest successful row wins). Open with `sqlite3 prices.db`; query the price_windows view.',
          scope: pollerId ?? 'all pollers',
          days: String(days),
          first_window: firstWindow ?? '',
          last_window: lastWindow ?? '',
          rows: String(rows),
        }).map(([key, value]) => ({ sql: 'INSERT INTO meta (key, value) VALUES (?, ?)', args: [key, value] })),
      ],
      'write',
    );
  } catch (err) {
    snap.close();
    await rm(folder, { recursive: true, force: true });
    throw err;
  }
  snap.close();

  try {
    const bytes = (await stat(tmp)).size;
    if (bytes > maxBytes) throw new SnapshotTooLargeError(bytes, maxBytes);
    // rename replaces whatever is at outFile (a link included) without following it.
    await rename(tmp, outFile);
    const warning = bytes > warnBytes ? `snapshot is ${formatBytes(bytes)}, over the ${formatBytes(warnBytes)} budget` : null;
    return { rows, bytes, warning, firstWindow, lastWindow, skippedInvalidNames, ms: Math.round(performance.now() - started) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

async function newestDate(client: Client, scope: ExportScope, maxId: number): Promise<string | null> {
  const newest = await readNewestWindow(client, scope, maxId);
  return newest === null ? null : utcDate(newest);
}

/** `12.3 MiB` or `64.0 KiB`. */
function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function idOf(ids: Map<string, number>, name: string): number {
  let id = ids.get(name);
  if (id === undefined) ids.set(name, (id = ids.size + 1));
  return id;
}

function lookupInserts(table: string, column: string, ids: Map<string, number>): InStatement[] {
  return [...ids].map(([name, id]) => ({ sql: `INSERT INTO ${table} (id, ${column}) VALUES (?, ?)`, args: [id, name] }));
}
