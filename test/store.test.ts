import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { join } from 'node:path';
import { PriceStore } from '../src/store/price-store.js';
import { MIGRATIONS } from '../src/store/migrations.js';
import { windowStart } from '../src/time/window.js';
import { countRows, sampleRow } from './support/rows.js';
import { startSqld, type SqldHandle } from './support/sqld.js';
import { tempDir } from './support/temp.js';

describe('window_start', () => {
  it('is the 15-minute UTC floor in one format', () => {
    expect(windowStart(new Date('2026-11-23T10:44:59.999Z'))).toBe('2026-11-23T10:30:00Z');
    expect(windowStart(new Date('2026-11-23T10:45:00.000Z'))).toBe('2026-11-23T10:45:00Z');
    expect(windowStart(Date.UTC(2026, 0, 1, 0, 14, 0))).toBe('2026-01-01T00:00:00Z');
  });
});

describe('PriceStore on a local file', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let url: string;
  beforeAll(async () => {
    dir = await tempDir('store');
    url = `file:${join(dir.path, 'prices.db')}`;
  });
  afterAll(() => dir.remove());

  it('creates price_snapshots with its four indexes and the unique key, and migrating again changes nothing', async () => {
    const store = new PriceStore({ url });
    expect(await store.migrate()).toEqual(MIGRATIONS.map((m) => m.id));
    expect(await store.migrate()).toEqual([]);
    await store.close();
    const client = createClient({ url });
    const cols = (await client.execute('PRAGMA table_info(price_snapshots)')).rows.map((r) => r.name);
    expect(cols).toEqual(expect.arrayContaining(['id', 'scraped_at', 'window_start', 'coin_slug', 'vendor', 'price', 'source', 'confidence', 'is_failed', 'in_stock', 'poller_id', 'idem_key']));
    const indexes = (await client.execute("SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='price_snapshots' AND sql IS NOT NULL")).rows;
    expect(indexes.filter((r) => !String(r.sql).includes('UNIQUE'))).toHaveLength(4);
    expect(indexes.some((r) => /UNIQUE INDEX.*idem_key/.test(String(r.sql)))).toBe(true);
    client.close();
  });

  it('writes each key once, whatever the retries, and batches concurrent writes', async () => {
    const store = new PriceStore({ url });
    await store.migrate();
    const rows = Array.from({ length: 1200 }, (_, i) => sampleRow(i));
    await Promise.all(rows.map((r) => store.write(r)));
    await Promise.all(rows.slice(0, 100).map((r) => store.write(r)));
    expect(await store.writeRows(rows)).toBe(0);
    await store.close();
    expect(await countRows(url)).toBe(1200);
  });

  it('keeps an outcome record per target: last success, last error with its reason, consecutive failures', async () => {
    const store = new PriceStore({ url });
    await store.migrate();
    const t = { coin_slug: 'age', vendor: 'apmex' };
    await store.write(sampleRow(5000, { ...t, key: 'k1', scraped_at: '2026-11-23T12:00:00.000Z' }));
    await store.write(sampleRow(5001, { ...t, key: 'k2', scraped_at: '2026-11-23T12:15:00.000Z', is_failed: true, price: null, in_stock: null, outcome: 'blocked', reason: 'challenge page' }));
    await store.write(sampleRow(5002, { ...t, key: 'k3', scraped_at: '2026-11-23T12:30:00.000Z', is_failed: true, price: null, in_stock: null, outcome: 'error', reason: 'timeout' }));
    // A replayed row changes nothing; an older row never overwrites a newer outcome.
    await store.writeRows([sampleRow(5002, { ...t, key: 'k3', scraped_at: '2026-11-23T12:30:00.000Z', is_failed: true, price: null, outcome: 'error', reason: 'timeout' })]);
    let [o] = (await store.outcomes('api1')).filter((x) => x.coin_slug === 'age');
    expect(o).toMatchObject({ last_outcome: 'error', last_error: 'timeout', consecutive_failures: 2, last_success_at: '2026-11-23T12:00:00.000Z' });
    await store.write(sampleRow(5003, { ...t, key: 'k4', scraped_at: '2026-11-23T12:45:00.000Z', price: 5100 }));
    [o] = (await store.outcomes('api1')).filter((x) => x.coin_slug === 'age');
    expect(o).toMatchObject({ last_outcome: 'ok', consecutive_failures: 0, last_success_at: '2026-11-23T12:45:00.000Z', last_price: 5100, last_error: 'timeout' });
    await store.close();
  });
});

describe('a failed job retried by an operator', () => {
  it('its success replaces the failed row of the same key and clears the failure streak; a failed row never replaces a success', async () => {
    const dir = await tempDir('store-retry');
    const url = `file:${join(dir.path, 'prices.db')}`;
    const store = new PriceStore({ url });
    try {
      await store.migrate();
      const t = { coin_slug: 'ase', vendor: 'apmex', key: 'api1/job-7' };
      const failed = sampleRow(1, { ...t, scraped_at: '2026-11-23T12:00:00.000Z', is_failed: true, price: null, in_stock: null, outcome: 'error', reason: 'HTTP 500 from the vendor', confidence: null, matched_by: null });
      await store.write(failed);
      expect((await store.outcomes('api1'))[0]).toMatchObject({ consecutive_failures: 1, last_outcome: 'error' });
      await store.write(sampleRow(2, { ...t, scraped_at: '2026-11-23T12:20:00.000Z', price: 93.4, outcome: 'ok' }));
      await store.write(failed);
      const client = createClient({ url });
      const rows = (await client.execute("SELECT price, is_failed, outcome, scraped_at FROM price_snapshots WHERE idem_key = 'api1/job-7'")).rows;
      client.close();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ price: 93.4, is_failed: 0, outcome: 'ok', scraped_at: '2026-11-23T12:20:00.000Z' });
      expect((await store.outcomes('api1'))[0]).toMatchObject({ consecutive_failures: 0, last_outcome: 'ok', last_price: 93.4 });
    } finally {
      await store.close();
      await dir.remove();
    }
  });
});

describe('PriceStore against a real libSQL server (sqld) with a Turso token', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sqld: SqldHandle;
  beforeAll(async () => {
    dir = await tempDir('sqld');
    sqld = await startSqld(dir.path, { auth: true });
  });
  afterAll(async () => {
    await sqld.stop();
    await dir.remove();
  });

  it('refuses a missing token and works with the right one', async () => {
    const anonymous = new PriceStore({ url: sqld.url });
    await expect(anonymous.migrate()).rejects.toThrow(/401|Unauthorized|auth/i);
    await anonymous.close();
    const store = new PriceStore({ url: sqld.url, authToken: sqld.token });
    await store.migrate();
    await store.writeRows(Array.from({ length: 700 }, (_, i) => sampleRow(i)));
    await store.close();
    expect(await countRows(sqld.url, sqld.token)).toBe(700);
  });
});
