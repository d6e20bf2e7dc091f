/**
 * The official Goldback rates in the database: one row per UTC day. A later scrape of the same day replaces
 * that day's row (a re-scrape is a correction); the published files are rendered from these rows.
 */
import type { Client } from '@libsql/client';
import { z } from 'zod';
import { timestampSchema } from '../contract/names.js';
import type { GoldbackConfidence } from './goldback-check.js';

/** One day's rate as stored. */
export interface GoldbackRateRow {
  /** UTC day of the scrape, `YYYY-MM-DD`. */
  date: string;
  /** USD for one G1 note. */
  g1_usd: number;
  /** ISO 8601 UTC time of the scrape. */
  scraped_at: string;
  /** Host name of the page read, e.g. `goldback.com`. */
  source: string;
  confidence: GoldbackConfidence;
  /** Why the confidence is not high; null when it is. */
  reason: string | null;
}

const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;

/** A row as it may enter the table: checked, so that nothing unreadable is ever published from it. */
export const goldbackRateRowSchema = z.object({
  date: z.string().regex(DATE_RE, 'expected a date YYYY-MM-DD'),
  g1_usd: z.number().positive('expected a rate > 0'),
  scraped_at: timestampSchema,
  source: z.string().min(1, 'expected the source host name').max(200),
  confidence: z.enum(['high', 'medium', 'low']),
  reason: z.string().max(2000).nullable(),
});

/** Creates the `goldback_rates` table when missing. Idempotent; safe from several processes. */
export async function ensureGoldbackSchema(client: Client): Promise<void> {
  await client.execute(`CREATE TABLE IF NOT EXISTS goldback_rates (
    date TEXT PRIMARY KEY,
    g1_usd REAL NOT NULL,
    scraped_at TEXT NOT NULL,
    source TEXT NOT NULL,
    confidence TEXT NOT NULL,
    reason TEXT
  )`);
}

/** Stores a day's rate; a row of the same date is replaced (a re-scrape corrects the day). Throws on an invalid row. */
export async function recordGoldbackRate(client: Client, row: GoldbackRateRow): Promise<void> {
  const parsed = goldbackRateRowSchema.safeParse(row);
  if (!parsed.success) {
    throw new Error(`goldback rate row for ${JSON.stringify(row?.date)} refused: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'row'}: ${i.message}`).join('; ')}`);
  }
  const r = parsed.data;
  if (r.scraped_at.slice(0, 10) !== r.date) throw new Error(`goldback rate row refused: date ${r.date} is not the UTC day of scraped_at ${r.scraped_at}`);
  await client.execute({
    sql: `INSERT INTO goldback_rates (date, g1_usd, scraped_at, source, confidence, reason) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (date) DO UPDATE SET g1_usd = excluded.g1_usd, scraped_at = excluded.scraped_at, source = excluded.source,
        confidence = excluded.confidence, reason = excluded.reason`,
    args: [r.date, r.g1_usd, r.scraped_at, r.source, r.confidence, r.reason],
  });
}

function toRow(r: Record<string, unknown>): GoldbackRateRow {
  return {
    date: String(r.date),
    g1_usd: Number(r.g1_usd),
    scraped_at: String(r.scraped_at),
    source: String(r.source),
    confidence: String(r.confidence) as GoldbackConfidence,
    reason: r.reason === null || r.reason === undefined ? null : String(r.reason),
  };
}

/** Runs a read; a database where no rate was ever stored (no table) reads as empty. */
async function readRows(client: Client, sql: string, args: Array<string | number>): Promise<GoldbackRateRow[]> {
  try {
    return (await client.execute({ sql, args })).rows.map((r) => toRow(r as unknown as Record<string, unknown>));
  } catch (err) {
    if (/no such table/i.test(String((err as Error)?.message))) return [];
    throw err;
  }
}

const COLUMNS = 'date, g1_usd, scraped_at, source, confidence, reason';

/** The newest day's rate, or null when none is stored. */
export async function readLatest(client: Client): Promise<GoldbackRateRow | null> {
  const rows = await readRows(client, `SELECT ${COLUMNS} FROM goldback_rates ORDER BY date DESC LIMIT 1`, []);
  return rows[0] ?? null;
}

/** Every stored day of a year, newest first (the order of `goldback-YYYY.json`). */
export async function readYear(client: Client, year: number): Promise<GoldbackRateRow[]> {
  if (!Number.isInteger(year) || year < 1000 || year > 9999) throw new Error(`readYear: expected a four-digit year, got ${year}`);
  return readRows(client, `SELECT ${COLUMNS} FROM goldback_rates WHERE date >= ? AND date <= ? ORDER BY date DESC`, [`${year}-01-01`, `${year}-12-31`]);
}

/** The years that have at least one stored rate, ascending. */
export async function readYears(client: Client): Promise<number[]> {
  try {
    const res = await client.execute('SELECT DISTINCT substr(date, 1, 4) AS year FROM goldback_rates ORDER BY year');
    return res.rows.map((r) => Number(r.year)).filter((y) => Number.isInteger(y));
  } catch (err) {
    if (/no such table/i.test(String((err as Error)?.message))) return [];
    throw err;
  }
}

/** Whether a rate is stored for a UTC day `YYYY-MM-DD` (a daily job can skip a day already done). */
export async function hasRateFor(client: Client, date: string): Promise<boolean> {
  if (!DATE_RE.test(date)) throw new Error(`hasRateFor: expected a date YYYY-MM-DD, got ${JSON.stringify(date)}`);
  const rows = await readRows(client, `SELECT ${COLUMNS} FROM goldback_rates WHERE date = ?`, [date]);
  return rows.length > 0;
}
