/**
 * /metrics over real HTTP: a worker poller scrapes the local vendor fleet on real Redis and writes a real libSQL
 * file; an API poller (another startPoller, its own connections, as in another process) serves the metrics.
 * The text is parsed by a Prometheus text-format parser and its values are checked against what BullMQ, the
 * database, the publish log and the recovery log hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createClient } from '@libsql/client';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { loadConfig, type Config } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { PriceStore } from '../src/store/price-store.js';
import { scrapeQueueName } from '../queues/names.js';
import { recordPublish } from '../queues/publish-log.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { parsePrometheus, sampleValue, type MetricFamily } from './support/prometheus.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';

const TOKEN = 'metrics-token-0123456789';

describe('/metrics after real scrapes', () => {
  const redis = testRedis('metrics');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let catalogue: Catalogue;
  let store: PriceStore;
  let db: string;
  let config: Config;
  let worker: Poller;
  let api: Poller;
  const jobs = new Map<string, { attempts: number; state: string }[]>();

  async function scrapeMetrics(): Promise<{ text: string; families: Map<string, MetricFamily>; type: string | null }> {
    const res = await fetch(api.api!.metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, families: parsePrometheus(text), type: res.headers.get('content-type') };
  }

  async function dbRows(): Promise<Array<{ vendor: string; is_failed: number; n: number }>> {
    const client = createClient({ url: db });
    try {
      return (await client.execute('SELECT vendor, is_failed, COUNT(*) AS n FROM price_snapshots GROUP BY vendor, is_failed')).rows.map((r) => ({ vendor: String(r.vendor), is_failed: Number(r.is_failed), n: Number(r.n) }));
    } finally {
      client.close();
    }
  }

  beforeAll(async () => {
    dir = await tempDir('metrics');
    const real = await loadCatalogue('config/providers.json');
    // Three coins at apmex and two of them at jmbullion as well.
    const coins = Object.entries(real.file.coins).filter(([, c]) => c.providers.some((p) => p.id === 'apmex' && p.enabled) && c.providers.some((p) => p.id === 'jmbullion' && p.enabled)).slice(0, 3);
    const small: CatalogueFile = {
      ...real.file,
      coins: Object.fromEntries(coins.map(([slug, c], i) => [slug, { ...c, providers: c.providers.filter((p) => p.id === 'apmex' || (i < 2 && p.id === 'jmbullion')) }])),
    };
    fleet = await startFleet({ catalogue: small, latencyMs: [30, 30] });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'metrics test');
    db = `file:${join(dir.path, 'prices.db')}`;
    config = {
      ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: redis.url, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn', API_PORT: '0', ADMIN_TOKEN: TOKEN }),
      redisPrefix: redis.prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'log'),
      // No export runs here: the requested exports wait in their queue, where the metrics see them.
      exportMinIntervalMs: 3_600_000,
    };
    store = new PriceStore({ url: db });
    await store.migrate();
    const logger = pino({ level: 'warn' });
    worker = await startPoller({ config, logger, roles: ['worker'], redisUrl: redis.url, store, catalogue, vendors: vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1) });
    api = await startPoller({ config, logger, roles: ['api'], redisUrl: redis.url, store, catalogue });

    // One apmex page answers 500 once: an `error` attempt, then its retry succeeds.
    const apmexFirst = catalogue.targets.find((t) => t.vendor === 'apmex')!;
    fleet.setTarget('apmex', apmexFirst.coin, { fault: '500', faultTimes: 1 });
    const ids = await enqueueScrapesNow(catalogue.targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 3, backoffMs: 200 }, batchId: 'metrics' });
    const settled = await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 50_000, pollMs: 100 });
    expect(settled.completed + settled.failed).toBe(catalogue.targets.length);
    for (const [name, list] of ids) {
      const q = new Queue(name, { connection: redis.connection, prefix: redis.prefix });
      try {
        const found = await Promise.all(list.map((id) => q.getJob(id)));
        jobs.set(name.replace(/^scrape\./, ''), await Promise.all(found.map(async (j) => ({ attempts: j!.attemptsMade, state: await j!.getState() }))));
      } finally {
        await q.close();
      }
    }
  });
  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await store?.close();
    await fleet?.close();
    await redis.cleanup();
    await dir?.remove();
  });

  it('parses as Prometheus text; every family is staktrakr_ with a HELP line; every source was read', async () => {
    const { families, type, text } = await scrapeMetrics();
    expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(families.size).toBeGreaterThan(10);
    for (const [name, f] of families) {
      expect(name).toMatch(/^staktrakr_/);
      expect(f.help.length, name).toBeGreaterThan(20);
      expect(text).toContain(`# HELP ${name} `);
    }
    for (const source of ['queues', 'scrapes', 'publish', 'recovery', 'database']) expect(sampleValue(families, 'staktrakr_metrics_source_up', { source }), source).toBe(1);
  });

  it('counts every scrape attempt by vendor and outcome, as BullMQ and the database saw them', async () => {
    const { families } = await scrapeMetrics();
    expect(families.get('staktrakr_scrapes_total')!.type).toBe('COUNTER');
    const scrapes = families.get('staktrakr_scrapes_total')!.metrics;
    const rows = await dbRows();
    for (const vendor of ['apmex', 'jmbullion']) {
      const mine = scrapes.filter((s) => s.labels!.vendor === vendor);
      const total = mine.reduce((n, s) => n + Number(s.value), 0);
      // Every attempt of every job: BullMQ's own count.
      expect(total, vendor).toBe(jobs.get(vendor)!.reduce((n, j) => n + j.attempts, 0));
      expect(total, vendor).toBeGreaterThan(0);
      // Rows written match the database, by kind.
      const inDb = (failed: number) => rows.filter((r) => r.vendor === vendor && r.is_failed === failed).reduce((n, r) => n + r.n, 0);
      expect(sampleValue(families, 'staktrakr_rows_written_total', { vendor, kind: 'price' }) ?? 0, vendor).toBe(inDb(0));
      expect(sampleValue(families, 'staktrakr_rows_written_total', { vendor, kind: 'failed' }) ?? 0, vendor).toBe(inDb(1));
      // Each job ends in exactly one row.
      expect(inDb(0) + inDb(1)).toBe(jobs.get(vendor)!.length);
    }
    // The page that answered 500 once: one `error` attempt at apmex, none at jmbullion.
    expect(sampleValue(families, 'staktrakr_scrapes_total', { vendor: 'apmex', outcome: 'error' })).toBe(1);
    expect(sampleValue(families, 'staktrakr_scrapes_total', { vendor: 'jmbullion', outcome: 'error' })).toBeUndefined();
    expect(sampleValue(families, 'staktrakr_scrapes_total', { vendor: 'apmex', outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('has a duration histogram per vendor whose count is the attempts', async () => {
    const { families } = await scrapeMetrics();
    const h = families.get('staktrakr_scrape_duration_seconds')!;
    expect(h.type).toBe('HISTOGRAM');
    for (const vendor of ['apmex', 'jmbullion']) {
      const m = h.metrics.find((s) => s.labels?.vendor === vendor)!;
      const attempts = jobs.get(vendor)!.reduce((n, j) => n + j.attempts, 0);
      expect(Number(m.count)).toBe(attempts);
      expect(Number(m.buckets!['+Inf'])).toBe(attempts);
      const counts = Object.entries(m.buckets!).sort(([a], [b]) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b))).map(([, v]) => Number(v));
      for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]);
      // Every page took at least the fleet's 30 ms.
      expect(Number(m.sum)).toBeGreaterThanOrEqual(0.03 * attempts * 0.9);
      expect(Number(m.buckets!['120'])).toBe(attempts);
    }
  });

  it('shows the queues by state: the scrape jobs completed, the exports the rows asked for, merge listed', async () => {
    const { families } = await scrapeMetrics();
    for (const vendor of ['apmex', 'jmbullion']) {
      const completed = jobs.get(vendor)!.filter((j) => j.state === 'completed').length;
      expect(sampleValue(families, 'staktrakr_queue_jobs', { queue: scrapeQueueName(vendor), state: 'completed' })).toBe(completed);
      expect(sampleValue(families, 'staktrakr_queue_jobs', { queue: scrapeQueueName(vendor), state: 'active' })).toBe(0);
    }
    // The afterScrape hook still asks for an export when a price is stored (throttled to one waiting job).
    const exportJobs = families.get('staktrakr_queue_jobs')!.metrics.filter((m) => m.labels!.queue === 'export.api1').reduce((n, m) => n + Number(m.value), 0);
    expect(exportJobs).toBe(1);
    expect(sampleValue(families, 'staktrakr_queue_jobs', { queue: 'merge', state: 'waiting' })).toBe(0);
    const total = (await dbRows()).reduce((n, r) => n + r.n, 0);
    expect(sampleValue(families, 'staktrakr_database_rows', { poller: 'api1' })).toBe(total);
  });

  it('reads exports and merges from the publish log: freshness gauge and histogram (each merge once), durations, failures', async () => {
    const t = Date.now() - 10_000;
    const rec = (r: Parameters<typeof recordPublish>[2]) => recordPublish(redis.connection, redis.prefix, r);
    await rec({ kind: 'export', poller: 'api1', at: t, ms: 1500, ok: true, committed: true, sha: 'a'.repeat(40) });
    await rec({ kind: 'merge', poller: 'api1', at: t + 1000, ms: 2500, ok: true, committed: true, sha: 'b'.repeat(40), newestDataAt: new Date(t + 1000 - 120_000).toISOString() });
    await rec({ kind: 'merge', poller: 'api1', at: t + 2000, ms: 3000, ok: true, committed: true, sha: 'c'.repeat(40), newestDataAt: new Date(t + 2000 - 400_000).toISOString(), snapshotBytes: 2_900_000 });
    // Nothing changed: no commit, not a freshness observation.
    await rec({ kind: 'merge', poller: 'api1', at: t + 3000, ms: 800, ok: true, committed: false, sha: 'c'.repeat(40), newestDataAt: new Date(t + 2000 - 400_000).toISOString() });
    await rec({ kind: 'export', poller: 'api1', at: t + 4000, ms: 700, ok: false, committed: false, sha: null, error: 'push rejected' });

    const first = (await scrapeMetrics()).families;
    expect(sampleValue(first, 'staktrakr_freshness_seconds')).toBe(400);
    expect(sampleValue(first, 'staktrakr_snapshot_bytes')).toBe(2_900_000);
    const h = first.get('staktrakr_merge_freshness_seconds')!.metrics[0];
    expect(Number(h.count)).toBe(2);
    expect(Number(h.sum)).toBe(520);
    expect(Number(h.buckets!['120'])).toBe(1);
    expect(Number(h.buckets!['300'])).toBe(1);
    expect(Number(h.buckets!['600'])).toBe(2);
    const age = sampleValue(first, 'staktrakr_main_newest_price_age_seconds')!;
    expect(age).toBeGreaterThanOrEqual(400 + 8);
    expect(age).toBeLessThan(400 + 60);
    expect(sampleValue(first, 'staktrakr_publish_last_duration_seconds', { kind: 'export', poller: 'api1' })).toBe(0.7);
    expect(sampleValue(first, 'staktrakr_publish_last_duration_seconds', { kind: 'merge', poller: 'api1' })).toBe(0.8);
    expect(sampleValue(first, 'staktrakr_publish_last_success', { kind: 'export', poller: 'api1' })).toBe(0);
    expect(sampleValue(first, 'staktrakr_publish_last_success', { kind: 'merge', poller: 'api1' })).toBe(1);
    expect(sampleValue(first, 'staktrakr_publish_last_end_timestamp_seconds', { kind: 'export', poller: 'api1' })).toBe((t + 4000) / 1000);
    expect(sampleValue(first, 'staktrakr_publish_failures_total', { kind: 'export', poller: 'api1' })).toBe(1);
    expect(sampleValue(first, 'staktrakr_publish_failures_total', { kind: 'merge', poller: 'api1' })).toBeUndefined();

    // Scraped again: the same merges are not counted twice; a new one is.
    expect(Number((await scrapeMetrics()).families.get('staktrakr_merge_freshness_seconds')!.metrics[0].count)).toBe(2);
    await rec({ kind: 'merge', poller: 'api1', at: Date.now(), ms: 900, ok: true, committed: true, sha: 'd'.repeat(40), newestDataAt: new Date(Date.now() - 30_000).toISOString() });
    const again = (await scrapeMetrics()).families;
    const h2 = again.get('staktrakr_merge_freshness_seconds')!.metrics[0];
    expect(Number(h2.count)).toBe(3);
    expect(Number(h2.buckets!['60'])).toBe(1);
    expect(sampleValue(again, 'staktrakr_freshness_seconds')).toBe(30);
  });

  it('reports the recovery log backlog from the pending markers', async () => {
    const before = (await scrapeMetrics()).families;
    expect(sampleValue(before, 'staktrakr_recovery_pending_markers')).toBe(0);
    expect(sampleValue(before, 'staktrakr_recovery_pending_lines')).toBe(0);
    // A process of another host left a marker at the start of an old log file of three rows.
    const logDir = config.recoveryLogDir;
    await writeFile(join(logDir, 'prices-2020-01-01.jsonl'), '{"a":1}\n{"a":2}\n{"a":3}\n');
    await mkdir(join(logDir, 'pending'), { recursive: true });
    await writeFile(join(logDir, 'pending', 'elsewhere-1-abcd.json'), JSON.stringify({ file: 'prices-2020-01-01.jsonl', offset: 0, host: 'elsewhere', pid: 1 }));
    const after = (await scrapeMetrics()).families;
    expect(sampleValue(after, 'staktrakr_recovery_pending_markers')).toBe(1);
    // Its three lines, and every row logged since (each row goes to the log before the database).
    const rows = (await dbRows()).reduce((n, r) => n + r.n, 0);
    expect(sampleValue(after, 'staktrakr_recovery_pending_lines')).toBe(3 + rows);
  });
});
