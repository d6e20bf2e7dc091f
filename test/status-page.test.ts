/**
 * The status page: its state rules (pure), its readers (git heads, recovery backlog), and the page itself on a
 * running system driven to known states (the vendor fleet with faults, real workers on real Redis, a libSQL file,
 * a real export and merge into a bare remote), checked cell by cell in headless Chromium at 1280x800 and 390x844,
 * and its JSON over plain HTTP.
 *
 * The screenshot in docs/status-page.png comes from this test:
 *   npm run -s build && STATUS_PAGE_SCREENSHOT=docs/status-page.png npx vitest run test/status-page.test.ts
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pino } from 'pino';
import type { Browser, Page } from 'puppeteer-core';
import { ageState, cellState, countStates, FRESH_INTERVALS, type CellOutcome } from '../src/api/cell-state.js';
import { buildGrid, cached, dealerFeed, gatherStatus, spotFeed, visionFeed, type StatusSources } from '../src/api/status-data.js';
import { esc, longAge, renderStatusPage, shortAge } from '../src/api/status-html.js';
import { parseRefresh } from '../src/api/status-page.js';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { loadConfig, type Config } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { DEFAULT_SPOT, rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { readBranchHeads } from '../src/publish/branch-heads.js';
import { ensureLocalRemote } from '../src/publish/local-remote.js';
import { readRecoveryBacklog } from '../src/recovery/pending-backlog.js';
import { RecoveryLog } from '../src/recovery/recovery-log.js';
import { startApiRole, type ApiRole } from '../src/roles/api.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import type { PriceRow } from '../src/store/price-row.js';
import { PriceStore, type TargetOutcome } from '../src/store/price-store.js';
import { windowStart } from '../src/time/window.js';
import { exportQueueName, MERGE_QUEUE_NAME } from '../queues/names.js';
import { runJobNow } from '../queues/publish-jobs.js';
import { readPublishLog } from '../queues/publish-log.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { launchChromium } from './support/chromium.js';
import { startGitHttpServer } from './support/git-http-server.js';
import { testRedis } from './support/redis.js';
import { sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function git(gitDir: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0', ...env } }).trim();
}

/** A commit of `tree` (or an empty tree) dated `at`, set as `branch` of the bare repository. */
function commitAt(gitDir: string, branch: string, at: number, tree?: string): string {
  const when = `${Math.floor(at / 1000)} +0000`;
  const identity = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.org', GIT_AUTHOR_DATE: when, GIT_COMMITTER_DATE: when };
  const treeId = tree ?? git(gitDir, ['hash-object', '-t', 'tree', '-w', '/dev/null']);
  const sha = git(gitDir, ['commit-tree', treeId, '-m', `${branch}: test commit`], identity);
  git(gitDir, ['update-ref', `refs/heads/${branch}`, sha]);
  return sha;
}

function outcome(over: Partial<CellOutcome> = {}): CellOutcome {
  return {
    last_attempt_at: iso(NOW - 5 * MIN),
    last_outcome: 'ok',
    last_success_at: iso(NOW - 5 * MIN),
    last_price: 34.5,
    last_error: null,
    last_error_at: null,
    consecutive_failures: 0,
    ...over,
  };
}

describe('cell state rules', () => {
  const interval = 15 * MIN;
  const state = (o: CellOutcome | null, extra: { streakSince?: string; lastRowPrice?: number } = {}) => cellState({ outcome: o, intervalMs: interval, now: NOW, ...extra });

  it('fresh within two scrape intervals, stale beyond, with the last price and its age', () => {
    expect(FRESH_INTERVALS).toBe(2);
    expect(state(outcome())).toMatchObject({ state: 'fresh', price: 34.5, ageMs: 5 * MIN, since: null, failures: 0 });
    expect(state(outcome({ last_success_at: iso(NOW - 30 * MIN) })).state).toBe('fresh');
    expect(state(outcome({ last_success_at: iso(NOW - 30 * MIN - 1) })).state).toBe('stale');
    expect(state(outcome({ last_success_at: iso(NOW - 3 * HOUR) }))).toMatchObject({ state: 'stale', price: 34.5, ageMs: 3 * HOUR });
    // The target's own interval counts: an hourly target is fresh for two hours.
    expect(cellState({ outcome: outcome({ last_success_at: iso(NOW - 90 * MIN) }), intervalMs: HOUR, now: NOW }).state).toBe('fresh');
    // A clock a little ahead is no negative age.
    expect(state(outcome({ last_success_at: iso(NOW + 2000) })).ageMs).toBe(0);
  });

  it('out of stock when the last read says so, unless that read is stale', () => {
    expect(state(outcome({ last_outcome: 'out_of_stock' }))).toMatchObject({ state: 'out_of_stock', price: 34.5 });
    expect(state(outcome({ last_outcome: 'out_of_stock', last_success_at: iso(NOW - 2 * HOUR) })).state).toBe('stale');
  });

  it('failing since the first failure of the streak, else since the last success', () => {
    const failing = outcome({ last_outcome: 'error', last_success_at: iso(NOW - 2 * HOUR), last_error: 'HTTP 500', last_error_at: iso(NOW - MIN), consecutive_failures: 3 });
    expect(state(failing, { streakSince: iso(NOW - HOUR) })).toMatchObject({ state: 'failing', since: iso(NOW - HOUR), sinceMs: HOUR, failures: 3, reason: 'HTTP 500', price: 34.5 });
    expect(state(failing)).toMatchObject({ state: 'failing', since: iso(NOW - 2 * HOUR) });
    // Never a success: since the last error.
    expect(state({ ...failing, last_success_at: null, last_price: null })).toMatchObject({ state: 'failing', since: iso(NOW - MIN), price: null });
    // Failure wins over age: however old the price, the cell says failing.
    expect(state({ ...failing, last_success_at: iso(NOW - 48 * HOUR) }).state).toBe('failing');
    for (const o of ['not_found', 'wrong_product', 'no_price', 'error']) expect(state({ ...failing, last_outcome: o }).state).toBe('failing');
  });

  it('blocked on a bot wall or the worker\'s vendor-blocked reason; rejected by the spot check with the refused price', () => {
    const failed = outcome({ last_outcome: 'blocked', last_error: 'bot wall (HTTP 403)', consecutive_failures: 1 });
    expect(state(failed).state).toBe('blocked');
    expect(state({ ...failed, last_outcome: 'error', last_error: 'vendor blocked: all 6 of its pages answered with a bot wall since 2026-12-07T11:00:00Z' }).state).toBe('blocked');
    const rejected = outcome({ last_outcome: 'rejected', last_error: 'below melt', consecutive_failures: 2 });
    expect(state(rejected, { lastRowPrice: 612.5 })).toMatchObject({ state: 'rejected', rejectedPrice: 612.5, price: 34.5, failures: 2 });
    // A past error is no state once the target succeeds again (the table keeps the last error).
    expect(state(outcome({ last_error: 'vendor blocked: ...', last_outcome: 'ok' })).state).toBe('fresh');
  });

  it('never scraped; and ages of branch heads and feeds', () => {
    expect(state(null)).toMatchObject({ state: 'never', price: null, ageMs: null });
    expect(ageState(iso(NOW - 10 * MIN), NOW, 30 * MIN)).toBe('fresh');
    expect(ageState(iso(NOW - 31 * MIN), NOW, 30 * MIN)).toBe('stale');
    expect(ageState(null, NOW, 30 * MIN)).toBe('none');
    expect(countStates(['fresh', 'fresh', 'stale'])).toMatchObject({ fresh: 2, stale: 1, failing: 0, unlisted: 0 });
  });
});

describe('status data and rendering', () => {
  const config: Config = { ...loadConfig({ POLLER_ID: 'api1' }), spotUsdPerOz: { gold: 4100, silver: 52 } };
  const catalogue = parseCatalogue(
    JSON.stringify({
      coins: {
        ase: { name: 'American Silver Eagle <1 oz>', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', name: 'APMEX & Co', url: 'https://a.example/ase' }, { id: 'jm', name: 'JM "Bullion"', url: 'https://j.example/ase' }] },
        'evil-coin': { name: '<img src=x onerror="window.pwned=1">', metal: 'gold', weight_oz: 1, providers: [{ id: 'apmex', url: 'https://a.example/evil' }] },
      },
    }),
  );
  const row = (coin: string, vendor: string, poller: string, o: Partial<CellOutcome>): TargetOutcome => ({ poller_id: poller, coin_slug: coin, vendor, ...outcome(o) });

  it('builds every coin x vendor cell of the catalogue, unlisted pairs included', () => {
    const grid = buildGrid(catalogue, config, [row('ase', 'apmex', 'api1', {})], [], NOW);
    expect(grid.coins.map((c) => c.slug)).toEqual(['ase', 'evil-coin']);
    expect(grid.vendors).toEqual([{ id: 'apmex', name: 'APMEX & Co' }, { id: 'jm', name: 'JM "Bullion"' }]);
    expect(grid.cells.map((c) => `${c.coin}@${c.vendor}:${c.state}`)).toEqual(['ase@apmex:fresh', 'ase@jm:never', 'evil-coin@apmex:never', 'evil-coin@jm:unlisted']);
  });

  it('feeds: dealer scrapes by age, the spot source and its fallback', async () => {
    const ctx = { config, now: NOW, targets: catalogue.targets, outcomes: [row('ase', 'apmex', 'api2', {}), row('ase', 'jm', 'api1', { last_success_at: iso(NOW - 5 * HOUR) })] };
    expect(await dealerFeed(ctx)).toMatchObject({ id: 'dealers', state: 'fresh', lastAt: iso(NOW - 5 * MIN), detail: expect.stringMatching(/^1 of 3 targets/) });
    expect(await spotFeed(ctx)).toMatchObject({ id: 'spot', state: 'configured', detail: expect.stringMatching(/^the built-in simulator: NOT real prices .*; fallback gold \$4100, silver \$52 \(SPOT_USD_PER_OZ\)$/) });
    const api = { ...config, spotFeed: { ...config.spotFeed, mode: 'api' as const } };
    expect((await spotFeed({ ...ctx, config: api })).detail).toMatch(/^MetalPriceAPI, every 15 min; fallback gold \$4100/);
    const off = { ...config, spotFeed: { ...config.spotFeed, mode: 'off' as const } };
    expect((await spotFeed({ ...ctx, config: off })).state).toBe('configured');
    expect((await spotFeed({ ...ctx, config: { ...off, spotUsdPerOz: {} } })).state).toBe('missing');
    expect((await dealerFeed({ ...ctx, outcomes: [] })).state).toBe('missing');
  });

  it('feeds: vision off, working, or over its budget (the text result then stands alone)', async () => {
    const ctx = { config, now: NOW, targets: catalogue.targets, outcomes: [] };
    expect(await visionFeed(null)(ctx)).toMatchObject({ id: 'vision', state: 'missing', detail: expect.stringMatching(/^off: no GEMINI_API_KEY/) });
    const figures = (day: number) => async () => ({ model: 'gemini-test', used: { minute: 1, day, perMinute: 10, perDay: 100 }, lastHour: { reads: 5, byOutcome: { ok: 4, timeout: 1 }, byAgreement: { agree: 3, disagree: 1 } } });
    expect(await visionFeed(figures(40))(ctx)).toMatchObject({ state: 'configured', detail: 'gemini-test: 40 of 100 reads today; last hour 4 ok, 1 timeout (3 agree, 1 disagree)' });
    expect(await visionFeed(figures(100))(ctx)).toMatchObject({ state: 'stale', detail: expect.stringMatching(/GEMINI_MAX_PER_DAY \(100\) spent until 00:00 UTC: the text result stands alone$/) });
  });

  it('gathers with failing sources shown in their sections, and escapes everything it renders', async () => {
    const sources: StatusSources = {
      counts: async () => ({ rows: 3, failed: 1, byPoller: { api1: 3 } }),
      outcomes: async () => [row('ase', 'apmex', 'api1', { last_outcome: 'error', last_error: '<b>boom</b>', consecutive_failures: 1 })],
      failureStreaks: async () => [{ coin_slug: 'ase', vendor: 'apmex', since: iso(NOW - 7 * MIN), last_row_price: null }],
      branchHeads: async () => {
        throw new Error('remote <down>');
      },
      recoveryBacklog: async () => {
        throw new Error('disk <gone>');
      },
    };
    const data = await gatherStatus({ config, catalogue, view: 'api1', now: NOW, sources });
    expect(data).toMatchObject({ poller: 'api1', rows: { rows: 3 }, targets: 1, failing: [{ coin_slug: 'ase' }], summary: { failing: 1, never: 2 } });
    expect(data.pollers.map((p) => [p.id, p.branch.state])).toEqual([['api1', 'error'], ['api2', 'error'], ['api3', 'error']]);
    expect(data.recovery).toMatchObject({ error: 'disk <gone>' });
    expect(data.publishLog).toMatchObject({ available: false });
    const cell = data.grid.cells.find((c) => c.coin === 'ase' && c.vendor === 'apmex')!;
    expect(cell).toMatchObject({ state: 'failing', since: iso(NOW - 7 * MIN) });

    const html = renderStatusPage(data, { refreshSeconds: 15 });
    expect(html).not.toMatch(/<img|<b>boom|remote <down>|disk <gone>/);
    expect(html).toContain('&lt;img src=x onerror=&quot;window.pwned=1&quot;&gt;');
    expect(html).toContain('APMEX &amp; Co');
    expect(html).toContain('&lt;b&gt;boom&lt;/b&gt;');
    expect(html).toContain('<meta http-equiv="refresh" content="15">');
    expect(html).toContain('publish log unavailable');
    expect(esc(`<a href="x" onclick='y'>&`)).toBe('&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;');
    expect(renderStatusPage(data, { refreshSeconds: 0 })).not.toMatch(/<script|http-equiv/);
  });

  it('formats ages and reads the refresh parameter', () => {
    expect([shortAge(45_000), shortAge(12 * MIN), shortAge(3 * HOUR), shortAge(72 * HOUR)]).toEqual(['45s', '12m', '3h', '3d']);
    expect([longAge(45_000), longAge(12 * MIN), longAge(3 * HOUR + 5 * MIN), longAge(52 * HOUR), longAge(null)]).toEqual(['45 s', '12 min', '3 h 5 min', '2 d 4 h', 'never']);
    expect([parseRefresh('5'), parseRefresh('0'), parseRefresh('1'), parseRefresh('x'), parseRefresh('99999'), parseRefresh(undefined)]).toEqual([5, 0, undefined, undefined, undefined, undefined]);
  });

  it('caches a read for its time to live, errors included, one flight for concurrent callers', async () => {
    let clock = 0;
    let calls = 0;
    const read = cached(async () => {
      calls++;
      if (calls === 2) throw new Error('down');
      return calls;
    }, 5000, () => clock);
    expect(await Promise.all([read(), read()])).toEqual([1, 1]);
    clock = 4999;
    expect(await read()).toBe(1);
    clock = 5000;
    await expect(read()).rejects.toThrow('down');
    clock = 6000;
    await expect(read()).rejects.toThrow('down');
    clock = 10_000;
    expect(await read()).toBe(3);
  });
});

describe('status readers: branch heads and the recovery backlog', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('status-readers');
  });
  afterAll(async () => dir?.remove());

  it('reads commit times of a local bare remote; a missing branch or remote is not yet published', async () => {
    const remote = join(dir.path, 'local.git');
    execFileSync('git', ['init', '--bare', '--quiet', remote]);
    const old = commitAt(remote, 'api2', NOW - 3 * HOUR);
    commitAt(remote, 'api1/nested', NOW); // a prefix match, not api1
    const heads = await readBranchHeads({ remoteUrl: remote, branches: ['api1', 'api2', 'main'], workDir: join(dir.path, 'cache') });
    expect(heads).toEqual([
      { branch: 'api1', sha: null, committedAt: null, missing: true },
      { branch: 'api2', sha: old, committedAt: iso(NOW - 3 * HOUR), missing: false },
      { branch: 'main', sha: null, committedAt: null, missing: true },
    ]);
    const none = await readBranchHeads({ remoteUrl: join(dir.path, 'not-created.git'), branches: ['api1'], workDir: join(dir.path, 'cache') });
    expect(none).toEqual([{ branch: 'api1', sha: null, committedAt: null, missing: true }]);
  });

  it('reads an https-style remote with its token (ls-remote and a shallow fetch), and names no secret when it fails', async () => {
    const root = join(dir.path, 'http');
    const bare = join(root, 'api.git');
    await mkdir(root, { recursive: true });
    execFileSync('git', ['init', '--bare', '--quiet', bare]);
    const sha = commitAt(bare, 'main', NOW - 20 * MIN);
    const token = 'status-token-0123456789abcdef';
    const server = await startGitHttpServer({ projectRoot: root, token });
    try {
      const remoteUrl = `${server.url}/api.git`;
      const heads = await readBranchHeads({ remoteUrl, token, branches: ['main', 'api1'], workDir: join(dir.path, 'http-cache') });
      expect(heads).toEqual([
        { branch: 'main', sha, committedAt: iso(NOW - 20 * MIN), missing: false },
        { branch: 'api1', sha: null, committedAt: null, missing: true },
      ]);
      const first = server.requests.length; // ls-remote, then a fetch of the tip
      expect(server.requests.every((r) => r.authorization?.startsWith('Basic '))).toBe(true);
      // Again: the tip is in the cache, so only ls-remote goes out.
      await readBranchHeads({ remoteUrl, token, branches: ['main'], workDir: join(dir.path, 'http-cache') });
      expect(server.requests.length - first).toBeLessThan(first);
      const wrong = await readBranchHeads({ remoteUrl, token: 'wrong-token-abcdef0123456', branches: ['main'], workDir: join(dir.path, 'http-cache-2') });
      expect(wrong[0]).toMatchObject({ branch: 'main', sha: null, missing: false, error: expect.stringMatching(/could not read/) });
      expect(wrong[0].error).not.toContain('wrong-token-abcdef0123456');
    } finally {
      await server.stop();
    }
  });

  it('counts the rows after the oldest pending marker, and says whether its process still runs', async () => {
    const logDir = join(dir.path, 'recovery');
    expect(await readRecoveryBacklog(logDir)).toMatchObject({ markers: [], rows: 0, logFiles: 0 });
    const log = new RecoveryLog(logDir);
    const positions = [];
    for (let i = 0; i < 10; i++) positions.push(await log.append({ key: `k${i}` } as unknown as PriceRow, new Date(NOW)));
    await mkdir(join(logDir, 'pending'), { recursive: true });
    const dead = spawnSync('true').pid!;
    await writeFile(join(logDir, 'pending', 'gone.json'), JSON.stringify({ ...positions[7], host: hostname(), pid: dead }));
    let backlog = await readRecoveryBacklog(logDir);
    expect(backlog).toMatchObject({ rows: 3, logFiles: 1, approximate: false, markers: [{ alive: false, pid: dead }] });
    await writeFile(join(logDir, 'pending', 'alive.json'), JSON.stringify({ ...positions[4], host: hostname(), pid: process.pid }));
    backlog = await readRecoveryBacklog(logDir);
    expect(backlog.rows).toBe(6);
    expect(backlog.markers.map((m) => m.alive).sort()).toEqual([false, true]);
  });
});

describe('the status page of a running system, in Chromium', () => {
  const redis = testRedis('status');
  const TOKEN = 'ghp_statusPageSecret0123456789';
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let catalogue: Catalogue;
  let store: PriceStore;
  let poller: Poller;
  let api: ApiRole;
  let browser: Browser;
  let page: Page;
  let remote: string;
  let config: Config;
  let started: number;
  const logs: string[] = [];

  // Known states.
  const FAILING_VENDOR = 'summitmetals';
  const BLOCKED_VENDOR = 'herobullion';
  const OUT_OF_STOCK = { coin: 'ase', vendor: 'apmex' };
  const REJECTED = { coin: 'age', vendor: 'jmbullion' };
  const STREAK = { coin: 'ase', vendor: FAILING_VENDOR };
  const STALE = { coin: 'maple-silver', vendor: 'providentmetals' };
  const NEVER = { coin: 'koala-silver', vendor: 'monumentmetals' };
  const SECRET = { coin: 'buffalo', vendor: 'bullionexchanges' };
  const excluded = [STALE, NEVER, SECRET];
  const key = (t: { coin: string; vendor: string }) => `${t.coin}@${t.vendor}`;
  let streakSince: string;
  let recoveryRows: number;

  const seed = (t: { coin: string; vendor: string }, poller: string, at: number, over: Partial<PriceRow>, n: string): PriceRow =>
    sampleRow(0, { key: `${poller}/seed/${t.coin}/${t.vendor}/${n}`, poller_id: poller, scraped_at: iso(at), window_start: windowStart(at), coin_slug: t.coin, vendor: t.vendor, price: 60, ...over });

  beforeAll(async () => {
    dir = await tempDir('status-page');
    const real = await loadCatalogue('config/providers.json');
    // A fixed market clock: the fleet's prices never move to a new window while the test runs, and every run
    // (and the screenshot) sees the same market.
    fleet = await startFleet({ catalogue: real.file, latencyMs: [5, 15], now: () => NOW });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(real.file, fleet.url)), 'status test');
    remote = join(dir.path, 'remote.git');
    await ensureLocalRemote(remote);
    const db = `file:${join(dir.path, 'prices.db')}`;
    config = {
      ...loadConfig({ POLLER_ID: 'api1', REDIS_URL: redis.url, CATALOGUE_WATCH_MS: '0', LOG_LEVEL: 'warn', API_PORT: '0' }),
      redisPrefix: redis.prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'recovery', 'api1'),
      publishRemote: remote,
      publishDir: join(dir.path, 'publish'),
      publishBranches: ['api1', 'api2', 'api3'],
      // Exports run when the test says (rows ask for one an hour later).
      exportMinIntervalMs: HOUR,
      spotUsdPerOz: { gold: DEFAULT_SPOT.gold, silver: DEFAULT_SPOT.silver, platinum: DEFAULT_SPOT.platinum, palladium: DEFAULT_SPOT.palladium },
      githubToken: TOKEN,
    };
    store = new PriceStore({ url: db });
    await store.migrate();

    // History: api2 scraped everything three hours ago and nothing since (a stale poller); api1 read STALE three
    // hours ago, read STREAK two hours ago and failed it an hour ago; SECRET failed with a reason quoting the token.
    started = Date.now();
    await store.writeRows(catalogue.targets.map((t) => seed(t, 'api2', started - 3 * HOUR, { price: fleet.truth(t.vendor, t.coin).price }, 'old')));
    await store.writeRows([
      seed(STALE, 'api1', started - 3 * HOUR, { price: 61.25 }, 'old'),
      seed(STREAK, 'api1', started - 2 * HOUR, { price: 95.1 }, 'ok'),
      seed(STREAK, 'api1', started - HOUR, { price: null, is_failed: true, in_stock: null, outcome: 'error', reason: 'HTTP 500', matched_by: null }, 'fail'),
      seed(SECRET, 'api1', started - 20 * MIN, { price: null, is_failed: true, in_stock: null, outcome: 'error', reason: `proxy refused token ${TOKEN}`, matched_by: null }, 'fail'),
    ]);
    streakSince = iso(started - HOUR);

    fleet.setVendor(FAILING_VENDOR, { fault: '500' });
    fleet.setVendor(BLOCKED_VENDOR, { fault: '403' });
    fleet.setTarget(OUT_OF_STOCK.vendor, OUT_OF_STOCK.coin, { inStock: false });
    fleet.setTarget(REJECTED.vendor, REJECTED.coin, { price: 3100 }); // a 1 oz gold coin below melt at $5000 spot

    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    poller = await startPoller({
      config,
      logger,
      roles: ['worker', 'exporter', 'merger'],
      redisUrl: redis.url,
      store,
      catalogue,
      vendors: vendorDirectory({ defaults: { concurrency: 2, rateLimit: null } }, 2),
    });
    const targets = catalogue.targets.filter((t) => !excluded.some((e) => key(e) === key(t)));
    const ids = await enqueueScrapesNow(targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 2, backoffMs: 100 }, batchId: 'status' });
    await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 90_000, pollMs: 200 });

    // Publish for real: api1's export, then api2's branch as a copy committed three hours ago, then the merge.
    await runJobNow(redis.connection, redis.prefix, exportQueueName('api1'), 'export', { pollerId: 'api1', cause: 'manual' }, 'status-export');
    commitAt(remote, 'api2', started - 3 * HOUR, git(remote, ['rev-parse', 'api1^{tree}']));
    await runJobNow(redis.connection, redis.prefix, MERGE_QUEUE_NAME, 'merge', { cause: 'manual' }, 'status-merge');
    await waitUntil('the publish log to record the export and the merge', async () => {
      const log = await readPublishLog(redis.connection, redis.prefix);
      return !!log.last.export.api1 && !!log.last.merge.api1;
    });

    // A stopped process left rows only in the recovery log: the last 5 lines of today's log.
    const logDir = config.recoveryLogDir;
    const newest = (await new RecoveryLog(logDir).files()).at(-1)!;
    const text = await readFile(join(logDir, newest), 'utf8');
    const lines = text.split('\n').filter(Boolean);
    recoveryRows = 5;
    const offset = Buffer.byteLength(lines.slice(0, lines.length - recoveryRows).map((l) => `${l}\n`).join(''));
    await mkdir(join(logDir, 'pending'), { recursive: true });
    await writeFile(join(logDir, 'pending', 'stopped.json'), JSON.stringify({ file: newest, offset, host: hostname(), pid: spawnSync('true').pid, error: 'SQLITE_READONLY: attempt to write a readonly database' }));

    // The API role as a poller runs it (it wires the publish log reader itself: src/roles/status-sources.ts).
    api = await startApiRole({ config, store, logger, connection: redis.connection, catalogue: () => catalogue });
    browser = await launchChromium();
    page = await browser.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await poller?.close();
    await store?.close();
    await fleet?.close();
    await redis.cleanup();
    await dir?.remove();
  });

  /** What each cell of the page says. */
  async function readCells(): Promise<Map<string, { state: string; price?: string; since?: string; failures?: string; text: string; title: string }>> {
    const cells = await page.$$eval('td.cell', (els) =>
      els.map((e) => ({ coin: e.getAttribute('data-coin')!, vendor: e.getAttribute('data-vendor')!, state: e.getAttribute('data-state')!, price: e.getAttribute('data-price') ?? undefined, since: e.getAttribute('data-since') ?? undefined, failures: e.getAttribute('data-failures') ?? undefined, text: (e as HTMLElement).innerText, title: e.getAttribute('title') ?? '' })),
    );
    return new Map(cells.map((c) => [`${c.coin}@${c.vendor}`, c]));
  }

  /** The state each target should show: the faults and the history above, else the fleet's truth. */
  function expectedState(t: { coin: string; vendor: string }): string {
    if (t.vendor === BLOCKED_VENDOR) return 'blocked';
    if (t.vendor === FAILING_VENDOR || key(t) === key(SECRET)) return 'failing';
    if (key(t) === key(REJECTED)) return 'rejected';
    if (key(t) === key(STALE)) return 'stale';
    if (key(t) === key(NEVER)) return 'never';
    return fleet.truth(t.vendor, t.coin).inStock ? 'fresh' : 'out_of_stock';
  }

  it('shows every coin x vendor cell in its state, with the last price, at 1280x800', async () => {
    await page.setViewport({ width: 1280, height: 800 });
    const res = await page.goto(`${api.url}/`, { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    expect(res?.headers()['content-type']).toMatch(/^text\/html/);
    const cells = await readCells();
    const coins = new Set(catalogue.targets.map((t) => t.coin));
    const vendors = new Set(catalogue.targets.map((t) => t.vendor));
    expect(cells.size).toBe(coins.size * vendors.size);
    const listed = new Set(catalogue.targets.map(key));
    for (const [k, c] of cells) if (!listed.has(k)) expect(c.state, k).toBe('unlisted');

    const wrong: string[] = [];
    for (const t of catalogue.targets) {
      const c = cells.get(key(t))!;
      const want = expectedState(t);
      if (c.state !== want) wrong.push(`${key(t)}: ${c.state}, expected ${want} (${c.title})`);
      if (want === 'fresh' || want === 'out_of_stock') {
        const truth = fleet.truth(t.vendor, t.coin).price;
        if (c.price !== truth.toFixed(2)) wrong.push(`${key(t)}: price ${c.price}, truth ${truth}`);
        expect(c.text).toContain(`$${truth.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(cells.get(key(OUT_OF_STOCK))!.state).toBe('out_of_stock');

    // The streak: failing since the first failure an hour ago (not the last attempt), two failures, last price kept.
    const streak = cells.get(key(STREAK))!;
    expect(streak).toMatchObject({ since: streakSince, failures: '2', price: '95.10' });
    expect(streak.text).toMatch(/\$95\.10\s+×2 · 1h/);
    expect(streak.title).toMatch(/since .* \(1 h(?: \d+ min)? ago\), 2 failed attempts in a row/);
    // Blocked cells say why; the rejected one shows the refused price; the stale one its age.
    expect(cells.get(key({ coin: 'ase', vendor: BLOCKED_VENDOR }))!.title).toMatch(/reason: .*(bot wall|vendor blocked|403)/i);
    // The refused price is the one in the rejected row (what the extractor read of the $3,100 page), far below melt.
    const rejectedRow = (await createClient({ url: config.databaseUrl }).execute({ sql: "SELECT price, outcome FROM price_snapshots WHERE poller_id = 'api1' AND coin_slug = ? AND vendor = ? ORDER BY scraped_at DESC LIMIT 1", args: [REJECTED.coin, REJECTED.vendor] })).rows[0];
    expect(rejectedRow.outcome).toBe('rejected');
    expect(Number(rejectedRow.price)).toBeGreaterThan(3000);
    expect(Number(rejectedRow.price)).toBeLessThan(DEFAULT_SPOT.gold);
    expect(cells.get(key(REJECTED))!.text).toContain(`rejected $${Number(rejectedRow.price).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`);
    expect(cells.get(key(STALE))!).toMatchObject({ price: '61.25' });
    expect(cells.get(key(STALE))!.text).toMatch(/\$61\.25\s+3h old/);
    expect(cells.get(key(NEVER))!.text).toMatch(/not yet/);

    // The summary agrees with the cells.
    const chips = await page.$$eval('.summary .chip[data-state]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-state'), Number(e.getAttribute('data-count'))])));
    const counted: Record<string, number> = {};
    for (const t of catalogue.targets) counted[expectedState(t)] = (counted[expectedState(t)] ?? 0) + 1;
    expect(chips).toEqual(counted);

    // The legend names every colour.
    expect(await page.$$eval('.legend li', (els) => els.map((e) => e.getAttribute('data-state')))).toEqual(['blocked', 'failing', 'rejected', 'stale', 'out_of_stock', 'fresh', 'never', 'unlisted']);
    // Colours differ per state (computed in the browser).
    const colours = await page.$$eval('.legend .swatch', (els) => els.map((e) => getComputedStyle(e).backgroundColor + getComputedStyle(e).backgroundImage));
    expect(new Set(colours).size).toBe(8);
    // No secret anywhere, though a reason quoted one.
    const html = await page.content();
    expect(html).not.toContain(TOKEN);
    expect(cells.get(key(SECRET))!.title).toContain('proxy refused token ***');
  });

  it('shows each poller\'s branch head, last export, newest price, main and the last merge', async () => {
    const rows = await page.$$eval('table.pollers tbody tr', (els) =>
      els.map((e) => ({ poller: e.getAttribute('data-poller'), branch: e.getAttribute('data-branch-state'), scrapes: e.getAttribute('data-scrape-state'), text: (e as HTMLElement).innerText })),
    );
    const by = Object.fromEntries(rows.map((r) => [r.poller, r]));
    expect(Object.keys(by)).toEqual(['api1', 'api2', 'api3', 'main']);
    const api1Sha = git(remote, ['rev-parse', 'api1']);
    const mainSha = git(remote, ['rev-parse', 'main']);
    expect(by.api1).toMatchObject({ branch: 'fresh', scrapes: 'fresh' });
    expect(by.api1.text).toContain(api1Sha.slice(0, 7));
    expect(by.api1.text).toMatch(/took \d+(\.\d)? (s|ms), commit [0-9a-f]{7}/);
    // api2: its branch and rows are three hours old; its exports are recorded on its own host.
    expect(by.api2).toMatchObject({ branch: 'stale', scrapes: 'stale' });
    expect(by.api2.text).toMatch(/3 h(?: \d+ min)? ago/);
    expect(by.api2.text).toContain('recorded on its own host');
    // api3 never published: not an error.
    expect(by.api3).toMatchObject({ branch: 'missing' });
    expect(by.api3.text).toContain('not yet published');
    expect(by.main.branch).toBe('fresh');
    expect(by.main.text).toContain(mainSha.slice(0, 7));
    // The export asks for a merge of its own too: the last one may have found nothing new.
    expect(by.main.text).toMatch(/last merge \d+ (s|min) ago, took \d+(\.\d)? (s|ms), (commit [0-9a-f]{7}|nothing new, no commit)/);
    expect(by.main.text).toMatch(/newest price on main \d+ (s|min) old/);

    const feeds = await page.$$eval('#feeds li', (els) => els.map((e) => ({ id: e.getAttribute('data-feed'), state: e.getAttribute('data-state'), text: (e as HTMLElement).innerText })));
    // The published feeds as the app judges them in main: the manifest fresh; no spot or Goldback job ran here.
    expect(feeds.map((f) => [f.id, f.state])).toEqual([
      ['dealers', 'fresh'],
      ['spot', 'configured'],
      ['vision', 'missing'],
      ['published-manifest', 'fresh'],
      ['published-hourly', 'missing'],
      ['published-15min', 'missing'],
      ['published-daily-seed', 'missing'],
      ['published-goldback', 'missing'],
    ]);
    expect(feeds[1].text).toMatch(/simulator: NOT real prices.*fallback gold \$5000, silver \$85/);
    expect(feeds[2].text).toMatch(/off: no GEMINI_API_KEY/);
    expect(feeds[3].text).toMatch(/api\/manifest\.json/);

    const recovery = await page.$eval('#recovery', (e) => ({ rows: e.getAttribute('data-rows'), text: (e as HTMLElement).innerText }));
    expect(recovery.rows).toBe(String(recoveryRows));
    expect(recovery.text).toMatch(new RegExp(`${recoveryRows} rows waiting to be replayed since .* ago \\(1 from stopped process: the next start replays them\\)`));
    expect(recovery.text).toMatch(/last failed write: SQLITE_READONLY: attempt to write a readonly database/);
  });

  it('takes a screenshot at 1280x800 (docs/status-page.png with STATUS_PAGE_SCREENSHOT)', async () => {
    await page.setViewport({ width: 1280, height: 800, deviceScaleFactor: 1 });
    await page.goto(`${api.url}/?refresh=0`, { waitUntil: 'load' });
    const png = Buffer.from(await page.screenshot({ type: 'png' }));
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(png.length).toBeLessThan(400 * 1024);
    const target = process.env.STATUS_PAGE_SCREENSHOT ? resolve(process.env.STATUS_PAGE_SCREENSHOT) : join(dir.path, 'status-page.png');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, png);
    expect((await stat(target)).size).toBe(png.length);
  });

  it('shows another poller\'s targets: api2 is stale everywhere', async () => {
    await page.goto(`${api.url}/?poller=api2`, { waitUntil: 'load' });
    const cells = [...(await readCells()).values()].filter((c) => c.state !== 'unlisted');
    expect(cells).toHaveLength(catalogue.targets.length);
    expect(new Set(cells.map((c) => c.state))).toEqual(new Set(['stale']));
    expect(await page.$eval('#targets h2', (e) => (e as HTMLElement).innerText)).toMatch(/^Targets of api2/);
  });

  it('fits a phone: only the grid scrolls sideways, and the coin names stay in view', async () => {
    await page.setViewport({ width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await page.goto(`${api.url}/`, { waitUntil: 'load' });
    const layout = await page.evaluate(() => {
      const scroller = document.querySelector('.grid-scroll') as HTMLElement;
      const outside: string[] = [];
      for (const el of Array.from(document.querySelectorAll('body *'))) {
        if (scroller.contains(el) || el.tagName === 'SCRIPT' || el.tagName === 'STYLE') continue;
        const r = el.getBoundingClientRect();
        if (r.width > 0 && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) outside.push(`${el.tagName}.${el.className}: ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
      return {
        innerWidth: window.innerWidth,
        docWidth: document.documentElement.scrollWidth,
        bodyWidth: document.body.scrollWidth,
        scrollerRight: scroller.getBoundingClientRect().right,
        scrollerScrolls: scroller.scrollWidth > scroller.clientWidth,
        outside,
      };
    });
    expect(layout.innerWidth).toBe(390);
    expect(layout.outside).toEqual([]);
    expect(layout.docWidth).toBeLessThanOrEqual(390);
    expect(layout.bodyWidth).toBeLessThanOrEqual(390);
    expect(layout.scrollerRight).toBeLessThanOrEqual(390);
    expect(layout.scrollerScrolls).toBe(true);

    // Scrolled to its far right, the grid still shows the coin names at its left edge, over the cells.
    const sticky = await page.evaluate(() => {
      const scroller = document.querySelector('.grid-scroll') as HTMLElement;
      scroller.scrollLeft = scroller.scrollWidth;
      const coin = document.querySelector('tbody th.coin') as HTMLElement;
      window.scrollTo(0, coin.getBoundingClientRect().top + window.scrollY - 100);
      const firstCell = coin.nextElementSibling as HTMLElement;
      const c = coin.getBoundingClientRect();
      const s = scroller.getBoundingClientRect();
      const top = document.elementFromPoint(c.left + 5, c.top + c.height / 2);
      return { scrolled: scroller.scrollLeft, coinLeft: c.left, scrollerLeft: s.left, firstCellLeft: firstCell.getBoundingClientRect().left, onTop: coin.contains(top) };
    });
    expect(sticky.scrolled).toBeGreaterThan(100);
    expect(Math.abs(sticky.coinLeft - sticky.scrollerLeft)).toBeLessThanOrEqual(2);
    expect(sticky.firstCellLeft).toBeLessThan(sticky.coinLeft);
    expect(sticky.onTop).toBe(true);
  });

  it('refreshes by itself, in place, keeping the grid\'s scroll', async () => {
    await page.goto(`${api.url}/?refresh=2`, { waitUntil: 'load' });
    expect(await page.$eval(`td[data-coin="${STALE.coin}"][data-vendor="${STALE.vendor}"]`, (e) => e.getAttribute('data-state'))).toBe('stale');
    const left = await page.evaluate(() => {
      (window as unknown as { samePage: boolean }).samePage = true;
      const scroller = document.querySelector('.grid-scroll') as HTMLElement;
      scroller.scrollLeft = 200;
      return scroller.scrollLeft;
    });
    await store.write(seed(STALE, 'api1', Date.now(), { price: 62.5 }, 'now'));
    await page.waitForFunction((c, v) => document.querySelector(`td[data-coin="${c}"][data-vendor="${v}"]`)?.getAttribute('data-state') === 'fresh', { timeout: 15_000 }, STALE.coin, STALE.vendor);
    const after = await page.evaluate(() => ({ samePage: (window as unknown as { samePage?: boolean }).samePage, left: (document.querySelector('.grid-scroll') as HTMLElement).scrollLeft }));
    expect(after.samePage).toBe(true);
    expect(after.left).toBe(left);
    // Links keep the refresh asked for.
    expect(await page.$eval('.views a', (e) => e.getAttribute('href'))).toMatch(/refresh=2/);
  });

  it('says so on the page when the server cannot be reached, and recovers', async () => {
    await page.goto(`${api.url}/?refresh=2`, { waitUntil: 'load' });
    await page.setOfflineMode(true);
    try {
      await page.waitForFunction(() => document.body.classList.contains('offline'), { timeout: 15_000 });
      expect(await page.$eval('#refresh-note', (e) => (e as HTMLElement).innerText)).toMatch(/could not refresh at/);
      // The last good content stays on the page meanwhile.
      expect(await page.$$eval('td.cell', (els) => els.length)).toBeGreaterThan(0);
    } finally {
      await page.setOfflineMode(false);
    }
    await page.waitForFunction(() => !document.body.classList.contains('offline') && document.getElementById('refresh-note')?.textContent === '', { timeout: 15_000 });
  });

  it('renders hostile catalogue text inert', async () => {
    const hostile = parseCatalogue(
      JSON.stringify({ coins: { ase: { name: '<img src=x onerror="window.pwned=1">', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', name: '<script>window.pwned=2</script>', url: 'https://a.example/ase' }] } } }),
    );
    const data = await gatherStatus({
      config,
      catalogue: hostile,
      view: 'api1',
      now: Date.now(),
      sources: { counts: () => store.counts(), outcomes: () => store.outcomes(), failureStreaks: (p) => store.failureStreaks(p), branchHeads: async () => [], recoveryBacklog: () => readRecoveryBacklog(config.recoveryLogDir) },
    });
    await page.setContent(renderStatusPage(data, { refreshSeconds: 0 }), { waitUntil: 'load' });
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.$eval('tbody th.coin', (e) => (e as HTMLElement).innerText)).toBe('<img src=x onerror="window.pwned=1">');
  });

  it('answers JSON at /status and at / for Accept: application/json, HTML otherwise', async () => {
    const status = await fetch(`${api.url}/status`);
    expect(status.status).toBe(200);
    expect(status.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await status.json()) as Record<string, any>;
    // The keys scripts read before, unchanged.
    const own = await store.outcomes('api1');
    expect(body.poller).toBe('api1');
    expect(body.rows).toEqual(await store.counts());
    expect(body.targets).toBe(own.length);
    expect(body.failing.map((o: TargetOutcome) => key({ coin: o.coin_slug, vendor: o.vendor })).sort()).toEqual(own.filter((o) => o.consecutive_failures > 0).map((o) => key({ coin: o.coin_slug, vendor: o.vendor })).sort());
    expect(body.failing.length).toBeGreaterThan(0);
    // And the page's data.
    expect(body.grid.cells).toHaveLength(body.grid.coins.length * body.grid.vendors.length);
    expect(body.grid.cells.find((c: any) => c.coin === STREAK.coin && c.vendor === STREAK.vendor)).toMatchObject({ state: 'failing', since: streakSince, failures: 2, price: 95.1 });
    expect(body.pollers.map((p: any) => [p.id, p.branch.state])).toEqual([['api1', 'fresh'], ['api2', 'stale'], ['api3', 'missing']]);
    expect(body.pollers[0].lastExport).toMatchObject({ kind: 'export', poller: 'api1', ok: true, committed: true, sha: git(remote, ['rev-parse', 'api1']) });
    expect(body.pollers[0].lastExport.ms).toBeGreaterThan(0);
    expect(body.main.lastMerge).toMatchObject({ kind: 'merge', ok: true });
    if (body.main.lastMerge.committed) expect(body.main.lastMerge.sha).toBe(git(remote, ['rev-parse', 'main']));
    expect(body.main.newestDataAt).toEqual(expect.any(String));
    expect(body.recovery).toMatchObject({ rows: recoveryRows, markers: [{ alive: false, error: 'SQLITE_READONLY: attempt to write a readonly database' }] });
    expect(body.feeds.map((f: any) => f.id)).toEqual(['dealers', 'spot', 'vision', 'published-manifest', 'published-hourly', 'published-15min', 'published-daily-seed', 'published-goldback']);
    expect(JSON.stringify(body)).not.toContain(TOKEN);

    const negotiated = await fetch(`${api.url}/`, { headers: { Accept: 'application/json' } });
    expect(negotiated.headers.get('content-type')).toMatch(/^application\/json/);
    expect(negotiated.headers.get('vary')).toMatch(/Accept/);
    const stable = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (k, x) => (['generatedAt', 'ageMs', 'sinceMs', 'newestDataAgeMs'].includes(k) ? undefined : x)));
    expect(stable(await negotiated.json())).toEqual(stable(body));

    for (const accept of ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', '*/*', '']) {
      const html = await fetch(`${api.url}/`, { headers: accept ? { Accept: accept } : {} });
      expect(html.headers.get('content-type'), accept).toMatch(/^text\/html/);
      expect(await html.text()).toContain('data-state="failing"');
    }
    const unknown = await fetch(`${api.url}/status?poller=api9`);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/unknown poller "api9"/);
  });

  it('answers 503 while the database is unreachable', async () => {
    const broken = new PriceStore({ url: `file:${join(dir.path, 'no-such-dir', 'x', 'prices.db')}` });
    const own = await startApiRole({ config, store: broken, logger: pino({ level: 'silent' }), connection: redis.connection, catalogue: () => catalogue });
    try {
      const json = await fetch(`${own.url}/status`);
      expect(json.status).toBe(503);
      expect(((await json.json()) as { error: string }).error).toMatch(/^database unreachable/);
      const html = await fetch(`${own.url}/`);
      expect(html.status).toBe(503);
      expect(await html.text()).toMatch(/database unreachable/);
    } finally {
      await own.close();
      await broken.close();
    }
  });

});
