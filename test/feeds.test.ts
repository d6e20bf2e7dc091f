/**
 * The feeds on a running poller, every role in one process as `poller start` runs them: the scheduler sets the
 * spot and Goldback schedulers and catches up at start, the worker's feed jobs fill the database, the export
 * carries the files to the poller's branch, the merge to main, and the API server serves main as the StakTrakr
 * app reads it, with the feeds' ages on /healthz. The spot is the MetalPriceAPI simulator, the Goldback rate
 * the local fleet's official rate page.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { forwardRequest } from './support/forward-proxy.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { cp, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { loadConfig, type Config } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { createLogger } from '../src/log.js';
import { ensureLocalRemote } from '../src/publish/local-remote.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { openDatabase } from '../src/store/database.js';
import { SpotReference } from '../src/spot/spot-reference.js';
import { ensureSpotSchema } from '../src/spot/spot-schema.js';
import { SpotStore } from '../src/spot/spot-store.js';
import { PriceStore } from '../src/store/price-store.js';
import { feedSchedulerIds, SPOT_QUEUE_NAME } from '../queues/feed-jobs.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';
import { runPoller } from './support/cli.js';
import { waitUntil } from './support/wait.js';

const HOUR = 3_600_000;
/** A file of the fallback repository that main lacks (a real hourly file of March 2026, at another path). */
const OLD_HOURLY = 'data/hourly/2026/01/05/10.json';
const pad = (n: number) => String(n).padStart(2, '0');
const hourPath = (ms: number) => {
  const d = new Date(ms);
  return `hourly/${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}.json`;
};

/** A forward proxy (plain requests and CONNECT tunnels) that records the targets that passed through it. */
async function startRecordingProxy(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const target = new URL(req.url ?? '');
    seen.push(target.host);
    forwardRequest(req, res, { host: target.hostname, port: target.port, path: target.pathname + target.search, headers: { ...req.headers } });
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the feeds on a running poller', () => {
  const redis = testRedis('feeds');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  let poller: Poller;
  let store: PriceStore;
  let catalogue: Catalogue;
  let config: Config;
  let fallback: string;
  beforeAll(async () => {
    dir = await tempDir('feeds');
    const real = await loadCatalogue('config/providers.json');
    const pick = (slug: string, vendors: string[]) => ({ ...real.file.coins[slug], providers: real.file.coins[slug].providers.filter((p) => vendors.includes(p.id)) });
    const small: CatalogueFile = { ...real.file, coins: { ase: pick('ase', ['apmex', 'jmbullion']), 'goldback-utah-g1': pick('goldback-utah-g1', ['apmex', 'jmbullion']) } };
    fleet = await startFleet({ catalogue: small });
    proxy = await startRecordingProxy();
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'feeds');
    const db = `file:${join(dir.path, 'prices.db')}`;
    store = new PriceStore({ url: db });
    await store.migrate();
    const remote = join(dir.path, 'remote.git');
    await ensureLocalRemote(remote);
    // The fallback API repository of the nightly sync: it holds an old hourly file main lacks.
    fallback = join(dir.path, 'fallback.git');
    const scratch = join(dir.path, 'scratch');
    execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main', fallback]);
    execFileSync('git', ['clone', '--quiet', fallback, scratch], { stdio: 'ignore' });
    await mkdir(join(scratch, 'data/hourly/2026/01/05'), { recursive: true });
    await cp('test/fixtures/contract/StakTrakrApi/data/hourly/2026/03/14/15.json', join(scratch, OLD_HOURLY));
    const inScratch = (...args: string[]) => execFileSync('git', ['-C', scratch, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { stdio: 'ignore' });
    inScratch('add', '-A');
    inScratch('commit', '--quiet', '-m', 'old hourly file');
    inScratch('push', '--quiet', 'origin', 'HEAD:main');
    const base = loadConfig({
      POLLER_ID: 'api1',
      CATALOGUE_WATCH_MS: '0',
      API_PORT: '0',
      LOG_LEVEL: 'silent',
      SPOT_FEED: 'simulated',
      SPOT_BACKFILL_HOURS: '3',
      SPOT_HISTORY_FROM: new Date(Date.now() - 20 * 24 * HOUR).toISOString().slice(0, 10),
      SERVE_REFRESH_SECONDS: '1',
      SCHEDULER_CHECK_SECONDS: '1',
      EXPORT_MIN_INTERVAL_MS: '300',
    });
    config = {
      ...base,
      redisPrefix: redis.prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'recovery'),
      publishRemote: remote,
      publishDir: join(dir.path, 'publish'),
      publishBranches: ['api1'],
      goldback: { ...base.goldback, url: fleet.goldbackRateUrl },
      sync: { ...base.sync, fallbackRepo: fallback },
    };
    poller = await startPoller({
      config,
      logger: createLogger({ level: 'silent' }),
      roles: ['scheduler', 'worker', 'exporter', 'merger', 'api'],
      redisUrl: redis.url,
      store,
      catalogue,
      // The Goldback rate page is read with the `goldback` entry's HTTP settings: here through a recording proxy.
      vendors: vendorDirectory({ defaults: { concurrency: 2, rateLimit: null }, vendors: { goldback: { proxyUrl: proxy.url } } }, 1),
    });
    // Dealer rows now, so that the branch has a manifest (the schedulers' first runs are spread over 15 minutes).
    const ids = await enqueueScrapesNow(catalogue.targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 100 }, batchId: 'feeds' });
    await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 60_000 });
  }, 120_000);
  afterAll(async () => {
    await poller?.close();
    await store?.close();
    await fleet?.close();
    await proxy?.close();
    await redis.cleanup();
    await dir?.remove();
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${poller.api!.url}${path}`, { headers });

  it('publishes spot and Goldback through the queues to main, served at /data as the app reads it', async () => {
    const current = hourPath(Date.now());
    // The newest hour may be the previous one in the minute after a full hour (the current window not polled yet).
    await waitUntil('the spot and Goldback files served from main', async () => (await get(`/data/api/goldback-spot.json`)).status === 200 && (await get(`/data/${current}`)).status === 200, 90_000);
    const hourly = await get(`/data/${current}?_t=${Date.now()}`, { Origin: 'https://www.staktrakr.com' });
    expect(hourly.headers.get('access-control-allow-origin')).toBe('*');
    expect(hourly.headers.get('cache-control')).toBe('public, max-age=300');
    const entries = (await hourly.json()) as Array<{ spot: number; metal: string; timestamp: string; source: string }>;
    expect(new Set(entries.map((e) => e.metal))).toEqual(new Set(['Gold', 'Silver', 'Platinum', 'Palladium']));
    // The last element is the newest, as the app's health check reads it.
    expect(entries.at(-1)!.timestamp).toBe([...entries.map((e) => e.timestamp)].sort().at(-1));
    const gold = entries.filter((e) => e.metal === 'Gold').at(-1)!;
    expect(gold.spot).toBeGreaterThan(4000);
    expect(gold.spot).toBeLessThan(6000);

    const goldback = await get('/data/api/goldback-spot.json');
    const body = (await goldback.json()) as { g1_usd: number; confidence: string };
    // The fleet's official page states the truth. The rate read at start may come before the first dealer rows
    // (medium: nothing to compare); the dealers' goldback prices never contradict it (low).
    expect(body.g1_usd).toBe(fleet.goldbackRate());
    // Read through the proxy of the `goldback` entry of the vendor settings; the dealers' pages were not.
    expect(proxy.seen.length).toBeGreaterThan(0);
    expect(new Set(proxy.seen)).toEqual(new Set([new URL(fleet.goldbackRateUrl).host]));
    expect(['high', 'medium']).toContain(body.confidence);
    const etag = goldback.headers.get('etag')!;
    expect((await get('/data/api/goldback-spot.json', { 'If-None-Match': etag })).status).toBe(304);

    // The backfill filled the hours before this one; the history reached yesterday (weekdays only).
    for (const h of [1, 2]) expect((await get(`/data/${hourPath(Date.now() - h * HOUR)}`)).status).toBe(200);
    const year = new Date(Date.now() - 24 * HOUR).getUTCFullYear();
    const history = (await (await get(`/data/spot-history-${year}.json`)).json()) as Array<{ source: string; timestamp: string }>;
    expect(history.length).toBeGreaterThan(0);
    expect(history.every((e) => e.source === 'seed' && / 12:00:00$/.test(e.timestamp))).toBe(true);
  }, 120_000);

  it('reports every feed with its age on /healthz, 200 while all are fresh', async () => {
    await waitUntil('every feed fresh on /healthz', async () => (await get('/healthz')).status === 200 && ((await (await get('/healthz')).json()) as { staleFeeds: string[] }).staleFeeds.length === 0, 60_000).catch(() => undefined);
    const res = await get('/healthz');
    const health = (await res.json()) as { staleFeeds: string[]; feeds: Array<{ feed: string; ok: boolean; ageMinutes: number }>; served: { sha: string } };
    expect(health.feeds.map((f) => f.feed)).toEqual(['manifest', 'hourly', '15min', 'daily-seed', 'goldback']);
    // The daily seed: yesterday's history entry (or the last weekday's) is within its 4-day threshold.
    expect(health.staleFeeds).toEqual([]);
    expect(res.status).toBe(200);
    expect(health.served.sha).toMatch(/^[0-9a-f]{40}$/);
    // The same ages for Prometheus, and the feed queue's jobs.
    const metrics = await (await get('/metrics')).text();
    for (const feed of ['manifest', 'hourly', '15min', 'daily-seed', 'goldback']) expect(metrics).toMatch(new RegExp(`^staktrakr_feed_fresh\\{feed="${feed}"\\} 1$`, 'm'));
    expect(metrics).toMatch(/^staktrakr_feed_age_seconds\{feed="hourly"\} \d+$/m);
    expect(metrics).toMatch(/^staktrakr_queue_jobs\{queue="spot",state="completed"\} [1-9]\d*$/m);
  });

  it('poller feed-now runs one feed job through a running worker and prints its summary', async () => {
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, POLLER_ID: 'api1' };
    const goldback = await runPoller(['feed-now', 'goldback', '--json'], env);
    expect(goldback.code, goldback.out).toBe(0);
    const result = JSON.parse(goldback.out.slice(goldback.out.search(/^\{/m)));
    // A manual run reads the page again even though the day's rate is stored; the dealer rows exist by now.
    expect(result).toMatchObject({ kind: 'goldback', queue: 'spot', g1Usd: fleet.goldbackRate(), confidence: 'high' });
    const latest = await runPoller(['feed-now', 'spot-latest'], env);
    expect(latest.code, latest.out).toBe(0);
    expect(latest.out).toMatch(/^spot-latest: window \d{4}-\d{2}-\d{2} \d{2}:\d{2}:00: \d new of 4 metals .*\(job \S+ on spot, \d+ ms\)$/m);
    const bad = await runPoller(['feed-now', 'gold'], env);
    expect(bad.code).toBe(2);
    expect(bad.out).toMatch(/expected one feed job, one of spot-latest, spot-backfill, spot-history, goldback, sync \(not "gold"\)/);
    const off = await runPoller(['feed-now', 'sync'], env);
    expect(off.code).toBe(1);
    expect(off.out).toMatch(/the sync is off: set SYNC_FALLBACK_REPO/);
  }, 60_000);

  it('the sync copies what each API repository lacks from the other, one honest commit a side, and the merge keeps it', async () => {
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, POLLER_ID: 'api1', SYNC_FALLBACK_REPO: fallback };
    const files = (repo: string) => execFileSync('git', ['--git-dir', repo, 'ls-tree', '-r', '--name-only', 'main'], { encoding: 'utf8' }).trim().split('\n');
    const subject = (repo: string) => execFileSync('git', ['--git-dir', repo, 'log', '-1', '--format=%s', 'main'], { encoding: 'utf8' }).trim();
    const onMain = files(config.publishRemote).filter((f) => f.startsWith('data/'));
    const r = await runPoller(['feed-now', 'sync', '--json'], env);
    expect(r.code, r.out).toBe(0);
    const result = JSON.parse(r.out.slice(r.out.search(/^\{/m)));
    // main may gain a file between the listing and the sync (a new 15-minute window): N is what the sync saw.
    const n = Number(/^sync: \+1 files to primary, \+(\d+) to fallback, 0 differing left alone$/.exec(result.summary)?.[1]);
    expect(n, result.summary).toBeGreaterThanOrEqual(onMain.length);
    expect(subject(config.publishRemote)).toBe('sync: +1 files from fallback');
    expect(subject(fallback)).toBe(`sync: +${n} files from primary`);
    expect(files(config.publishRemote)).toContain(OLD_HOURLY);
    expect(files(fallback)).toEqual(expect.arrayContaining(onMain));
    // main is the merger's: its next merge keeps the feed file the sync brought.
    const merged = await runPoller(['merge-now'], { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, POLLER_ID: 'api1' });
    expect(merged.code, merged.out).toBe(0);
    expect(files(config.publishRemote)).toContain(OLD_HOURLY);
  }, 60_000);

  it('recreates the feed schedulers when Redis loses them', async () => {
    const queue = new Queue(SPOT_QUEUE_NAME, { connection: redis.connection, prefix: redis.prefix });
    try {
      expect(await queue.getJobScheduler(feedSchedulerIds.spotLatest('api1'))).toMatchObject({ every: 15 * 60_000 });
      expect(await queue.getJobScheduler(feedSchedulerIds.goldback('api1'))).toMatchObject({ pattern: '1 0 * * *' });
      await queue.removeJobScheduler(feedSchedulerIds.spotLatest('api1'));
      await waitUntil('the spot scheduler back', async () => (await queue.getJobScheduler(feedSchedulerIds.spotLatest('api1'))) !== undefined, 10_000);
    } finally {
      await queue.close();
    }
  });
});

describe('the spot the sanity check uses', () => {
  it('is the feed while fresh, the configured SPOT_USD_PER_OZ once the feed is older than SPOT_FRESH_MINUTES', async () => {
    const dir = await tempDir('spot-reference');
    const client = openDatabase({ url: `file:${join(dir.path, 'spot.db')}` });
    try {
      await ensureSpotSchema(client);
      const spot = new SpotStore(client);
      await spot.recordWindows([{ metal: 'Gold', window_start: '2026-12-07 10:00:00', spot: 5123.45, provider: 'MetalPriceAPI', source: 'latest', fetched_at: '2026-12-07T10:00:30.000Z', poller_id: 'api1', provider_at: null }]);
      const reference = new SpotReference(spot, { freshMs: 2 * HOUR, fallback: { gold: 4100, silver: 52 } });
      expect(reference.current()).toEqual({ gold: 4100, silver: 52 });
      expect(await reference.refresh(Date.parse('2026-12-07T11:00:00Z'))).toEqual({ gold: 5123.45, silver: 52 });
      expect(reference.current().gold).toBe(5123.45);
      expect(await reference.refresh(Date.parse('2026-12-07T12:30:00Z'))).toEqual({ gold: 4100, silver: 52 });
    } finally {
      client.close();
      await dir.remove();
    }
  });
});

describe('/healthz of an API server whose served tree has stale feeds', () => {
  it('answers 503 naming each stale feed, and still serves the tree', async () => {
    const redis = testRedis('feeds-stale');
    const dir = await tempDir('feeds-stale');
    let poller: Poller | null = null;
    try {
      // SERVE_FROM=export: the exporter's tree of this poller, here the real files of March 2026 (long stale).
      const tree = join(dir.path, 'publish', 'api1', 'tree', 'data');
      await mkdir(tree, { recursive: true });
      await cp('test/fixtures/contract/StakTrakrApi/data', tree, { recursive: true });
      const db = `file:${join(dir.path, 'prices.db')}`;
      const config: Config = {
        ...loadConfig({ POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '0', API_PORT: '0', LOG_LEVEL: 'silent', SERVE_FROM: 'export' }),
        redisPrefix: redis.prefix,
        databaseUrl: db,
        recoveryLogDir: join(dir.path, 'recovery'),
        publishDir: join(dir.path, 'publish'),
      };
      poller = await startPoller({ config, logger: createLogger({ level: 'silent' }), roles: ['api'], redisUrl: redis.url, catalogue: await loadCatalogue('config/providers.json') });
      const res = await fetch(`${poller.api!.url}/healthz`);
      const body = (await res.json()) as { ok: boolean; staleFeeds: string[]; feeds: Array<{ feed: string; problem?: string }> };
      expect(res.status).toBe(503);
      expect(body.ok).toBe(false);
      expect(body.staleFeeds).toEqual(['manifest', 'hourly', '15min', 'daily-seed', 'goldback']);
      expect(body.feeds.find((f) => f.feed === 'manifest')?.problem).toBe('stale');
      expect((await fetch(`${poller.api!.url}/data/api/manifest.json`)).status).toBe(200);
      // The platform's check judges this process's write path only: a stale feed must not take /data away.
      const live = await fetch(`${poller.api!.url}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toMatchObject({ ok: true, status: 'ok' });
    } finally {
      await poller?.close();
      await redis.cleanup();
      await dir.remove();
    }
  });
});
