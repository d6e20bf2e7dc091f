import { load, type CheerioAPI } from 'cheerio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listTargets, loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import type { Target } from '../src/catalogue/target.js';
import {
  DEFAULT_SPOT,
  PREMIUM_RANGE,
  cardPrice,
  PRICE_LEVEL_SPREAD,
  formatUsd,
  meltValue,
  modelPrice,
  rewriteCatalogueForFleet,
  startFleet,
  windowIndex,
  type FleetHandle,
} from '../src/fleet/index.js';

let catalogue: Catalogue;
let fleet: FleetHandle;
/** Enabled targets with URLs pointing at the fleet. */
let targets: Target[];

beforeAll(async () => {
  catalogue = await loadCatalogue('config/providers.json');
  fleet = await startFleet({ catalogue: catalogue.file, seed: 7 });
  targets = listTargets(rewriteCatalogueForFleet(catalogue.file, fleet.url));
});
afterAll(async () => {
  await fleet?.close();
});
afterEach(() => fleet.reset());

async function page(url: string): Promise<{ status: number; html: string; $: CheerioAPI; headers: Headers }> {
  const res = await fetch(url);
  const html = await res.text();
  return { status: res.status, html, $: load(html), headers: res.headers };
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: limit }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await fn(item);
  }));
}

function target(vendor: string, coin = 'ase'): Target {
  const t = targets.find((x) => x.vendor === vendor && x.coin === coin);
  if (!t) throw new Error(`no target ${coin}:${vendor}`);
  return t;
}

/** Where each style prints the 1-unit check/wire price: the contract the extractor can rely on. */
const ONE_UNIT_PRICE: Record<string, ($: CheerioAPI) => string> = {
  apmex: ($) => $('table.table-volume-pricing tbody tr').first().find('td.check-wire').text(),
  jmbullion: ($) => $('.payment-table tbody tr').first().find('td').eq(1).text() || $('.price-col--check .price-col__cell').first().text(),
  sdbullion: ($) => $('[data-price-type="finalPrice"] .price').text(),
  monumentmetals: ($) => $('.pricing-table tbody tr').first().find('td').eq(1).text(),
  providentmetals: ($) => $('.tier-grid__row:not(.tier-grid__row--head)').first().find('[data-method="check"]').text(),
  herobullion: ($) => $('[data-product-price-without-tax]').text(),
  bullionexchanges: ($) => JSON.parse($('#__NEXT_DATA__').text()).props.pageProps.product.price_tiers[0].prices.check_wire.formatted,
  gainesvillecoins: ($) => $('.pricing-grid__row:not(.pricing-grid__row--head)').first().find('.pricing-grid__price--cash').text(),
  summitmetals: ($) => $('.price__sale .price-item--sale').text().replace(/\s*USD$/, ''),
};

/** JSON-LD offer of a page, if it has one. */
function ldOffer($: CheerioAPI): Record<string, string | number> | undefined {
  const raw = $('script[type="application/ld+json"]').first().text();
  if (!raw) return undefined;
  const offers = JSON.parse(raw).offers;
  return Array.isArray(offers) ? offers[0] : offers;
}

const buttons = ($: CheerioAPI, re: RegExp, disabled: boolean) =>
  $('button, input[type=submit]').filter((_, el) => re.test($(el).text() + ($(el).attr('value') ?? '')) && ($(el).attr('disabled') !== undefined) === disabled).length;

describe('product pages', () => {
  it('serves every enabled catalogue target with its coin name and its true 1-unit price', async () => {
    expect(targets.length).toBeGreaterThan(150);
    const sizes: number[] = [];
    await eachLimited(targets, 12, async (t) => {
      const { status, html, $, headers } = await page(t.urls[0]);
      const truth = fleet.truth(t.vendor, t.coin);
      const where = `${t.coin}:${t.vendor}`;
      expect(status, where).toBe(200);
      expect(headers.get('content-type'), where).toBe('text/html; charset=utf-8');
      expect($('h1').first().text().trim(), where).toBe(t.coinName);
      expect($('title').text(), where).toContain(t.coinName);
      expect(html, where).toContain(formatUsd(truth.price));
      expect(ONE_UNIT_PRICE[t.vendor]($).trim(), where).toBe(formatUsd(truth.price));
      sizes.push(html.length);
    });
    expect(Math.min(...sizes)).toBeGreaterThan(30_000);
    expect(Math.max(...sizes)).toBeLessThan(200_000);
  });

  it('carries the traps: ticker, lower "As Low As" and related prices, fractional menu links, "notify me" reviews', async () => {
    for (const vendor of Object.keys(ONE_UNIT_PRICE)) {
      const t = target(vendor, 'age');
      const { html, $ } = await page(t.urls[0]);
      const truth = fleet.truth(vendor, 'age');
      expect(html, vendor).toMatch(/Gold<\/span> <span[^>]*>\$[\d,]+\.\d\d<\/span> <span[^>]*>[+-][\d,]+\.\d\d/);
      expect(html, vendor).toContain('American Gold Eagle 1/10 oz');
      const dollars = [...html.matchAll(/\$(\d{1,3}(?:,\d{3})+(?:\.\d\d)?)/g)].map((m) => Number(m[1].replace(/,/g, '')));
      expect(dollars.some((d) => d < truth.price && d > truth.price * 0.9), `${vendor}: a lower price near the true one`).toBe(true);
      expect(html.toLowerCase(), vendor).toContain('notify me');
      expect(buttons($, /add to cart/i, false), vendor).toBe(1);
    }
  });

  it('publishes JSON-LD as the dealers do: the 1-unit price on most, the "as low as" price on some, the card price on one', async () => {
    for (const vendor of Object.keys(ONE_UNIT_PRICE)) {
      const { $ } = await page(target(vendor).urls[0]);
      const truth = fleet.truth(vendor, 'ase');
      const offer = ldOffer($);
      if (vendor === 'bullionexchanges') expect(offer).toBeUndefined();
      else if (['apmex', 'jmbullion', 'monumentmetals'].includes(vendor)) expect(Number(offer?.lowPrice ?? offer?.price), vendor).toBeLessThan(truth.price);
      else if (vendor === 'providentmetals') expect(Number(offer?.price), vendor).toBe(cardPrice(truth.price));
      else expect(Number(offer?.price), vendor).toBe(truth.price);
    }
  });

  it('steps the tiers of expensive goods by dollars: the "as low as" price of a gold coin is within half a percent of its 1-unit price', async () => {
    for (const vendor of ['apmex', 'monumentmetals']) {
      const truth = fleet.truth(vendor, 'age');
      const low = Number(ldOffer((await page(target(vendor, 'age').urls[0])).$)?.lowPrice);
      expect(low, vendor).toBeLessThan(truth.price);
      expect(truth.price - low, vendor).toBeLessThan(0.005 * truth.price);
    }
  });

  it('headlines the card price over a check/wire table at one dealer (price box, meta tag, Offer)', async () => {
    const { $ } = await page(target('providentmetals', 'age').urls[0]);
    const truth = fleet.truth('providentmetals', 'age');
    expect($('[data-price-type="finalPrice"] .price').text()).toBe(formatUsd(cardPrice(truth.price)));
    expect($('meta[property="product:price:amount"]').attr('content')).toBe(cardPrice(truth.price).toFixed(2));
    expect(ONE_UNIT_PRICE.providentmetals($).trim()).toBe(formatUsd(truth.price));
  });
});

describe('price model', () => {
  it('puts premiums over melt in the range of each metal', () => {
    for (const t of targets) {
      const truth = fleet.truth(t.vendor, t.coin);
      const premium = truth.price / meltValue(t.metal, t.weightOz, DEFAULT_SPOT) - 1;
      const [min, max] = PREMIUM_RANGE[t.metal];
      expect(premium, `${t.coin}:${t.vendor}`).toBeGreaterThanOrEqual(min - PRICE_LEVEL_SPREAD - 0.001);
      expect(premium, `${t.coin}:${t.vendor}`).toBeLessThanOrEqual(max + PRICE_LEVEL_SPREAD + 0.001);
      expect(Math.round(truth.price * 100) / 100).toBe(truth.price);
    }
  });

  it('moves about 30% of prices from one window to the next, by small amounts, and is deterministic', () => {
    let moved = 0;
    let pairs = 0;
    const w0 = windowIndex(Date.now());
    for (const t of targets) {
      const input = { seed: 7, vendor: t.vendor, coin: t.coin, metal: t.metal, weightOz: t.weightOz, spot: DEFAULT_SPOT };
      for (let w = w0; w < w0 + 20; w++) {
        const a = modelPrice({ ...input, window: w });
        const b = modelPrice({ ...input, window: w + 1 });
        expect(modelPrice({ ...input, window: w })).toBe(a);
        pairs += 1;
        if (a !== b) moved += 1;
        expect(Math.abs(b - a) / a).toBeLessThan(2 * PRICE_LEVEL_SPREAD + 0.001);
      }
    }
    expect(moved / pairs).toBeGreaterThan(0.2);
    expect(moved / pairs).toBeLessThan(0.4);
  });

  it('keeps most targets in stock and a deterministic few out of stock; the seed changes prices', async () => {
    const out = targets.filter((t) => !fleet.truth(t.vendor, t.coin).inStock);
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(targets.length * 0.15);
    const other = await startFleet({ catalogue: catalogue.file, seed: 8 });
    const same = await startFleet({ catalogue: catalogue.file, seed: 7 });
    try {
      expect(targets.filter((t) => other.truth(t.vendor, t.coin).price !== fleet.truth(t.vendor, t.coin).price).length).toBeGreaterThan(targets.length / 2);
      for (const t of targets) expect(same.truth(t.vendor, t.coin)).toEqual(fleet.truth(t.vendor, t.coin));
    } finally {
      await Promise.all([other.close(), same.close()]);
    }
  });

  it('follows the clock and the spot option', async () => {
    let at = Date.UTC(2026, 10, 23, 12, 0);
    const f = await startFleet({ catalogue: catalogue.file, seed: 7, now: () => at, spot: { silver: 170 } });
    try {
      const first = targets.map((t) => f.truth(t.vendor, t.coin).price);
      at += 15 * 60 * 1000;
      const second = targets.map((t) => f.truth(t.vendor, t.coin).price);
      expect(second.filter((p, i) => p !== first[i]).length).toBeGreaterThan(0);
      const ase = f.truth('apmex', 'ase').price;
      expect(ase).toBeGreaterThan(170 * 1.09);
      expect(ase).toBeLessThan(170 * 1.26);
    } finally {
      await f.close();
    }
  });
});

describe('patches', () => {
  it('changes the advertised price and the truth', async () => {
    for (const vendor of Object.keys(ONE_UNIT_PRICE)) {
      fleet.setTarget(vendor, 'age', { price: 5432.1 });
      expect(fleet.truth(vendor, 'age')).toEqual({ price: 5432.1, inStock: expect.any(Boolean), preorder: false });
      const { html, $ } = await page(target(vendor, 'age').urls[0]);
      expect(ONE_UNIT_PRICE[vendor]($).trim(), vendor).toBe('$5,432.10');
      expect(html).toContain('$5,432.10');
    }
    fleet.setTarget('apmex', 'age', { price: null });
    expect(fleet.truth('apmex', 'age').price).not.toBe(5432.1);
  });

  it('shows out of stock with the price still advertised, and pre-order', async () => {
    for (const vendor of Object.keys(ONE_UNIT_PRICE)) {
      fleet.setTarget(vendor, 'ase', { inStock: false });
      const truth = fleet.truth(vendor, 'ase');
      expect(truth.inStock).toBe(false);
      let { $ } = await page(target(vendor).urls[0]);
      expect(ONE_UNIT_PRICE[vendor]($).trim(), vendor).toBe(formatUsd(truth.price));
      expect(buttons($, /sold out|out of stock/i, true), vendor).toBe(1);
      expect(buttons($, /add to cart/i, false), vendor).toBe(0);
      if (vendor !== 'bullionexchanges') expect(String(ldOffer($)?.availability), vendor).toMatch(/schema\.org\/OutOfStock$/);

      fleet.setTarget(vendor, 'ase', { inStock: null, preorder: true });
      expect(fleet.truth(vendor, 'ase')).toMatchObject({ inStock: false, preorder: true });
      ({ $ } = await page(target(vendor).urls[0]));
      expect(buttons($, /pre-?order/i, false), vendor).toBe(1);
      expect(buttons($, /add to cart/i, false), vendor).toBe(0);

      fleet.setTarget(vendor, 'ase', { preorder: false, inStock: true });
      ({ $ } = await page(target(vendor).urls[0]));
      expect(buttons($, /add to cart/i, false), vendor).toBe(1);
      expect(buttons($, /sold out|out of stock/i, true), vendor).toBe(0);
    }
  });

  it('serves another weight under wrongProduct, with its own lower price and matching title', async () => {
    for (const vendor of Object.keys(ONE_UNIT_PRICE)) {
      const truth = fleet.truth(vendor, 'age');
      fleet.setTarget(vendor, 'age', { wrongProduct: true });
      const { status, $, html } = await page(target(vendor, 'age').urls[0]);
      expect(status).toBe(200);
      expect($('h1').first().text().trim(), vendor).toBe('American Gold Eagle 1/10 oz');
      expect($('title').text(), vendor).toContain('American Gold Eagle 1/10 oz');
      const shown = Number(ONE_UNIT_PRICE[vendor]($).replace(/[$,]/g, ''));
      expect(shown).toBeLessThan(truth.price / 5);
      expect(html).not.toContain(formatUsd(truth.price));
      expect(fleet.truth(vendor, 'age')).toEqual(truth);
    }
    fleet.setTarget('jmbullion', 'goldback-utah-g1', { wrongProduct: true });
    const { $ } = await page(target('jmbullion', 'goldback-utah-g1').urls[0]);
    expect($('h1').text()).toBe('G½ Utah Goldback (1/2000 oz gold)');
  });

  it('rejects unknown targets and bad patches', () => {
    expect(() => fleet.setTarget('apmex', 'nope', { price: 1 })).toThrow(/unknown target nope:apmex/);
    expect(() => fleet.setTarget('apmex', 'goldback-dc-g1', { price: 1 })).not.toThrow();
    expect(() => fleet.setTarget('herobullion', 'goldback-dc-g1', { price: 1 })).toThrow(/no URL/);
    expect(() => fleet.setTarget('apmex', 'ase', { price: -3 })).toThrow(/price: expected a price > 0/);
    expect(() => fleet.setTarget('apmex', 'ase', { fault: 'boom' } as never)).toThrow(/fault: expected one of 403/);
    expect(() => fleet.setTarget('apmex', 'ase', { prize: 3 } as never)).toThrow(/prize/);
    expect(() => fleet.setVendor('nobody', {})).toThrow(/unknown vendor "nobody"/);
    expect(() => fleet.truth('apmex', 'nope')).toThrow(/unknown target/);
  });
});

describe('faults', () => {
  it('answers 403, 404, 429, 500 and challenges as the dealers and Cloudflare do', async () => {
    const url = target('apmex').urls[0];
    fleet.setTarget('apmex', 'ase', { fault: '403' });
    let r = await page(url);
    expect(r.status).toBe(403);
    expect(r.html).toContain('Access denied');
    expect(r.headers.get('server')).toBe('cloudflare');

    fleet.setTarget('apmex', 'ase', { fault: '404' });
    r = await page(url);
    expect(r.status).toBe(404);
    expect(r.html).toContain('Page not found');

    fleet.setTarget('apmex', 'ase', { fault: '429' });
    r = await page(url);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('2');

    fleet.setTarget('apmex', 'ase', { fault: '500' });
    expect((await page(url)).status).toBe(500);

    const price = formatUsd(fleet.truth('apmex', 'ase').price);
    for (const vendor of ['apmex', 'bullionexchanges']) {
      fleet.setTarget(vendor, 'ase', { fault: 'challenge' });
      r = await page(target(vendor).urls[0]);
      expect([200, 503]).toContain(r.status);
      expect(r.$('title').text()).toBe('Just a moment...');
      expect(r.html).toContain('Checking your browser');
      expect(r.$('form#challenge-form').length).toBe(1);
      expect(r.html).not.toContain(price);
      expect(r.html).not.toContain('American Silver Eagle');
    }
  });

  it('clears a fault after faultTimes requests, and lets target faults win over vendor faults', async () => {
    const url = target('sdbullion').urls[0];
    fleet.setTarget('sdbullion', 'ase', { fault: '500', faultTimes: 2 });
    expect((await page(url)).status).toBe(500);
    expect((await page(url)).status).toBe(500);
    expect((await page(url)).status).toBe(200);

    fleet.setVendor('sdbullion', { fault: '403' });
    expect((await page(url)).status).toBe(403);
    expect((await page(target('sdbullion', 'age').urls[0])).status).toBe(403);
    fleet.setTarget('sdbullion', 'ase', { fault: '429' });
    expect((await page(url)).status).toBe(429);
    fleet.setVendor('sdbullion', { fault: null });
    expect((await page(target('sdbullion', 'age').urls[0])).status).toBe(200);
    expect((await page(target('apmex').urls[0])).status).toBe(200);
  });

  it('truncates: a Content-Length larger than the body and a dropped connection', async () => {
    fleet.setTarget('jmbullion', 'ase', { fault: 'truncated' });
    const res = await fetch(target('jmbullion').urls[0]);
    expect(res.status).toBe(200);
    expect(Number(res.headers.get('content-length'))).toBeGreaterThan(30_000);
    await expect(res.text()).rejects.toThrow();
  });

  it('slow: answers after the delay, never within a second, and does not hold up close()', async () => {
    const quick = await startFleet({ catalogue: catalogue.file, slowMs: 1_500 });
    const slow = await startFleet({ catalogue: catalogue.file });
    try {
      quick.setTarget('apmex', 'ase', { fault: 'slow' });
      const started = Date.now();
      const res = await fetch(quick.urlFor('apmex', 'ase'));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain(formatUsd(quick.truth('apmex', 'ase').price));
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);

      slow.setTarget('apmex', 'ase', { fault: 'slow' });
      await expect(fetch(slow.urlFor('apmex', 'ase'), { signal: AbortSignal.timeout(1_000) })).rejects.toThrow();
      const pending = fetch(slow.urlFor('apmex', 'ase')).then(
        () => 'answered',
        () => 'failed',
      );
      await new Promise((r) => setTimeout(r, 200));
      const closing = Date.now();
      await slow.close();
      expect(Date.now() - closing).toBeLessThan(1_000);
      expect(await pending).toBe('failed');
    } finally {
      await Promise.all([quick.close(), slow.close()]);
    }
  });

  it('delays answers by the latency range or the patched latency', async () => {
    const f = await startFleet({ catalogue: catalogue.file, latencyMs: [900, 1000] });
    try {
      let started = Date.now();
      expect((await fetch(f.urlFor('apmex', 'ase'))).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(895);
      f.setTarget('apmex', 'ase', { latencyMs: 0 });
      started = Date.now();
      await (await fetch(f.urlFor('apmex', 'ase'))).text();
      expect(Date.now() - started).toBeLessThan(800);
    } finally {
      await f.close();
    }
  });
});

describe('routing and stats', () => {
  it('answers unknown paths with a realistic 404 page', async () => {
    for (const path of ['/apmex/product/999999/not-a-coin', '/nobody/at-all', '/']) {
      const r = await page(fleet.url + path);
      expect(r.status, path).toBe(404);
      expect(r.html).toContain('Page not found');
      expect(r.html).toContain('product not found');
    }
  });

  it('listens on 127.0.0.1 and counts requests per vendor, not admin ones', async () => {
    expect(fleet.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    fleet.reset({ stats: true });
    await page(target('apmex').urls[0]);
    await page(target('apmex', 'age').urls[0]);
    await page(target('summitmetals').urls[0]);
    await fetch(`${fleet.url}/_fleet/health`);
    expect(fleet.stats()).toMatchObject({ requests: 3, byVendor: { apmex: 2, summitmetals: 1 } });
  });
});

describe('admin endpoints', () => {
  const post = (path: string, body: unknown) =>
    fetch(`${fleet.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('report health, stats, targets and truth', async () => {
    const health = await (await fetch(`${fleet.url}/_fleet/health`)).json();
    expect(health).toMatchObject({ ok: true, targets: expect.any(Number) });
    expect(health.vendors).toContain('apmex');
    expect(await (await fetch(`${fleet.url}/_fleet/stats`)).json()).toMatchObject({ requests: expect.any(Number), byVendor: expect.any(Object) });
    const truth = await (await fetch(`${fleet.url}/_fleet/truth?vendor=apmex&coin=ase`)).json();
    expect(truth).toEqual({ vendor: 'apmex', coin: 'ase', ...fleet.truth('apmex', 'ase') });
    const list = await (await fetch(`${fleet.url}/_fleet/targets`)).json();
    expect(list.find((t: { vendor: string; coin: string }) => t.vendor === 'apmex' && t.coin === 'ase').url).toBe(target('apmex').urls[0]);
  });

  it('patch targets and vendors, and reset', async () => {
    let res = await post('/_fleet/target', { vendor: 'apmex', coin: 'ase', price: 99.5, inStock: false });
    expect(res.status).toBe(200);
    expect((await res.json()).truth).toEqual({ price: 99.5, inStock: false, preorder: false });
    expect((await page(target('apmex').urls[0])).html).toContain('$99.50');

    res = await post('/_fleet/vendor', { vendor: 'apmex', fault: '429', faultTimes: 1 });
    expect(res.status).toBe(200);
    expect((await page(target('apmex', 'age').urls[0])).status).toBe(429);
    expect((await page(target('apmex', 'age').urls[0])).status).toBe(200);

    expect((await post('/_fleet/reset', {})).status).toBe(200);
    expect(fleet.truth('apmex', 'ase').price).not.toBe(99.5);
  });

  it('reject bad input with a 400 and a message', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['/_fleet/target', { vendor: 'apmex', coin: 'nope', price: 1 }, /unknown target nope:apmex/],
      ['/_fleet/target', { vendor: 'apmex', price: 1 }, /coin: expected a non-empty string/],
      ['/_fleet/target', { vendor: 'apmex', coin: 'ase', price: 'cheap' }, /price/],
      ['/_fleet/target', { vendor: 'apmex', coin: 'ase', faultTimes: 0, fault: '500' }, /faultTimes/],
      ['/_fleet/target', { vendor: 'apmex', coin: 'ase', colour: 'red' }, /colour/],
      ['/_fleet/target', '{not json', /not valid JSON/],
      ['/_fleet/target', [1, 2], /expected a JSON object/],
      ['/_fleet/vendor', { vendor: 'apmex', price: 10 }, /set prices per target/],
      ['/_fleet/vendor', { vendor: 'nobody' }, /unknown vendor/],
      ['/_fleet/reset', { stats: 'yes' }, /stats/],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error).toMatch(message);
    }
    for (const q of ['', '?vendor=apmex', '?vendor=apmex&coin=nope']) {
      expect((await fetch(`${fleet.url}/_fleet/truth${q}`)).status, q).toBe(400);
    }
    expect((await fetch(`${fleet.url}/_fleet/target`)).status).toBe(405);
    expect((await fetch(`${fleet.url}/_fleet/nothing`)).status).toBe(404);
    expect(fleet.truth('apmex', 'ase').price).toBeGreaterThan(85);
  });
});

describe('rewriteCatalogueForFleet', () => {
  it('points every url and urls[] at the fleet and changes nothing else', () => {
    const file = catalogue.file;
    const before = JSON.stringify(file);
    const rewritten = rewriteCatalogueForFleet(file, 'http://127.0.0.1:9999/');
    expect(JSON.stringify(file)).toBe(before);
    const strip = (f: typeof file) => JSON.parse(JSON.stringify(f, (k, v) => (k === 'url' || k === 'urls' ? undefined : v)));
    expect(strip(rewritten)).toEqual(strip(file));
    for (const [slug, coin] of Object.entries(file.coins)) {
      coin.providers.forEach((p, i) => {
        const q = rewritten.coins[slug].providers[i];
        expect(q.enabled).toBe(p.enabled);
        if (p.url) {
          const u = new URL(p.url);
          expect(q.url).toBe(`http://127.0.0.1:9999/${p.id}${u.pathname}${u.search}`);
        } else expect(q.url).toBeUndefined();
      });
    }
    expect(rewritten.coins['goldback-dc-g1'].providers.filter((p) => !p.enabled).map((p) => p.id)).toEqual(['herobullion', 'sdbullion']);
  });

  it('handles urls[] and query strings', async () => {
    const file = {
      coins: {
        ase: {
          name: 'American Silver Eagle 1 oz',
          metal: 'silver' as const,
          weight_oz: 1,
          providers: [{ id: 'newdealer', name: 'New Dealer', enabled: true, urls: ['https://shop.example/p?id=1', 'https://shop.example/alt/ase'] }],
        },
      },
    };
    const f = await startFleet({ catalogue: file });
    try {
      const urls = rewriteCatalogueForFleet(file, f.url).coins.ase.providers[0].urls!;
      expect(urls).toEqual([`${f.url}/newdealer/p?id=1`, `${f.url}/newdealer/alt/ase`]);
      for (const u of urls) {
        const r = await page(u);
        expect(r.status).toBe(200);
        expect(r.$('h1').text()).toBe('American Silver Eagle 1 oz');
        expect(r.$('.product-price .price').text()).toBe(formatUsd(f.truth('newdealer', 'ase').price));
      }
      expect((await page(`${f.url}/newdealer/p?id=2`)).status).toBe(404);
    } finally {
      await f.close();
    }
  });
});
