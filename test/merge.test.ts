import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@libsql/client';
import { join } from 'node:path';
import { parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { checkPublishedText, classifyPublishedPath } from '../src/contract/index.js';
import { buildExportTree } from '../src/export/export-tree.js';
import { mergeTrees } from '../src/merge/merge-trees.js';
import { PriceStore } from '../src/store/price-store.js';
import type { PriceRow } from '../src/store/price-row.js';
import { windowStart } from '../src/time/window.js';
import { tempDir } from './support/temp.js';
import { readFileSync } from 'node:fs';
import { stableStringify } from '../src/export/stable-json.js';
import { MANIFEST_ENDPOINTS } from '../src/contract/manifest-schema.js';

const NOW = new Date('2026-11-23T12:20:00Z');

const catalogueWith = (slugs: string[]): Catalogue =>
  parseCatalogue(JSON.stringify({
    coins: Object.fromEntries(slugs.map((slug) => [slug, {
      name: `Coin ${slug}`, metal: 'silver', weight_oz: 1,
      providers: ['apmex', 'jmbullion', 'sdbullion', 'herobullion'].map((id) => ({ id, name: id, enabled: true, url: `https://${id}.example/${slug}` })),
    }])),
  }));

let seq = 0;
function row(poller: string, coin: string, vendor: string, at: string, price: number, over: Partial<PriceRow> = {}): PriceRow {
  return {
    key: `${poller}/m${++seq}`, poller_id: poller, scraped_at: new Date(at).toISOString(), window_start: windowStart(new Date(at)),
    coin_slug: coin, vendor, price, source: 'http', confidence: 80, is_failed: false, in_stock: true, outcome: 'ok', reason: null, matched_by: 'jsonld',
    ...over,
  };
}
const outOfStock = { in_stock: false, outcome: 'out_of_stock' as const };

/** A real goldback-spot.json of March 2026. */
const GOLDBACK_SPOT = readFileSync('test/fixtures/contract/StakTrakrApi/data/api/goldback-spot.json', 'utf8');

/** An hourly spot file of 2026-11-23 12h: entries [metal, HH:MM, spot], written as the exporter writes them. */
const hourly = (entries: Array<[string, string, number]>): string =>
  stableStringify(
    entries
      .map(([metal, at, spot]) => ({ spot, metal, source: 'hourly', provider: 'StakTrakr', timestamp: `2026-11-23 ${at}:00` }))
      .sort((a, b) => (a.timestamp === b.timestamp ? (a.metal < b.metal ? -1 : 1) : a.timestamp < b.timestamp ? -1 : 1)),
  );

const ROWS: PriceRow[] = [
  row('api1', 'ase', 'apmex', '2026-11-23T11:31:00Z', 30),
  row('api1', 'ase', 'jmbullion', '2026-11-23T12:01:00Z', 31),
  row('api1', 'ase', 'sdbullion', '2026-11-22T09:00:00Z', 29),
  row('api1', 'ase', 'sdbullion', '2026-11-23T12:03:00Z', 35, outOfStock),
  row('api1', 'age', 'apmex', '2026-11-23T12:02:00Z', 2000),
  row('api2', 'ase', 'apmex', '2026-11-23T12:06:00Z', 32), // newer than api1's apmex
  row('api2', 'ase', 'jmbullion', '2026-11-23T12:07:00Z', 31.2), // same window as api1's: api1 is listed first
  row('api3', 'ase', 'herobullion', '2026-11-23T12:10:00Z', 33), // only api3 has it
  row('api3', 'ase', 'sdbullion', '2026-11-23T11:00:00Z', 30), // in stock an hour before api1 saw it out of stock
  row('api3', 'age', 'jmbullion', '2026-11-23T12:11:00Z', 2100),
];

describe('mergeTrees', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  const trees = new Map<string, Map<string, string>>();
  beforeAll(async () => {
    dir = await tempDir('merge');
    const url = `file:${join(dir.path, 'prices.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    await store.writeRows(ROWS);
    await store.close();
    client = createClient({ url });
    for (const [poller, slugs] of [['api1', ['age', 'ase']], ['api2', ['age', 'ase']], ['api3', ['age', 'ase', 'maple-gold']]] as const) {
      const { files } = await buildExportTree({ client, catalogue: catalogueWith([...slugs]), pollerId: poller, now: NOW });
      trees.set(poller, files);
    }
    trees.get('api1')!.set('api/goldback-spot.json', GOLDBACK_SPOT);
  });
  afterAll(async () => {
    client.close();
    await dir.remove();
  });

  const branch = (name: string, edit?: (files: Map<string, string>) => void, base = name) => {
    const files = new Map(trees.get(base)!);
    edit?.(files);
    return { branch: name, files };
  };
  const merge = () =>
    mergeTrees([
      branch('api1'),
      branch('api2'),
      branch('api3'),
      branch('api4-broken-json', (f) => f.set('api/age/latest.json', '{"slug": "age",'), 'api2'),
      branch('api5-bad-price', (f) => f.set('api/ase/latest.json', f.get('api/ase/latest.json')!.replace('"price": 33', '"price": -33')), 'api3'),
    ]);
  const read = (files: Map<string, string>, path: string) => JSON.parse(files.get(path)!);

  it('skips invalid branches whole, saying why, and uses the others in order', () => {
    const { used, skipped } = merge();
    expect(used).toEqual(['api1', 'api2', 'api3']);
    expect(skipped).toHaveLength(2);
    expect(skipped[0]).toMatchObject({ branch: 'api4-broken-json' });
    expect(skipped[0].reason).toMatch(/api\/age\/latest\.json[\s\S]*not valid JSON/);
    expect(skipped[1]).toMatchObject({ branch: 'api5-bad-price' });
    expect(skipped[1].reason).toMatch(/api\/ase\/latest\.json[\s\S]*field vendors\.herobullion\.price/);
  });

  it('unions vendors, the newest observation winning, and recomputes median and lowest', () => {
    const ase = read(merge().files, 'api/ase/latest.json');
    expect(ase.vendors.apmex).toEqual({ price: 32, confidence: 80, source: 'http', inStock: true }); // api2's, newer
    expect(ase.vendors.jmbullion.price).toBe(31); // same window: the earlier branch
    expect(ase.vendors.herobullion.price).toBe(33); // api3 only
    expect(ase.median_price).toBe(32);
    expect(ase.lowest_price).toBe(31);
    expect(ase.window_start).toBe('2026-11-23T12:00:00Z');
  });

  it('takes availability from the newest observation and the newest last in-stock price', () => {
    const ase = read(merge().files, 'api/ase/latest.json');
    expect(ase.availability_by_site.sdbullion).toBe(false); // api1 at 12:03 beats api3's 11:00
    expect(ase.vendors.sdbullion).toBeUndefined();
    expect(ase.last_known_price_by_site).toEqual({ sdbullion: 30 }); // api3 saw it in stock today, api1 only yesterday
    expect(ase.last_available_date_by_site).toEqual({ sdbullion: '2026-11-23' });
  });

  it('unions windows, recomputing each', () => {
    const ase = read(merge().files, 'api/ase/latest.json');
    expect(ase.windows_24h).toEqual([
      { window: '2026-11-23T11:00:00Z', median: 30, low: 30, vendors: { sdbullion: 30 } },
      { window: '2026-11-23T11:30:00Z', median: 30, low: 30, vendors: { apmex: 30 } },
      { window: '2026-11-23T12:00:00Z', median: 32, low: 31, vendors: { apmex: 32, herobullion: 33, jmbullion: 31 } },
    ]);
  });

  it('merges history by date, weighting each branch by its samples, and recomputes the day', () => {
    const h = read(merge().files, 'api/ase/history-30d.json');
    expect(h[0]).toEqual({ date: '2026-11-22', avg_median: 29, avg_low: 29, sample_count: 1, vendors: { sdbullion: { avg: 29, inStock: true } } });
    expect(h[1]).toEqual({
      date: '2026-11-23',
      avg_median: 30.94,
      avg_low: 30,
      sample_count: 7,
      vendors: {
        apmex: { avg: 30.8, inStock: true }, // (3 x 30 + 2 x 32) / 5
        herobullion: { avg: 33, inStock: true },
        jmbullion: { avg: 31.08, inStock: true },
        sdbullion: { avg: 30, inStock: true }, // in stock for api3 that day: api1's out-of-stock average does not count
      },
    });
  });

  it('unions manifest and providers, recomputes the global latest, passes other files through', () => {
    const { files } = merge();
    const m = read(files, 'api/manifest.json');
    expect(m.coins).toEqual(['age', 'ase', 'maple-gold']);
    expect(m.enabled_coins).toEqual(m.coins);
    expect(m.generated_at).toBe('2026-11-23T12:11:00.000Z');
    expect(m.window_count).toBe(3);
    expect(Object.keys(read(files, 'api/providers.json')).sort()).toEqual(['age', 'ase', 'maple-gold']);
    expect(read(files, 'api/latest.json').coins).toEqual({
      age: { window_start: '2026-11-23T12:00:00Z', median_price: 2050, lowest_price: 2000, vendor_count: 2 },
      ase: { window_start: '2026-11-23T12:00:00Z', median_price: 32, lowest_price: 31, vendor_count: 3 },
    });
    expect(read(files, 'api/maple-gold/latest.json')).toMatchObject({ window_start: null, vendors: {} });
    expect(files.get('api/goldback-spot.json')).toBe(GOLDBACK_SPOT);
  });

  it('produces files that pass the published contract', () => {
    for (const [path, text] of merge().files) if (classifyPublishedPath(path)) expect(() => checkPublishedText(path, text)).not.toThrow();
  });

  it('leaves one branch unchanged, and is the same whichever invalid branches come along', () => {
    const alone = mergeTrees([branch('api2')]);
    expect(alone.files).toEqual(trees.get('api2'));
    const withJunk = mergeTrees([{ branch: 'junk', files: new Map([['api/manifest.json', '{}']]) }, branch('api1'), branch('api2'), branch('api3')]);
    expect(withJunk.skipped.map((s) => s.branch)).toEqual(['junk']);
    expect(withJunk.files).toEqual(merge().files);
  });

  it('finds the price files under a root folder and passes on only the feed files the contract defines', () => {
    const underData = (name: string) => ({ branch: name, files: new Map([...trees.get(name)!].map(([p, t]) => [`data/${p}`, t] as [string, string]).concat([['README.md', `# ${name}\n`]])) });
    const broken = underData('api2');
    broken.files.set('data/api/ase/history-7d.json', '[{"date": "2026-11-23"}]');
    const result = mergeTrees([underData('api1'), { ...broken, branch: 'api2-broken' }, underData('api3')], { root: 'data/' });
    expect(result.skipped).toEqual([{ branch: 'api2-broken', reason: expect.stringMatching(/^data\/api\/ase\/history-7d\.json breaks the published contract/) }]);
    const plain = mergeTrees([branch('api1'), branch('api3')]);
    expect([...result.files.keys()].filter((p) => p.startsWith('data/api/')).sort()).toEqual([...plain.files.keys()].filter((p) => p.startsWith('api/')).map((p) => `data/${p}`).sort());
    expect(result.files.get('data/api/ase/latest.json')).toBe(plain.files.get('api/ase/latest.json'));
    // A file the contract does not define never reaches main, whoever committed it to a branch.
    expect(result.files.has('README.md')).toBe(false);
    const foreign = underData('api1');
    foreign.files.set('data/api/notes.json', '{"owned": true}\n');
    foreign.files.set('data/hourly/2026/11/23/12.json', hourly([['Gold', '12:00', 4100]]));
    const withForeign = mergeTrees([foreign], { root: 'data/' });
    expect(withForeign.files.has('data/api/notes.json')).toBe(false);
    expect(withForeign.files.get('data/hourly/2026/11/23/12.json')).toBe(hourly([['Gold', '12:00', 4100]]));
  });

  it('ages a fresh price of a branch that stopped into a stale fill', () => {
    const stopped = new Map(trees.get('api1')!);
    const ase = read(stopped, 'api/ase/latest.json');
    const later = read(trees.get('api3')!, 'api/manifest.json');
    // api3 moves 2 hours on; api1 stays where it stopped.
    const moved = new Map(trees.get('api3')!);
    const shift = (t: string) => t.replaceAll('2026-11-23T12:', '2026-11-23T14:').replaceAll('2026-11-23T11:', '2026-11-23T13:');
    for (const [path, text] of moved) moved.set(path, shift(text));
    expect(later.latest_window).toBe('2026-11-23T12:00:00Z');
    const result = mergeTrees([{ branch: 'api1', files: stopped }, { branch: 'api3', files: moved }]);
    expect(result.skipped).toEqual([]);
    const merged = read(result.files, 'api/ase/latest.json');
    expect(ase.vendors.jmbullion.stale).toBeUndefined();
    expect(merged.vendors.jmbullion).toEqual({ price: 31, confidence: null, source: 'last_known', inStock: true, stale: true, stale_since: '2026-11-23T12:00:00.000Z' });
    expect(merged.median_price).toBe(33); // only api3's fresh herobullion counts
    expect(merged.windows_24h.map((w: { window: string }) => w.window)).toContain('2026-11-23T11:30:00Z');
  });
});

describe('mergeTrees: feed files', () => {
  const manifest = (name: string) => ({ branch: name, files: new Map([['api/manifest.json', stableStringify({ generated_at: '2026-11-23T12:11:00.000Z', latest_window: null, window_count: 0, coin_count: 0, coins: [], enabled_coins: [], coins_meta: {}, endpoints: MANIFEST_ENDPOINTS })]]) });
  const withFiles = (name: string, files: Record<string, string>) => {
    const b = manifest(name);
    for (const [p, t] of Object.entries(files)) b.files.set(p, t);
    return b;
  };
  const quarter = (spot: number) => stableStringify([{ spot, metal: 'Gold', source: 'seed', provider: 'StakTrakr', timestamp: '2026-11-23 12:15:00' }]);

  it('unions the hourly entries of every branch, the last element the newest; keeps the first 15-minute file and what only main has', () => {
    const api1 = withFiles('api1', { 'hourly/2026/11/23/12.json': hourly([['Gold', '12:00', 4100], ['Silver', '12:00', 50]]), '15min/2026/11/23/1215.json': quarter(4101) });
    const api2 = withFiles('api2', { 'hourly/2026/11/23/12.json': hourly([['Gold', '12:00', 4100], ['Silver', '12:00', 50], ['Gold', '12:15', 4101], ['Silver', '12:15', 51]]), '15min/2026/11/23/1215.json': quarter(4999) });
    const main = withFiles('main', { 'hourly/2026/11/23/11.json': hourly([['Gold', '11:45', 4090]]), '15min/2026/11/23/1215.json': quarter(4101) });
    const { files, skipped } = mergeTrees([api1, api2], { fallback: main });
    expect(skipped).toEqual([]);
    const merged = JSON.parse(files.get('hourly/2026/11/23/12.json')!) as Array<{ metal: string; timestamp: string }>;
    expect(merged.map((e) => `${e.metal} ${e.timestamp.slice(11, 16)}`)).toEqual(['Gold 12:00', 'Silver 12:00', 'Gold 12:15', 'Silver 12:15']);
    expect(files.get('15min/2026/11/23/1215.json')).toBe(quarter(4101)); // main's, never overwritten
    expect(files.get('hourly/2026/11/23/11.json')).toBe(hourly([['Gold', '11:45', 4090]])); // only main has it: kept
  });

  it('skips a branch whose spot or Goldback file breaks its schema, naming the file', () => {
    const unsorted = stableStringify([
      { spot: 4101, metal: 'Gold', source: 'hourly', provider: 'StakTrakr', timestamp: '2026-11-23 12:15:00' },
      { spot: 4100, metal: 'Gold', source: 'hourly', provider: 'StakTrakr', timestamp: '2026-11-23 12:00:00' },
    ]);
    const { used, skipped } = mergeTrees([
      withFiles('api1', { 'hourly/2026/11/23/12.json': unsorted }),
      withFiles('api2', { 'api/goldback-spot.json': '{"g1_usd": 10.06}\n' }),
      withFiles('api3', { 'hourly/2026/11/23/12.json': hourly([['Gold', '12:00', 4100]]) }),
    ]);
    expect(used).toEqual(['api3']);
    expect(skipped.map((s) => s.branch)).toEqual(['api1', 'api2']);
    expect(skipped[0].reason).toMatch(/hourly\/2026\/11\/23\/12\.json/);
    expect(skipped[1].reason).toMatch(/goldback-spot\.json/);
  });
});
