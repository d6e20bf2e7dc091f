import type { Client, InStatement } from '@libsql/client';
import { runMigrations } from '../store/migrations.js';
import { windowStart } from '../time/window.js';

export interface HistoryTarget {
  coin: string;
  vendor: string;
}

export interface GenerateHistoryOptions {
  /** Days of history ending at `now`. */
  days: number;
  targets: readonly HistoryTarget[];
  /** Poller ids, e.g. ['api1', 'api2', 'api3']; the n-th is offset by n x 5 minutes, as the fleet staggers. */
  pollers: readonly string[];
  /** One row per target and poller every this many minutes. Default 15. */
  cadenceMinutes?: number;
  /** End of the history; no row is later. */
  now: Date;
  /** Rows per write transaction (`client.batch(..., 'write')` of 500-row statements). Default 5000: on a 30-day table, 500 per transaction writes about 13,000 rows/s, 5000 about 25,000. */
  batchRows?: number;
  /** Seed of the price walk; the same seed gives the same rows. Default 1. */
  seed?: number;
}

export interface GenerateHistoryResult {
  /** Rows inserted (rows already there by idem_key are not counted). */
  inserted: number;
  /** Rows generated. */
  generated: number;
  ms: number;
}

const COLUMNS = ['scraped_at', 'window_start', 'coin_slug', 'vendor', 'price', 'source', 'confidence', 'is_failed', 'in_stock', 'poller_id', 'idem_key', 'outcome', 'reason', 'matched_by'];
/**
 * Rows travel as one JSON argument per statement: one small prepared statement per 500 rows. (A statement
 * per row, or a VALUES list per statement, leaves a prepared statement per call whose native memory the
 * garbage collector does not see: 3 GB of RSS over 1.4 million rows.)
 */
// `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join of the SELECT.
const INSERT_JSON_ROWS = `INSERT INTO price_snapshots (${COLUMNS.join(', ')})
  SELECT ${COLUMNS.map((_, i) => `value ->> ${i}`).join(', ')} FROM json_each(?) WHERE true
  ON CONFLICT (idem_key) DO NOTHING`;
const ROWS_PER_STATEMENT = 500;

/** One row's column values, in COLUMNS order. */
type RowCells = Array<string | number | null>;

/**
 * Inserts realistic rows into `price_snapshots` (migrating first): per target a price around a coin
 * base (a daily walk plus small noise, a vendor premium), out-of-stock days, about 2% failed rows of
 * several kinds and 0.5% rejected ones. Deterministic for a seed; idempotent (ON CONFLICT DO NOTHING on
 * idem_key), so a rerun adds nothing. For tests (small) and the benchmark (30 days x 166 targets x 3
 * pollers at 15 minutes: about 1.43 million rows).
 */
export async function generateHistory(client: Client, options: GenerateHistoryOptions): Promise<GenerateHistoryResult> {
  const started = performance.now();
  const { days, targets, pollers, cadenceMinutes = 15, now, batchRows = 5000, seed = 1 } = options;
  await runMigrations(client);
  // Each target has its own insertion point in three indexes: a 32 MB page cache keeps them hot (file databases; ignored remotely).
  await client.execute('PRAGMA cache_size = -32768').catch(() => undefined);
  const cadenceMs = cadenceMinutes * 60_000;
  const end = now.getTime();
  const firstSlot = Math.floor((end - days * 86_400_000) / cadenceMs) * cadenceMs;

  let inserted = 0;
  let generated = 0;
  let pending: RowCells[] = [];
  const flush = async () => {
    if (!pending.length) return;
    const statements: InStatement[] = [];
    for (let i = 0; i < pending.length; i += ROWS_PER_STATEMENT) {
      statements.push({ sql: INSERT_JSON_ROWS, args: [JSON.stringify(pending.slice(i, i + ROWS_PER_STATEMENT))] });
    }
    const results = await client.batch(statements, 'write');
    inserted += results.reduce((n, r) => n + r.rowsAffected, 0);
    pending = [];
  };

  for (let slot = firstSlot; slot <= end; slot += cadenceMs) {
    for (let p = 0; p < pollers.length; p++) {
      for (let t = 0; t < targets.length; t++) {
        // Stagger by poller, spread targets over the cadence, as the schedulers do.
        const offset = (p * 5 * 60_000 + Math.floor((t * cadenceMs) / Math.max(1, targets.length))) % cadenceMs;
        const jitter = 1_000 + (hash(`${seed}:${t}:${slot}:${p}`) % 20_000);
        const at = slot + Math.min(offset + jitter, cadenceMs - 1_000);
        if (at > end) continue;
        pending.push(historyRow(targets[t], pollers[p], slot, at, seed));
        generated++;
        if (pending.length >= batchRows) await flush();
      }
    }
  }
  await flush();
  return { inserted, generated, ms: Math.round(performance.now() - started) };
}

/** A generated row. */
function historyRow(target: HistoryTarget, pollerId: string, slot: number, at: number, seed: number): RowCells {
  const { coin, vendor } = target;
  const day = Math.floor(at / 86_400_000);
  const key = `${pollerId}/bench:${coin}:${vendor}:${slot}`;
  const roll = hash(`${seed}:${key}`) % 1000;
  const scrapedAt = new Date(at).toISOString();
  const window = windowStart(at);
  if (roll < 20) {
    const outcome = (['blocked', 'error', 'not_found', 'no_price'] as const)[roll % 4];
    return [scrapedAt, window, coin, vendor, null, 'http', null, 1, null, pollerId, key, outcome, `bench ${outcome}`, null];
  }
  const price = priceOf(coin, vendor, day, at, seed);
  if (roll < 25) return [scrapedAt, window, coin, vendor, round2(price * 0.3), 'http', null, 1, null, pollerId, key, 'rejected', 'below spot', 'page-text'];
  // A dealer is out of stock on some whole days, for every poller alike.
  const outOfStock = hash(`${seed}:oos:${coin}:${vendor}:${day}`) % 100 < 4;
  const confidence = hash(`${seed}:conf:${vendor}`) % 3 === 0 ? 50 : 80;
  return [scrapedAt, window, coin, vendor, round2(price), 'http', confidence, 0, outOfStock ? 0 : 1, pollerId, key, outOfStock ? 'out_of_stock' : 'ok', null, 'jsonld'];
}

/** A coin's base price (about $30 to $5,000), a daily walk of +-1%, a vendor premium of 0-4%, noise of +-0.2%. */
function priceOf(coin: string, vendor: string, day: number, at: number, seed: number): number {
  const base = 30 * Math.pow(170, (hash(`${seed}:base:${coin}`) % 1000) / 1000);
  let walk = 1;
  for (let d = day - 3; d <= day; d++) walk *= 1 + ((hash(`${seed}:walk:${coin}:${d}`) % 2001) - 1000) / 100_000;
  const premium = 1 + (hash(`${seed}:premium:${coin}:${vendor}`) % 400) / 10_000;
  const noise = 1 + ((hash(`${seed}:noise:${coin}:${vendor}:${Math.floor(at / 3_600_000)}`) % 401) - 200) / 100_000;
  return base * walk * premium * noise;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** FNV-1a, 32 bit: a cheap deterministic hash for the generator's choices. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export interface CopyHistoryOptions {
  /** Coins whose rows are copied (the catalogue before scaleCatalogue). */
  baseCoins: readonly string[];
  /** Copies 2..factor are written, as `{slug}-x{k}` (scaleCatalogue's names). */
  factor: number;
  /** Only rows of windows from this one on (`window_start` text); default all. */
  fromWindow?: string;
}

/**
 * Gives the copies of a scaled catalogue (scale-catalogue.ts) the generated history of their base coin, each
 * price moved to the copy's own level and hourly noise: one INSERT ... SELECT per copy, inside
 * SQLite (generating 10x the rows in JavaScript takes about 3 times as long per row as at 1x). Idempotent by
 * idem_key (`{key}-x{k}`). Returns the rows inserted.
 */
export async function copyHistoryToScale(client: Client, options: CopyHistoryOptions): Promise<number> {
  const columns = COLUMNS.join(', ');
  const picked = COLUMNS.map((c) => {
    if (c === 'coin_slug') return `coin_slug || '-x' || CAST(?1 AS INTEGER)`;
    if (c === 'idem_key') return `idem_key || '-x' || CAST(?1 AS INTEGER)`;
    // A copy's own level (k x 1.3%) and its own hourly noise per vendor (+-1%, a cheap deterministic mix of copy,
    // vendor and hour), so that copies do not publish near-identical bytes that git would delta against each other.
    if (c === 'price') return `CASE WHEN price IS NULL THEN NULL ELSE ROUND(price * (1 + ?1 * 0.013) * (1 + ((?1 * 7919 + unicode(vendor) * 15485863 + length(vendor) * 104729 + (CAST(strftime('%s', window_start) AS INTEGER) / 3600) * 1299709) % 2001 - 1000) / 100000.0), 2) END`;
    return c;
  }).join(', ');
  const sql = `INSERT INTO price_snapshots (${columns}) SELECT ${picked} FROM price_snapshots
    WHERE coin_slug IN (SELECT value FROM json_each(?2)) AND window_start >= ?3 ON CONFLICT (idem_key) DO NOTHING`;
  let inserted = 0;
  for (let k = 2; k <= options.factor; k++) {
    const r = await client.execute({ sql, args: [k, JSON.stringify(options.baseCoins), options.fromWindow ?? ''] });
    inserted += r.rowsAffected;
  }
  return inserted;
}
