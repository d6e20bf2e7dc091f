import { z } from 'zod';
import { MAX_PRICE } from '../scrape/extract/money.js';

/**
 * The one set of rules for the names and values that enter the system from outside a scrape: the catalogue,
 * the recovery-log import and replay, the branches read by the merge, and the rows the export reads back.
 * A coin slug names a folder of the published tree (`api/{slug}/latest.json`), so a name that passes here
 * can never leave that tree (no `/`, `.`, `..`, upper case or space).
 */

/** Longest slug or vendor id accepted (a slug is a folder name; file systems stop at 255 bytes). */
export const MAX_NAME_LENGTH = 100;

/** Coin slug, e.g. `ase`, `goldback-oklahoma-g1`: lowercase letters, digits and `-`, not starting with `-`. */
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

/** Vendor id, e.g. `apmex`, `sd_bullion`: lowercase letters, digits, `-` and `_`, not starting with either. */
export const VENDOR_ID_PATTERN = /^[a-z0-9][a-z0-9_-]*$/;

export const slugSchema = z
  .string({ message: 'expected a slug (a string)' })
  .max(MAX_NAME_LENGTH, `expected a slug of at most ${MAX_NAME_LENGTH} characters`)
  .regex(SLUG_PATTERN, 'expected a slug of lowercase letters, digits and -');

export const vendorIdSchema = z
  .string({ message: 'expected a vendor id (a string)' })
  .max(MAX_NAME_LENGTH, `expected a vendor id of at most ${MAX_NAME_LENGTH} characters`)
  .regex(VENDOR_ID_PATTERN, 'expected a vendor id of lowercase letters, digits, - or _');

export { MAX_PRICE };

/** A price in USD for one unit: finite, above 0 and at most the extractor's MAX_PRICE (the bound the scraper reads with). */
export const priceSchema = z
  .number({ message: 'expected a price (a number)' })
  .refine((n) => Number.isFinite(n), { message: 'expected a finite price' })
  .refine((n) => n > 0, { message: 'expected a price > 0' })
  .refine((n) => n <= MAX_PRICE, { message: `expected a price of at most ${MAX_PRICE}` });

const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]00:?00)$/;

/** True for an ISO 8601 UTC instant (`Z` or a zero offset) that names a real time (no 2026-02-30, no 25:00). */
export function isIsoUtc(text: string): boolean {
  const m = ISO_UTC.exec(text);
  if (!m) return false;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) return false;
  // Date.parse rolls 2026-02-30 over to March: the parsed fields must be the written ones.
  return new Date(ms).toISOString().slice(0, 19) === `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`;
}

/** `scraped_at`: an ISO 8601 UTC instant, e.g. `2026-11-23T12:04:05.120Z`. */
export const timestampSchema = z
  .string({ message: 'expected an ISO 8601 UTC time (a string)' })
  .refine(isIsoUtc, { message: 'expected an ISO 8601 UTC time like 2026-11-23T12:04:05.120Z' });

const WINDOW = /^\d{4}-\d{2}-\d{2}T\d{2}:(00|15|30|45):00(\.000)?Z$/;

/** `window_start`: a valid UTC time on a quarter hour, `YYYY-MM-DDTHH:MM:00Z` (older writers added `.000`). */
export const windowStartSchema = z
  .string({ message: 'expected a window start (a string)' })
  .refine((s) => WINDOW.test(s) && isIsoUtc(s), { message: 'expected a window start like 2026-11-23T12:15:00Z on a quarter hour' });

/** The reason a value breaks `schema` (`coin_slug: expected a slug ...`), or null when it passes. */
export function problemOf(schema: z.ZodType, value: unknown, field: string): string | null {
  const r = schema.safeParse(value);
  return r.success ? null : `${field}: ${r.error.issues[0].message} (got ${describeValue(value)})`;
}

export function isValidSlug(value: unknown): value is string {
  return slugSchema.safeParse(value).success;
}

export function isValidVendorId(value: unknown): value is string {
  return vendorIdSchema.safeParse(value).success;
}

/** A value for a message: strings quoted and cut at 80 characters. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Why a path is not a plain relative path of a published tree (like `data/api/ase/latest.json`), or null.
 * Refused: empty, absolute, backslashes, NUL, empty segments, `.`, `..` and `.git` in any case.
 */
export function treePathProblem(path: string): string | null {
  if (typeof path !== 'string' || path === '') return 'an empty path';
  if (path.startsWith('/')) return 'an absolute path';
  if (path.includes('\\') || path.includes('\0')) return 'a path with a backslash or NUL';
  const bad = path.split('/').find((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git');
  if (bad !== undefined) return bad === '' ? 'a path with an empty segment' : `a path with a "${bad}" segment`;
  return null;
}
