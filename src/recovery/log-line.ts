import { z } from 'zod';
import type { PriceRow } from '../store/price-row.js';
import { windowStart } from '../time/window.js';

const OUTCOMES = ['ok', 'out_of_stock', 'blocked', 'not_found', 'wrong_product', 'no_price', 'rejected', 'error'] as const;

/** A line as this system writes it: the row itself. */
const currentLine = z.object({
  key: z.string().min(1),
  poller_id: z.string().min(1),
  scraped_at: z.string().min(1),
  window_start: z.string().min(1),
  coin_slug: z.string().min(1),
  vendor: z.string().min(1),
  price: z.number().nullable(),
  source: z.string(),
  confidence: z.number().nullable(),
  is_failed: z.boolean(),
  in_stock: z.boolean().nullable(),
  outcome: z.enum(OUTCOMES),
  reason: z.string().nullable(),
  matched_by: z.string().nullable(),
});

/** The old system's lines: `{scraped_at, window_start, coin_slug, vendor, price, source, in_stock}`. */
const legacyLine = z.object({
  scraped_at: z.string().min(1),
  window_start: z.string().optional(),
  coin_slug: z.string().min(1),
  vendor: z.string().min(1),
  price: z.union([z.number(), z.string(), z.null()]).optional(),
  source: z.string().optional(),
  in_stock: z.union([z.boolean(), z.number(), z.null()]).optional(),
  confidence: z.number().nullable().optional(),
  is_failed: z.union([z.boolean(), z.number()]).optional(),
});

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
  const current = currentLine.safeParse(raw);
  if (current.success) return current.data;
  const legacy = legacyLine.safeParse(raw);
  if (!legacy.success) {
    const issue = legacy.error.issues[0];
    throw new Error(`neither format: ${issue.path.join('.') || '(line)'}: ${issue.message}`);
  }
  const l = legacy.data;
  const scraped = new Date(l.scraped_at);
  if (Number.isNaN(scraped.getTime())) throw new Error(`scraped_at is not a date: ${l.scraped_at}`);
  const price = l.price === null || l.price === undefined || l.price === '' ? null : Number(l.price);
  if (price !== null && !Number.isFinite(price)) throw new Error(`price is not a number: ${String(l.price)}`);
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
