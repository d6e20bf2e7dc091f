import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@libsql/client';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { classifyPublishedPath, ContractError, checkPublishedText, keyShape } from '../src/contract/index.js';
import { exportTree, buildExportTree } from '../src/export/export-tree.js';
import { fileExportState, memoryExportState } from '../src/export/export-state.js';
import { EXPORT_SQL } from '../src/export/export-queries.js';
import { generateHistory } from '../src/bench/history.js';
import { runMigrations } from '../src/store/migrations.js';
import { PriceStore } from '../src/store/price-store.js';
import type { PriceRow } from '../src/store/price-row.js';
import { windowStart } from '../src/time/window.js';
import { tempDir } from './support/temp.js';
import { startSqld, type SqldHandle } from './support/sqld.js';

const SAMPLES = 'test/fixtures/contract/StakTrakrApi/data';
const NOW = new Date('2026-11-23T12:10:00Z');

const catalogueWith = (slugs: string[]): Catalogue =>
  parseCatalogue(JSON.stringify({
    coins: Object.fromEntries(slugs.map((slug) => [slug, {
      name: `Coin ${slug}`, metal: slug === 'age' ? 'gold' : 'silver', weight_oz: 1,
      providers: ['apmex', 'jmbullion', 'sdbullion'].map((id) => ({ id, name: id, enabled: true, url: `https://${id}.example/${slug}` })),
    }])),
  }));

let seq = 0;
/** A stored row; `at` is the scrape time, the window its 15-minute floor. */
function row(coin: string, vendor: string, at: string, price: number | null, over: Partial<PriceRow> = {}): PriceRow {
  const poller = over.poller_id ?? 'api1';
  return {
    key: `${poller}/t${++seq}`, poller_id: poller, scraped_at: new Date(at).toISOString(), window_start: windowStart(new Date(at)),
    coin_slug: coin, vendor, price, source: 'http', confidence: 80, is_failed: false, in_stock: true, outcome: 'ok', reason: null, matched_by: 'jsonld',
    ...over,
  };
}
const outOfStock = { in_stock: false, outcome: 'out_of_stock' as const };

async function openDb(path: string): Promise<Client> {
  const client = createClient({ url: `file:${path}`, timeout: 5000 });
  await runMigrations(client);
  return client;
}
async function writeRows(path: string, rows: PriceRow[]): Promise<void> {
  const store = new PriceStore({ url: `file:${path}` });
  await store.migrate();
  await store.writeRows(rows);
  await store.close();
}
function readTree(dataDir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else files.set(relative(dataDir, full), readFileSync(full, 'utf8'));
    }
  };
  if (existsSync(dataDir)) walk(dataDir);
  return files;
}
const json = (dir: string, path: string) => JSON.parse(readFileSync(join(dir, path), 'utf8'));

/** The fixed scenario: newest window 2026-11-23T12:00Z. */
const FIXED_ROWS: PriceRow[] = [
  // apmex: three in-stock rows today; the newest (api2, 12:05) wins the window and latest.
  row('ase', 'apmex', '2026-11-23T11:46:00Z', 30),
  row('ase', 'apmex', '2026-11-23T12:01:00Z', 31),
  row('ase', 'apmex', '2026-11-23T12:05:00Z', 32, { poller_id: 'api2' }),
  row('ase', 'jmbullion', '2026-11-23T12:02:00Z', 30.5, { source: 'browser', confidence: 50 }),
  row('ase', 'sdbullion', '2026-11-23T12:03:00Z', 31.5),
  row('ase', 'herobullion', '2026-11-23T12:04:00Z', 33),
  // In stock 6 h ago only: a stale fill, cheaper than everyone, yet not the lowest price.
  row('ase', 'monumentmetals', '2026-11-23T06:00:30Z', 29.99),
  // In stock yesterday, out of stock now (advertised 35).
  row('ase', 'bullionexchanges', '2026-11-22T10:00:00Z', 34),
  row('ase', 'bullionexchanges', '2026-11-23T12:04:30Z', 35, outOfStock),
  // Last seen 28 h ago: out of latest.json, still in history.
  row('ase', 'summitmetals', '2026-11-22T08:00:00Z', 40),
  // Rejected and failed rows never publish a price.
  row('ase', 'gainesvillecoins', '2026-11-23T12:06:00Z', 5, { is_failed: true, outcome: 'rejected', reason: 'below spot', confidence: null }),
  row('ase', 'gainesvillecoins', '2026-11-23T11:50:00Z', null, { is_failed: true, outcome: 'error', in_stock: null, reason: 'timeout' }),
  row('ase', 'apmex', '2026-11-23T12:08:00Z', 1, { is_failed: true, outcome: 'wrong_product', reason: 'fractional' }),
  // age: odd count of fresh vendors.
  row('age', 'apmex', '2026-11-23T12:01:00Z', 2000),
  row('age', 'jmbullion', '2026-11-23T12:02:00Z', 2100),
  row('age', 'sdbullion', '2026-11-23T12:03:00Z', 2050.25),
];

describe('exportTree on fixed rows', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  let out: string;
  beforeAll(async () => {
    dir = await tempDir('export-fixed');
    await writeRows(join(dir.path, 'prices.db'), FIXED_ROWS);
    client = await openDb(join(dir.path, 'prices.db'));
    out = join(dir.path, 'data');
    await exportTree({ client, catalogue: catalogueWith(['age', 'ase']), pollerId: null, outDir: out, now: NOW });
  });
  afterAll(async () => {
    client.close();
    await dir.remove();
  });

  it('publishes the true median (even count) and the lowest of fresh in-stock vendors', () => {
    const ase = json(out, 'api/ase/latest.json');
    expect(ase.window_start).toBe('2026-11-23T12:00:00Z');
    expect(ase.median_price).toBe(31.75); // 30.5, 31.5, 32, 33
    expect(ase.lowest_price).toBe(30.5);
    expect(json(out, 'api/age/latest.json')).toMatchObject({ median_price: 2050.25, lowest_price: 2000 });
  });

  it('lists vendors with their real source, the newest row of several pollers, and stale fills', () => {
    const { vendors } = json(out, 'api/ase/latest.json');
    expect(vendors.apmex).toEqual({ price: 32, confidence: 80, source: 'http', inStock: true });
    expect(vendors.jmbullion).toEqual({ price: 30.5, confidence: 50, source: 'browser', inStock: true });
    expect(vendors.monumentmetals).toEqual({ price: 29.99, confidence: null, source: 'last_known', inStock: true, stale: true, stale_since: '2026-11-23T06:00:30.000Z' });
    expect(Object.keys(vendors).sort()).toEqual(['apmex', 'herobullion', 'jmbullion', 'monumentmetals', 'sdbullion']);
  });

  it('never publishes a rejected or failed price', () => {
    const text = readFileSync(join(out, 'api/ase/latest.json'), 'utf8') + readFileSync(join(out, 'api/ase/history-30d.json'), 'utf8');
    expect(text).not.toMatch(/gainesvillecoins/);
    expect(json(out, 'api/ase/latest.json').windows_24h.at(-1).vendors.apmex).toBe(32);
  });

  it('marks out-of-stock vendors and fills last_known_price_by_site and last_available_date_by_site', () => {
    const ase = json(out, 'api/ase/latest.json');
    expect(ase.availability_by_site).toEqual({ apmex: true, bullionexchanges: false, herobullion: true, jmbullion: true, monumentmetals: true, sdbullion: true });
    expect(ase.last_known_price_by_site).toEqual({ bullionexchanges: 34 });
    expect(ase.last_available_date_by_site).toEqual({ bullionexchanges: '2026-11-22' });
  });

  it('keeps every window of the last 24 hours with an in-stock price, in one format', () => {
    const { windows_24h } = json(out, 'api/ase/latest.json');
    expect(windows_24h).toEqual([
      { window: '2026-11-23T06:00:00Z', median: 29.99, low: 29.99, vendors: { monumentmetals: 29.99 } },
      { window: '2026-11-23T11:45:00Z', median: 30, low: 30, vendors: { apmex: 30 } },
      { window: '2026-11-23T12:00:00Z', median: 31.75, low: 30.5, vendors: { apmex: 32, herobullion: 33, jmbullion: 30.5, sdbullion: 31.5 } },
    ]);
  });

  it('writes daily history from in-stock averages; out-of-stock vendors keep inStock false', () => {
    const h = json(out, 'api/ase/history-30d.json');
    expect(h.map((d: { date: string }) => d.date)).toEqual(['2026-11-22', '2026-11-23']);
    expect(h[0]).toEqual({ date: '2026-11-22', avg_median: 37, avg_low: 34, sample_count: 2, vendors: { bullionexchanges: { avg: 34, inStock: true }, summitmetals: { avg: 40, inStock: true } } });
    expect(h[1]).toMatchObject({ date: '2026-11-23', avg_median: 31, avg_low: 29.99, sample_count: 8 });
    expect(h[1].vendors.apmex).toEqual({ avg: 31, inStock: true });
    expect(h[1].vendors.bullionexchanges).toEqual({ avg: 35, inStock: false });
    expect(json(out, 'api/ase/history-7d.json')).toEqual(h);
  });

  it('dates the manifest by the newest data, not the wall clock, with coins and enabled_coins', () => {
    const m = json(out, 'api/manifest.json');
    expect(m.generated_at).toBe('2026-11-23T12:05:00.000Z');
    expect(m.latest_window).toBe('2026-11-23T12:00:00Z');
    expect(m.coins).toEqual(['age', 'ase']);
    expect(m.enabled_coins).toEqual(['age', 'ase']);
    expect(m.window_count).toBe(3);
    expect(json(out, 'api/latest.json').coins.ase).toEqual({ window_start: '2026-11-23T12:00:00Z', median_price: 31.75, lowest_price: 30.5, vendor_count: 4 });
  });

  it('exports one poller only when asked', async () => {
    const { files } = await buildExportTree({ client, catalogue: catalogueWith(['age', 'ase']), pollerId: 'api1', now: NOW });
    const ase = JSON.parse(files.get('api/ase/latest.json')!);
    expect(ase.vendors.apmex.price).toBe(31);
    expect(JSON.parse(files.get('api/manifest.json')!).generated_at).toBe('2026-11-23T12:04:30.000Z');
  });

  it('writes files that pass the published schema and have the key structure of the real files', () => {
    const tree = readTree(out);
    expect([...tree.keys()].sort()).toEqual([
      'api/age/history-30d.json', 'api/age/history-7d.json', 'api/age/latest.json',
      'api/ase/history-30d.json', 'api/ase/history-7d.json', 'api/ase/latest.json',
      'api/latest.json', 'api/manifest.json', 'api/providers.json',
    ]);
    const samples: Record<string, string> = {
      'api/manifest.json': 'api/manifest.json', 'api/providers.json': 'api/providers.json', 'api/latest.json': 'api/latest.json',
      'api/ase/latest.json': 'api/age/latest.json', 'api/ase/history-7d.json': 'api/age/history-7d.json', 'api/ase/history-30d.json': 'api/age/history-30d.json',
    };
    // Deliberate additions of ours (contract README): enabled_coins, a filled last_available_date_by_site.
    const additions = new Set(['enabled_coins', 'enabled_coins[]', 'last_available_date_by_site.*']);
    for (const [ours, sample] of Object.entries(samples)) {
      const text = tree.get(ours)!;
      expect(() => checkPublishedText(ours, text)).not.toThrow();
      const kind = classifyPublishedPath(ours)!.kind;
      const mine = keyShape(kind, JSON.parse(text));
      const real = keyShape(kind, JSON.parse(readFileSync(join(SAMPLES, sample), 'utf8')));
      expect([...mine].filter((p) => !real.has(p) && !additions.has(p)), `${ours} has fields the real ${sample} lacks`).toEqual([]);
      expect([...real].filter((p) => !mine.has(p)), `${ours} lacks fields of the real ${sample}`).toEqual([]);
    }
  });

  it('runs its growing scans on indexes (EXPLAIN QUERY PLAN of the real queries)', async () => {
    const plan = async (sql: string) => (await client.execute(`EXPLAIN QUERY PLAN ${sql}`)).rows.map((r) => String(r.detail)).join(' | ');
    const dayRange = /USING INDEX idx_price_snapshots_window \(window_start>\? AND window_start<\?\)/;
    const pollerDayRange = /USING INDEX idx_price_snapshots_poller_window \(poller_id=\? AND window_start>\? AND window_start<\?\)/;
    for (const sql of [EXPORT_SQL.dailyAggregates, EXPORT_SQL.windowPrices, EXPORT_SQL.snapshotWindows]) {
      expect(await plan(sql(null))).toMatch(dayRange);
      expect(await plan(sql('api1'))).toMatch(pollerDayRange);
    }
    for (const scope of [null, 'api1']) {
      expect(await plan(EXPORT_SQL.changedWindows(scope))).toMatch(/INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
      // An incremental export reads a date's added rows through the row-id range, not the whole date.
      expect(await plan(EXPORT_SQL.dailyAggregates(scope, true))).toMatch(/INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    }
  });
});

describe('a contract violation', () => {
  it('throws naming the file and field, and writes nothing', async () => {
    const dir = await tempDir('export-violation');
    try {
      const db = join(dir.path, 'prices.db');
      // A confidence over 100 breaks the contract (a negative price no longer can: the export ignores prices outside (0, MAX_PRICE]).
      await writeRows(db, [row('ase', 'apmex', '2026-11-23T12:01:00Z', 30), row('ase', 'jmbullion', '2026-11-23T12:02:00Z', 31, { confidence: 150 })]);
      const client = await openDb(db);
      const state = memoryExportState();
      const out = join(dir.path, 'data');
      const err = await exportTree({ client, catalogue: catalogueWith(['ase']), pollerId: null, outDir: out, now: NOW, state }).catch((e) => e);
      client.close();
      expect(err).toBeInstanceOf(ContractError);
      expect(err.message).toMatch(/^api\/ase\/latest\.json breaks the published contract/);
      expect(err.message).toMatch(/field vendors\.jmbullion\.confidence: /);
      expect(existsSync(out)).toBe(false);
      expect(state.current).toBeNull();
    } finally {
      await dir.remove();
    }
  });
});

describe('incremental export', () => {
  const targets = ['ase', 'age', 'maple-gold'].flatMap((coin) => ['apmex', 'jmbullion', 'sdbullion'].map((vendor) => ({ coin, vendor })));
  const pollers = ['api1', 'api2', 'api3'];
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  const catalogue = catalogueWith(['age', 'ase', 'maple-gold']);
  beforeAll(async () => {
    dir = await tempDir('export-incremental');
    client = await openDb(join(dir.path, 'prices.db'));
    await generateHistory(client, { days: 3, targets, pollers, now: new Date('2026-11-23T12:00:00Z'), batchRows: 500 });
  });
  afterAll(async () => {
    client.close();
    await dir.remove();
  });

  const full = async (scope: string | null, now: Date) => {
    const outDir = join(dir.path, `full-${Math.random().toString(36).slice(2)}`);
    await exportTree({ client, catalogue, pollerId: scope, outDir, now });
    return readTree(outDir);
  };

  for (const [i, scope] of [null, 'api2'].entries()) {
    it(`equals a full rebuild byte for byte, and reads only what changed (${scope ?? 'all pollers'})`, async () => {
      const outDir = join(dir.path, `inc-${scope}`);
      const state = fileExportState(join(dir.path, `state-${scope}`, 'export-state.json'));
      const first = await exportTree({ client, catalogue, pollerId: scope, outDir, now: new Date('2026-11-23T12:00:00Z'), state });
      expect(first.full).toBe(true);

      // Nothing new: nothing read again, nothing written, the same bytes.
      const before = readTree(outDir);
      const idle = await exportTree({ client, catalogue, pollerId: scope, outDir, now: new Date('2026-11-23T13:00:00Z'), state });
      expect(idle).toMatchObject({ full: false, datesRecomputed: 0, filesWritten: 0 });
      expect(readTree(outDir)).toEqual(before);

      // One new window, then a late row for an older date (a replayed recovery log).
      const later = new Date(Date.parse('2026-11-23T12:15:00Z') + i * 15 * 60_000);
      await generateHistory(client, { days: 1 / 96, targets, pollers, now: later });
      const inc = await exportTree({ client, catalogue, pollerId: scope, outDir, now: later, state });
      expect(inc).toMatchObject({ full: false, datesRecomputed: 1 });
      expect(inc.filesWritten).toBeGreaterThan(0);
      expect(readTree(outDir)).toEqual(await full(scope, later));

      const late = new PriceStore({ url: `file:${join(dir.path, 'prices.db')}` });
      await late.writeRows([row('ase', 'apmex', '2026-11-21T09:00:00Z', 1234.56, { poller_id: scope ?? 'api1', key: `late/${scope}` })]);
      await late.close();
      const replay = await exportTree({ client, catalogue, pollerId: scope, outDir, now: later, state });
      expect(replay).toMatchObject({ full: false, datesRecomputed: 1 });
      expect(readTree(outDir)).toEqual(await full(scope, later));
      expect(JSON.stringify(json(outDir, 'api/ase/history-30d.json'))).toMatch(/"date":"2026-11-21"/);

      // A late row inside windows_24h: that window is read again, the others come from the published files.
      const late24 = new PriceStore({ url: `file:${join(dir.path, 'prices.db')}` });
      await late24.writeRows([row('age', 'jmbullion', '2026-11-23T10:14:59.999Z', 2999.99, { poller_id: scope ?? 'api1', key: `late24/${scope}` })]);
      await late24.close();
      const inWindow = await exportTree({ client, catalogue, pollerId: scope, outDir, now: later, state });
      expect(readTree(outDir)).toEqual(await full(scope, later));
      expect(json(outDir, 'api/age/latest.json').windows_24h.find((w: { window: string }) => w.window === '2026-11-23T10:00:00Z').vendors.jmbullion).toBe(2999.99);
      expect(inWindow.rowsRead, 'one window and one date read again, not the 24 hours').toBeLessThan(first.rowsRead / 4);

      // A coin file gone and one garbled: those coins are read whole from the database, the rest still from the files.
      await rm(join(outDir, 'api/maple-gold/latest.json'));
      await writeFile(join(outDir, 'api/ase/latest.json'), '{"windows_24h": [{"window": ');
      const next = new Date(later.getTime() + (3 + i) * 15 * 60_000);
      await generateHistory(client, { days: 1 / 96, targets, pollers, now: next, seed: 9 });
      await exportTree({ client, catalogue, pollerId: scope, outDir, now: next, state });
      expect(readTree(outDir)).toEqual(await full(scope, next));
    });
  }

  it('rebuilds in full when the state is of another scope or another database', async () => {
    const state = memoryExportState();
    await exportTree({ client, catalogue, pollerId: 'api1', outDir: join(dir.path, 'scope-a'), now: NOW, state });
    expect((await exportTree({ client, catalogue, pollerId: 'api3', outDir: join(dir.path, 'scope-b'), now: NOW, state })).full).toBe(true);
    state.current!.maxIdKey = 'a-row-of-another-database';
    expect((await exportTree({ client, catalogue, pollerId: 'api3', outDir: join(dir.path, 'scope-b'), now: NOW, state })).full).toBe(true);
    await writeFile(join(dir.path, 'broken-state.json'), '{"version": 1, "days": ');
    expect((await exportTree({ client, catalogue, pollerId: 'api3', outDir: join(dir.path, 'scope-b'), now: NOW, state: fileExportState(join(dir.path, 'broken-state.json')) })).full).toBe(true);
  });
});

describe('stale slugs', () => {
  it('leave the manifest and lose their folder when unconfigured and without data in 30 days; others stay', async () => {
    const dir = await tempDir('export-stale');
    try {
      const db = join(dir.path, 'prices.db');
      await writeRows(db, [
        row('ase', 'apmex', '2026-11-23T12:01:00Z', 30),
        row('old-coin', 'apmex', '2026-10-01T12:00:00Z', 10), // 53 days before NOW
        row('recent-coin', 'apmex', '2026-11-10T12:00:00Z', 12), // unconfigured, data 13 days ago
      ]);
      const client = await openDb(db);
      const out = join(dir.path, 'data');
      await exportTree({ client, catalogue: catalogueWith(['ase', 'old-coin']), pollerId: null, outDir: out, now: NOW });
      expect(json(out, 'api/manifest.json').coins).toEqual(['ase', 'old-coin', 'recent-coin']);
      expect(json(out, 'api/old-coin/latest.json')).toMatchObject({ window_start: null, vendors: {} });
      await mkdir(join(out, 'api/some-feed'), { recursive: true });
      await writeFile(join(out, 'api/some-feed/other.json'), '{}');
      await writeFile(join(out, 'api/goldback-spot.json'), '{"g1_usd": 10}');

      const stats = await exportTree({ client, catalogue: catalogueWith(['ase']), pollerId: null, outDir: out, now: NOW });
      client.close();
      expect(stats.foldersRemoved).toEqual(['api/old-coin']);
      const m = json(out, 'api/manifest.json');
      expect(m.coins).toEqual(['ase', 'recent-coin']);
      expect(Object.keys(m.coins_meta)).toEqual(['ase']);
      expect(existsSync(join(out, 'api/old-coin'))).toBe(false);
      expect(json(out, 'api/recent-coin/history-30d.json')[0]).toMatchObject({ date: '2026-11-10', avg_median: 12 });
      expect(existsSync(join(out, 'api/some-feed/other.json'))).toBe(true);
      expect(await readFile(join(out, 'api/goldback-spot.json'), 'utf8')).toBe('{"g1_usd": 10}');
    } finally {
      await dir.remove();
    }
  });
});

describe('export from a real libSQL server (sqld)', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sqld: SqldHandle;
  beforeAll(async () => {
    dir = await tempDir('export-sqld');
    sqld = await startSqld(dir.path, { auth: true });
  });
  afterAll(async () => {
    await sqld.stop();
    await dir.remove();
  });

  it('gives the same bytes as from a local file with the same rows', async () => {
    const targets = [{ coin: 'ase', vendor: 'apmex' }, { coin: 'ase', vendor: 'jmbullion' }];
    const options = { days: 1, targets, pollers: ['api1', 'api2'], now: new Date('2026-11-23T12:00:00Z') };
    const remote = createClient({ url: sqld.url, authToken: sqld.token });
    const local = await openDb(join(dir.path, 'local.db'));
    await generateHistory(remote, options);
    await generateHistory(local, options);
    const state = memoryExportState();
    const a = await buildExportTree({ client: remote, catalogue: catalogueWith(['ase']), pollerId: 'api2', now: NOW, state });
    const b = await buildExportTree({ client: local, catalogue: catalogueWith(['ase']), pollerId: 'api2', now: NOW });
    remote.close();
    local.close();
    expect(a.files).toEqual(b.files);
    expect(JSON.parse(a.files.get('api/ase/latest.json')!).median_price).not.toBeNull();
  });
});
