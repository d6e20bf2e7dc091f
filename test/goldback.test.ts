import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { stableStringify } from '../src/export/stable-json.js';
import { DEFAULT_SPOT, GOLDBACK_RATE_SITE, GOLDBACK_RATE_SPREAD, fleetUrlFor, goldbackRateOn, startFleet, type FleetHandle } from '../src/fleet/index.js';
import {
  DEFAULT_GOLDBACK_RATE_URL,
  GoldbackScrapeError,
  buildGoldbackSpot,
  checkAgainstRetail,
  checkGoldbackFile,
  ensureGoldbackSchema,
  hasRateFor,
  readGoldbackRate,
  readLatest,
  readYear,
  readYears,
  recordGoldbackRate,
  renderGoldbackFiles,
  scrapeGoldbackRate,
  type GoldbackRateRow,
} from '../src/goldback/index.js';
import { openDatabase } from '../src/store/database.js';
import type { PriceRow } from '../src/store/price-row.js';
import { PriceStore } from '../src/store/price-store.js';
import { sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';

const SAMPLES = 'test/fixtures/contract/StakTrakrApi/data';
const sampleSpot = JSON.parse(readFileSync(join(SAMPLES, 'api/goldback-spot.json'), 'utf8'));
const sampleYear = JSON.parse(readFileSync(join(SAMPLES, 'goldback-2026.json'), 'utf8')) as Array<{ date: string; g1_usd: number; scraped_at: string }>;

let catalogue: Catalogue;
beforeAll(async () => {
  catalogue = await loadCatalogue('config/providers.json');
});

/** A minimal page around a body. */
function page(body: string, head = ''): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Goldback Exchange Rate</title>${head}</head><body>${body}</body></html>`;
}

/** The same page without the class names, ids and landmarks that mark traps: only the words decide. */
function bare(html: string): string {
  return html
    .replace(/ (?:class|id|aria-label|data-role)="[^"]*"/g, '')
    .replace(/<(\/?)(header|nav|footer|section)\b/g, '<$1div');
}

describe('reading the rate of one Goldback', () => {
  it("reads the fleet's page in each of its daily wordings, and with every trap class stripped", async () => {
    const wordings = new Set<string>();
    for (const day of [15, 16, 17]) {
      const at = Date.UTC(2026, 2, day, 12);
      const fleet = await startFleet({ catalogue: catalogue.file, now: () => at, seed: 3 });
      try {
        const res = await fetch(fleet.goldbackRateUrl);
        expect(res.status).toBe(200);
        const html = await res.text();
        const truth = fleet.goldbackRate();
        expect(truth).toBe(goldbackRateOn(3, DEFAULT_SPOT, at));
        // The page is full of traps that sit close to the rate: they are there to be passed over.
        expect(html).toMatch(/Previous rate: \$\d+\.\d\d/);
        expect(html).toContain('G5');
        expect(html).toMatch(/As low as \$\d+\.\d\d/);
        expect(html).toMatch(/Gold<\/span> <span class="gb-ticker__price">\$[\d,]+\.\d\d/);
        for (const gold of [null, 5000]) {
          const reading = readGoldbackRate(html, { goldSpotUsdPerOz: gold });
          expect(reading, `day ${day}`).toMatchObject({ ok: true, g1Usd: truth, rule: 'text' });
        }
        expect(readGoldbackRate(bare(html)), `day ${day} without classes`).toMatchObject({ ok: true, g1Usd: truth });
        wordings.add(html.match(/<p class="rate-hero__value">(.*?)<strong/)![1]);
      } finally {
        await fleet.close();
      }
    }
    expect(wordings.size).toBe(3);
  });

  it('reads a sentence with the rate, past a bare gold ticker, a melt value and an old rate', () => {
    const html = page(`<div>Gold $5,012.30 Silver $85.10 Platinum $2,201.00</div>
      <main><h1>What is a Goldback worth?</h1>
      <p>The melt value of one Goldback at today's spot is $5.01.</p>
      <p>Yesterday's rate: $10.18.</p>
      <p>Today's Goldback exchange rate is $10.21 per Goldback.</p></main>`);
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.21, rule: 'text' });
  });

  it("reads goldback.com's own layout, never an amount of its explanatory prose (nor when the rate is drawn by script)", () => {
    const html = (rate: string) =>
      page(`<main><h1>Exchange Rate</h1><div class="rate"><p>One Goldback</p><p><span class="sign">$</span><span id="rate">${rate}</span></p></div>
      <h2>How Exchange Rate Is Set</h2><p>Our recommended exchange rate is the rate at which merchants accept the Goldback.</p>
      <p>Goldback dealers also receive all of the Goldback denominations at the same proportionate rates. For example, if a dealer were to pay $5 for a ‘1’ Goldback, then a ‘50’ Goldback would cost $250.</p></main>`);
    expect(readGoldbackRate(html('10.06'))).toMatchObject({ ok: true, g1Usd: 10.06 });
    const scripted = readGoldbackRate(html(''));
    expect(scripted).toEqual({ ok: false, reason: expect.stringContaining('an example in prose: $5.00') });
  });

  it('reads the G1 row of a table of denominations, whatever the order of the rows', () => {
    const rows = [
      ['G50', '50/1000 oz', '$510.50'],
      ['G25', '25/1000 oz', '$255.25'],
      ['G10', '10/1000 oz', '$102.10'],
      ['G5', '5/1000 oz', '$51.05'],
      ['G1', '1/1000 oz', '$10.21'],
      ['G\u00bd', '1/2000 oz', '$5.11'],
    ];
    const html = page(`<main><h1>Goldbacks</h1><table><caption>Goldback exchange rates</caption>
      <tr><th>Denomination</th><th>Gold content</th><th>Value</th></tr>
      ${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</table></main>`);
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.21 });
    expect(readGoldbackRate(bare(html))).toMatchObject({ ok: true, g1Usd: 10.21 });
  });

  it('reads a table whose rows are labelled by row headers', () => {
    const html = page(`<main><h1>Goldback</h1><table><thead><tr><th>Note</th><th>Exchange rate</th></tr></thead><tbody>
      <tr><th scope="row">G5</th><td>$50.30</td></tr><tr><th scope="row">G1</th><td>$10.06</td></tr><tr><th scope="row">G10</th><td>$100.60</td></tr></tbody></table></main>`);
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.06 });
  });

  it("reads a rate stated only in the site's header bar, but never the ticker beside it", () => {
    const html = page(`<header class="site-header"><div class="top-bar">Goldback exchange rate: $10.06 per Goldback</div>
      <div class="spot-ticker">Gold $5,012.30 Silver $85.10</div><nav class="menu"><a href="/shop">Shop Goldbacks from $5</a></nav></header>
      <main><h1>Welcome to Goldback</h1><p>Spendable gold for everyday use.</p></main>`);
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.06 });
    // In the header a label alone is not enough: only a plain "rate of one Goldback" statement is read there.
    const weak = html.replace('Goldback exchange rate: $10.06 per Goldback', 'Goldbacks $10.06');
    expect(readGoldbackRate(weak)).toMatchObject({ ok: false });
  });

  it('reads JSON-LD (an ExchangeRateSpecification), not the dealer products listed beside it', () => {
    const ld = {
      '@context': 'https://schema.org',
      '@graph': [
        {
          '@type': 'ItemList',
          itemListElement: [{ '@type': 'Product', name: 'Utah Goldback G1', offers: { '@type': 'Offer', price: '10.99', priceCurrency: 'USD' } }],
        },
        { '@type': 'Product', name: '1 Goldback (G1)', offers: { '@type': 'Offer', price: '10.89', priceCurrency: 'USD' } },
        {
          '@type': 'ExchangeRateSpecification',
          name: 'Goldback (G1)',
          currency: 'GOLDBACK',
          currentExchangeRate: { '@type': 'UnitPriceSpecification', price: 10.33, priceCurrency: 'USD' },
        },
      ],
    };
    const html = page('<main><h1>Goldback exchange rate</h1><p>Updated daily at 9:00 MT.</p></main>', `<script type="application/ld+json">${JSON.stringify(ld)}</script>`);
    const reading = readGoldbackRate(html);
    expect(reading).toMatchObject({ ok: true, g1Usd: 10.33, rule: 'jsonld' });
  });

  it('reads a meta tag named after the rate', () => {
    const html = page('<main><h1>Goldback</h1><p>Rates are shown in the app.</p></main>', '<meta name="goldback:exchange-rate" content="10.47">');
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.47, rule: 'meta' });
  });

  it('reads "1 Goldback = 10.14 USD" on a line that lists bigger notes first', () => {
    const html = page('<main><h1>Rates</h1><p>5 Goldbacks = 50.70 USD | 10 Goldbacks = 101.40 USD | 1 Goldback = 10.14 USD</p></main>');
    expect(readGoldbackRate(html)).toMatchObject({ ok: true, g1Usd: 10.14 });
  });

  it("reads a browser tier's page text (no markup)", () => {
    const text = 'Goldback\nGold $5,012.30\nExchange Rate\nOne Goldback (G1) is worth $10.02 today.\nG5 $50.10\nShop now';
    expect(readGoldbackRate(text)).toMatchObject({ ok: true, g1Usd: 10.02 });
  });

  it('refuses a page that only states bigger denominations, and says so', () => {
    const html = page(`<main><h1>Goldback exchange rate</h1><p>G5 Goldback exchange rate: $50.30</p>
      <table><tr><td>G10</td><td>$100.60</td></tr><tr><td>G25</td><td>$251.50</td></tr><tr><td>G50</td><td>$503.00</td></tr></table></main>`);
    const reading = readGoldbackRate(html);
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.reason).toMatch(/^no rate for one Goldback \(G1\)/);
    expect(reading.reason).toContain('another denomination: G5 $50.30, G10 $100.60, G25 $251.50');
  });

  it('refuses a page whose only amounts are a gold spot ticker, with or without its classes', () => {
    const html = page(`<header class="site-header"><div class="spot-ticker">Gold $5,012.30 +12.40 Silver $85.10 -0.20</div></header>
      <main><h1>Goldback Exchange Rate</h1><p>The exchange rate of one Goldback is updated every day at 9:00 AM MT.</p></main>`);
    const reading = readGoldbackRate(html);
    expect(reading).toEqual({ ok: false, reason: expect.stringMatching(/no rate for one Goldback \(G1\) on the page: no USD amount outside tickers/) });
    const bareReading = readGoldbackRate(bare(html));
    expect(bareReading).toEqual({ ok: false, reason: expect.stringContaining('a metal spot quote: $5,012.30, $85.10') });
  });

  it("refuses a dealer's goldback listing: product cards, \"as low as\" and a Buy section", () => {
    const html = page(`<main><h1>Goldbacks for sale</h1><p>As low as $10.45 per Goldback!</p>
      <h2>Buy Goldbacks</h2>
      <div><div><p>Utah Goldback G1 (exchange rate plus premium)</p><p>$10.99</p><button>Add to cart</button></div>
      <div><p>Nevada Goldback G1</p><p>$10.89</p><button>Add to cart</button></div></div></main>`);
    const reading = readGoldbackRate(html);
    expect(reading.ok).toBe(false);
    if (!reading.ok) expect(reading.reason).toMatch(/dealer's product (price|card)/);
  });

  it('refuses two different current rates, and a rate outside what gold spot allows', () => {
    const two = page('<main><h1>Goldback</h1><p>1 Goldback = $10.06</p><p>Exchange rate: $11.20 per Goldback</p></main>');
    expect(readGoldbackRate(two)).toEqual({ ok: false, reason: expect.stringContaining('different rates for one Goldback ($10.06, $11.20)') });
    const one = page('<main><h1>Goldback</h1><p>1 Goldback = $10.06</p></main>');
    expect(readGoldbackRate(one, { goldSpotUsdPerOz: 5000 })).toMatchObject({ ok: true, g1Usd: 10.06 });
    expect(readGoldbackRate(one, { goldSpotUsdPerOz: 1000 })).toEqual({ ok: false, reason: expect.stringContaining('outside the plausible $0.50..$5.00 for one G1: $10.06') });
    expect(readGoldbackRate(page('<main><h1>Goldback</h1><p>1 Goldback = $1,200.00</p></main>'))).toMatchObject({ ok: false });
  });

  it('refuses blocked and missing pages as such', () => {
    const wall = '<!DOCTYPE html><html><head><title>Just a moment...</title></head><body><h1>www.goldback.com</h1><p>Checking your browser before accessing.</p></body></html>';
    expect(readGoldbackRate(wall, { status: 403 })).toEqual({ ok: false, reason: expect.stringMatching(/^blocked: HTTP 403/) });
    expect(readGoldbackRate(page('<h1>Page not found</h1>'), { status: 404 })).toEqual({ ok: false, reason: expect.stringMatching(/^not found: HTTP 404/) });
    expect(readGoldbackRate('')).toEqual({ ok: false, reason: 'the page is empty' });
  });
});

/** A real libSQL file with the project's migrations, its store and a separate client. */
async function database(label: string): Promise<{ url: string; store: PriceStore; client: Client; remove: () => Promise<void> }> {
  const dir = await tempDir(label);
  const url = `file:${join(dir.path, 'prices.db')}`;
  const store = new PriceStore({ url });
  await store.migrate();
  const client = openDatabase({ url });
  return {
    url,
    store,
    client,
    remove: async () => {
      client.close();
      await store.close();
      await dir.remove();
    },
  };
}

describe('checking the rate against retail prices', () => {
  const NOW = Date.UTC(2026, 2, 15, 12);
  let db: Awaited<ReturnType<typeof database>>;
  beforeEach(async () => {
    db = await database('goldback-check');
  });
  afterEach(async () => {
    await db.remove();
  });

  let n = 0;
  /** A row `hoursAgo` before NOW. */
  const row = (coin: string, vendor: string, price: number | null, hoursAgo: number, over: Partial<PriceRow> = {}): PriceRow => {
    const at = new Date(NOW - hoursAgo * 3_600_000);
    return sampleRow(++n, { key: `api1/gb:${n}`, coin_slug: coin, vendor, price, scraped_at: at.toISOString(), window_start: at.toISOString().slice(0, 16).replace(/:\d\d$/, ':00') + ':00Z', ...over });
  };

  it('says medium, without throwing, when there is nothing to compare: empty table or no table at all', async () => {
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW })).toEqual({ confidence: 'medium', reason: 'no retail prices to compare', medianRetailPerG1: null, listings: 0 });
    const fresh = await tempDir('goldback-nodb');
    const bareClient = openDatabase({ url: `file:${join(fresh.path, 'empty.db')}` });
    try {
      expect(await checkAgainstRetail(bareClient, 10.06, { now: NOW })).toMatchObject({ confidence: 'medium', reason: 'no retail prices to compare' });
    } finally {
      bareClient.close();
      await fresh.remove();
    }
  });

  it('compares with the newest in-stock price per goldback listing of the window, per note', async () => {
    await db.store.writeRows([
      row('goldback-utah-g1', 'apmex', 20.0, 30), // superseded by the newer row of the same listing
      row('goldback-utah-g1', 'apmex', 10.4, 2),
      row('goldback-utah-g1', 'jmbullion', 10.6, 5),
      row('goldback-nevada-g1', 'apmex', 10.9, 1),
      row('goldback-nevada-g1', 'sdbullion', 11.0, 20),
      row('goldback-utah-g5', 'apmex', 52.5, 3), // five notes: 10.50 each
      row('goldback-wyoming-g1', 'apmex', 8.0, 1, { in_stock: false, outcome: 'out_of_stock' }),
      row('goldback-wyoming-g1', 'jmbullion', 2.0, 1, { is_failed: true, outcome: 'rejected' }),
      row('goldback-wyoming-g1', 'sdbullion', 5.0, 72), // older than the 48 h window
      row('goldback-wyoming-g1', 'herobullion', 4.0, -1), // after `now`
      row('ase', 'apmex', 90, 1),
    ]);
    // Per G1: 10.40, 10.50, 10.60, 10.90, 11.00 -> median 10.60.
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW })).toEqual({ confidence: 'high', reason: null, medianRetailPerG1: 10.6, listings: 5 });
    expect(await checkAgainstRetail(db.client, 10.6, { now: NOW })).toMatchObject({ confidence: 'high' });
    expect(await checkAgainstRetail(db.client, 6.36, { now: NOW })).toMatchObject({ confidence: 'high' });

    const above = await checkAgainstRetail(db.client, 50.3, { now: NOW });
    expect(above).toMatchObject({ confidence: 'low', medianRetailPerG1: 10.6 });
    expect(above.reason).toMatch(/the rate \$50\.30 is above the median retail price \$10\.60 per G1 of 5 in-stock goldback listings/);
    const under = await checkAgainstRetail(db.client, 6.0, { now: NOW });
    expect(under).toMatchObject({ confidence: 'low' });
    expect(under.reason).toMatch(/the rate \$6\.00 is under 60% of the median retail price \$10\.60/);

    // The catalogue's slugs narrow the listings; a wider window takes in the older row.
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW, slugs: ['goldback-nevada-g1'] })).toMatchObject({ medianRetailPerG1: 10.95, listings: 2 });
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW, windowHours: 96 })).toMatchObject({ listings: 6 });
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW, slugs: [] })).toMatchObject({ confidence: 'medium' });
    // Notes per unit from the catalogue win over the slug.
    expect(await checkAgainstRetail(db.client, 10.06, { now: NOW, slugs: ['goldback-utah-g5'], notesPerUnit: { 'goldback-utah-g5': 1 } })).toMatchObject({ medianRetailPerG1: 52.5 });
  });
});

describe('storing the rates', () => {
  let db: Awaited<ReturnType<typeof database>>;
  beforeEach(async () => {
    db = await database('goldback-store');
  });
  afterEach(async () => {
    await db.remove();
  });

  const rate = (date: string, g1: number, time = '00:01:01.596Z', over: Partial<GoldbackRateRow> = {}): GoldbackRateRow => ({
    date,
    g1_usd: g1,
    scraped_at: `${date}T${time}`,
    source: 'goldback.com',
    confidence: 'high',
    reason: null,
    ...over,
  });

  it('reads nothing before anything was stored, even without the table', async () => {
    expect(await readLatest(db.client)).toBeNull();
    expect(await readYear(db.client, 2026)).toEqual([]);
    expect(await readYears(db.client)).toEqual([]);
    expect(await hasRateFor(db.client, '2026-03-15')).toBe(false);
  });

  it('keeps one row a day, the later scrape replacing the day; reads the newest and a year newest first', async () => {
    await ensureGoldbackSchema(db.client);
    await ensureGoldbackSchema(db.client);
    await recordGoldbackRate(db.client, rate('2026-03-14', 10.06));
    await recordGoldbackRate(db.client, rate('2026-03-15', 10.1));
    await recordGoldbackRate(db.client, rate('2026-03-15', 10.12, '17:01:02.170Z', { confidence: 'low', reason: 'because' }));
    await recordGoldbackRate(db.client, rate('2025-12-31', 9.5));

    // Counted from a fresh client: a writer's own view can hold rows that never committed.
    const fresh = openDatabase({ url: db.url });
    try {
      expect(Number((await fresh.execute('SELECT COUNT(*) AS n FROM goldback_rates')).rows[0].n)).toBe(3);
      expect(await readLatest(fresh)).toEqual(rate('2026-03-15', 10.12, '17:01:02.170Z', { confidence: 'low', reason: 'because' }));
    } finally {
      fresh.close();
    }
    expect((await readYear(db.client, 2026)).map((r) => r.date)).toEqual(['2026-03-15', '2026-03-14']);
    expect(await readYear(db.client, 2025)).toEqual([rate('2025-12-31', 9.5)]);
    expect(await readYears(db.client)).toEqual([2025, 2026]);
    expect(await hasRateFor(db.client, '2026-03-14')).toBe(true);
    expect(await hasRateFor(db.client, '2026-03-16')).toBe(false);
  });

  it('refuses rows that could not be published', async () => {
    await ensureGoldbackSchema(db.client);
    await expect(recordGoldbackRate(db.client, rate('2026-03-15', 0))).rejects.toThrow(/goldback rate row for "2026-03-15" refused: g1_usd/);
    await expect(recordGoldbackRate(db.client, rate('2026-03-15', 10, '00:00:00Z', { confidence: 'sure' as 'high' }))).rejects.toThrow(/confidence/);
    await expect(recordGoldbackRate(db.client, { ...rate('2026-03-15', 10), scraped_at: '2026-03-16T00:00:00.000Z' })).rejects.toThrow(/not the UTC day of scraped_at/);
    expect(await readLatest(db.client)).toBeNull();
  });
});

/** Keys of a value at every depth, sorted: the shape of a file. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length ? [shape(value[0])] : [];
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  return typeof value;
}

describe('the published files', () => {
  const sampleRows: GoldbackRateRow[] = sampleYear.map((e) => ({ ...e, source: 'goldback.com', confidence: 'high', reason: null }));

  it('are the March 2026 files, key for key and value for value, from the same rates', () => {
    const latest = sampleRows.find((r) => r.date === sampleSpot.date)!;
    expect(buildGoldbackSpot(latest)).toEqual(sampleSpot);
    expect(shape(buildGoldbackSpot({ ...latest, g1_usd: 9.87 }))).toEqual(shape(sampleSpot));

    // Rows in any order: the year file is newest first.
    const files = renderGoldbackFiles(latest, new Map([[2026, [...sampleRows].reverse()]]));
    expect([...files.keys()].sort()).toEqual(['api/goldback-spot.json', 'goldback-2026.json']);
    expect(JSON.parse(files.get('api/goldback-spot.json')!)).toEqual(sampleSpot);
    expect(JSON.parse(files.get('goldback-2026.json')!)).toEqual(sampleYear);
    expect(files.get('goldback-2026.json')).toBe(stableStringify(sampleYear));
    expect(shape(JSON.parse(files.get('goldback-2026.json')!))).toEqual(shape(sampleYear));
  });

  it('round denominations to cents, and write a file per year; nothing without rates', () => {
    const spot = buildGoldbackSpot({ date: '2026-01-02', g1_usd: 10.333, scraped_at: '2026-01-02T00:01:00.000Z', source: 'goldback.com', confidence: 'medium', reason: 'x' });
    expect(spot).toEqual({
      date: '2026-01-02',
      scraped_at: '2026-01-02T00:01:00.000Z',
      g1_usd: 10.33,
      denominations: { g1: 10.33, g5: 51.65, g10: 103.3, g25: 258.25, g50: 516.5 },
      source: 'goldback.com',
      confidence: 'medium',
    });
    const rowsByYear = new Map([
      [2025, [{ ...sampleRows[0], date: '2025-12-31', scraped_at: '2025-12-31T00:01:00.000Z' }]],
      [2026, sampleRows.slice(0, 2)],
      [2027, []],
    ]);
    expect([...renderGoldbackFiles(null, rowsByYear).keys()]).toEqual(['goldback-2025.json', 'goldback-2026.json']);
    expect(renderGoldbackFiles(null, new Map()).size).toBe(0);
    expect(() => renderGoldbackFiles(null, new Map([[2025, sampleRows.slice(0, 1)]]))).toThrow(/rate of 2026-03-15 was given under year 2025/);
  });

  it('are checked by path: the real files pass, a broken one fails naming the path and the problem', () => {
    expect(checkGoldbackFile('api/goldback-spot.json', readFileSync(join(SAMPLES, 'api/goldback-spot.json'), 'utf8'))).toEqual(sampleSpot);
    expect(checkGoldbackFile('data/goldback-2026.json', readFileSync(join(SAMPLES, 'goldback-2026.json'), 'utf8'))).toEqual(sampleYear);
    const bad: Array<[string, unknown, RegExp]> = [
      ['api/goldback-spot.json', { ...sampleSpot, denominations: { ...sampleSpot.denominations, g5: 51 } }, /field denominations\.g5: expected g1_usd x 5 = 50\.3, got 51/],
      ['api/goldback-spot.json', { ...sampleSpot, extra: 1 }, /extra/],
      ['api/goldback-spot.json', { ...sampleSpot, g1_usd: 0 }, /field g1_usd/],
      ['api/goldback-spot.json', { ...sampleSpot, confidence: 'certain' }, /field confidence/],
      ['goldback-2026.json', [...sampleYear].reverse(), /expected dates newest first/],
      ['goldback-2025.json', sampleYear, /field 0\.date: 2026-03-15 is not in 2025/],
      ['goldback-2026.json', [{ date: '2026-03-15', g1_usd: 10 }], /field 0\.scraped_at/],
      ['api/other.json', sampleSpot, /not a Goldback file path/],
    ];
    for (const [path, value, problem] of bad) {
      expect(() => checkGoldbackFile(path, JSON.stringify(value)), path).toThrow(problem);
      expect(() => checkGoldbackFile(path, JSON.stringify(value)), path).toThrow(new RegExp(`^${path.replace(/[.]/g, '\\.')} breaks the published contract`));
    }
    expect(() => checkGoldbackFile('api/goldback-spot.json', '{"date":')).toThrow(/api\/goldback-spot\.json breaks the published contract:\n {2}- not valid JSON/);
  });
});

describe('scraping the rate end to end against the local fleet', () => {
  const NOW = Date.UTC(2026, 2, 15, 0, 1, 1, 596);
  let fleet: FleetHandle;
  let db: Awaited<ReturnType<typeof database>>;
  let slugs: string[];
  beforeAll(async () => {
    fleet = await startFleet({ catalogue: catalogue.file, now: () => NOW, seed: 5 });
    db = await database('goldback-e2e');
    // Retail prices as the fleet's dealer pages advertise them: what the workers would have stored.
    slugs = Object.entries(catalogue.file.coins).filter(([, c]) => c.metal === 'goldback').map(([slug]) => slug);
    const rows = fleet
      .targets()
      .filter((t) => slugs.includes(t.coin) && t.enabled)
      .map((t, i) => {
        const truth = fleet.truth(t.vendor, t.coin);
        const at = new Date(NOW - (i + 1) * 60_000);
        return sampleRow(i, { key: `api1/e2e:${i}`, coin_slug: t.coin, vendor: t.vendor, price: truth.price, in_stock: truth.inStock, outcome: truth.inStock ? 'ok' : 'out_of_stock', scraped_at: at.toISOString(), window_start: '2026-03-14T23:45:00Z' });
      });
    expect(rows.length).toBeGreaterThan(20);
    await db.store.writeRows(rows);
  });
  afterAll(async () => {
    await fleet?.close();
    await db?.remove();
  });

  it('is at the URL the demo rewrites the official page to', () => {
    expect(fleet.goldbackRateUrl).toBe(fleetUrlFor(fleet.url, GOLDBACK_RATE_SITE, DEFAULT_GOLDBACK_RATE_URL));
    expect(fleet.goldbackRateUrl).toBe(`${fleet.url}/goldback/exchange-rate`);
    expect(fleetUrlFor(fleet.url, GOLDBACK_RATE_SITE, 'https://www.goldback.com/exchange-rates/')).toBe(`${fleet.url}/goldback/exchange-rates/`);
  });

  it('serves the page under both spellings of its path, and leaves other goldback paths 404', async () => {
    for (const path of ['/goldback/exchange-rate', '/goldback/exchange-rate/', '/goldback/exchange-rates/']) {
      const res = await fetch(fleet.url + path);
      expect(res.status, path).toBe(200);
      expect(readGoldbackRate(await res.text()), path).toMatchObject({ ok: true, g1Usd: fleet.goldbackRate() });
    }
    expect((await fetch(`${fleet.url}/goldback/exchange-rate/history`)).status).toBe(404);
  });

  it('reads the truth, judges it high against the dealers, stores the day and renders the files', async () => {
    const truth = fleet.goldbackRate(NOW);
    expect(Math.abs(truth / DEFAULT_SPOT.goldback - 1)).toBeLessThanOrEqual(GOLDBACK_RATE_SPREAD + 0.001);
    const summary = await scrapeGoldbackRate({ url: fleet.goldbackRateUrl, client: db.client, slugs, now: NOW, goldSpot: DEFAULT_SPOT.gold, source: 'goldback.com' });
    expect(summary).toMatchObject({ date: '2026-03-15', g1Usd: truth, confidence: 'high', reason: null, source: 'goldback.com' });
    expect(summary.medianRetailPerG1).toBeGreaterThan(truth);
    expect(summary.ms).toBeGreaterThanOrEqual(0);
    expect(summary.evidence).toContain(`$${truth.toFixed(2)}`);

    const latest = await readLatest(db.client);
    expect(latest).toEqual({ date: '2026-03-15', g1_usd: truth, scraped_at: '2026-03-15T00:01:01.596Z', source: 'goldback.com', confidence: 'high', reason: null });
    const files = renderGoldbackFiles(latest, new Map([[2026, await readYear(db.client, 2026)]]));
    const spot = JSON.parse(files.get('api/goldback-spot.json')!);
    expect(shape(spot)).toEqual(shape(sampleSpot));
    expect(spot).toMatchObject({ g1_usd: truth, scraped_at: '2026-03-15T00:01:01.596Z', source: 'goldback.com', confidence: 'high' });
    expect(JSON.parse(files.get('goldback-2026.json')!)).toEqual([{ date: '2026-03-15', g1_usd: truth, scraped_at: '2026-03-15T00:01:01.596Z' }]);
  });

  it('replaces the day with a later scrape of the same day; the source defaults to the host read', async () => {
    const moved = await startFleet({ catalogue: catalogue.file, now: () => NOW, seed: 5, spot: { goldback: 10.4 } });
    try {
      const later = NOW + 5 * 3_600_000;
      const summary = await scrapeGoldbackRate({ url: moved.goldbackRateUrl, client: db.client, slugs, now: later });
      expect(summary).toMatchObject({ g1Usd: moved.goldbackRate(NOW), source: '127.0.0.1', date: '2026-03-15' });
      expect(await readYear(db.client, 2026)).toEqual([
        { date: '2026-03-15', g1_usd: moved.goldbackRate(NOW), scraped_at: new Date(later).toISOString(), source: '127.0.0.1', confidence: summary.confidence, reason: summary.reason },
      ]);
    } finally {
      await moved.close();
    }
  });

  it('fails with the reason and stores nothing when the page states no rate, answers an error or is unreachable', async () => {
    const next = Date.UTC(2026, 2, 16, 0, 1);
    const attempt = (url: string) => scrapeGoldbackRate({ url, client: db.client, slugs, now: next });
    // A dealer's goldback product page: prices for notes, no official rate.
    const dealer = attempt(fleet.urlFor('apmex', 'goldback-utah-g1'));
    await expect(dealer).rejects.toBeInstanceOf(GoldbackScrapeError);
    await expect(dealer).rejects.toMatchObject({ kind: 'no_rate', message: expect.stringMatching(/no Goldback rate read from http:\/\/127\.0\.0\.1:\d+\/apmex\/.* \(HTTP 200\): no rate for one Goldback \(G1\)/) });
    await expect(attempt(`${fleet.url}/goldback/no-such-page`)).rejects.toMatchObject({ kind: 'http', message: expect.stringContaining('not found: HTTP 404') });
    fleet.setTarget('apmex', 'goldback-utah-g1', { fault: '500' });
    await expect(attempt(fleet.urlFor('apmex', 'goldback-utah-g1'))).rejects.toMatchObject({ kind: 'http', message: expect.stringContaining('answered HTTP 500') });
    fleet.reset();
    const gone = await startFleet({ catalogue: catalogue.file });
    const goneUrl = gone.goldbackRateUrl;
    await gone.close();
    await expect(attempt(goneUrl)).rejects.toMatchObject({ kind: 'fetch', message: expect.stringContaining('could not be fetched (network') });
    expect(await hasRateFor(db.client, '2026-03-16')).toBe(false);
  });
});
