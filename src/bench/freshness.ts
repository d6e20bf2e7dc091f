import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureLocalRemote } from '../publish/local-remote.js';
import { QueueEvents } from 'bullmq';
import { createClient } from '@libsql/client';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import { loadConfig, type Config } from '../config/env.js';
import { vendorDirectory } from '../config/vendors.js';
import { DEFAULT_SPOT } from '../fleet/index.js';
import { startPoller, type Poller } from '../roles/poller.js';
import { PriceStore } from '../store/price-store.js';
import { createRedisConnection } from '../../queues/connection.js';
import { exportQueueName, MERGE_QUEUE_NAME } from '../../queues/names.js';
import { peakRssMb, percentile, round } from './stats.js';

export interface FreshnessOptions {
  redisUrl: string;
  prefix: string;
  /** Catalogue pointed at a fleet with realistic latency. */
  catalogue: Catalogue;
  workdir: string;
  logger: Logger;
  /** Scrape interval per target. Default 60 s (production: 15 min; the lag does not depend on it). */
  intervalMs?: number;
  /** Cycles measured. Default 3. */
  cycles?: number;
  progress?: (line: string) => void;
}

export interface FreshnessResult {
  pollers: number;
  cycles: number;
  intervalSec: number;
  rows: number;
  /** Rows whose export changed nothing (the same price again): already public, not counted. */
  rowsWithoutChange: number;
  rowsMeasured: number;
  p50Sec: number;
  p95Sec: number;
  maxSec: number;
  exports: number;
  merges: number;
  mainCommits: number;
  peakRssMb: number;
}

interface Run {
  poller?: string;
  processedOn: number;
  finishedOn: number;
  committed: boolean;
}

/** Collects finished export or merge jobs of one queue. */
function collect(queueName: string, prefix: string, redisUrl: string, into: Run[], poller?: string): { close(): Promise<void> } {
  const connection = createRedisConnection(redisUrl);
  const reader = createRedisConnection(redisUrl, { blocking: false });
  const events = new QueueEvents(queueName, { connection, prefix });
  events.on('completed', ({ jobId }) => {
    void readJob(reader, prefix, queueName, jobId).then((run) => run && into.push({ ...run, poller }));
  });
  return {
    async close() {
      await events.close();
      connection.disconnect();
      reader.disconnect();
    },
  };
}

/** A finished job's times and whether it committed, straight from its hash. */
async function readJob(redis: ReturnType<typeof createRedisConnection>, prefix: string, queue: string, id: string): Promise<Omit<Run, 'poller'> | null> {
  const h = await redis.hmget(`${prefix}:${queue}:${id}`, 'processedOn', 'finishedOn', 'returnvalue');
  if (!h[0] || !h[1]) return null;
  let committed = false;
  try {
    committed = JSON.parse(h[2] ?? 'null')?.committed === true;
  } catch {
    /* no result */
  }
  return { processedOn: Number(h[0]), finishedOn: Number(h[1]), committed };
}

/**
 * Freshness lag: three pollers with scheduler, workers, exporter and merger against the fleet, for a few cycles.
 * A row is public when a commit on main carries it: the first export of its poller that started after the row
 * was written, then the first merge commit that started after that export's push.
 */
export async function measureFreshness(options: FreshnessOptions): Promise<FreshnessResult> {
  const say = options.progress ?? (() => undefined);
  const intervalMs = options.intervalMs ?? 60_000;
  const cycles = options.cycles ?? 3;
  const pollerIds = ['api1', 'api2', 'api3'];
  await mkdir(options.workdir, { recursive: true });
  const dbUrl = `file:${join(options.workdir, 'fresh.db')}`;
  const store = new PriceStore({ url: dbUrl });
  await store.migrate();
  const vendors = vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1);
  const remote = join(options.workdir, 'fresh-remote.git');
  // The bench owns its remote: created here on purpose (a poller never creates one as it starts).
  await ensureLocalRemote(remote);
  const exportsRun: Run[] = [];
  const mergesRun: Run[] = [];
  const listeners: Array<{ close(): Promise<void> }> = [];
  const pollers: Poller[] = [];
  const started = Date.now();
  try {
    for (const [i, pollerId] of pollerIds.entries()) {
      const base = loadConfig({ POLLER_ID: pollerId, REDIS_URL: options.redisUrl, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn' });
      const config: Config = {
        ...base,
        redisPrefix: `${options.prefix}:${pollerId}`,
        databaseUrl: dbUrl,
        recoveryLogDir: join(options.workdir, 'fresh-log', pollerId),
        intervalMs,
        staggerMs: Math.floor((i * intervalMs) / pollerIds.length),
        publishRemote: remote,
        publishDir: join(options.workdir, 'fresh-publish'),
        publishBranches: pollerIds,
        spotUsdPerOz: { gold: DEFAULT_SPOT.gold, silver: DEFAULT_SPOT.silver, platinum: DEFAULT_SPOT.platinum, palladium: DEFAULT_SPOT.palladium },
      };
      listeners.push(collect(exportQueueName(pollerId), config.redisPrefix, options.redisUrl, exportsRun, pollerId));
      listeners.push(collect(MERGE_QUEUE_NAME, config.redisPrefix, options.redisUrl, mergesRun));
      pollers.push(await startPoller({ config, logger: options.logger, roles: ['scheduler', 'worker', 'exporter', 'merger'], redisUrl: options.redisUrl, store, catalogue: options.catalogue, vendors }));
    }
    const runMs = cycles * intervalMs;
    for (let t = 0; t < runMs; t += 15_000) {
      await new Promise((r) => setTimeout(r, Math.min(15_000, runMs - t)));
      say(`  ${Math.round((Date.now() - started) / 1000)} s: ${exportsRun.filter((e) => e.committed).length} branch commits, ${mergesRun.filter((m) => m.committed).length} merges on main`);
    }
    // Stop scraping, then give the last rows time to reach main (throttle + export + merge).
    await Promise.all(pollers.map((p) => p.scheduler?.close()));
    await Promise.all(pollers.map((p) => p.worker?.close()));
    await new Promise((r) => setTimeout(r, pollers[0].config.exportMinIntervalMs + 12_000));
  } finally {
    await Promise.all(pollers.map((p) => p.close().catch(() => undefined)));
    await Promise.all(listeners.map((l) => l.close()));
  }

  const client = createClient({ url: dbUrl });
  const rows = (await client.execute('SELECT poller_id, scraped_at FROM price_snapshots WHERE is_failed = 0')).rows;
  client.close();
  await store.close();
  const merges = mergesRun.filter((m) => m.committed).sort((a, b) => a.processedOn - b.processedOn);
  const lags: number[] = [];
  let withoutChange = 0;
  for (const r of rows) {
    const written = Date.parse(String(r.scraped_at));
    const exp = exportsRun.filter((e) => e.poller === r.poller_id && e.processedOn > written).sort((a, b) => a.processedOn - b.processedOn)[0];
    if (!exp) continue;
    if (!exp.committed) {
      withoutChange++;
      continue;
    }
    const merge = merges.find((m) => m.processedOn > exp.finishedOn);
    if (merge) lags.push((merge.finishedOn - written) / 1000);
  }
  return {
    pollers: pollerIds.length,
    cycles,
    intervalSec: intervalMs / 1000,
    rows: rows.length,
    rowsWithoutChange: withoutChange,
    rowsMeasured: lags.length,
    p50Sec: round(percentile(lags, 50), 1),
    p95Sec: round(percentile(lags, 95), 1),
    maxSec: round(Math.max(...lags), 1),
    exports: exportsRun.length,
    merges: mergesRun.length,
    mainCommits: merges.length,
    peakRssMb: peakRssMb(),
  };
}
