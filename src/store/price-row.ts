/** Outcome of one scrape as stored: the extractor's outcomes plus `rejected` (sanity) and `error` (fetch or job). */
export type RowOutcome = 'ok' | 'out_of_stock' | 'blocked' | 'not_found' | 'wrong_product' | 'no_price' | 'rejected' | 'error';

/**
 * One row of `price_snapshots`, in the snake_case of the table and of the recovery log.
 * `key` is the idempotency key: a retried, stalled or replayed job never writes a second row.
 */
export interface PriceRow {
  key: string;
  poller_id: string;
  scraped_at: string;
  window_start: string;
  coin_slug: string;
  vendor: string;
  /** USD for one unit; null when no price was read. Rejected rows keep the rejected value. */
  price: number | null;
  /** Where the price came from: `http`, `browser`, `vision`, `consensus`, `import`, ... */
  source: string;
  confidence: number | null;
  is_failed: boolean;
  /** null when the page did not tell (failed rows). */
  in_stock: boolean | null;
  outcome: RowOutcome;
  reason: string | null;
  matched_by: string | null;
}

/** Idempotency key of a scheduled scrape: poller plus BullMQ job id (unique per scheduler iteration). */
export function scrapeRowKey(pollerId: string, jobId: string): string {
  return `${pollerId}/${jobId}`;
}
