/**
 * Every page read twice on a running poller (roles worker + api): the text scrape through the HTTP tier or a real
 * Chromium pool (the fleet's script-rendered app shell and script challenge), and the screenshot read by a local
 * server speaking Gemini's generateContent protocol, reconciled by numbers into the row. Asserted through a fresh
 * database client, the jobs' results and logs, the screenshot files and the API server; a browser is killed mid-job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createClient } from '@libsql/client';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import type { Target } from '../src/catalogue/target.js';
import { BrowserPool } from '../src/browser/browser-pool.js';
import { loadConfig, type Config } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { APP_READY_SELECTOR, rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { parsePromptTarget, startFakeGemini, type FakeGeminiAnswer, type FakeGeminiHandle } from '../src/fleet/gemini-server.js';
import { DEFAULT_PAYMENT_COLUMN, DEFAULT_QUANTITY_ROW } from '../src/vision/vision-prompt.js';
import { createLogger } from '../src/log.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { PriceStore } from '../src/store/price-store.js';
import { scrapeRowKey } from '../src/store/price-row.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { visionBudgetKeys } from '../queues/vision-budget.js';
import { findChromium } from './support/chromium.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';
import { alive, descendants } from './support/processes.js';

const SHELL = 'bullionexchanges'; // app shell: an empty page whose script renders the product
const CHALLENGE = 'summitmetals'; // script challenge (HTTP 403) that sets a cookie and reloads
const HTTP_VENDORS = ['apmex', 'jmbullion'];
const VENDORS = [...HTTP_VENDORS, SHELL, CHALLENGE];
const COINS = ['ase', 'age'];
const BROWSER_ONLY = new Set([SHELL, CHALLENGE]);

// ------------------------------------------------------------------ processes (read from /proc)


// ------------------------------------------------------------------ the run

interface Done {
  coin: string;
  vendor: string;
  key: string;
  state: string;
  attemptsMade: number;
  result: Record<string, any> | null;
  logs: string[];
}

interface Row {
  price: number | null;
  source: string;
  confidence: number | null;
  outcome: string;
  in_stock: number | null;
  reason: string | null;
}

interface Read {
  outcome: string;
  agreement: string | null;
  price: number | null;
  text_price: number | null;
  reason: string | null;
}

describe('every page read twice: text (HTTP or Chromium) and vision (fake Gemini), reconciled into the row', () => {
  const redis = testRedis('read-twice');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let gemini: FakeGeminiHandle;
  let pool: BrowserPool;
  let catalogue: Catalogue;
  let store: PriceStore;
  let base: Config;
  let db: string;
  let poller: Poller | null = null;
  let pollerKind = '';
  let batch = 0;
  /** Every Chromium process seen (browsers and their children), checked gone after the pool closes. */
  const seenPids = new Set<number>();
  const vendors = vendorDirectory(
    {
      defaults: { concurrency: 2, rateLimit: null, timeoutMs: 15_000 },
      vendors: {
        [SHELL]: { tier: 'auto', waitForSelector: APP_READY_SELECTOR, visionQuantityRow: 'the "1-24" row', visionPaymentColumn: 'the "Wire" column' },
        [CHALLENGE]: { tier: 'auto' },
      },
    },
    1,
  );

  /** What the fake Gemini answers for a target; switched per test. */
  let answer: (t: { coin: string; vendor: string }) => FakeGeminiAnswer = () => ({});
  const truthAnswer = (t: { coin: string; vendor: string }): FakeGeminiAnswer => {
    const truth = fleet.truth(t.vendor, t.coin);
    return { json: { price: truth.price, in_stock: truth.inStock, stock_label: truth.inStock ? 'In stock' : 'Out of stock', confidence: 92 } };
  };

  const notePids = () => {
    for (const pid of pool.stats().pids) {
      seenPids.add(pid);
      for (const c of descendants(pid)) seenPids.add(c.pid);
    }
  };

  beforeAll(async () => {
    dir = await tempDir('read-twice');
    const real = await loadCatalogue('config/providers.json');
    const pick = (slug: string) => ({ ...real.file.coins[slug]!, providers: real.file.coins[slug]!.providers.filter((p) => VENDORS.includes(p.id)) });
    const small: CatalogueFile = { ...real.file, coins: Object.fromEntries(COINS.map((c) => [c, pick(c)])) };
    // A fixed clock: the fleet's truth stays one window's whatever the wall clock does during the run.
    const at = Date.now();
    fleet = await startFleet({ catalogue: small, now: () => at, slowMs: 20_000, browserVendors: { appShell: [SHELL], challenge: [CHALLENGE] } });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'read-twice');
    expect(catalogue.targets).toHaveLength(COINS.length * VENDORS.length);
    gemini = await startFakeGemini({
      answer: (req) => {
        const t = parsePromptTarget(req.prompt);
        if (!t) return { status: 400, message: 'no target in the prompt' };
        return answer(t);
      },
    });
    // A small script heap: the fleet's `crash` page runs its tab out of memory in a moment, not after gigabytes.
    pool = new BrowserPool({ executablePath: findChromium(), browsers: 1, pagesPerBrowser: 2, extraArgs: ['--js-flags=--max-old-space-size=128'] });
    db = `file:${join(dir.path, 'prices.db')}`;
    store = new PriceStore({ url: db });
    await store.migrate();
    base = {
      ...loadConfig({
        POLLER_ID: 'api1',
        CATALOGUE_WATCH_MS: '0',
        API_PORT: '0',
        LOG_LEVEL: 'silent',
        SPOT_FEED: 'off',
        SERVE_FROM: 'off',
        GOLDBACK_URL: 'off',
        // The fleet's spot: prices (and vision's) are judged against melt at the spot the pages were priced at.
        SPOT_USD_PER_OZ: 'gold=5000,silver=85,platinum=2200,palladium=1700',
        SCRAPE_TIMEOUT_MS: '8000',
      }),
      redisPrefix: redis.prefix,
      databaseUrl: db,
      recoveryLogDir: join(dir.path, 'recovery'),
      publishDir: join(dir.path, 'publish'),
    };
    base = { ...base, browser: { ...base.browser, screenshotDir: join(dir.path, 'screenshots') } };
  }, 60_000);

  afterAll(async () => {
    await poller?.close();
    if (pool) {
      notePids();
      await pool.close();
      // No Chromium process is left: neither a browser the pool launched nor any of their children.
      await waitUntil('every Chromium process of the pool to exit', async () => [...seenPids].every((pid) => !alive(pid)), 10_000);
      expect(descendants(process.pid).filter((p) => /chrom/i.test(p.comm))).toEqual([]);
      expect(pool.stats().pids).toEqual([]);
    }
    await store?.close();
    await gemini?.close();
    await fleet?.close();
    await redis.cleanup();
    await dir?.remove();
  }, 60_000);

  /** The poller for this test: `text` (no vision), `vision` (budget 1000 a day) or `budget1` (1 a day). Restarted when it changes. */
  async function usePoller(kind: 'text' | 'vision' | 'budget1'): Promise<Poller> {
    if (poller && pollerKind === kind) return poller;
    await poller?.close();
    poller = null;
    const vision: Config['vision'] =
      kind === 'text'
        ? { ...base.vision, key: undefined }
        : { key: 'test-key', baseUrl: gemini.url, model: 'gemini-test', perMinute: 1000, perDay: kind === 'budget1' ? 1 : 1000, concurrency: 2, agreePercent: 3 };
    // A fresh day's budget for the poller of this kind.
    for (const key of visionBudgetKeys(redis.prefix, 'api1', Date.now())) await redis.connection.del(key);
    poller = await startPoller({
      config: { ...base, vision },
      logger: createLogger({ level: 'silent' }),
      roles: ['worker', 'api'],
      redisUrl: redis.url,
      store,
      catalogue,
      vendors,
      browserPool: pool,
    });
    pollerKind = kind;
    return poller;
  }

  /** Scrapes the targets once now (a batch of their own) and returns each job as it ended. */
  async function scrape(targets: Target[], options: { attempts?: number; during?: () => Promise<void> } = {}): Promise<Done[]> {
    const batchId = `b${++batch}`;
    const ids = await enqueueScrapesNow(targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: options.attempts ?? 1, backoffMs: 100 }, batchId });
    const during = options.during?.();
    await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 45_000, pollMs: 100 });
    await during;
    notePids();
    const out: Done[] = [];
    for (const [name, list] of ids) {
      const q = new Queue(name, { connection: redis.connection, prefix: redis.prefix });
      try {
        for (const id of list) {
          const job = (await q.getJob(id))!;
          const { logs } = await q.getJobLogs(id);
          out.push({ coin: job.data.target.coin, vendor: job.data.target.vendor, key: scrapeRowKey('api1', id), state: await q.getJobState(id), attemptsMade: job.attemptsMade, result: job.returnvalue ?? null, logs });
        }
      } finally {
        await q.close();
      }
    }
    return out;
  }

  /** Rows and vision reads of these jobs, read by a fresh client (never the writer's). */
  async function readBack(done: Done[]): Promise<{ rows: Map<string, Row>; reads: Map<string, Read[]> }> {
    const client = createClient({ url: db });
    try {
      const keys = done.map((d) => d.key);
      const marks = keys.map(() => '?').join(',');
      const rs = await client.execute({ sql: `SELECT idem_key, price, source, confidence, outcome, in_stock, reason FROM price_snapshots WHERE idem_key IN (${marks})`, args: keys });
      const rows = new Map<string, Row>();
      for (const r of rs.rows) rows.set(String(r.idem_key), { price: r.price === null ? null : Number(r.price), source: String(r.source), confidence: r.confidence === null ? null : Number(r.confidence), outcome: String(r.outcome), in_stock: r.in_stock === null ? null : Number(r.in_stock), reason: r.reason === null ? null : String(r.reason) });
      const reads = new Map<string, Read[]>();
      const table = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'vision_reads'");
      if (table.rows.length) {
        const vs = await client.execute({ sql: `SELECT key, outcome, agreement, price, text_price, reason FROM vision_reads WHERE key IN (${marks})`, args: keys.map((k) => `${k}/vision`) });
        for (const r of vs.rows) {
          const k = String(r.key).replace(/\/vision$/, '');
          reads.set(k, [...(reads.get(k) ?? []), { outcome: String(r.outcome), agreement: r.agreement === null ? null : String(r.agreement), price: r.price === null ? null : Number(r.price), text_price: r.text_price === null ? null : Number(r.text_price), reason: r.reason === null ? null : String(r.reason) }]);
        }
      }
      return { rows, reads };
    } finally {
      client.close();
    }
  }

  const targetsOf = (filter: (t: Target) => boolean) => catalogue.targets.filter(filter);
  const textSource = (vendor: string) => (BROWSER_ONLY.has(vendor) ? 'browser' : 'http');

  it('prices the script-only vendors through the browser tier and the others over HTTP, the escalation in job.log', async () => {
    await usePoller('text');
    const before = gemini.requests().length;
    const done = await scrape(catalogue.targets);
    const { rows, reads } = await readBack(done);
    expect(done.map((d) => d.state)).toEqual(done.map(() => 'completed'));
    for (const d of done) {
      const truth = fleet.truth(d.vendor, d.coin);
      const row = rows.get(d.key)!;
      expect(row, `${d.coin}@${d.vendor}`).toMatchObject({ price: truth.price, source: textSource(d.vendor), in_stock: truth.inStock ? 1 : 0 });
      expect(d.result).toMatchObject({ price: truth.price, tier: textSource(d.vendor), source: textSource(d.vendor) });
      expect(reads.get(d.key)).toBeUndefined();
      const log = d.logs.join('\n');
      if (BROWSER_ONLY.has(d.vendor)) expect(log).toMatch(/tiers http .+ -> browser (ok|out_of_stock)/);
      else expect(log).toMatch(/tier http, /);
    }
    // The challenge's escalation names why: the HTTP tier met the challenge.
    expect(done.find((d) => d.vendor === CHALLENGE)!.logs.join('\n')).toMatch(/tiers http blocked \(HTTP 403: challenge or bot wall .*\) -> browser (ok|out_of_stock)/);
    expect(done.find((d) => d.vendor === SHELL)!.logs.join('\n')).toMatch(/tiers http no_price \(HTTP 200: empty app shell .*: trying the browser\) -> browser (ok|out_of_stock)/);
    expect(gemini.requests().length).toBe(before);
  });

  it('with vision reading the truth: rows from consensus at confidence 99, one agreeing read per job, a screenshot per target served as JPEG', async () => {
    const p = await usePoller('vision');
    answer = truthAnswer;
    const before = gemini.requests().length;
    const done = await scrape(catalogue.targets);
    const { rows, reads } = await readBack(done);
    expect(done.map((d) => d.state)).toEqual(done.map(() => 'completed'));
    expect(gemini.requests().length - before).toBe(done.length);
    expect(gemini.requests().slice(before).every((r) => r.model === 'gemini-test' && r.mimeType === 'image/jpeg' && r.imageBytes > 1000)).toBe(true);
    // The vendor's hints from its settings reach the prompt; the others get the defaults.
    for (const r of gemini.requests().slice(before)) {
      const own = parsePromptTarget(r.prompt)!.vendor === SHELL;
      expect(r.prompt).toContain(own ? '- Quantity: read the "1-24" row.' : `- Quantity: read ${DEFAULT_QUANTITY_ROW}.`);
      expect(r.prompt).toContain(own ? '- Payment: read the "Wire" column.' : `- Payment: read ${DEFAULT_PAYMENT_COLUMN}.`);
    }
    expect(gemini.requests().slice(before).some((r) => parsePromptTarget(r.prompt)!.vendor === SHELL)).toBe(true);
    for (const d of done) {
      const truth = fleet.truth(d.vendor, d.coin);
      expect(rows.get(d.key), `${d.coin}@${d.vendor}`).toMatchObject({ price: truth.price, source: 'consensus', confidence: 99 });
      expect(d.result).toMatchObject({ source: 'consensus', price: truth.price, tier: textSource(d.vendor) });
      expect(reads.get(d.key)).toEqual([expect.objectContaining({ outcome: 'ok', agreement: 'agree', price: truth.price, text_price: truth.price })]);
      expect(d.logs.join('\n')).toMatch(/consensus agree/);
      const file = join(base.browser.screenshotDir, d.vendor, `${d.coin}.jpg`);
      expect(existsSync(file), file).toBe(true);
      const res = await fetch(`${p.api!.url}/screenshots/${d.vendor}/${d.coin}.jpg`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\/jpeg/);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.subarray(0, 3)).toEqual(Buffer.from([0xff, 0xd8, 0xff]));
      expect(body.equals(readFileSync(file))).toBe(true);
    }
    // The status page links each cell to its screenshot (JSON and HTML).
    const status = (await (await fetch(`${p.api!.url}/status`)).json()) as { grid: { cells: Array<{ coin: string; vendor: string; screenshot?: { url: string } }> } };
    const html = await (await fetch(`${p.api!.url}/?refresh=0`)).text();
    for (const d of done) {
      const url = `/screenshots/${d.vendor}/${d.coin}.jpg`;
      expect(status.grid.cells.find((c) => c.coin === d.coin && c.vendor === d.vendor)?.screenshot?.url, `${d.coin}@${d.vendor}`).toBe(url);
      expect(html).toContain(`href="${url}"`);
    }
  });

  it('with vision reading a price 20% off: disagree, confidence at most 70, the price nearer the window median (the truth) published', async () => {
    await usePoller('vision');
    answer = (t) => {
      const truth = fleet.truth(t.vendor, t.coin);
      return { json: { price: Math.round(truth.price * 120) / 100, in_stock: truth.inStock, stock_label: null, confidence: 97 } };
    };
    // Silver Eagles: 20% over the truth stays under silver's premium ceiling, so vision's price is weighed, not refused.
    const done = await scrape(targetsOf((t) => t.coin === 'ase'));
    const { rows, reads } = await readBack(done);
    for (const d of done) {
      const truth = fleet.truth(d.vendor, d.coin);
      const row = rows.get(d.key)!;
      expect(row, `${d.coin}@${d.vendor}`).toMatchObject({ price: truth.price, source: 'consensus' });
      expect(row.confidence).toBeLessThanOrEqual(70);
      expect(row.reason).toMatch(/disagree/);
      // Rows of the other vendors in this window give the median (unless a window began just now: then the text's price too).
      expect(row.reason).toMatch(/the text's price is nearer the window median|no window median: the text's price/);
      expect(reads.get(d.key)).toEqual([expect.objectContaining({ outcome: 'ok', agreement: 'disagree', price: Math.round(truth.price * 120) / 100, text_price: truth.price })]);
    }
  });

  it('with vision malformed, rate limited, failing or slower than the job deadline: the text result stands, the read names the failure', async () => {
    await usePoller('vision');
    const modes: Record<string, { answer: (t: { coin: string; vendor: string }) => FakeGeminiAnswer; outcome: string; reason: RegExp }> = {
      'ase@apmex': { answer: (t) => ({ text: `The price is $${fleet.truth(t.vendor, t.coin).price * 2}` }), outcome: 'malformed', reason: /not JSON/ },
      'ase@jmbullion': { answer: () => ({ status: 429 }), outcome: 'rate_limited', reason: /HTTP 429/ },
      'age@apmex': { answer: () => ({ status: 500 }), outcome: 'server', reason: /HTTP 500/ },
      // A right-looking but wrong price that comes too late: it must never reach the row.
      [`age@${CHALLENGE}`]: { answer: (t) => ({ delayMs: 60_000, json: { price: Math.round(fleet.truth(t.vendor, t.coin).price * 110) / 100, in_stock: true, stock_label: null, confidence: 99 } }), outcome: 'timeout', reason: /job deadline/ },
    };
    answer = (t) => modes[`${t.coin}@${t.vendor}`]!.answer(t);
    const before = gemini.requests().length;
    const done = await scrape(targetsOf((t) => `${t.coin}@${t.vendor}` in modes));
    expect(done).toHaveLength(4);
    const { rows, reads } = await readBack(done);
    // One request each: the reader never retries by itself.
    expect(gemini.requests().length - before).toBe(4);
    for (const d of done) {
      const mode = modes[`${d.coin}@${d.vendor}`]!;
      const truth = fleet.truth(d.vendor, d.coin);
      expect(d.state, `${d.coin}@${d.vendor}`).toBe('completed');
      expect(rows.get(d.key), `${d.coin}@${d.vendor}`).toMatchObject({ price: truth.price, source: textSource(d.vendor) });
      expect(reads.get(d.key)).toEqual([expect.objectContaining({ outcome: mode.outcome, price: null, text_price: truth.price, agreement: 'single' })]);
      expect(reads.get(d.key)![0]!.reason).toMatch(mode.reason);
      expect(d.logs.join('\n')).toMatch(new RegExp(`vision failed \\(${mode.outcome}: `));
    }
  });

  it('spends the vision budget: with GEMINI_MAX_PER_DAY 1 one request reaches Gemini, later reads say budget', async () => {
    await usePoller('budget1');
    answer = truthAnswer;
    const before = gemini.requests().length;
    const first = await scrape(targetsOf((t) => t.coin === 'age' && t.vendor === 'apmex'));
    const later = await scrape(targetsOf((t) => t.coin === 'ase'));
    expect(gemini.requests().length - before).toBe(1);
    const { rows, reads } = await readBack([...first, ...later]);
    expect(reads.get(first[0]!.key)).toEqual([expect.objectContaining({ outcome: 'ok', agreement: 'agree' })]);
    expect(rows.get(first[0]!.key)).toMatchObject({ source: 'consensus', confidence: 99 });
    for (const d of later) {
      const truth = fleet.truth(d.vendor, d.coin);
      expect(rows.get(d.key), `${d.coin}@${d.vendor}`).toMatchObject({ price: truth.price, source: textSource(d.vendor) });
      expect(reads.get(d.key)).toEqual([expect.objectContaining({ outcome: 'budget', price: null })]);
      expect(reads.get(d.key)![0]!.reason).toMatch(/GEMINI_MAX_PER_DAY \(1\) spent/);
    }
  });

  it("retries a job whose tab crashed on the fleet's page (out of memory); the browser stays, the job ends priced", async () => {
    await usePoller('budget1');
    const t = targetsOf((x) => x.coin === 'age' && x.vendor === CHALLENGE);
    fleet.setTarget(CHALLENGE, 'age', { fault: 'crash', faultTimes: 1 });
    const before = { crashes: pool.stats().crashes, tabCrashes: pool.stats().tabCrashes, pids: pool.stats().pids };
    const done = await scrape(t, { attempts: 3 });
    fleet.setTarget(CHALLENGE, 'age', { fault: null });
    const [d] = done;
    const truth = fleet.truth(CHALLENGE, 'age');
    expect(fleet.stats().faultsByVendor[CHALLENGE]?.crash).toBe(1);
    expect(d).toMatchObject({ state: 'completed', attemptsMade: 2 });
    expect(d!.result).toMatchObject({ price: truth.price, tier: 'browser' });
    expect(d!.logs.join('\n')).toMatch(/attempt 1\/3: .*(tab|crash).*will be retried/);
    expect(pool.stats().tabCrashes).toBe(before.tabCrashes + 1);
    // Only the tab was replaced: the same browser serves on.
    expect(pool.stats().crashes).toBe(before.crashes);
    expect(pool.stats().pids).toEqual(before.pids);
  });

  it('retries a job whose browser was killed with SIGKILL mid-page; the pool starts a new browser and the job ends priced', async () => {
    await usePoller('budget1');
    const t = targetsOf((x) => x.coin === 'ase' && x.vendor === CHALLENGE);
    // The page behind the challenge hangs once (the HTTP tier only ever sees the challenge): the browser is on it.
    fleet.setTarget(CHALLENGE, 'ase', { fault: 'slow', faultTimes: 1 });
    const crashesBefore = pool.stats().crashes;
    let killed = 0;
    const done = await scrape(t, {
      attempts: 3,
      during: async () => {
        await waitUntil('the browser on the slow page', async () => (fleet.stats().faultsByVendor[CHALLENGE]?.slow ?? 0) >= 1 && pool.stats().busy >= 1, 20_000);
        notePids();
        [killed] = pool.stats().pids;
        expect(killed).toBeGreaterThan(0);
        process.kill(killed!, 'SIGKILL');
      },
    });
    fleet.setTarget(CHALLENGE, 'ase', { fault: null });
    const [d] = done;
    const truth = fleet.truth(CHALLENGE, 'ase');
    expect(d).toMatchObject({ state: 'completed', attemptsMade: 2 });
    expect(d!.result).toMatchObject({ outcome: truth.inStock ? 'ok' : 'out_of_stock', price: truth.price, tier: 'browser' });
    expect(d!.logs.join('\n')).toMatch(/attempt 1\/3: .*browser.*will be retried/);
    const { rows } = await readBack(done);
    expect(rows.get(d!.key)).toMatchObject({ price: truth.price, outcome: truth.inStock ? 'ok' : 'out_of_stock' });
    expect(pool.stats().crashes).toBe(crashesBefore + 1);
    expect(pool.stats().pids).not.toContain(killed);
    expect(pool.stats().pids).toHaveLength(1);
    expect(alive(killed)).toBe(false);
  });
});
