import type { Client } from '@libsql/client';
import { z } from 'zod';
import { describeValue, timestampSchema } from '../contract/names.js';
import { SPOT_METALS, spotValueProblem } from './metals.js';

/**
 * The two spot tables. Both are first-wins on their unique key: a 15-minute window once published never changes,
 * and a daily seed once taken stands (a later catch-up cannot replace it).
 */
const DDL = [
  `CREATE TABLE IF NOT EXISTS spot_prices (
    id INTEGER PRIMARY KEY,
    metal TEXT NOT NULL,
    window_start TEXT NOT NULL,
    spot REAL NOT NULL,
    provider TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    poller_id TEXT NOT NULL,
    provider_at TEXT,
    UNIQUE (metal, window_start)
  )`,
  'CREATE INDEX IF NOT EXISTS spot_prices_window ON spot_prices (window_start)',
  `CREATE TABLE IF NOT EXISTS spot_daily (
    id INTEGER PRIMARY KEY,
    metal TEXT NOT NULL,
    date TEXT NOT NULL,
    spot REAL NOT NULL,
    provider TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at TEXT,
    poller_id TEXT,
    UNIQUE (metal, date)
  )`,
  'CREATE INDEX IF NOT EXISTS spot_daily_date ON spot_daily (date)',
];

/** Creates the spot tables and their indexes when missing; running it again changes nothing. */
export async function ensureSpotSchema(client: Client): Promise<void> {
  await client.batch(DDL, 'write');
}

const WINDOW = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(00|15|30|45):00$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function realDate(date: string): boolean {
  const ms = Date.parse(`${date}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date;
}

/** `YYYY-MM-DD HH:MM:00` on a quarter hour, naive UTC. */
export const spotWindowSchema = z
  .string({ message: 'expected a window (a string)' })
  .refine((s) => {
    const m = WINDOW.exec(s);
    return !!m && realDate(m[1]) && Number(m[2]) < 24;
  }, { message: 'expected a window like 2026-03-14 15:45:00 on a quarter hour (naive UTC)' });

/** `YYYY-MM-DD`, a real date. */
export const spotDateSchema = z
  .string({ message: 'expected a date (a string)' })
  .refine((s) => DATE.test(s) && realDate(s), { message: 'expected a date like 2026-03-14' });

/** USD per troy oz within the plausible bounds. */
export const spotValueSchema = z
  .number({ message: 'expected a spot price (a number)' })
  .superRefine((n, ctx) => {
    const problem = spotValueProblem(n);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const providerSchema = z.string().regex(/^[A-Za-z][A-Za-z0-9 ._-]{0,39}$/, 'expected a provider name such as MetalPriceAPI');
const sourceSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a source such as latest, hourly or seed');
const pollerIdSchema = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a poller id such as api1');

/** One metal's value in one 15-minute window (`spot_prices`). */
export const spotWindowRowSchema = z.object({
  metal: z.enum(SPOT_METALS, { message: `expected one of ${SPOT_METALS.join(', ')}` }),
  window_start: spotWindowSchema,
  spot: spotValueSchema,
  /** Who priced it, e.g. `MetalPriceAPI`. */
  provider: providerSchema,
  /** How: `latest` (a poll), `hourly` (the backfill). */
  source: sourceSchema,
  fetched_at: timestampSchema,
  poller_id: pollerIdSchema,
  /** The provider's own update time (ISO), when it gave one: it stands still while markets are closed. */
  provider_at: timestampSchema.nullable().optional(),
});
export type SpotWindowRow = z.infer<typeof spotWindowRowSchema>;

/** One metal's reference value of one day (`spot_daily`), published in spot-history-YYYY.json. */
export const spotDailyRowSchema = z.object({
  metal: z.enum(SPOT_METALS, { message: `expected one of ${SPOT_METALS.join(', ')}` }),
  date: spotDateSchema,
  spot: spotValueSchema,
  /** `StakTrakr` (the 17:00 UTC seed), `MetalPriceAPI` (catch-up), `LBMA` (imported history). */
  provider: providerSchema,
  /** `seed` or `timeframe`. */
  source: sourceSchema,
  fetched_at: timestampSchema.nullable().optional(),
  poller_id: pollerIdSchema.nullable().optional(),
});
export type SpotDailyRow = z.infer<typeof spotDailyRowSchema>;

/** Why a row breaks `schema` (`spot: $1 is outside ... (got 1)`), or null. */
export function rowProblem(schema: z.ZodType, row: unknown): string | null {
  const r = schema.safeParse(row);
  if (r.success) return null;
  const issue = r.error.issues[0];
  const field = issue.path.join('.') || 'row';
  const value = issue.path.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined), row);
  return `${field}: ${issue.message} (got ${describeValue(value)})`;
}
