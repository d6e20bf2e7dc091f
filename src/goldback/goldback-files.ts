/**
 * The Goldback feed's published files, built from stored rates (pure): `api/goldback-spot.json` (the newest
 * rate, with the value of each denomination) and `goldback-YYYY.json` (one entry a day, newest first), in the
 * shape of the March 2026 files. Schemas for both, and a checker the merge and the API server use.
 */
import { z } from 'zod';
import { ContractError } from '../contract/contract-error.js';
import { timestampSchema } from '../contract/names.js';
import { fromCents, roundToCents, toCents } from '../export/cents.js';
import { stableStringify } from '../export/stable-json.js';
import type { GoldbackRateRow } from './goldback-store.js';

/** Path of the newest rate under `data/`. */
export const GOLDBACK_SPOT_PATH = 'api/goldback-spot.json';
/** Path of a year's rates under `data/`. */
export function goldbackYearPath(year: number): string {
  return `goldback-${year}.json`;
}

/** The notes of each published denomination. */
export const PUBLISHED_DENOMINATIONS = { g1: 1, g5: 5, g10: 10, g25: 25, g50: 50 } as const;

const dateSchema = z.string({ message: 'expected a date (a string)' }).regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const usdSchema = z.number({ message: 'expected an amount in USD (a number)' }).positive('expected an amount > 0');

/** `api/goldback-spot.json`. */
export const goldbackSpotFileSchema = z
  .strictObject({
    date: dateSchema,
    scraped_at: timestampSchema,
    g1_usd: usdSchema,
    denominations: z.strictObject({ g1: usdSchema, g5: usdSchema, g10: usdSchema, g25: usdSchema, g50: usdSchema }),
    source: z.string().min(1, 'expected the source host name'),
    confidence: z.enum(['high', 'medium', 'low']),
  })
  .superRefine((f, ctx) => {
    for (const [key, notes] of Object.entries(PUBLISHED_DENOMINATIONS)) {
      const want = fromCents(toCents(f.g1_usd) * notes);
      const got = f.denominations[key as keyof typeof PUBLISHED_DENOMINATIONS];
      if (Math.abs(got - want) > 0.0100001) ctx.addIssue({ code: 'custom', path: ['denominations', key], message: `expected g1_usd x ${notes} = ${want}, got ${got}` });
    }
    if (f.scraped_at.slice(0, 10) !== f.date) ctx.addIssue({ code: 'custom', path: ['date'], message: `expected the UTC day of scraped_at (${f.scraped_at.slice(0, 10)})` });
  });

export type GoldbackSpotFile = z.infer<typeof goldbackSpotFileSchema>;

/** One day of `goldback-YYYY.json`. */
export const goldbackYearEntrySchema = z.strictObject({ date: dateSchema, g1_usd: usdSchema, scraped_at: timestampSchema });

/** `goldback-YYYY.json`: one entry per day, newest date first. */
export const goldbackYearFileSchema = z.array(goldbackYearEntrySchema).superRefine((entries, ctx) => {
  for (let i = 1; i < entries.length; i++) {
    if (!(entries[i - 1].date > entries[i].date)) {
      ctx.addIssue({ code: 'custom', path: [i, 'date'], message: `expected dates newest first and once each (${entries[i - 1].date} then ${entries[i].date})` });
    }
  }
});

export type GoldbackYearFile = z.infer<typeof goldbackYearFileSchema>;

/** The `api/goldback-spot.json` object of a stored rate: denominations are g1 x n, rounded to cents. */
export function buildGoldbackSpot(row: GoldbackRateRow): GoldbackSpotFile {
  // In integer cents, so that g5 of $10.06 is exactly 50.3 as in the published files.
  const g1 = toCents(row.g1_usd);
  return {
    date: row.date,
    scraped_at: row.scraped_at,
    g1_usd: fromCents(g1),
    denominations: {
      g1: fromCents(g1 * PUBLISHED_DENOMINATIONS.g1),
      g5: fromCents(g1 * PUBLISHED_DENOMINATIONS.g5),
      g10: fromCents(g1 * PUBLISHED_DENOMINATIONS.g10),
      g25: fromCents(g1 * PUBLISHED_DENOMINATIONS.g25),
      g50: fromCents(g1 * PUBLISHED_DENOMINATIONS.g50),
    },
    source: row.source,
    confidence: row.confidence,
  };
}

/** The entries of one year's file, newest first. */
export function buildGoldbackYear(rows: readonly GoldbackRateRow[]): GoldbackYearFile {
  return [...rows].sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0)).map((r) => ({ date: r.date, g1_usd: roundToCents(r.g1_usd), scraped_at: r.scraped_at }));
}

/**
 * The feed's files as text (stable JSON), by path under `data/`: `api/goldback-spot.json` when a rate exists and
 * `goldback-YYYY.json` for every year with rows. Each text is checked before it is returned.
 */
export function renderGoldbackFiles(latest: GoldbackRateRow | null, rowsByYear: ReadonlyMap<number, readonly GoldbackRateRow[]>): Map<string, string> {
  const files = new Map<string, string>();
  if (latest) files.set(GOLDBACK_SPOT_PATH, stableStringify(buildGoldbackSpot(latest)));
  for (const [year, rows] of [...rowsByYear].sort((a, b) => a[0] - b[0])) {
    if (!rows.length) continue;
    const wrong = rows.find((r) => !r.date.startsWith(`${year}-`));
    if (wrong) throw new Error(`renderGoldbackFiles: the rate of ${wrong.date} was given under year ${year}`);
    files.set(goldbackYearPath(year), stableStringify(buildGoldbackYear(rows)));
  }
  for (const [path, text] of files) checkGoldbackFile(path, text);
  return files;
}

const SPOT_PATH_RE = /(?:^|\/)api\/goldback-spot\.json$/;
const YEAR_PATH_RE = /(?:^|\/)(?:api\/)?goldback-(\d{4})\.json$/;

/** Whether a path (under `data/`, or with a prefix) is one of the Goldback feed's files. */
export function isGoldbackFilePath(path: string): boolean {
  return SPOT_PATH_RE.test(path) || YEAR_PATH_RE.test(path);
}

/**
 * Checks a Goldback file's text by its path; returns the parsed value. Throws a ContractError naming the path and
 * each problem (invalid JSON, a missing or extra field, denominations that are not g1 x n, dates out of order or
 * outside the file's year, a path that is no Goldback file).
 */
export function checkGoldbackFile(path: string, text: string): GoldbackSpotFile | GoldbackYearFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ContractError(path, [`not valid JSON: ${(err as Error).message}`]);
  }
  const problems = (issues: z.core.$ZodIssue[]) => issues.slice(0, 10).map((i) => `field ${i.path.length ? i.path.map(String).join('.') : '(top level)'}: ${i.message}`);
  if (SPOT_PATH_RE.test(path)) {
    const r = goldbackSpotFileSchema.safeParse(value);
    if (!r.success) throw new ContractError(path, problems(r.error.issues));
    return r.data;
  }
  const year = YEAR_PATH_RE.exec(path);
  if (year) {
    const r = goldbackYearFileSchema.safeParse(value);
    if (!r.success) throw new ContractError(path, problems(r.error.issues));
    const outside = r.data.findIndex((e) => !e.date.startsWith(`${year[1]}-`));
    if (outside >= 0) throw new ContractError(path, [`field ${outside}.date: ${r.data[outside].date} is not in ${year[1]}`]);
    return r.data;
  }
  throw new ContractError(path, ['not a Goldback file path (api/goldback-spot.json or goldback-YYYY.json)']);
}
