import { z } from 'zod';
import { describeValue as describe, priceSchema, slugSchema, timestampSchema, vendorIdSchema, windowStartSchema } from '../contract/names.js';
import type { PriceRow } from '../store/price-row.js';
import { windowStart } from '../time/window.js';

const OUTCOMES = ['ok', 'out_of_stock', 'blocked', 'not_found', 'wrong_product', 'no_price', 'rejected', 'error'] as const;

/** A line as this system writes it: the row itself. Names, price and times follow the shared rules of contract/names.ts. */
const currentLine = z.object({
  key: z.string().min(1),
  poller_id: z.string().min(1),
  scraped_at: timestampSchema,
  window_start: windowStartSchema,
  coin_slug: slugSchema,
  vendor: vendorIdSchema,
  price: priceSchema.nullable(),
  source: z.string(),
  confidence: z.number().nullable(),
  is_failed: z.boolean(),
  in_stock: z.boolean().nullable(),
  outcome: z.enum(OUTCOMES),
  reason: z.string().nullable(),
  matched_by: z.string().nullable(),
});

/** The old system's lines: `{scraped_at, window_start, coin_slug, vendor, price, source, in_stock}` (no `key`). */
const legacyLine = z.object({
  scraped_at: timestampSchema,
  // Absent, empty or null: the window is the scrape time's.
  window_start: z.preprocess((v) => (v === '' || v === null ? undefined : v), timestampSchema.optional()),
  coin_slug: slugSchema,
  vendor: vendorIdSchema,
  price: z.union([z.number(), z.string(), z.null()]).optional(),
  source: z.string().optional(),
  in_stock: z.union([z.boolean(), z.number(), z.null()]).optional(),
  confidence: z.number().nullable().optional(),
  is_failed: z.union([z.boolean(), z.number()]).optional(),
});

/** `field: reason (got value)` of the first issue. */
function firstProblem(error: z.ZodError, raw: unknown): string {
  const issue = error.issues[0];
  const field = issue.path.join('.') || '(line)';
  let value: unknown = raw;
  for (const key of issue.path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  const got = issue.path.length ? ` (got ${value === undefined ? 'nothing' : describe(value)})` : '';
  return `${field}: ${issue.message}${got}`;
}

/** Parses one recovery-log line of either format. Returns null for a blank line; throws with a reason otherwise. */
export function parseLogLine(line: string, legacyPollerId = 'legacy'): PriceRow | null {
  const text = line.trim();
  if (!text) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('not JSON (a torn or corrupted line)');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('neither format: (line): expected a JSON object');
  // A line with a key is this system's own; without one, the old system's.
  if ('key' in raw) {
    const current = currentLine.safeParse(raw);
    if (!current.success) throw new Error(firstProblem(current.error, raw));
    // Times in the one stored form (ISO with milliseconds and Z; the window's quarter hour with :00Z), so they sort as text.
    const { scraped_at, window_start } = current.data;
    return { ...current.data, scraped_at: new Date(scraped_at).toISOString(), window_start: windowStart(new Date(window_start)) };
  }
  const legacy = legacyLine.safeParse(raw);
  if (!legacy.success) {
    const isRow = 'scraped_at' in raw || 'coin_slug' in raw;
    throw new Error(isRow ? firstProblem(legacy.error, raw) : `neither format: ${firstProblem(legacy.error, raw)}`);
  }
  const l = legacy.data;
  const scraped = new Date(l.scraped_at);
  const price = l.price === null || l.price === undefined || l.price === '' ? null : Number(l.price);
  if (price !== null && !Number.isFinite(price)) throw new Error(`price is not a number: ${describe(l.price)}`);
  if (price !== null) {
    const checked = priceSchema.safeParse(price);
    if (!checked.success) throw new Error(`price: ${checked.error.issues[0].message} (got ${describe(l.price)})`);
  }
  const failed = l.is_failed !== undefined ? Boolean(l.is_failed) : price === null;
  const inStock = l.in_stock === null || l.in_stock === undefined ? (failed ? null : true) : Boolean(l.in_stock);
  return {
    // The old format has no key: what it says is its identity, so importing twice adds nothing.
    key: `legacy/${l.coin_slug}/${l.vendor}/${scraped.toISOString()}`,
    poller_id: legacyPollerId,
    scraped_at: scraped.toISOString(),
    window_start: windowStart(l.window_start ? new Date(l.window_start) : scraped),
    coin_slug: l.coin_slug,
    vendor: l.vendor,
    price,
    source: l.source ?? 'import',
    confidence: l.confidence ?? null,
    is_failed: failed,
    in_stock: inStock,
    outcome: failed ? 'error' : inStock ? 'ok' : 'out_of_stock',
    reason: failed ? 'imported failed row' : null,
    matched_by: null,
  };
}
