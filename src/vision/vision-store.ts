import type { Client } from '@libsql/client';
import { z } from 'zod';
import { slugSchema, vendorIdSchema } from '../contract/names.js';

/**
 * Vision reads, kept apart from the scrape rows (price_snapshots): a scrape is never compared with itself, and the
 * published price is the consensus the scrape row carries. One row per scrape job (its key + `/vision`).
 */
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS vision_reads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    poller_id TEXT NOT NULL,
    scraped_at TEXT NOT NULL,
    window_start TEXT NOT NULL,
    coin_slug TEXT NOT NULL,
    vendor TEXT NOT NULL,
    model TEXT NOT NULL,
    outcome TEXT NOT NULL,
    price REAL,
    in_stock INTEGER,
    stock_label TEXT,
    model_confidence INTEGER,
    text_price REAL,
    agreement TEXT,
    reason TEXT,
    ms INTEGER NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS idx_vision_reads_target ON vision_reads (coin_slug, vendor, scraped_at)',
];

export async function ensureVisionSchema(client: Client): Promise<void> {
  for (const sql of SCHEMA) await client.execute(sql);
}

export const visionReadSchema = z.object({
  key: z.string().min(1).max(300),
  poller_id: z.string().min(1).max(32),
  scraped_at: z.string().min(20),
  window_start: z.string().min(20),
  coin_slug: slugSchema,
  vendor: vendorIdSchema,
  model: z.string().min(1).max(100),
  /** `ok`, or the failure kind (`budget`, `timeout`, `rate_limited`, `server`, `malformed`, `refused`, `bad_key`). */
  outcome: z.string().min(1).max(32),
  price: z.number().positive().finite().nullable(),
  in_stock: z.boolean().nullable(),
  stock_label: z.string().max(200).nullable(),
  model_confidence: z.number().int().min(0).max(100).nullable(),
  text_price: z.number().finite().nullable(),
  /** `agree`, `disagree`, `single`, `none`. */
  agreement: z.string().max(16).nullable(),
  reason: z.string().max(1000).nullable(),
  ms: z.number().int().min(0),
});
export type VisionRead = z.infer<typeof visionReadSchema>;

/** Stores one read (a retried job's second write is ignored). Refuses a read that breaks the schema, naming the field. */
export async function recordVisionRead(client: Client, read: VisionRead): Promise<void> {
  const parsed = visionReadSchema.safeParse(read);
  if (!parsed.success) throw new Error(`vision read ${read?.key} refused: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const r = parsed.data;
  await client.execute({
    sql: `INSERT OR IGNORE INTO vision_reads (key, poller_id, scraped_at, window_start, coin_slug, vendor, model, outcome, price, in_stock, stock_label, model_confidence, text_price, agreement, reason, ms)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    args: [r.key, r.poller_id, r.scraped_at, r.window_start, r.coin_slug, r.vendor, r.model, r.outcome, r.price, r.in_stock === null ? null : r.in_stock ? 1 : 0, r.stock_label, r.model_confidence, r.text_price, r.agreement, r.reason, r.ms],
  });
}

/** Counts of the last `hours` by outcome and agreement, for the status page and metrics. */
export async function visionSummary(client: Client, sinceIso: string): Promise<{ reads: number; byOutcome: Record<string, number>; byAgreement: Record<string, number> }> {
  const rs = await client.execute({ sql: 'SELECT outcome, agreement, COUNT(*) AS n FROM vision_reads WHERE scraped_at >= ? GROUP BY outcome, agreement', args: [sinceIso] });
  const byOutcome: Record<string, number> = {};
  const byAgreement: Record<string, number> = {};
  let reads = 0;
  for (const row of rs.rows) {
    const n = Number(row.n);
    reads += n;
    byOutcome[String(row.outcome)] = (byOutcome[String(row.outcome)] ?? 0) + n;
    if (row.agreement !== null) byAgreement[String(row.agreement)] = (byAgreement[String(row.agreement)] ?? 0) + n;
  }
  return { reads, byOutcome, byAgreement };
}
