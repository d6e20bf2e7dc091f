import type { Client, InStatement } from '@libsql/client';
import { openDatabase, isBusyError, isReadonlyError, describeDatabaseUrl, type DatabaseOptions } from './database.js';
import { runMigrations } from './migrations.js';
import type { PriceRow } from './price-row.js';

export interface PriceStoreOptions extends DatabaseOptions {
  /** Rows per write transaction. Default 500 (about 40,000 rows/s on a local file). */
  batchSize?: number;
  /** Attempts after SQLITE_BUSY, each on a fresh client. Default 5. */
  busyRetries?: number;
}

const INSERT_ROW = `INSERT INTO price_snapshots
  (scraped_at, window_start, coin_slug, vendor, price, source, confidence, is_failed, in_stock, poller_id, idem_key, outcome, reason, matched_by)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (idem_key) DO UPDATE SET
    scraped_at = excluded.scraped_at, window_start = excluded.window_start, price = excluded.price, source = excluded.source,
    confidence = excluded.confidence, is_failed = excluded.is_failed, in_stock = excluded.in_stock, outcome = excluded.outcome,
    reason = excluded.reason, matched_by = excluded.matched_by
  WHERE price_snapshots.is_failed = 1 AND excluded.is_failed = 0`;

// Idempotent and ordered: the same key changes nothing (except a success that replaces its job's failed row, when
// an operator retried a failed job), and an older row never overwrites a newer outcome.
const UPSERT_OUTCOME = `INSERT INTO target_outcomes
  (poller_id, coin_slug, vendor, last_key, last_attempt_at, last_outcome, last_success_at, last_price, last_error, last_error_at, consecutive_failures)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (poller_id, coin_slug, vendor) DO UPDATE SET
    last_key = excluded.last_key,
    last_attempt_at = excluded.last_attempt_at,
    last_outcome = excluded.last_outcome,
    last_success_at = COALESCE(excluded.last_success_at, target_outcomes.last_success_at),
    last_price = COALESCE(excluded.last_price, target_outcomes.last_price),
    last_error = COALESCE(excluded.last_error, target_outcomes.last_error),
    last_error_at = COALESCE(excluded.last_error_at, target_outcomes.last_error_at),
    consecutive_failures = CASE WHEN excluded.consecutive_failures = 0 THEN 0 ELSE target_outcomes.consecutive_failures + 1 END
  WHERE (target_outcomes.last_key <> excluded.last_key AND excluded.last_attempt_at >= target_outcomes.last_attempt_at)
     OR (target_outcomes.last_key = excluded.last_key AND target_outcomes.consecutive_failures > 0 AND excluded.consecutive_failures = 0)`;

/** A page was read (even if out of stock): the target works. */
export function isSuccessfulRow(row: PriceRow): boolean {
  return !row.is_failed && (row.outcome === 'ok' || row.outcome === 'out_of_stock');
}

export interface TargetOutcome {
  poller_id: string;
  coin_slug: string;
  vendor: string;
  last_attempt_at: string;
  last_outcome: string;
  last_success_at: string | null;
  last_price: number | null;
  last_error: string | null;
  last_error_at: string | null;
  consecutive_failures: number;
}

/** A target whose last attempts failed (see PriceStore.failureStreaks). */
export interface FailureStreak {
  coin_slug: string;
  vendor: string;
  /** scraped_at of the first failed row after the last success; null when unknown. */
  since: string | null;
  /** Price of the last row (a rejected row keeps the refused value); null when it had none. */
  last_row_price: number | null;
}

/**
 * Rows are idempotent by key (one per scrape job): the same row twice is one row, a failed row never replaces
 * anything, and a successful row replaces its job's failed row (a failed job that an operator retried).
 *
 * The one writer of a process. Writes are serialised (one client, one transaction at a time) and rows that
 * arrive while a transaction runs are coalesced into the next batch.
 */
export class PriceStore {
  private client: Client | null = null;
  private readonly batchSize: number;
  private readonly busyRetries: number;
  private pending: Array<{ row: PriceRow; resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushing: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: PriceStoreOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.busyRetries = options.busyRetries ?? 5;
  }

  /** Opened on first use: a file that cannot be opened fails that write (and the row waits in the log), not the process. */
  private db(): Client {
    return (this.client ??= openDatabase(this.options));
  }

  /** Where the store points, without credentials. */
  get description(): string {
    return describeDatabaseUrl(this.options.url);
  }

  async migrate(): Promise<number[]> {
    try {
      return await runMigrations(this.db());
    } catch (err) {
      if (isReadonlyError(err)) this.recreateClient();
      throw err;
    }
  }

  /** Cheap round trip; throws when the database cannot be reached. */
  async probe(): Promise<void> {
    await this.db().execute('SELECT 1');
  }

  /**
   * A round trip that needs write access without writing: a write statement matching nothing, rolled back. A database
   * that answers reads but refuses writes (a read-only file or volume) throws SQLITE_READONLY here, before any row
   * has failed.
   */
  async probeWrite(): Promise<void> {
    const tx = await this.db().transaction('write');
    try {
      // Deletes nothing, but takes the write lock: SQLite begins a write transaction lazily, at the first write.
      await tx.execute('DELETE FROM price_snapshots WHERE 0');
    } finally {
      await tx.rollback().catch(() => undefined);
      tx.close();
    }
  }

  /** Queues one row; resolves once its transaction committed. Concurrent calls share a transaction. */
  write(row: PriceRow): Promise<void> {
    if (this.closed) return Promise.reject(new Error('price store is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ row, resolve, reject });
      this.startFlush();
    });
  }

  private startFlush(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null;
      // A row may have arrived between the loop's last check and this callback.
      if (this.pending.length) this.startFlush();
    });
  }

  /** Writes rows in batches, in order. Returns how many were new (the rest were already there). */
  async writeRows(rows: PriceRow[]): Promise<number> {
    let inserted = 0;
    for (let i = 0; i < rows.length; i += this.batchSize) inserted += await this.commit(rows.slice(i, i + this.batchSize));
    return inserted;
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending.splice(0, this.batchSize);
      try {
        await this.commit(batch.map((p) => p.row));
        batch.forEach((p) => p.resolve());
      } catch (err) {
        batch.forEach((p) => p.reject(err));
      }
    }
  }

  private async commit(rows: PriceRow[]): Promise<number> {
    const statements: InStatement[] = [];
    for (const r of rows) {
      statements.push({
        sql: INSERT_ROW,
        args: [r.scraped_at, r.window_start, r.coin_slug, r.vendor, r.price, r.source, r.confidence, r.is_failed ? 1 : 0,
          r.in_stock === null ? null : r.in_stock ? 1 : 0, r.poller_id, r.key, r.outcome, r.reason, r.matched_by],
      });
      const ok = isSuccessfulRow(r);
      statements.push({
        sql: UPSERT_OUTCOME,
        args: [r.poller_id, r.coin_slug, r.vendor, r.key, r.scraped_at, r.outcome, ok ? r.scraped_at : null, ok ? r.price : null,
          ok ? null : r.reason ?? r.outcome, ok ? null : r.scraped_at, ok ? 0 : 1],
      });
    }
    for (let attempt = 0; ; attempt++) {
      try {
        const results = await this.db().batch(statements, 'write');
        return results.filter((_, i) => i % 2 === 0).reduce((n, res) => n + res.rowsAffected, 0);
      } catch (err) {
        // A read-only volume made this connection read-only for good: the next write (the row sink's replay, once
        // the volume is writable again) must open the file anew.
        if (isReadonlyError(err)) this.recreateClient();
        if (!isBusyError(err) || attempt >= this.busyRetries) throw err;
        // After SQLITE_BUSY the old client may acknowledge writes it never commits: start over on a new one.
        this.recreateClient();
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt + Math.random() * 50));
      }
    }
  }

  private recreateClient(): void {
    const old = this.client;
    this.client = null;
    try {
      old?.close();
    } catch {
      /* already broken */
    }
  }

  /**
   * What a new price is judged against: this vendor's newest accepted price of the coin (any poller, last 7 days),
   * and the median of the other vendors' accepted prices in the window. Nulls when unknown.
   */
  async priceContext(coin: string, vendor: string, windowStart: string): Promise<{ previousPrice: number | null; windowMedian: number | null }> {
    const since = new Date(Date.parse(windowStart) - 7 * 86_400_000).toISOString().slice(0, 16) + ':00Z';
    const [previous, window] = await this.db().batch(
      [
        {
          sql: `SELECT price FROM price_snapshots WHERE coin_slug = ? AND vendor = ? AND scraped_at >= ? AND is_failed = 0 AND price IS NOT NULL
                ORDER BY scraped_at DESC LIMIT 1`,
          args: [coin, vendor, since],
        },
        {
          sql: `SELECT vendor, price FROM price_snapshots WHERE coin_slug = ? AND window_start = ? AND vendor <> ? AND is_failed = 0 AND price IS NOT NULL`,
          args: [coin, windowStart, vendor],
        },
      ],
      'read',
    );
    const byVendor = new Map<string, number>();
    for (const r of window.rows) byVendor.set(String(r.vendor), Number(r.price));
    const prices = [...byVendor.values()].sort((a, b) => a - b);
    const mid = prices.length >> 1;
    const windowMedian = prices.length === 0 ? null : prices.length % 2 ? prices[mid] : (prices[mid - 1] + prices[mid]) / 2;
    return { previousPrice: previous.rows.length ? Number(previous.rows[0].price) : null, windowMedian };
  }

  /** Which of these idempotency keys the table already holds. */
  async existingKeys(keys: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < keys.length; i += 400) {
      const part = keys.slice(i, i + 400);
      const res = await this.db().execute({
        sql: `SELECT idem_key FROM price_snapshots WHERE idem_key IN (${part.map(() => '?').join(',')})`,
        args: part,
      });
      for (const r of res.rows) found.add(String(r.idem_key));
    }
    return found;
  }

  /** Per-target outcome records of a poller (or all). */
  async outcomes(pollerId?: string): Promise<TargetOutcome[]> {
    const res = await this.db().execute(
      pollerId
        ? { sql: 'SELECT * FROM target_outcomes WHERE poller_id = ? ORDER BY coin_slug, vendor', args: [pollerId] }
        : 'SELECT * FROM target_outcomes ORDER BY poller_id, coin_slug, vendor',
    );
    return res.rows.map((r) => ({ ...(r as unknown as TargetOutcome), consecutive_failures: Number(r.consecutive_failures) }));
  }

  /**
   * Targets of a poller whose last attempts failed: when the streak began (its first row after the last success;
   * null when those rows are gone) and the last row's price (a rejected row keeps the value it refused).
   */
  async failureStreaks(pollerId: string): Promise<FailureStreak[]> {
    const res = await this.db().execute({
      sql: `SELECT o.coin_slug, o.vendor,
              (SELECT MIN(p.scraped_at) FROM price_snapshots p
                WHERE p.coin_slug = o.coin_slug AND p.vendor = o.vendor AND p.poller_id = o.poller_id
                  AND p.scraped_at > COALESCE(o.last_success_at, '')) AS since,
              l.price AS last_row_price
            FROM target_outcomes o LEFT JOIN price_snapshots l ON l.idem_key = o.last_key
            WHERE o.poller_id = ? AND o.consecutive_failures > 0
            ORDER BY o.coin_slug, o.vendor`,
      args: [pollerId],
    });
    return res.rows.map((r) => ({
      coin_slug: String(r.coin_slug),
      vendor: String(r.vendor),
      since: r.since === null ? null : String(r.since),
      last_row_price: r.last_row_price === null ? null : Number(r.last_row_price),
    }));
  }

  /** The newest rows, newest first, for live summaries. */
  async recentRows(limit = 5): Promise<Array<{ poller_id: string; coin_slug: string; vendor: string; price: number | null; in_stock: number | null; outcome: string | null; scraped_at: string }>> {
    const res = await this.db().execute({
      sql: 'SELECT poller_id, coin_slug, vendor, price, in_stock, outcome, scraped_at FROM price_snapshots ORDER BY id DESC LIMIT ?',
      args: [limit],
    });
    return res.rows as never;
  }

  /** Row counts, for summaries: all rows, failed rows, and per poller. */
  async counts(): Promise<{ rows: number; failed: number; byPoller: Record<string, number> }> {
    const res = await this.db().execute(
      'SELECT poller_id, COUNT(*) AS n, SUM(is_failed) AS failed FROM price_snapshots GROUP BY poller_id',
    );
    let rows = 0;
    let failed = 0;
    const byPoller: Record<string, number> = {};
    for (const r of res.rows) {
      rows += Number(r.n);
      failed += Number(r.failed ?? 0);
      byPoller[String(r.poller_id ?? 'unknown')] = Number(r.n);
    }
    return { rows, failed, byPoller };
  }

  /** Waits for queued writes, then closes the client. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing.catch(() => undefined);
    this.client?.close();
  }
}
