import { createClient } from '@libsql/client';
import type { PriceRow } from '../../src/store/price-row.js';
import { windowStart } from '../../src/time/window.js';

/** A plausible row; `n` varies key and time. */
export function sampleRow(n: number, over: Partial<PriceRow> = {}): PriceRow {
  const at = new Date(Date.UTC(2026, 10, 23, 12, 0, 0) + n * 1000);
  return {
    key: `api1/test:${n}`,
    poller_id: 'api1',
    scraped_at: at.toISOString(),
    window_start: windowStart(at),
    coin_slug: 'ase',
    vendor: `v${n % 3}`,
    price: 90 + (n % 10),
    source: 'http',
    confidence: 80,
    is_failed: false,
    in_stock: true,
    outcome: 'ok',
    reason: null,
    matched_by: 'jsonld',
    ...over,
  };
}

/** Counts rows with a fresh client, never the writer's (a writer can believe in rows that never committed). */
export async function countRows(url: string, authToken?: string, where = '1=1'): Promise<number> {
  // A busy timeout: a writer committing at that moment must make the count wait, not fail with SQLITE_BUSY.
  const client = createClient({ url, authToken, timeout: 5000 });
  try {
    const res = await client.execute(`SELECT COUNT(*) AS n FROM price_snapshots WHERE ${where}`);
    return Number(res.rows[0].n);
  } finally {
    client.close();
  }
}
