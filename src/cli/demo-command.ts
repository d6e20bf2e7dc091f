import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadCatalogue, parseCatalogue } from '../catalogue/load.js';
import { defaultStaggerMs, loadConfig, type Config } from '../config/env.js';
import { vendorDirectory } from '../config/vendors.js';
import { APP_READY_SELECTOR, DEFAULT_SPOT, startFleet, rewriteCatalogueForFleet } from '../fleet/index.js';
import { parsePromptTarget, startFakeGemini, type FakeGeminiHandle } from '../fleet/gemini-server.js';
import { BrowserPool } from '../browser/browser-pool.js';
import { INSTALL_CHROMIUM, locateChromium } from '../browser/chromium.js';
import { createLogger } from '../log.js';
import { deleteKeys } from '../redis/delete-keys.js';
import { ensureRedis } from '../redis/redis-server.js';
import { startPoller, type Poller, type Role } from '../roles/poller.js';
import { ensureLocalRemote, localBranches } from '../publish/local-remote.js';
import { exportQueueName, MERGE_QUEUE_NAME } from '../../queues/names.js';
import { runJobNow } from '../../queues/publish-jobs.js';
import { SPOT_QUEUE_NAME } from '../../queues/feed-jobs.js';
import { PriceStore } from '../store/price-store.js';
import { createRedisConnection } from '../../queues/connection.js';
import { enqueueScrapesNow, waitForJobs } from '../../queues/scrape-now.js';
import { readPublishLog } from '../../queues/publish-log.js';
import { progressReporter } from './progress.js';
import { untilSignal } from './signals.js';

export interface DemoArgs {
  once: boolean;
  /** Vision as a second reader, through a local server speaking Gemini's protocol (or the configured Gemini). */
  vision?: boolean;
  workdir: string;
  pollers: number;
  intervalMinutes: number;
  latencyMs: [number, number];
  catalogue: string;
}

/** Hours of hourly spot files the demo backfills: the 7 days the StakTrakr app reads on a first visit. */
const DEMO_BACKFILL_HOURS = 7 * 24;

/** Dealers the demo's fleet serves only to a browser: one renders its product by script, one sits behind a script challenge. */
const DEMO_BROWSER_VENDORS = { appShell: ['bullionexchanges'], challenge: ['summitmetals'] };

/** The local fleet is ours: the demo may be less polite to it than to real dealers. Its browser dealers use `auto`. */
const DEMO_VENDOR_SETTINGS = {
  defaults: { concurrency: 2, rateLimit: { max: 10, durationMs: 1000 }, timeoutMs: 10_000 },
  vendors: {
    jmbullion: { preorderInStock: true },
    monumentmetals: { preorderInStock: true },
    // The fleet is local: its pages settle within 100 ms of going quiet (real dealers keep the 500 ms default).
    bullionexchanges: { tier: 'auto' as const, waitForSelector: APP_READY_SELECTOR, settleMs: 100, timeoutMs: 20_000 },
    summitmetals: { tier: 'auto' as const, settleMs: 100, timeoutMs: 20_000 },
  },
};

/**
 * `poller demo`: the local vendor fleet, the real catalogue pointed at it, and N pollers (api1..apiN, staggered)
 * writing to one database. `--once` scrapes every target once per poller and exits when all jobs settled.
 */
export async function demoCommand(args: DemoArgs): Promise<number> {
  const workdir = resolve(args.workdir);
  await mkdir(workdir, { recursive: true });
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'demo' });
  const say = (line: string) => process.stdout.write(line + '\n');

  const real = await loadCatalogue(args.catalogue);
  const fleet = await startFleet({ catalogue: real.file, latencyMs: args.latencyMs, browserVendors: DEMO_BROWSER_VENDORS });
  const cataloguePath = join(workdir, 'providers.json');
  const rewritten = rewriteCatalogueForFleet(real.file, fleet.url);
  await writeFile(cataloguePath, JSON.stringify(rewritten, null, 2));
  const catalogue = parseCatalogue(JSON.stringify(rewritten), cataloguePath);
  say(`vendor fleet on ${fleet.url}: ${catalogue.targets.length} targets of ${new Set(catalogue.targets.map((t) => t.vendor)).size} vendors (catalogue: ${cataloguePath})`);

  const redis = await ensureRedis({ url: process.env.REDIS_URL, dataDir: workdir });
  say(redis.note);
  // Each run has keys of its own, removed when it stops: a restart never meets the previous run's jobs.
  const prefix = `demo-${randomBytes(3).toString('hex')}`;
  const admin = { user: 'demo', password: randomBytes(9).toString('base64url'), token: undefined, readOnly: false };
  const store = new PriceStore({ url: `file:${join(workdir, 'prices.db')}` });
  await store.migrate();
  const vendors = vendorDirectory(DEMO_VENDOR_SETTINGS, 2);
  const pollerIds = Array.from({ length: args.pollers }, (_, i) => `api${i + 1}`);
  const intervalMs = args.intervalMinutes * 60_000;
  const pollers: Poller[] = [];
  const remote = join(workdir, 'remote.git');
  // Vision: Gemini itself when a key and a base URL are given, else a local server speaking its protocol that reads
  // the fleet's truth (the coin and dealer named in the prompt) as a model reading the screenshot would.
  let gemini: FakeGeminiHandle | null = null;
  const envVision = loadConfig({ ...process.env, CATALOGUE_PATH: args.catalogue }).vision;
  const vision = !args.vision ? null : envVision.key && envVision.baseUrl ? envVision : await (async () => {
    gemini = await startFakeGemini({
      answer: (request) => {
        const target = parsePromptTarget(request.prompt);
        if (!target) return { status: 500, message: 'no target in the prompt' };
        const truth = fleet.truth(target.vendor, target.coin);
        return { json: { price: truth.price, in_stock: truth.inStock, stock_label: truth.inStock ? 'In stock' : 'Out of stock', confidence: 90 } };
      },
    });
    return { ...envVision, key: 'demo-local-gemini', baseUrl: gemini.url, perMinute: 1000, perDay: 100_000 };
  })();
  if (vision) say(`vision: each page's screenshot read through Gemini's protocol at ${gemini ? `${vision.baseUrl} (a local server answering from the fleet)` : vision.baseUrl} with model ${vision.model}, reconciled with the text scrape`);
  // The demo owns its remote: created here on purpose (a poller never creates one as it starts).
  if (await ensureLocalRemote(remote)) say(`created the demo's publishing remote ${remote}`);
  const control = createRedisConnection(redis.url, { blocking: false, connectionName: 'demo' });
  // One browser pool for the pollers of this process: the dealers the fleet serves only to a browser.
  const chromium = locateChromium(process.env.CHROMIUM_PATH);
  // With vision every page is also rendered for its screenshot: more pages, or the browser dealers wait on them.
  const pool = args.vision ? { browsers: 2, pagesPerBrowser: 4 } : { browsers: 1, pagesPerBrowser: 4 };
  const browserPool = chromium.path ? new BrowserPool({ executablePath: chromium.path, ...pool, logger }) : undefined;
  say(
    browserPool
      ? `browser tier: ${chromium.path}, ${pool.browsers} browser(s) with ${pool.pagesPerBrowser} pages for ${[...DEMO_BROWSER_VENDORS.appShell, ...DEMO_BROWSER_VENDORS.challenge].join(' and ')} (a script-rendered shop and a script challenge: tier auto)`
      : `browser tier off: ${INSTALL_CHROMIUM}; ${[...DEMO_BROWSER_VENDORS.appShell, ...DEMO_BROWSER_VENDORS.challenge].join(' and ')} stay unread`,
  );
  try {
    for (const [i, pollerId] of pollerIds.entries()) {
      const base = loadConfig({ ...process.env, POLLER_ID: pollerId, CATALOGUE_PATH: cataloguePath, REDIS_URL: redis.url, CATALOGUE_WATCH_MS: '0' });
      const config: Config = {
        ...base,
        redisPrefix: `${prefix}:${pollerId}`,
        databaseUrl: `file:${join(workdir, 'prices.db')}`,
        recoveryLogDir: join(workdir, 'recovery', pollerId),
        intervalMs,
        staggerMs: defaultStaggerMs(pollerId, intervalMs, pollerIds.length),
        scrapeBackoffMs: 1000,
        publishRemote: remote,
        publishDir: join(workdir, 'publish'),
        publishBranches: pollerIds,
        // The fleet prices its coins over this spot: the demo judges prices against melt as production will.
        spotUsdPerOz: { gold: DEFAULT_SPOT.gold, silver: DEFAULT_SPOT.silver, platinum: DEFAULT_SPOT.platinum, palladium: DEFAULT_SPOT.palladium },
        // Spot from MetalPriceAPI with a key, else its simulator (same model as the fleet's tickers); 7 days of hourly
        // files, what the app reads on a first visit. The Goldback rate from the fleet's official rate page.
        spotFeed: { ...base.spotFeed, backfillHours: Math.max(base.spotFeed.backfillHours, DEMO_BACKFILL_HOURS) },
        goldback: { ...base.goldback, url: fleet.goldbackRateUrl },
        serve: { ...base.serve, refreshMs: 5_000 },
        browser: { ...base.browser, screenshotDir: join(workdir, 'screenshots') },
        vision: vision ?? { ...base.vision, key: undefined },
      };
      const roles: Role[] = args.once ? ['worker', 'exporter', 'merger'] : ['scheduler', 'worker', 'exporter', 'merger'];
      // The first poller of the live demo serves the status page, Bull Board and metrics, with credentials of this run.
      if (!args.once && i === 0) roles.push('api');
      const api = !args.once && i === 0 ? { apiPort: await portOr(8080), admin } : {};
      pollers.push(await startPoller({ config: { ...config, ...api }, logger, roles, redisUrl: redis.url, store, catalogue, vendors, browserPool }));
    }
    say(`${pollers.length} pollers (${pollerIds.join(', ')}) writing to ${store.description}; recovery logs in ${join(workdir, 'recovery')}; Redis keys under ${prefix}:* (removed when the demo stops)`);
    const url = pollers[0].api?.url;
    if (url) {
      say(`status page ${url}/   Bull Board ${url}/admin/queues   metrics ${url}/metrics   (user ${admin.user}, password ${admin.password})`);
      say(`published API ${url}/data/api/manifest.json (main of ${remote}, as the StakTrakr app reads it; health with feed ages: ${url}/healthz)`);
      say(`poller status: TURSO_DATABASE_URL=file:${join(workdir, 'prices.db')} npx poller status`);
    }

    if (args.once) {
      const batchId = Date.now().toString(36);
      const all = new Map<string, string[]>();
      const settled = { completed: 0, failed: 0 };
      for (const p of pollers) {
        const ids = await enqueueScrapesNow(catalogue.targets, { connection: control, prefix: p.config.redisPrefix, pollerId: p.config.pollerId, policy: { attempts: 2, backoffMs: 1000 }, batchId });
        for (const [q, list] of ids) all.set(`${p.config.redisPrefix}|${q}`, list);
      }
      const total = [...all.values()].reduce((n, l) => n + l.length, 0);
      const progress = progressReporter(`scraping ${total} targets`);
      let done = 0;
      for (const p of pollers) {
        const mine = new Map([...all].filter(([k]) => k.startsWith(`${p.config.redisPrefix}|`)).map(([k, v]) => [k.split('|')[1], v]));
        const r = await waitForJobs(mine, { connection: control, prefix: p.config.redisPrefix, timeoutMs: 10 * 60_000, onProgress: (s) => progress(done + s, total) });
        done += r.completed + r.failed;
        settled.completed += r.completed;
        settled.failed += r.failed;
      }
      await printSummary(store, say);
      say(`all ${total} jobs settled: ${settled.completed} completed, ${settled.failed} failed`);

      // The feeds once, through the spot queue: the current spot window, the backfill, the history, the Goldback rate.
      const first = pollers[0].config;
      for (const name of ['spot-latest', 'spot-backfill', 'spot-history', 'goldback'] as const) {
        const r = await runJobNow(control, first.redisPrefix, SPOT_QUEUE_NAME, name, { pollerId: first.pollerId, cause: 'manual' }, `once-${name}-${batchId}`);
        say(`${name}: ${(JSON.parse(r) as { summary: string }).summary}`);
      }

      // Publish once through the queues: each poller's export, then one merge that sees every branch.
      for (const p of pollers) {
        const r = await runJobNow(control, p.config.redisPrefix, exportQueueName(p.config.pollerId), 'export', { pollerId: p.config.pollerId, cause: 'manual' }, `once-${batchId}`);
        say(`export ${p.config.pollerId}: ${r}`);
      }
      const merged = await runJobNow(control, pollers[0].config.redisPrefix, MERGE_QUEUE_NAME, 'merge', { cause: 'manual' }, `once-${batchId}`);
      say(`merge into main: ${merged}`);
      say(`published to ${remote}: branches ${(await localBranches(remote)).join(', ')}; try: git -C ${remote} log --oneline main`);
      return 0;
    }

    say(`scraping every ${args.intervalMinutes} min per target, spread per vendor, pollers staggered; publishing to ${remote}; Ctrl-C stops`);
    const published = publishingReporter(control, pollers.map((p) => p.config.redisPrefix), say);
    const timer = setInterval(() => void printSummary(store, say).then(published).catch(() => undefined), 5000);
    await untilSignal();
    clearInterval(timer);
    say('stopping...');
    return 0;
  } finally {
    await Promise.all(pollers.map((p) => p.close().catch(() => undefined)));
    await browserPool?.close();
    await deleteKeys(control, `${prefix}:*`);
    control.disconnect();
    await store.close();
    await fleet.close();
    await (gemini as FakeGeminiHandle | null)?.close();
    await redis.stop?.();
  }
}

async function printSummary(store: PriceStore, say: (line: string) => void): Promise<void> {
  const [counts, recent] = await Promise.all([store.counts(), store.recentRows(3)]);
  const perPoller = Object.entries(counts.byPoller).map(([p, n]) => `${p} ${n}`).join(', ');
  say(`[${new Date().toISOString().slice(11, 19)}] rows ${counts.rows} (${perPoller || 'none yet'}), failed ${counts.failed}`);
  for (const r of recent) {
    const price = r.price === null ? '-' : `$${Number(r.price).toFixed(2)}`;
    say(`    ${r.poller_id} ${r.coin_slug}@${r.vendor} ${price} ${r.outcome}${r.in_stock === 0 ? ' (out of stock)' : ''}`);
  }
}

/** `preferred` when it is free on loopback, else 0 (any free port). */
async function portOr(preferred: number): Promise<number> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(preferred, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
  return free ? preferred : 0;
}

/** Prints each export and merge once, as the publish log records them: the commit, its time, the age of the newest price on main. */
function publishingReporter(redis: ReturnType<typeof createRedisConnection>, prefixes: string[], say: (line: string) => void): () => Promise<void> {
  let since = Date.now();
  return async () => {
    const records = (await Promise.all(prefixes.map((p) => readPublishLog(redis, p)))).flatMap((log) => [...log.recent.export, ...log.recent.merge]);
    const fresh = records.filter((r) => r.at > since).sort((a, b) => a.at - b.at);
    for (const r of fresh) {
      const what = r.kind === 'export' ? `export ${r.poller} -> branch ${r.poller}` : 'merge -> main';
      const result = !r.ok ? `FAILED: ${r.error}` : r.committed ? `commit ${r.sha?.slice(0, 7)}` : 'nothing new';
      const age = r.kind === 'merge' && r.newestDataAt ? `; newest price on main ${Math.max(0, Math.round((r.at - Date.parse(r.newestDataAt)) / 1000))} s old` : '';
      say(`    ${what}: ${result} in ${(r.ms / 1000).toFixed(1)} s${age}`);
    }
    if (fresh.length) since = fresh.at(-1)!.at;
  };
}
