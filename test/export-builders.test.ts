import { describe, expect, it } from 'vitest';
import { addDailyAggregates } from '../src/export/add-daily.js';
import { buildCoinHistory } from '../src/export/coin-history.js';
import { buildCoinLatest } from '../src/export/coin-latest.js';
import { medianCents, summarisePrices, toCents } from '../src/export/cents.js';
import { buildManifest, NO_DATA_GENERATED_AT } from '../src/export/manifest.js';
import { buildProviders } from '../src/export/providers.js';
import { buildGlobalLatest } from '../src/export/global-latest.js';
import { stableStringify } from '../src/export/stable-json.js';
import { vendorStatesFromDays } from '../src/export/vendor-state.js';
import type { DailyVendorAggregate, Observation, VendorState } from '../src/export/model.js';
import { checkPublishedFile } from '../src/contract/check.js';
import { parseCatalogue } from '../src/catalogue/load.js';

const ANCHOR = '2026-11-23T12:00:00Z';

function obs(window: string, dollars: number, over: Partial<Observation> = {}): Observation {
  return { scrapedAt: window.replace(':00Z', ':07.250Z'), window, priceCents: toCents(dollars), inStock: true, confidence: 80, source: 'http', ...over };
}
const state = (vendor: string, last: Observation, lastInStock: VendorState['lastInStock'] = last.inStock ? { scrapedAt: last.scrapedAt, priceCents: last.priceCents } : null): VendorState => ({ vendor, last, lastInStock });

describe('cents arithmetic', () => {
  it('takes the true median: the middle value, or the mean of the two middle values rounded half up to cents', () => {
    expect(medianCents([300, 100, 200])).toBe(200);
    expect(medianCents([100, 400, 200, 300])).toBe(250);
    expect(medianCents([1001, 1002])).toBe(1002); // 10.015 rounds half up to 10.02
    expect(medianCents([])).toBeNull();
    expect(summarisePrices([5230.31, 5122.1, 5251.29, 5232.57])).toEqual({ median: 5231.44, lowest: 5122.1 });
    expect(toCents(10.01)).toBe(1001);
  });
});

describe('buildCoinLatest', () => {
  const vendors: VendorState[] = [
    state('apmex', obs('2026-11-23T12:00:00Z', 32)),
    state('jmbullion', obs('2026-11-23T11:45:00Z', 30.5, { confidence: 50, source: 'browser' })), // previous window: still fresh
    state('sdbullion', obs('2026-11-23T12:00:00Z', 31.5)),
    state('monumentmetals', obs('2026-11-23T06:00:00Z', 29.99)), // 6 h old: a stale fill
    state('bullionexchanges', obs('2026-11-23T12:00:00Z', 35, { inStock: false }), { scrapedAt: '2026-11-22T10:00:03.000Z', priceCents: 3400 }),
    state('herobullion', obs('2026-11-23T11:30:00Z', 36, { inStock: false }), null), // out of stock, never seen in stock
    state('summitmetals', obs('2026-11-22T11:45:00Z', 28)), // 24 h 15 min old: gone
  ];
  const windowPrices = [
    { window: '2026-11-23T12:00:00Z', vendor: 'apmex', priceCents: 3200 },
    { window: '2026-11-23T12:00:00Z', vendor: 'sdbullion', priceCents: 3150 },
    { window: '2026-11-23T11:45:00Z', vendor: 'jmbullion', priceCents: 3050 },
    { window: '2026-11-23T11:45:00Z', vendor: 'apmex', priceCents: 3100 },
    { window: '2026-11-23T06:00:00Z', vendor: 'monumentmetals', priceCents: 2999 },
    { window: '2026-11-22T12:15:00Z', vendor: 'apmex', priceCents: 2900 }, // first window inside 24 h
    { window: '2026-11-22T12:00:00Z', vendor: 'apmex', priceCents: 2800 }, // exactly 24 h: outside
  ];
  const file = buildCoinLatest({ slug: 'ase', anchorWindow: ANCHOR, vendors, windowPrices });

  it('takes median and lowest from fresh in-stock vendors only (odd count), excluding stale fills', () => {
    expect(file.median_price).toBe(31.5);
    expect(file.lowest_price).toBe(30.5);
    expect(file.window_start).toBe('2026-11-23T12:00:00Z');
  });

  it('lists fresh vendors with their real source and confidence, and stale fills as such', () => {
    expect(file.vendors.apmex).toEqual({ price: 32, confidence: 80, source: 'http', inStock: true });
    expect(file.vendors.jmbullion).toEqual({ price: 30.5, confidence: 50, source: 'browser', inStock: true });
    expect(file.vendors.monumentmetals).toEqual({ price: 29.99, confidence: null, source: 'last_known', inStock: true, stale: true, stale_since: '2026-11-23T06:00:07.250Z' });
    expect(Object.keys(file.vendors).sort()).toEqual(['apmex', 'jmbullion', 'monumentmetals', 'sdbullion']);
  });

  it('reports out-of-stock vendors in availability, with the last in-stock price and date when known', () => {
    expect(file.availability_by_site).toEqual({ apmex: true, jmbullion: true, sdbullion: true, monumentmetals: true, bullionexchanges: false, herobullion: false });
    expect(file.last_known_price_by_site).toEqual({ bullionexchanges: 34 });
    expect(file.last_available_date_by_site).toEqual({ bullionexchanges: '2026-11-22' });
  });

  it('keeps every window of the last 24 hours with data, ascending, with true median and lowest', () => {
    expect(file.windows_24h).toEqual([
      { window: '2026-11-22T12:15:00Z', median: 29, low: 29, vendors: { apmex: 29 } },
      { window: '2026-11-23T06:00:00Z', median: 29.99, low: 29.99, vendors: { monumentmetals: 29.99 } },
      { window: '2026-11-23T11:45:00Z', median: 30.75, low: 30.5, vendors: { jmbullion: 30.5, apmex: 31 } },
      { window: '2026-11-23T12:00:00Z', median: 31.75, low: 31.5, vendors: { apmex: 32, sdbullion: 31.5 } },
    ]);
  });

  it('passes the published schema', () => {
    expect(() => checkPublishedFile('api/ase/latest.json', file)).not.toThrow();
  });

  it('gives null prices when no vendor is fresh and in stock, and an empty file without data', () => {
    const stale = buildCoinLatest({ slug: 'ase', anchorWindow: ANCHOR, vendors: [vendors[3]], windowPrices: [] });
    expect([stale.median_price, stale.lowest_price]).toEqual([null, null]);
    expect(stale.vendors.monumentmetals.stale).toBe(true);
    const empty = buildCoinLatest({ slug: 'ase', anchorWindow: null, vendors: [], windowPrices: [] });
    expect(empty).toMatchObject({ window_start: null, median_price: null, vendors: {}, windows_24h: [] });
    expect(() => checkPublishedFile('api/ase/latest.json', empty)).not.toThrow();
  });
});

describe('buildCoinHistory', () => {
  const agg = (vendor: string, inStock: number[], outOfStock: number[] = []): DailyVendorAggregate => ({
    vendor,
    rows: inStock.length + outOfStock.length,
    inStockRows: inStock.length,
    inStockSumCents: inStock.reduce((s, p) => s + toCents(p), 0),
    outOfStockSumCents: outOfStock.reduce((s, p) => s + toCents(p), 0),
    last: obs('2026-11-23T12:00:00Z', inStock.at(-1) ?? outOfStock.at(-1)!, { inStock: inStock.length > 0 && !outOfStock.length }),
    lastInStock: null,
  });
  const days = [
    { date: '2026-11-23', vendors: [agg('apmex', [10, 10.01]), agg('jmbullion', [11]), agg('sdbullion', [9.5, 9.7]), agg('herobullion', [], [8, 8.5])] },
    { date: '2026-11-16', vendors: [agg('apmex', [12])] },
    { date: '2026-11-17', vendors: [agg('apmex', [12]), agg('jmbullion', [13])] },
    { date: '2026-10-20', vendors: [agg('apmex', [14])] },
  ];

  it('averages in-stock prices per vendor; out-of-stock vendors keep their advertised average with inStock false', () => {
    const h = buildCoinHistory(days, { days: 7, lastDate: '2026-11-23' });
    expect(h.map((d) => d.date)).toEqual(['2026-11-17', '2026-11-23']);
    expect(h[1]).toEqual({
      date: '2026-11-23',
      avg_median: 10.01, // median of 10.01 (half up from 10.005), 11, 9.6
      avg_low: 9.6,
      sample_count: 7,
      vendors: { apmex: { avg: 10.01, inStock: true }, jmbullion: { avg: 11, inStock: true }, sdbullion: { avg: 9.6, inStock: true }, herobullion: { avg: 8.25, inStock: false } },
    });
    expect(h[0]).toMatchObject({ avg_median: 12.5, avg_low: 12 }); // even count: mean of the two
    expect(() => checkPublishedFile('api/ase/history-7d.json', h)).not.toThrow();
  });

  it('covers the last N dates ending at the newest', () => {
    expect(buildCoinHistory(days, { days: 30, lastDate: '2026-11-23' }).map((d) => d.date)).toEqual(['2026-11-16', '2026-11-17', '2026-11-23']);
    expect(buildCoinHistory(days, { days: 40, lastDate: '2026-11-23' })[0].date).toBe('2026-10-20');
  });

  it('derives each vendor state from its newest day', () => {
    const states = vendorStatesFromDays([
      { date: '2026-11-22', vendors: [{ ...agg('apmex', [5]), last: obs('2026-11-22T09:00:00Z', 5), lastInStock: { scrapedAt: '2026-11-22T09:00:07.250Z', priceCents: 500 } }] },
      { date: '2026-11-23', vendors: [{ ...agg('apmex', [], [6]), last: obs('2026-11-23T09:00:00Z', 6, { inStock: false }), lastInStock: null }] },
    ]);
    expect(states).toEqual([{ vendor: 'apmex', last: obs('2026-11-23T09:00:00Z', 6, { inStock: false }), lastInStock: { scrapedAt: '2026-11-22T09:00:07.250Z', priceCents: 500 } }]);
  });
});

describe('manifest, providers and global latest', () => {
  const catalogue = parseCatalogue(JSON.stringify({
    coins: {
      ase: { name: 'American Silver Eagle 1 oz', metal: 'Silver', weight_oz: 1, providers: [
        { id: 'apmex', name: 'APMEX', enabled: true, url: 'https://www.apmex.com/ase' },
        { id: 'jmbullion', name: 'JM', enabled: true, urls: ['https://www.jmbullion.com/a', 'https://www.jmbullion.com/b'] },
        { id: 'sdbullion', name: 'SD', enabled: false },
      ] },
      age: { name: 'American Gold Eagle 1 oz', metal: 'gold', weight_oz: 1, providers: [] },
    },
  }));

  it('lists coins and enabled_coins alike, sorted, with meta for configured coins only', () => {
    const m = buildManifest({ slugs: ['ase', 'old-coin', 'age', 'ase'], catalogueCoins: catalogue.file.coins, anchorWindow: ANCHOR, generatedAt: '2026-11-23T12:05:00.000Z', windowCount: 4 });
    expect(m.coins).toEqual(['age', 'ase', 'old-coin']);
    expect(m.enabled_coins).toEqual(m.coins);
    expect(m.coin_count).toBe(3);
    expect(m.coins_meta).toEqual({ age: { name: 'American Gold Eagle 1 oz', metal: 'gold', weight: 1 }, ase: { name: 'American Silver Eagle 1 oz', metal: 'silver', weight: 1 } });
    expect(m.generated_at).toBe('2026-11-23T12:05:00.000Z');
    expect(() => checkPublishedFile('api/manifest.json', m)).not.toThrow();
    const none = buildManifest({ slugs: [], catalogueCoins: {}, anchorWindow: null, generatedAt: null, windowCount: 0 });
    expect(none.generated_at).toBe(NO_DATA_GENERATED_AT);
  });

  it('links enabled vendors to their first URL', () => {
    expect(buildProviders(catalogue.file.coins)).toEqual({ ase: { apmex: 'https://www.apmex.com/ase', jmbullion: 'https://www.jmbullion.com/a' }, age: {} });
  });

  it('summarises coins with data, counting fresh vendors', () => {
    const coin = buildCoinLatest({ slug: 'ase', anchorWindow: ANCHOR, vendors: [state('apmex', obs(ANCHOR, 30)), state('sd', obs('2026-11-23T08:00:00Z', 29))], windowPrices: [] });
    const empty = buildCoinLatest({ slug: 'age', anchorWindow: ANCHOR, vendors: [], windowPrices: [] });
    const g = buildGlobalLatest({ coins: [coin, empty], anchorWindow: ANCHOR, generatedAt: '2026-11-23T12:05:00.000Z' });
    expect(g).toEqual({ window_start: ANCHOR, generated_at: '2026-11-23T12:05:00.000Z', coin_count: 1, coins: { ase: { window_start: ANCHOR, median_price: 30, lowest_price: 30, vendor_count: 1 } } });
    expect(() => checkPublishedFile('api/latest.json', g)).not.toThrow();
  });
});

describe('stableStringify', () => {
  it('sorts keys at every depth (numeric-looking ones too), indents by two spaces and ends with a newline', () => {
    const text = stableStringify({ b: 1, a: { z: [1, { y: true, x: null }], '10': 'x', '9': -0 } });
    expect(text).toBe('{\n  "a": {\n    "10": "x",\n    "9": 0,\n    "z": [\n      1,\n      {\n        "x": null,\n        "y": true\n      }\n    ]\n  },\n  "b": 1\n}\n');
    expect(JSON.parse(text)).toEqual({ a: { z: [1, { x: null, y: true }], '10': 'x', '9': 0 }, b: 1 });
    expect(stableStringify({ a: [], b: {} })).toBe('{\n  "a": [],\n  "b": {}\n}\n');
    expect(() => stableStringify({ a: Number.NaN })).toThrow(/NaN/);
  });
});

describe('addDailyAggregates', () => {
  const obs = (scrapedAt: string, cents: number, inStock = true): Observation => ({ scrapedAt, window: `${scrapedAt.slice(0, 15)}0:00Z`, priceCents: cents, inStock, confidence: 80, source: 'http' });
  const agg = (vendor: string, rows: number, inRows: number, inSum: number, outSum: number, last: Observation, lastIn: { scrapedAt: string; priceCents: number } | null): DailyVendorAggregate => ({
    vendor, rows, inStockRows: inRows, inStockSumCents: inSum, outOfStockSumCents: outSum, last, lastInStock: lastIn,
  });

  it('adds counts and sums and keeps the newest rows, as one GROUP BY over all the rows would', () => {
    const before = [agg('apmex', 2, 2, 6000, 0, obs('2026-11-23T10:01:00.000Z', 3000), { scrapedAt: '2026-11-23T10:01:00.000Z', priceCents: 3000 }), agg('sdbullion', 1, 0, 0, 3100, obs('2026-11-23T10:02:00.000Z', 3100, false), null)];
    const added = [agg('apmex', 1, 0, 0, 2900, obs('2026-11-23T10:16:00.000Z', 2900, false), null), agg('bgasc', 1, 1, 3050, 0, obs('2026-11-23T10:17:00.000Z', 3050), { scrapedAt: '2026-11-23T10:17:00.000Z', priceCents: 3050 })];
    const sum = addDailyAggregates(before, added);
    expect(sum.map((v) => v.vendor)).toEqual(['apmex', 'bgasc', 'sdbullion']);
    // apmex: the newest row is the out-of-stock one added; its newest in-stock row stays the earlier one.
    expect(sum[0]).toEqual(agg('apmex', 3, 2, 6000, 2900, obs('2026-11-23T10:16:00.000Z', 2900, false), { scrapedAt: '2026-11-23T10:01:00.000Z', priceCents: 3000 }));
    expect(sum[1]).toBe(added[1]);
    expect(sum[2]).toBe(before[1]);
    // An added row older than the known newest (a replayed log) changes the sums, not the newest row.
    const late = addDailyAggregates(sum, [agg('apmex', 1, 1, 2800, 0, obs('2026-11-23T09:00:00.000Z', 2800), { scrapedAt: '2026-11-23T09:00:00.000Z', priceCents: 2800 })]);
    expect(late[0]).toMatchObject({ rows: 4, inStockRows: 3, inStockSumCents: 8800, last: sum[0].last, lastInStock: sum[0].lastInStock });
  });
});
