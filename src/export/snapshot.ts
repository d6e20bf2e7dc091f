import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createClient, type Client, type InStatement } from '@libsql/client';
import { EXPORT_SQL, readMaxId, readNewestWindow, snapshotWindowArgs, type ExportScope } from './export-queries.js';
import { isValidSlug, isValidVendorId } from '../contract/names.js';
import { addDays, utcDate } from './rules.js';

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
  /**
   * The database's own file, when `client` is a local libSQL file (databaseFilePath of its URL): SQLite then copies
   * the rows itself and memory stays flat at any catalogue size. Default null: rows are read through `client`.
   */
  databaseFile?: string | null;
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
  /** `sqlite`: copied by SQLite from `databaseFile`; `client`: read through the client. */
  method: 'sqlite' | 'client';
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

/** One slice of windows, as the GROUP BY of EXPORT_SQL.snapshotWindows gives them (its columns, in its order), before they get lookup ids. */
const SLICE_TABLE = `CREATE TEMP TABLE slice (window_start TEXT, coin_slug TEXT, vendor TEXT, at TEXT, cents INTEGER, in_stock INTEGER,
  confidence REAL, source TEXT, samples INTEGER)`;
/** Names to ids, in the order they are first met (the same ids day after day keep the file's bytes alike). */
const LOOKUP_TABLES = ['coin_ids', 'vendor_ids', 'source_ids'].map((t) => `CREATE TEMP TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`);

/**
 * From a slice to `prices`, all inside SQLite. A window written in two text forms by older software maps to one
 * key: the later row (in the slice's order) wins, the snapshot never fails on it; an unreadable window is left out.
 */
const SLICE_TO_PRICES = [
  'INSERT OR IGNORE INTO temp.coin_ids (name) SELECT coin_slug FROM temp.slice ORDER BY rowid',
  'INSERT OR IGNORE INTO temp.vendor_ids (name) SELECT vendor FROM temp.slice ORDER BY rowid',
  'INSERT OR IGNORE INTO temp.source_ids (name) SELECT source FROM temp.slice ORDER BY rowid',
  `INSERT OR REPLACE INTO prices
    SELECT CAST(strftime('%s', s.window_start) AS INTEGER), c.id, v.id, s.cents, s.in_stock, CAST(ROUND(s.confidence) AS INTEGER), so.id, s.samples
    FROM temp.slice s JOIN temp.coin_ids c ON c.name = s.coin_slug JOIN temp.vendor_ids v ON v.name = s.vendor JOIN temp.source_ids so ON so.name = s.source
    WHERE strftime('%s', s.window_start) IS NOT NULL ORDER BY s.rowid`,
  'DELETE FROM temp.slice',
];

/** Rows read through the client go into the slice as one JSON argument per 1000 rows (one small prepared statement each). */
const INSERT_JSON_SLICE = `INSERT INTO temp.slice SELECT ${Array.from({ length: 9 }, (_, i) => `value ->> ${i}`).join(', ')} FROM json_each(?)`;
const ROWS_PER_STATEMENT = 1000;
/** Hours of windows read at once (24 / SLICE_HOURS reads a day). */
const SLICE_HOURS = 4;

/** Fills `temp.slice` with the windows of `hours` of `date`; the connection `snap` is the snapshot's. */
type FillSlice = (date: string, hours: readonly [number, number]) => Promise<void>;

/**
 * Writes the compact snapshot (see the comment at the top of this file). Throws SnapshotTooLargeError over `maxBytes`.
 * With `databaseFile`, SQLite copies the rows from the database file itself (no row passes through JavaScript);
 * otherwise they are read through `client`, a few hours at a time.
 */
export async function writeSnapshot(options: WriteSnapshotOptions): Promise<SnapshotResult> {
  const started = performance.now();
  const { client, outFile, days = 30, pollerId = null, warnBytes = 45 * MiB, maxBytes = 95 * MiB, databaseFile = null } = options;
  const { maxId } = await readMaxId(client);
  // A folder of our own: the database (and any file SQLite makes beside it) cannot meet a link we did not make.
  const folder = await mkdtemp(join(dirname(outFile), `.${basename(outFile)}.new-`));
  const tmp = join(folder, 'snapshot.db');
  // One connection: the pragmas, the temporary tables and the attached database are per connection.
  const snap = createClient({ url: `file:${tmp}`, concurrency: 1 });
  let rows = 0;
  let skippedInvalidNames = 0;
  let firstWindow: string | null = null;
  let lastWindow: string | null = null;
  let method: SnapshotResult['method'] = 'client';
  try {
    // A temporary file renamed only when complete needs no journal.
    await snap.execute('PRAGMA journal_mode = OFF');
    await snap.execute('PRAGMA synchronous = OFF');
    await snap.batch([...SCHEMA, SLICE_TABLE, ...LOOKUP_TABLES], 'write');
    // A file SQLite cannot attach (a read-only folder under a WAL database, say) is read through the client instead.
    const fromFile = databaseFile ? await sliceFromFile(snap, databaseFile, pollerId, maxId).catch(() => null) : null;
    method = fromFile ? 'sqlite' : 'client';
    const fill = fromFile ?? sliceThroughClient(snap, client, pollerId, maxId);
    const newest = maxId > 0 ? await newestDate(client, pollerId, maxId) : null;
    // A few hours at a time: memory follows the catalogue's size, not a whole day's windows.
    const slices = Array.from({ length: 24 / SLICE_HOURS }, (_, i) => [i * SLICE_HOURS, (i + 1) * SLICE_HOURS] as const);
    for (let date = newest ? addDays(newest, -(days - 1)) : ''; newest && date <= newest; date = addDays(date, 1)) {
      for (const hours of slices) {
        await fill(date, hours);
        await snap.batch(SLICE_TO_PRICES, 'write');
      }
    }
    if (fromFile) await snap.execute('DETACH DATABASE src');
    const names = {
      coins: await validNames(snap, 'coin_ids', isValidSlug),
      vendors: await validNames(snap, 'vendor_ids', isValidVendorId),
      sources: await validNames(snap, 'source_ids', () => true),
    };
    // Rows whose coin slug or vendor id breaks the shared name rules are counted and left out.
    const invalid = `coin_id IN (SELECT value FROM json_each(?)) OR vendor_id IN (SELECT value FROM json_each(?))`;
    const invalidArgs = [JSON.stringify(names.coins.invalid), JSON.stringify(names.vendors.invalid)];
    skippedInvalidNames = Number((await snap.execute({ sql: `SELECT COUNT(*) AS n FROM prices WHERE ${invalid}`, args: invalidArgs })).rows[0].n);
    if (skippedInvalidNames) await snap.execute({ sql: `DELETE FROM prices WHERE ${invalid}`, args: invalidArgs });
    const span = (await snap.execute(`SELECT COUNT(*) AS n, strftime('%Y-%m-%dT%H:%M:00Z', MIN(window), 'unixepoch') AS first,
      strftime('%Y-%m-%dT%H:%M:00Z', MAX(window), 'unixepoch') AS last FROM prices`)).rows[0];
    rows = Number(span.n);
    firstWindow = span.first === null ? null : String(span.first);
    lastWindow = span.last === null ? null : String(span.last);
    await snap.batch(
      [
        ...lookupInserts('coins', 'slug', names.coins.valid),
        ...lookupInserts('vendors', 'vendor', names.vendors.valid),
        ...lookupInserts('sources', 'source', names.sources.valid),
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
    return { rows, bytes, warning, firstWindow, lastWindow, skippedInvalidNames, method, ms: Math.round(performance.now() - started) };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/** The slice filled by SQLite from the database file, attached read-only: no row passes through JavaScript. */
async function sliceFromFile(snap: Client, databaseFile: string, scope: ExportScope, maxId: number): Promise<FillSlice> {
  // A URI, so that `mode=ro` holds; characters that mean something in a URI are escaped.
  const uri = `file:${databaseFile.replace(/[%?#]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}?mode=ro`;
  await snap.execute({ sql: 'ATTACH DATABASE ? AS src', args: [uri] });
  const sql = `INSERT INTO temp.slice ${EXPORT_SQL.snapshotWindows(scope).replace('FROM price_snapshots', 'FROM src.price_snapshots')}`;
  return async (date, hours) => {
    await snap.execute({ sql, args: snapshotWindowArgs(scope, date, maxId, hours) });
  };
}

/** The slice filled with rows read through the client (a remote database: Turso, sqld). */
function sliceThroughClient(snap: Client, client: Client, scope: ExportScope, maxId: number): FillSlice {
  return async (date, hours) => {
    // The query's columns are the slice's, in its order: rows go across as they come.
    const res = await client.execute({ sql: EXPORT_SQL.snapshotWindows(scope), args: snapshotWindowArgs(scope, date, maxId, hours) });
    const values = res.rows.map((r) => res.columns.map((c) => r[c]));
    const statements: InStatement[] = [];
    for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
      statements.push({ sql: INSERT_JSON_SLICE, args: [JSON.stringify(values.slice(i, i + ROWS_PER_STATEMENT))] });
    }
    if (statements.length) await snap.batch(statements, 'write');
  };
}

/** A lookup table's names split by the rule: valid ones keep their ids, invalid ones are listed by id. */
async function validNames(snap: Client, table: string, isValid: (name: string) => boolean): Promise<{ valid: Map<string, number>; invalid: number[] }> {
  const valid = new Map<string, number>();
  const invalid: number[] = [];
  for (const r of (await snap.execute(`SELECT id, name FROM temp.${table} ORDER BY id`)).rows) {
    if (isValid(String(r.name))) valid.set(String(r.name), Number(r.id));
    else invalid.push(Number(r.id));
  }
  return { valid, invalid };
}

async function newestDate(client: Client, scope: ExportScope, maxId: number): Promise<string | null> {
  const newest = await readNewestWindow(client, scope, maxId);
  return newest === null ? null : utcDate(newest);
}

/** `12.3 MiB` or `64.0 KiB`. */
function formatBytes(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

function lookupInserts(table: string, column: string, ids: Map<string, number>): InStatement[] {
  return [...ids].map(([name, id]) => ({ sql: `INSERT INTO ${table} (id, ${column}) VALUES (?, ?)`, args: [id, name] }));
}
