import type { Redis } from 'ioredis';
import { readPublishLog, type PublishRecord } from './publish-log.js';
import type { HistogramCounts } from './scrape-metrics.js';

/**
 * Freshness of main as a histogram over merges, derived from the publish log (queues/publish-log.ts):
 * for each merge that committed, the seconds from the newest price's scrape to the end of the merge.
 *
 * The publish log keeps only the last 100 merges, and a Prometheus histogram must only grow, so merges are
 * folded into counters in Redis (`{prefix}:staktrakr:metrics:freshness`) once each, the first time /metrics
 * sees them: a Lua script keeps the end time of the newest merge folded, so several API servers on one Redis
 * never count a merge twice. Merges trimmed from the log before any /metrics request saw them (more than 100
 * between two scrapes: over 8 hours at the default cadence) are not counted.
 */

/** Upper bounds (seconds): the goal is fresh data every 5 minutes, an hour behind is an incident. */
export const FRESHNESS_BUCKETS_SECONDS: readonly number[] = [60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 21600, 86400];

export const freshnessKey = (prefix: string) => `${prefix}:staktrakr:metrics:freshness`;

/** Seconds from the newest price's scrape to the end of the merge that committed it; null for a merge that committed nothing. */
export function mergeFreshnessSeconds(record: PublishRecord): number | null {
  if (record.kind !== 'merge' || !record.ok || !record.committed || !record.newestDataAt) return null;
  const scraped = Date.parse(record.newestDataAt);
  if (Number.isNaN(scraped)) return null;
  return Math.max(0, record.at - scraped) / 1000;
}

// ARGV: bucket count, the bucket bounds (ms), then pairs of (merge end ms, freshness ms).
const FOLD = `
local key = KEYS[1]
local nb = tonumber(ARGV[1])
local seen = tonumber(redis.call('HGET', key, 'seen_at') or '0')
local newest = seen
local i = nb + 2
while i < #ARGV do
  local at = tonumber(ARGV[i])
  local v = tonumber(ARGV[i + 1])
  if at > seen then
    for b = 2, nb + 1 do
      if v <= tonumber(ARGV[b]) then redis.call('HINCRBY', key, 'le:' .. ARGV[b], 1) end
    end
    redis.call('HINCRBY', key, 'sum_ms', v)
    redis.call('HINCRBY', key, 'count', 1)
    if at > newest then newest = at end
  end
  i = i + 2
end
redis.call('HSET', key, 'seen_at', string.format('%d', newest))
return redis.call('HGETALL', key)
`;

/**
 * Folds the merges of `records` not folded before into the freshness histogram and returns it.
 * Idempotent: calling it again with the same records changes nothing.
 */
export async function foldMergeFreshness(redis: Redis, prefix: string, records: PublishRecord[], buckets: readonly number[] = FRESHNESS_BUCKETS_SECONDS): Promise<HistogramCounts> {
  const bounds = buckets.map((s) => String(Math.round(s * 1000)));
  const pairs: string[] = [];
  for (const r of records) {
    const seconds = mergeFreshnessSeconds(r);
    if (seconds !== null) pairs.push(String(Math.round(r.at)), String(Math.round(seconds * 1000)));
  }
  const flat = (await redis.eval(FOLD, 1, freshnessKey(prefix), String(bounds.length), ...bounds, ...pairs)) as string[];
  const h: Record<string, number> = {};
  for (let i = 0; i < flat.length; i += 2) h[flat[i]] = Number(flat[i + 1]);
  return {
    buckets: buckets.map((le, i) => ({ le, count: h[`le:${bounds[i]}`] ?? 0 })),
    sum: (h.sum_ms ?? 0) / 1000,
    count: h.count ?? 0,
  };
}

/** The publish log's figures for /metrics (the shape of src/api/metrics.ts `PublishFigures`). */
export interface PublishMetrics {
  last: Array<{ kind: PublishRecord['kind']; poller: string; at: number; ms: number; ok: boolean }>;
  failures: Array<{ kind: string; poller: string; count: number }>;
  lastFreshnessSeconds: number | null;
  newestPriceAt: number | null;
  /** Bytes of the SQLite snapshot on main, as the newest merge that knew it left it; null when unknown. */
  snapshotBytes: number | null;
  freshness: HistogramCounts;
}

/** Reads the publish log, folds new merges into the freshness histogram, and sums it up for /metrics. */
export async function readPublishMetrics(redis: Redis, prefix: string, buckets: readonly number[] = FRESHNESS_BUCKETS_SECONDS): Promise<PublishMetrics> {
  const log = await readPublishLog(redis, prefix);
  const freshness = await foldMergeFreshness(redis, prefix, log.recent.merge, buckets);
  const last = (['export', 'merge'] as const).flatMap((kind) =>
    Object.values(log.last[kind]).map((r) => ({ kind, poller: r.poller, at: r.at, ms: r.ms, ok: r.ok })),
  );
  const failures = Object.entries(log.failures).map(([key, count]) => {
    const colon = key.indexOf(':');
    return { kind: key.slice(0, colon), poller: key.slice(colon + 1), count };
  });
  // Newest first: the first merge that committed, and the first that saw any price on main.
  const lastCommitted = log.recent.merge.find((r) => mergeFreshnessSeconds(r) !== null);
  const seen = log.recent.merge.find((r) => r.ok && r.newestDataAt && !Number.isNaN(Date.parse(r.newestDataAt)));
  return {
    last,
    failures,
    lastFreshnessSeconds: lastCommitted ? mergeFreshnessSeconds(lastCommitted) : null,
    newestPriceAt: seen ? Date.parse(seen.newestDataAt!) : null,
    snapshotBytes: log.recent.merge.find((r) => r.ok && typeof r.snapshotBytes === 'number')?.snapshotBytes ?? null,
    freshness,
  };
}
