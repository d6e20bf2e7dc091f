import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listTargets, loadCatalogue } from '../src/catalogue/load.js';
import type { Target } from '../src/catalogue/target.js';
import { loadVendorDirectory, vendorDirectory, VendorsFileError, type VendorSettingsInput } from '../src/config/vendors.js';
import { APP_READY_SELECTOR, APP_SHELL_API_PATH, formatUsd, rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import type { BrowserFetch, BrowserFetchOptions } from '../src/scrape/fetch/browser-options.js';
import { fetchPage, type FetchedPage, type HttpFetchOptions } from '../src/scrape/fetch/http-fetch.js';
import { NO_BROWSER_REASON, scrapeTarget, type ScrapeReport } from '../src/scrape/scrape-target.js';
import { launchChromium } from './support/chromium.js';
import { tempDir } from './support/temp.js';

// Tier routing against the fleet's browser-only pages, read by a real Chromium (puppeteer-core, no pool here).

const APP_SHELL = ['apmex', 'bullionexchanges'];
const CHALLENGE = ['jmbullion', 'summitmetals'];

let fleet: FleetHandle;
let targets: Target[];
let browser: Browser;
let chromiumPid: number | undefined;
/** Every call the browser tier got, with its options. */
const browserCalls: Array<{ url: string; options: BrowserFetchOptions }> = [];
/** Every call the HTTP tier got. */
const httpCalls: string[] = [];

/** The HTTP tier, counted. */
const countedFetch = (url: string, options: HttpFetchOptions): Promise<FetchedPage> => {
  httpCalls.push(url);
  return fetchPage(url, options);
};

/**
 * The browser tier as the test's own puppeteer code: a fresh context per page (no cookies carried over), the
 * status of the last main-frame document (a challenge's reload answers 200 after the 403), the rendered DOM.
 */
const realBrowser: BrowserFetch = async (url, options) => {
  browserCalls.push({ url, options });
  const context = await browser.createBrowserContext();
  try {
    const page = await context.newPage();
    let status = 0;
    let finalUrl = url;
    let headers: Record<string, string> = {};
    page.on('response', (r) => {
      if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
        status = r.status();
        finalUrl = r.url();
        headers = r.headers();
      }
    });
    await page.goto(url, { waitUntil: 'load', timeout: options.timeoutMs });
    if (options.waitForSelector) await page.waitForSelector(options.waitForSelector, { timeout: options.timeoutMs });
    if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs));
    const body = await page.content();
    const screenshot = options.screenshot ? Buffer.from(await page.screenshot({ type: 'jpeg', quality: 70 })) : undefined;
    return { status, url: finalUrl, headers, body, bytes: Buffer.byteLength(body), ...(screenshot ? { screenshot } : {}) };
  } finally {
    await context.close();
  }
};

function target(vendor: string, coin?: string): Target {
  const t = targets.find((x) => x.vendor === vendor && (coin === undefined || x.coin === coin));
  if (!t) throw new Error(`no target ${coin ?? '*'}:${vendor}`);
  return t;
}

function settings(vendor: string, own: VendorSettingsInput = {}) {
  return vendorDirectory({ defaults: { rateLimit: null, timeoutMs: 15_000 }, vendors: { [vendor]: own } }, 1).get(vendor);
}

/** Auto with the app shell's ready marker to wait for (a vendor's browser settings in vendors.json). */
const autoShell = (vendor: string) => settings(vendor, { tier: 'auto', waitForSelector: APP_READY_SELECTOR });

function expectTruth(report: ScrapeReport, t: Target, preorderInStock = false): void {
  const truth = fleet.truth(t.vendor, t.coin);
  expect(report.kind, JSON.stringify(report)).toBe('result');
  if (report.kind !== 'result') return;
  expect(report.result.price, report.result.reason).toBe(truth.price);
  expect(report.result.inStock).toBe(truth.inStock || (truth.preorder && preorderInStock));
  expect(report.rejected).toBeUndefined();
}

beforeAll(async () => {
  const catalogue = await loadCatalogue('config/providers.json');
  fleet = await startFleet({ catalogue: catalogue.file, seed: 17, browserVendors: { appShell: APP_SHELL, challenge: CHALLENGE } });
  targets = listTargets(rewriteCatalogueForFleet(catalogue.file, fleet.url));
  browser = await launchChromium();
  chromiumPid = browser.process()?.pid;
});
afterAll(async () => {
  await browser?.close();
  await fleet?.close();
  // The one Chromium this file launched is gone.
  if (chromiumPid) expect(() => process.kill(chromiumPid!, 0)).toThrow();
});
afterEach(() => {
  fleet.reset();
  browserCalls.length = 0;
  httpCalls.length = 0;
});

describe('the fleet\'s browser-only pages, read over plain HTTP', () => {
  it('an app shell has no product and no price in its HTML; the HTTP tier reads no price', async () => {
    for (const vendor of APP_SHELL) {
      const t = target(vendor);
      const page = await fetchPage(t.urls[0]);
      expect(page.status).toBe(200);
      expect(page.body).toContain(APP_SHELL_API_PATH);
      expect(page.body).not.toContain(formatUsd(fleet.truth(vendor, t.coin).price));
      expect(page.body).not.toContain(t.coinName);

      const report = await scrapeTarget(t, { vendor: settings(vendor), browser: realBrowser });
      expect(report).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'no_price', price: null } });
      expect(report.tiers).toEqual([expect.objectContaining({ tier: 'http', outcome: 'no_price' })]);
    }
    expect(browserCalls).toHaveLength(0); // tier http never calls the browser
  });

  it('a script challenge answers 403 "Just a moment..." every time: HTTP reads `blocked` and never gets past it', async () => {
    for (const vendor of CHALLENGE) {
      const t = target(vendor);
      for (let i = 0; i < 3; i++) {
        const page = await fetchPage(t.urls[0]);
        expect(page.status).toBe(403);
        expect(page.headers['cf-mitigated']).toBe('challenge');
        expect(page.body).toMatch(/<title>Just a moment\.\.\.<\/title>/);
        expect(page.body).not.toContain(formatUsd(fleet.truth(vendor, t.coin).price));
      }
      const report = await scrapeTarget(t, { vendor: settings(vendor) });
      expect(report).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'blocked', price: null } });
    }
  });

  it('the product JSON answers the truth; an unknown product is a 404', async () => {
    const t = target('apmex');
    fleet.setTarget('apmex', t.coin, { price: 3333.33 });
    const res = await fetch(`${fleet.url}${APP_SHELL_API_PATH}?vendor=apmex&coin=${t.coin}`);
    const json = (await res.json()) as { product: { price: number; name: string }; page: { body: string } };
    expect(json.product).toMatchObject({ price: 3333.33, name: t.coinName });
    expect(json.page.body).toContain('$3,333.33');
    expect((await fetch(`${fleet.url}${APP_SHELL_API_PATH}?vendor=apmex&coin=nope`)).status).toBe(404);
  });
});

describe('tier auto with a real Chromium', () => {
  it('an app shell: HTTP finds no price, the browser renders it and reads the truth', async () => {
    for (const vendor of APP_SHELL) {
      const t = target(vendor);
      const report = await scrapeTarget(t, { vendor: autoShell(vendor), browser: realBrowser, fetch: countedFetch });
      expectTruth(report, t);
      expect(report.source).toBe('browser');
      expect(report.tiers).toEqual([
        { tier: 'http', url: t.urls[0], outcome: 'no_price', why: expect.stringMatching(/empty app shell \(no price, \d+ characters of text\): trying the browser/) },
        { tier: 'browser', url: t.urls[0], outcome: 'ok', why: expect.stringContaining(`$${fleet.truth(vendor, t.coin).price.toFixed(2)}`) },
      ]);
    }
    expect(httpCalls).toHaveLength(APP_SHELL.length);
    expect(browserCalls.map((c) => c.options.waitForSelector)).toEqual(APP_SHELL.map(() => APP_READY_SELECTOR));
  });

  it('a script challenge: HTTP is blocked, the browser runs the script, gets the cookie and reads the truth', async () => {
    for (const vendor of CHALLENGE) {
      const t = target(vendor);
      const report = await scrapeTarget(t, { vendor: settings(vendor, { tier: 'auto', preorderInStock: vendor === 'jmbullion' }), browser: realBrowser });
      expectTruth(report, t, vendor === 'jmbullion');
      expect(report).toMatchObject({ source: 'browser', status: 200 });
      expect(report.tiers.map((a) => [a.tier, a.outcome])).toEqual([['http', 'blocked'], ['browser', report.kind === 'result' ? report.result.outcome : '?']]);
      expect(report.tiers[0].why).toMatch(/^HTTP 403: .*challenge or bot wall .*: trying the browser$/);
    }
  });

  it('a 503 "checking your browser" page is a challenge for auto (the browser is tried), an outage for http', async () => {
    const t = target('herobullion');
    fleet.setTarget('herobullion', t.coin, { fault: 'challenge', faultTimes: 1 });
    const plain = await scrapeTarget(t, { vendor: settings('herobullion') });
    expect(plain).toMatchObject({ kind: 'transient', source: 'http', reason: 'HTTP 503 from the vendor' });

    fleet.setTarget('herobullion', t.coin, { fault: 'challenge', faultTimes: 1 });
    const report = await scrapeTarget(t, { vendor: settings('herobullion', { tier: 'auto' }), browser: realBrowser });
    expectTruth(report, t);
    expect(report.tiers.map((a) => [a.tier, a.outcome])).toEqual([['http', 'error'], ['browser', 'ok']]);
    expect(report.tiers[0].why).toMatch(/^HTTP 503: challenge or bot wall .*: trying the browser$/);
  });

  it('a slow challenge (the script waits before it reloads) is passed when the vendor names a selector to wait for', async () => {
    fleet.setBrowserVendors({ challenge: ['jmbullion'], challengeDelayMs: 300 });
    const t = target('jmbullion');
    // Read as soon as the challenge page has loaded, the browser sees the challenge.
    const hasty = await scrapeTarget(t, { vendor: settings('jmbullion', { tier: 'browser' }), browser: realBrowser });
    expect(hasty).toMatchObject({ kind: 'result', source: 'browser', status: 403, result: { outcome: 'blocked' } });
    const report = await scrapeTarget(t, { vendor: settings('jmbullion', { tier: 'browser', preorderInStock: true, waitForSelector: 'script[type="application/ld+json"]' }), browser: realBrowser });
    expectTruth(report, t, true);
  });

  it('a vendor behind both (challenge, then app shell) is read, out of stock included, with the screenshot asked for', async () => {
    fleet.setBrowserVendors({ appShell: ['sdbullion'], challenge: ['sdbullion'] });
    const t = target('sdbullion');
    fleet.setTarget('sdbullion', t.coin, { inStock: false });
    const report = await scrapeTarget(t, { vendor: autoShell('sdbullion'), browser: realBrowser, screenshot: true });
    expectTruth(report, t);
    expect(report).toMatchObject({ source: 'browser', result: { outcome: 'out_of_stock' } });
    // The screenshot the browser took travels with the report.
    const shot = report.kind === 'result' ? report.screenshot : undefined;
    expect(shot?.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    expect(browserCalls[0].options.screenshot).toBe(true);
  });

  it('every page style, served as an app shell, renders to its true price in the browser', async () => {
    const vendors = [...new Set(targets.map((t) => t.vendor))];
    fleet.setBrowserVendors({ appShell: vendors });
    const wrong: string[] = [];
    for (const vendor of vendors) {
      const t = target(vendor);
      const report = await scrapeTarget(t, { vendor: settings(vendor, { tier: 'browser', waitForSelector: APP_READY_SELECTOR, preorderInStock: vendor === 'jmbullion' || vendor === 'monumentmetals' }), browser: realBrowser });
      const truth = fleet.truth(vendor, t.coin);
      const got = report.kind === 'result' ? report.result : null;
      if (got?.price !== truth.price) wrong.push(`${t.coin}@${vendor}: ${JSON.stringify(got ?? report)} want ${truth.price}`);
    }
    expect(vendors.length).toBeGreaterThanOrEqual(9);
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('a page HTTP reads is never sent to the browser: a price, out of stock, a 404, another product', async () => {
    const plain = target('providentmetals');
    expect(await scrapeTarget(plain, { vendor: settings('providentmetals', { tier: 'auto' }), browser: realBrowser })).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'ok' } });
    fleet.setTarget('providentmetals', plain.coin, { inStock: false });
    expect(await scrapeTarget(plain, { vendor: settings('providentmetals', { tier: 'auto' }), browser: realBrowser })).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'out_of_stock' } });
    fleet.setTarget('providentmetals', plain.coin, { inStock: null, wrongProduct: true });
    expect(await scrapeTarget(plain, { vendor: settings('providentmetals', { tier: 'auto' }), browser: realBrowser })).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'wrong_product' } });

    // A 404 in front of an app-shell vendor: not found is an answer, not a reason to start a browser.
    const shell = target('apmex');
    fleet.setTarget('apmex', shell.coin, { fault: '404' });
    const report = await scrapeTarget(shell, { vendor: autoShell('apmex'), browser: realBrowser });
    expect(report).toMatchObject({ kind: 'result', source: 'http', final: true, result: { outcome: 'not_found' } });
    expect(report.tiers).toEqual([expect.objectContaining({ tier: 'http', outcome: 'not_found' })]);
    expect(browserCalls).toHaveLength(0);
  });
});

describe('tiers browser and http', () => {
  it('tier browser skips HTTP', async () => {
    const t = target('apmex');
    const report = await scrapeTarget(t, { vendor: settings('apmex', { tier: 'browser', waitForSelector: APP_READY_SELECTOR, settleMs: 10, allowResources: ['stylesheet'] }), browser: realBrowser, fetch: countedFetch });
    expectTruth(report, t);
    expect(report.source).toBe('browser');
    expect(report.tiers).toEqual([expect.objectContaining({ tier: 'browser', outcome: report.kind === 'result' ? report.result.outcome : '?' })]);
    expect(httpCalls).toEqual([]);
    expect(browserCalls).toEqual([{ url: t.urls[0], options: expect.objectContaining({ waitForSelector: APP_READY_SELECTOR, settleMs: 10, allowResources: ['stylesheet'], timeoutMs: 15_000, screenshot: false }) }]);
  });

  it('tier http never calls the browser, even on a challenge', async () => {
    const report = await scrapeTarget(target('jmbullion'), { vendor: settings('jmbullion', { tier: 'http' }), browser: realBrowser });
    expect(report).toMatchObject({ source: 'http', result: { outcome: 'blocked' } });
    expect(browserCalls).toHaveLength(0);
  });

  it('without a browser in the process, browser and auto say so', async () => {
    const t = target('apmex');
    const only = await scrapeTarget(t, { vendor: settings('apmex', { tier: 'browser' }), fetch: countedFetch });
    expect(only).toMatchObject({ kind: 'transient', source: 'browser' });
    expect(only.kind === 'transient' && only.reason).toContain(NO_BROWSER_REASON);
    expect(httpCalls).toEqual([]);

    const auto = await scrapeTarget(t, { vendor: autoShell('apmex') });
    expect(auto).toMatchObject({ kind: 'result', source: 'http', result: { outcome: 'no_price' } });
    expect(auto.kind === 'result' && auto.result.reason).toContain(NO_BROWSER_REASON);
    expect(auto.tiers.map((a) => [a.tier, a.outcome])).toEqual([['http', 'no_price'], ['browser', 'unavailable']]);
  });

  it('a browser that fails is a transient error naming the tier', async () => {
    const failing: BrowserFetch = async () => {
      throw Object.assign(new Error('Navigation timeout of 15000 ms exceeded'), { kind: 'timeout' });
    };
    const report = await scrapeTarget(target('apmex'), { vendor: autoShell('apmex'), browser: failing });
    expect(report).toMatchObject({ kind: 'transient', source: 'browser', reason: 'browser timeout: Navigation timeout of 15000 ms exceeded' });
    expect(report.tiers.map((a) => [a.tier, a.outcome])).toEqual([['http', 'no_price'], ['browser', 'error']]);
  });
});

describe('configuration', () => {
  it('vendors.json: tier and browser settings load with defaults; bad values are refused naming the field, never the value', async () => {
    const dir = await tempDir('tiers');
    try {
      const good = join(dir.path, 'good.json');
      await writeFile(good, JSON.stringify({ defaults: { tier: 'auto' }, vendors: { apmex: { tier: 'browser', waitForSelector: '#price', settleMs: 250, allowResources: ['image', 'font'] }, sdbullion: { tier: 'http' } } }));
      const d = await loadVendorDirectory(good, 1, {});
      expect(d.get('apmex')).toMatchObject({ tier: 'browser', browser: { waitForSelector: '#price', settleMs: 250, allowResources: ['image', 'font'] } });
      expect(d.get('sdbullion')).toMatchObject({ tier: 'http', browser: { waitForSelector: null, settleMs: null, allowResources: [] } });
      expect(d.get('newdealer').tier).toBe('auto');
      expect(vendorDirectory({}, 1).get('x')).toMatchObject({ tier: 'http', browser: { waitForSelector: null, settleMs: null, allowResources: [] } });
      expect((await loadVendorDirectory('config/vendors.json', 1, {})).get('apmex').tier).toBe('http');

      const bad = join(dir.path, 'bad.json');
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ tier: 'chrome-secret' }, /vendors\.apmex\.tier: expected one of http, browser, auto/],
        [{ settleMs: -5 }, /vendors\.apmex\.settleMs: expected milliseconds >= 0/],
        [{ settleMs: 1.5 }, /vendors\.apmex\.settleMs: expected whole milliseconds/],
        [{ allowResources: ['image', 'video-secret'] }, /vendors\.apmex\.allowResources\.1: expected one of image, font, media, stylesheet/],
        [{ waitForSelector: '  ' }, /vendors\.apmex\.waitForSelector: expected a CSS selector/],
        [{ tierr: 'auto' }, /vendors\.apmex: .*tierr/],
      ];
      for (const [own, field] of cases) {
        await writeFile(bad, JSON.stringify({ vendors: { apmex: own } }));
        const err = await loadVendorDirectory(bad, 1, {}).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(VendorsFileError);
        expect((err as Error).message).toMatch(field);
        expect((err as Error).message).not.toMatch(/chrome-secret|video-secret/);
      }
    } finally {
      await dir.remove();
    }
  });

  it('the fleet refuses unknown browser-only vendors naming the field, over the admin API too; reset restores the options', async () => {
    expect(() => fleet.setBrowserVendors({ appShell: ['apmex', 'nosuchdealer'] })).toThrow(/appShell\.1: unknown vendor "nosuchdealer"/);
    expect(() => fleet.setBrowserVendors({ challengeDelayMs: -1 })).toThrow(/challengeDelayMs: expected milliseconds >= 0/);
    const res = await fetch(`${fleet.url}/_fleet/browser-vendors`, { method: 'POST', body: JSON.stringify({ challenge: ['nosuchdealer'] }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/challenge\.0: unknown vendor/);

    const ok = await fetch(`${fleet.url}/_fleet/browser-vendors`, { method: 'POST', body: JSON.stringify({ challenge: ['apmex'] }) });
    expect(await ok.json()).toEqual({ ok: true, browserVendors: { appShell: [], challenge: ['apmex'], challengeDelayMs: 0 } });
    expect((await fetchPage(target('apmex').urls[0])).status).toBe(403);
    expect((await fetchPage(target('jmbullion').urls[0])).status).toBe(200);

    fleet.reset();
    expect(fleet.browserVendors()).toEqual({ appShell: APP_SHELL, challenge: CHALLENGE, challengeDelayMs: 0 });
    expect(((await (await fetch(`${fleet.url}/_fleet/health`)).json()) as { browserVendors: unknown }).browserVendors).toEqual(fleet.browserVendors());
  });
});
