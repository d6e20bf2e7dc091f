import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { CatalogueError, loadCatalogue, parseCatalogue } from '../src/catalogue/load.js';
import { ConfigError, loadConfig, defaultStaggerMs } from '../src/config/env.js';
import { vendorDirectory, VendorsFileError, loadVendorDirectory } from '../src/config/vendors.js';
import { scrubSecrets } from '../src/log.js';

const REAL = 'test/fixtures/contract/config/providers.json';

describe('catalogue', () => {
  it('loads the real providers.json unchanged: 23 coins, 168 entries, 166 enabled targets', async () => {
    const c = await loadCatalogue(REAL);
    expect(Object.keys(c.file.coins)).toHaveLength(23);
    expect(Object.values(c.file.coins).reduce((n, coin) => n + coin.providers.length, 0)).toBe(168);
    expect(c.targets).toHaveLength(166);
    expect(new Set(c.targets.map((t) => t.vendor)).size).toBe(9);
    const ase = c.targets.find((t) => t.coin === 'ase' && t.vendor === 'apmex');
    expect(ase).toMatchObject({ metal: 'silver', weightOz: 1, coinName: expect.stringContaining('Silver Eagle') });
    expect(ase!.urls[0]).toMatch(/^https:\/\/www\.apmex\.com\//);
    // The disabled goldback-dc entries have no URL and are simply not targets.
    expect(c.targets.some((t) => t.coin === 'goldback-dc-g1' && t.vendor === 'herobullion')).toBe(false);
  });

  it('loads the dated copies too', async () => {
    for (const f of ['providers.2026-02-21.json', 'providers.2026-03-05.json']) {
      expect((await loadCatalogue(`test/fixtures/contract/config/${f}`)).targets.length).toBeGreaterThan(50);
    }
  });

  it('takes urls[] as well as url', () => {
    const c = parseCatalogue(JSON.stringify({ coins: { ase: { name: 'ASE', metal: 'Silver', weight_oz: 1, providers: [{ id: 'apmex', name: 'A', enabled: true, urls: ['https://a.example/1', 'https://a.example/2'] }] } } }));
    expect(c.targets[0]).toMatchObject({ metal: 'silver', urls: ['https://a.example/1', 'https://a.example/2'] });
  });

  const broken: Array<[string, (j: any) => void, RegExp]> = [
    ['a missing url on an enabled entry', (j) => delete j.coins.ase.providers[0].url, /coin "ase", provider #1 \(apmex\), field url: an enabled provider needs/],
    ['a non-http url', (j) => (j.coins.age.providers[1].url = 'ftp://x/y'), /coin "age", provider #2 \(bullionexchanges\), field url: expected an http\(s\) URL/],
    ['an unknown metal', (j) => (j.coins.ape.metal = 'unobtainium'), /coin "ape", field metal: expected one of gold/],
    ['a zero weight', (j) => (j.coins.ase.weight_oz = 0), /coin "ase", field weight_oz: expected a weight > 0/],
    ['a string for enabled', (j) => (j.coins.ase.providers[2].enabled = 'yes'), /coin "ase", provider #3 \(\w+\), field enabled: expected true or false/],
    ['a vendor listed twice', (j) => j.coins.ase.providers.push({ ...j.coins.ase.providers[0] }), /coin "ase", provider #\d+ \(apmex\), field id: vendor "apmex" is listed twice/],
    ['no coins at all', (j) => delete j.coins, /top level|coins/],
  ];
  for (const [what, mutate, message] of broken) {
    it(`refuses ${what}, naming coin and field`, () => {
      const j = JSON.parse(readFileSync(REAL, 'utf8'));
      mutate(j);
      expect(() => parseCatalogue(JSON.stringify(j))).toThrow(CatalogueError);
      expect(() => parseCatalogue(JSON.stringify(j))).toThrow(message);
    });
  }

  it('refuses invalid JSON and a missing file with a readable message', async () => {
    expect(() => parseCatalogue('{"coins": {', 'x.json')).toThrow(/catalogue x.json is refused:\n  - not valid JSON/);
    await expect(loadCatalogue('/nonexistent/providers.json')).rejects.toThrow(/cannot be read \(ENOENT\); set CATALOGUE_PATH/);
  });
});

describe('environment', () => {
  it('has sane defaults and derives the stagger from the poller id', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ pollerId: 'api1', staggerMs: 0, databaseUrl: 'file:var/prices.db', intervalMs: 900_000, redisPrefix: 'bull' });
    expect(loadConfig({ POLLER_ID: 'api2' }).staggerMs).toBe(5 * 60_000);
    expect(loadConfig({ POLLER_ID: 'api3' }).staggerMs).toBe(10 * 60_000);
    expect(loadConfig({ POLLER_ID: 'api3', POLLER_STAGGER_MINUTES: '7' }).staggerMs).toBe(7 * 60_000);
    expect([1, 2, 3, 4].map((n) => defaultStaggerMs(`api${n}`, 15 * 60_000) / 60_000)).toEqual([0, 5, 10, 0]);
    // The demo's four pollers over one minute: every 15 s.
    expect([1, 2, 3, 4].map((n) => defaultStaggerMs(`api${n}`, 60_000, 4))).toEqual([0, 15_000, 30_000, 45_000]);
    expect(defaultStaggerMs('primary', 60_000)).toBe(0);
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_URL: 'localhost:6379' }, /REDIS_URL: expected redis:\/\/host:port/],
    [{ TURSO_DATABASE_URL: 'postgres://x' }, /TURSO_DATABASE_URL: expected file:PATH, libsql:\/\//],
    [{ WORKER_CONCURRENCY: 'many' }, /WORKER_CONCURRENCY: expected a whole number/],
    [{ WORKER_CONCURRENCY: '0' }, /WORKER_CONCURRENCY: expected at least 1/],
    [{ POLLER_ID: 'API 1' }, /POLLER_ID: expected a short lowercase id/],
    [{ SCRAPE_SPREAD: 'maybe' }, /SCRAPE_SPREAD: expected true or false/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL:/],
  ];
  for (const [env, message] of bad) {
    it(`stops on ${Object.keys(env)[0]}=${Object.values(env)[0]} with the variable named`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    });
  }

  it('lists every bad variable at once and never echoes a value', () => {
    try {
      loadConfig({ REDIS_URL: 'redis-secret-host', TURSO_DATABASE_URL: 'mysql://user:hunter22@x', SCRAPE_ATTEMPTS: '0' });
      expect.unreachable();
    } catch (err) {
      const m = (err as Error).message;
      expect(m).toMatch(/REDIS_URL/);
      expect(m).toMatch(/TURSO_DATABASE_URL/);
      expect(m).toMatch(/SCRAPE_ATTEMPTS/);
      expect(m).not.toMatch(/hunter22|redis-secret-host/);
    }
  });
});

describe('vendor settings', () => {
  it('fills gaps from defaults, then built-ins; env proxies win; unknown vendors get defaults', () => {
    const d = vendorDirectory({ defaults: { timeoutMs: 5000 }, vendors: { jmbullion: { preorderInStock: true, concurrency: 3, rateLimit: null } } }, 2, { PROXY_URL_JMBULLION: 'http://u:p@proxy:8080' });
    expect(d.get('jmbullion')).toMatchObject({ concurrency: 3, rateLimit: null, timeoutMs: 5000, proxyUrl: 'http://u:p@proxy:8080', rules: { preorderInStock: true } });
    expect(d.get('newdealer')).toMatchObject({ concurrency: 2, rateLimit: { max: 1, durationMs: 2000 }, proxyUrl: null, rules: { preorderInStock: false } });
  });

  it('the shipped config/vendors.json loads; a bad one is refused with the field named, never the value', async () => {
    await expect(loadVendorDirectory('config/vendors.json', 1)).resolves.toBeDefined();
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/vendors-');
    writeFileSync(`${dir}/v.json`, JSON.stringify({ vendors: { apmex: { proxyUrl: 'not a url with secret-pw', concurrency: 0 } } }));
    const p = loadVendorDirectory(`${dir}/v.json`, 1);
    await expect(p).rejects.toThrow(VendorsFileError);
    await expect(loadVendorDirectory(`${dir}/v.json`, 1)).rejects.toThrow(/vendors\.apmex\.proxyUrl/);
    await expect(loadVendorDirectory(`${dir}/v.json`, 1)).rejects.not.toThrow(/secret-pw/);
  });
});

describe('secrets', () => {
  it('are scrubbed from messages', () => {
    expect(scrubSecrets('push to https://x-access-token:ghp_abcdef@github.com/o/r failed', ['ghp_abcdef'])).toBe('push to https://***:***@github.com/o/r failed');
    expect(scrubSecrets('token eyJsecretvalue rejected', ['eyJsecretvalue'])).toBe('token *** rejected');
  });
});
