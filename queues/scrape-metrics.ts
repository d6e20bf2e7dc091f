import type { Redis } from 'ioredis';

/**
 * Scrape metrics kept in Redis, so that every worker process adds to the same counters and the API server
 * (another process) exposes them on /metrics. Everything is a counter that only grows: Prometheus computes
 * rates, and a restart of any process loses nothing.
 *
 * Keys, under the queue prefix (readable with `redis-cli HGETALL`):
 * - `{prefix}:staktrakr:metrics:scrapes`   field `vendor|outcome`       attempts
 * - `{prefix}:staktrakr:metrics:duration`  field `vendor|le`            attempts that took at most `le` seconds (cumulative)
 *                                          field `vendor|count`, `vendor|sum_ms`
 * - `{prefix}:staktrakr:metrics:rows`      field `vendor|price|failed`  rows written (to the database, or to the recovery log while it is away)
 */

/** Upper bounds (seconds) of the scrape duration histogram: HTTP pages take 0.1-5 s, the browser tier up to the job timeout. */
export const SCRAPE_DURATION_BUCKETS_SECONDS: readonly number[] = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120];

/** What the recorder needs of a scrape attempt (processors/scrape.ts `ScrapeAttempt` fits). */
export interface ScrapeMetricsAttempt {
  target: { vendor: string };
  /** `ok`, `out_of_stock`, `blocked`, `rejected`, `error`, `rate_limited`, ... */
  outcome: string;
  /** A price row was stored. */
  priced: boolean;
  /** The attempt ended the job: a row was written (a price row, or the failure row of the last attempt). */
  final: boolean;
  durationMs: number;
}

export const scrapeMetricsKeys = {
  scrapes: (prefix: string) => `${prefix}:staktrakr:metrics:scrapes`,
  duration: (prefix: string) => `${prefix}:staktrakr:metrics:duration`,
  rows: (prefix: string) => `${prefix}:staktrakr:metrics:rows`,
};

const SEP = '|';

/**
 * Counts one attempt: its outcome, its duration in the vendor's histogram and, when it ended the job, the row
 * it wrote. One MULTI round trip. The bucket bounds must stay the same for the life of the keys (changing them
 * needs the `duration` hash deleted, or the histogram mixes two layouts).
 */
export async function recordScrapeAttempt(redis: Redis, prefix: string, attempt: ScrapeMetricsAttempt, buckets: readonly number[] = SCRAPE_DURATION_BUCKETS_SECONDS): Promise<void> {
  const vendor = attempt.target.vendor;
  const ms = Math.max(0, Math.round(attempt.durationMs));
  const seconds = ms / 1000;
  const multi = redis.multi().hincrby(scrapeMetricsKeys.scrapes(prefix), `${vendor}${SEP}${attempt.outcome}`, 1);
  const durations = scrapeMetricsKeys.duration(prefix);
  for (const le of buckets) if (seconds <= le) multi.hincrby(durations, `${vendor}${SEP}${le}`, 1);
  multi.hincrby(durations, `${vendor}${SEP}count`, 1).hincrby(durations, `${vendor}${SEP}sum_ms`, ms);
  if (attempt.final) multi.hincrby(scrapeMetricsKeys.rows(prefix), `${vendor}${SEP}${attempt.priced ? 'price' : 'failed'}`, 1);
  const results = await multi.exec();
  const failed = results?.find(([err]) => err);
  if (failed) throw failed[0]!;
}

/** One cumulative histogram: `buckets[i].count` attempts took at most `buckets[i].le` seconds. */
export interface HistogramCounts {
  buckets: Array<{ le: number; count: number }>;
  /** Seconds, all observations added up. */
  sum: number;
  count: number;
}

export interface ScrapeMetricsSnapshot {
  scrapes: Array<{ vendor: string; outcome: string; count: number }>;
  durations: Array<{ vendor: string } & HistogramCounts>;
  rows: Array<{ vendor: string; kind: 'price' | 'failed'; count: number }>;
}

function split(field: string): [string, string] {
  const at = field.lastIndexOf(SEP);
  return [field.slice(0, at), field.slice(at + 1)];
}

/** Every counter recorded so far, sorted by vendor. */
export async function readScrapeMetrics(redis: Redis, prefix: string, buckets: readonly number[] = SCRAPE_DURATION_BUCKETS_SECONDS): Promise<ScrapeMetricsSnapshot> {
  const [scrapes, durations, rows] = await Promise.all([
    redis.hgetall(scrapeMetricsKeys.scrapes(prefix)),
    redis.hgetall(scrapeMetricsKeys.duration(prefix)),
    redis.hgetall(scrapeMetricsKeys.rows(prefix)),
  ]);
  const byVendor = new Map<string, Record<string, number>>();
  for (const [field, value] of Object.entries(durations)) {
    const [vendor, part] = split(field);
    const entry = byVendor.get(vendor) ?? {};
    entry[part] = Number(value);
    byVendor.set(vendor, entry);
  }
  const order = <T extends { vendor: string }>(list: T[]) => list.sort((a, b) => (a.vendor < b.vendor ? -1 : a.vendor > b.vendor ? 1 : 0));
  return {
    scrapes: order(Object.entries(scrapes).map(([field, value]) => {
      const [vendor, outcome] = split(field);
      return { vendor, outcome, count: Number(value) };
    })),
    durations: order(
      [...byVendor].map(([vendor, parts]) => ({
        vendor,
        // A bucket without a field was never reached: no attempt was that short.
        buckets: buckets.map((le) => ({ le, count: parts[String(le)] ?? 0 })),
        sum: (parts.sum_ms ?? 0) / 1000,
        count: parts.count ?? 0,
      })),
    ),
    rows: order(Object.entries(rows).map(([field, value]) => {
      const [vendor, kind] = split(field);
      return { vendor, kind: kind === 'price' ? ('price' as const) : ('failed' as const), count: Number(value) };
    })),
  };
}
