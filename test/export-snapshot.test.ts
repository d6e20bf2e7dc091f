import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@libsql/client';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateHistory } from '../src/bench/history.js';
import { SnapshotTooLargeError, writeSnapshot } from '../src/export/snapshot.js';
import { runMigrations } from '../src/store/migrations.js';
import { tempDir } from './support/temp.js';

const SUCCESSFUL = "is_failed = 0 AND outcome IN ('ok', 'out_of_stock') AND price IS NOT NULL";

describe.each([
  ['read through the client', false],
  ['copied by SQLite from the file', true],
])('writeSnapshot (%s)', (_how, fromFile) => {
  /** The option that picks the method, for a database at `path`. */
  const via = (path: string) => ({ databaseFile: fromFile ? path : null });
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  const targets = ['ase', 'age'].flatMap((coin) => ['apmex', 'jmbullion', 'sdbullion'].map((vendor) => ({ coin, vendor })));
  beforeAll(async () => {
    dir = await tempDir('snapshot');
    client = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    await runMigrations(client);
    await generateHistory(client, { days: 3, targets, pollers: ['api1', 'api2', 'api3'], now: new Date('2026-11-23T12:00:00Z') });
  });
  afterAll(async () => {
    client.close();
    await dir.remove();
  });

  it('holds one row per coin, vendor and window, the pollers merged, no failed rows and no indexes', async () => {
    const outFile = join(dir.path, 'prices-snapshot.db');
    const result = await writeSnapshot({ client, outFile, days: 2, ...via(join(dir.path, 'prices.db')) });
    expect(result.method).toBe(fromFile ? 'sqlite' : 'client');
    const expected = await client.execute(`SELECT COUNT(*) AS groups, SUM(n) AS rows FROM (SELECT COUNT(*) AS n FROM price_snapshots
      WHERE ${SUCCESSFUL} AND window_start >= '2026-11-22' GROUP BY coin_slug, vendor, window_start)`);
    expect(result.rows).toBe(Number(expected.rows[0].groups));
    expect(result).toMatchObject({ warning: null, firstWindow: '2026-11-22T00:00:00Z', lastWindow: '2026-11-23T11:45:00Z' });

    const snap = createClient({ url: `file:${outFile}` });
    const counts = await snap.execute('SELECT COUNT(*) AS n, SUM(samples) AS samples, COUNT(DISTINCT window || coin_id || vendor_id) AS keys FROM prices');
    expect(Number(counts.rows[0].n)).toBe(result.rows);
    expect(Number(counts.rows[0].keys)).toBe(result.rows);
    expect(Number(counts.rows[0].samples)).toBe(Number(expected.rows[0].rows));
    expect((await snap.execute("SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")).rows[0].n).toBe(0);

    // The view reads like the source table: the newest successful row of the window wins.
    const viewRow = (await snap.execute("SELECT * FROM price_windows WHERE coin_slug = 'ase' AND vendor = 'apmex' AND window_start = '2026-11-23T11:00:00Z'")).rows[0];
    const source = (await client.execute(`SELECT price, in_stock, outcome, COUNT(*) OVER () AS n FROM price_snapshots WHERE coin_slug = 'ase' AND vendor = 'apmex'
      AND window_start = '2026-11-23T11:00:00Z' AND ${SUCCESSFUL} ORDER BY scraped_at DESC LIMIT 1`)).rows[0];
    expect(viewRow.price).toBe(source.price);
    expect(viewRow.in_stock).toBe(source.outcome === 'ok' && source.in_stock !== 0 ? 1 : 0);
    expect(viewRow.samples).toBe(Number(source.n));
    expect(viewRow.source).toBe('http');
    const meta = Object.fromEntries((await snap.execute('SELECT key, value FROM meta')).rows.map((r) => [r.key, r.value]));
    expect(meta).toMatchObject({ days: '2', scope: 'all pollers', first_window: '2026-11-22T00:00:00Z' });
    expect(meta.about).toMatch(/sqlite3 prices\.db/);
    expect(await snap.execute("SELECT COUNT(*) AS n FROM price_windows WHERE price IS NULL OR price <= 0").then((r) => r.rows[0].n)).toBe(0);
    snap.close();
    expect(readdirSync(dir.path).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('warns over the budget and refuses over the limit, leaving the previous snapshot untouched', async () => {
    const outFile = join(dir.path, 'guarded.db');
    const warned = await writeSnapshot({ client, outFile, warnBytes: 1024, ...via(join(dir.path, 'prices.db')) });
    expect(warned.warning).toMatch(/over the 1\.0 KiB budget/);
    expect(existsSync(outFile)).toBe(true);

    await writeFile(outFile, 'previous snapshot');
    const err = await writeSnapshot({ client, outFile, maxBytes: 16 * 1024, ...via(join(dir.path, 'prices.db')) }).catch((e) => e);
    expect(err).toBeInstanceOf(SnapshotTooLargeError);
    expect(err.message).toMatch(/snapshot refused: [\d.]+ KiB is over the 16\.0 KiB limit/);
    expect(await readFile(outFile, 'utf8')).toBe('previous snapshot');
    expect(readdirSync(dir.path).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('keeps one row when older software wrote the same window in another text form', async () => {
    const other = await tempDir('snapshot-forms');
    const db = createClient({ url: `file:${join(other.path, 'prices.db')}` });
    try {
      await runMigrations(db);
      const insert = `INSERT INTO price_snapshots (scraped_at, window_start, coin_slug, vendor, price, source, confidence, is_failed, in_stock, poller_id, idem_key, outcome)
        VALUES (?, ?, 'ase', 'apmex', ?, 'http', 80, 0, 1, 'api1', ?, 'ok')`;
      await db.execute({ sql: insert, args: ['2026-11-23T12:03:00Z', '2026-11-23T12:00:00Z', 92.1, 'a'] });
      await db.execute({ sql: insert, args: ['2026-11-23T12:05:00.000Z', '2026-11-23T12:00:00.000Z', 92.4, 'b'] });
      const result = await writeSnapshot({ client: db, outFile: join(other.path, 'snap.db'), days: 1, ...via(join(other.path, 'prices.db')) });
      expect(result.rows).toBe(1);
      const snap = createClient({ url: `file:${join(other.path, 'snap.db')}` });
      expect((await snap.execute('SELECT window_start, price FROM price_windows')).rows).toHaveLength(1);
      snap.close();
    } finally {
      db.close();
      await other.remove();
    }
  });

  it('snapshots one poller when asked', async () => {
    const outFile = join(dir.path, 'api2.db');
    const all = await writeSnapshot({ client, outFile: join(dir.path, 'all.db'), days: 1, ...via(join(dir.path, 'prices.db')) });
    const one = await writeSnapshot({ client, outFile, days: 1, pollerId: 'api2', ...via(join(dir.path, 'prices.db')) });
    const snap = createClient({ url: `file:${outFile}` });
    expect(Number((await snap.execute('SELECT MAX(samples) AS m FROM prices')).rows[0].m)).toBe(1);
    snap.close();
    expect(one.rows).toBeLessThanOrEqual(all.rows);
  });

  it('stores a day-later snapshot in git as a delta: the days two snapshots share keep their bytes', async () => {
    const days = await tempDir('snapshot-days');
    const history = createClient({ url: `file:${join(days.path, 'prices.db')}` });
    const repo = join(days.path, 'repo');
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    const packed = () => execFileSync('git', ['-C', repo, 'pack-objects', '--revs', '--stdout', '-q'], { input: 'HEAD\n' }).length;
    const commitSnapshot = async () => {
      await writeSnapshot({ client: history, outFile: join(days.path, 'prices-snapshot.db'), days: 4, ...via(join(days.path, 'prices.db')) });
      copyFileSync(join(days.path, 'prices-snapshot.db'), join(repo, 'prices.db'));
      git('add', 'prices.db');
      git('commit', '-qm', 'snapshot');
      return packed();
    };
    try {
      execFileSync('git', ['init', '-q', repo]);
      const many = ['ase', 'age', 'maple', 'buffalo'].flatMap((coin) => ['apmex', 'jmbullion', 'sdbullion', 'bgasc'].map((vendor) => ({ coin, vendor })));
      const end = new Date('2026-11-23T23:50:00Z');
      await generateHistory(history, { days: 4, targets: many, pollers: ['api1'], now: end });
      const first = await commitSnapshot();
      await generateHistory(history, { days: 1, targets: many, pollers: ['api1'], now: new Date(end.getTime() + 86_400_000) });
      const growth = (await commitSnapshot()) - first;
      // A quarter of the rows are new; a layout that shifts every row's bytes would cost a whole snapshot again.
      expect(growth).toBeLessThan(first * 0.5);
    } finally {
      history.close();
      await days.remove();
    }
  });
});

describe('writeSnapshot: the two ways in agree', () => {
  it('holds the same rows, names and meta whether SQLite copies them or they pass through the client', async () => {
    const dir = await tempDir('snapshot-agree');
    const path = join(dir.path, 'prices.db');
    const client = createClient({ url: `file:${path}` });
    const dump = async (file: string) => {
      const snap = createClient({ url: `file:${file}` });
      const rows = (await snap.execute('SELECT * FROM price_windows ORDER BY window_start, coin_slug, vendor')).rows.map((r) => JSON.stringify(r));
      const meta = (await snap.execute('SELECT key, value FROM meta ORDER BY key')).rows.map((r) => `${r.key}=${r.value}`);
      const ids = (await snap.execute("SELECT 'c' || id || slug AS k FROM coins UNION ALL SELECT 'v' || id || vendor FROM vendors ORDER BY 1")).rows.map((r) => r.k);
      snap.close();
      return { rows, meta, ids };
    };
    try {
      await runMigrations(client);
      const targets = ['ase', 'maple', 'buffalo'].flatMap((coin) => ['apmex', 'bgasc', 'jmbullion'].map((vendor) => ({ coin, vendor })));
      await generateHistory(client, { days: 2, targets, pollers: ['api1', 'api2'], now: new Date('2026-11-23T18:00:00Z') });
      const viaClient = await writeSnapshot({ client, outFile: join(dir.path, 'client.db'), days: 2 });
      const viaSqlite = await writeSnapshot({ client, outFile: join(dir.path, 'sqlite.db'), days: 2, databaseFile: path });
      expect([viaClient.method, viaSqlite.method]).toEqual(['client', 'sqlite']);
      expect(viaSqlite.rows).toBe(viaClient.rows);
      expect(viaSqlite.rows).toBeGreaterThan(1000);
      const [a, b] = [await dump(join(dir.path, 'client.db')), await dump(join(dir.path, 'sqlite.db'))];
      expect(b.rows).toEqual(a.rows);
      expect(b.meta).toEqual(a.meta);
      expect(b.ids).toEqual(a.ids);
    } finally {
      client.close();
      await dir.remove();
    }
  });

  it('reads through the client when the file cannot be attached', async () => {
    const dir = await tempDir('snapshot-fallback');
    const client = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    try {
      await runMigrations(client);
      await generateHistory(client, { days: 1, targets: [{ coin: 'ase', vendor: 'apmex' }], pollers: ['api1'], now: new Date('2026-11-23T06:00:00Z') });
      const result = await writeSnapshot({ client, outFile: join(dir.path, 'snap.db'), days: 1, databaseFile: join(dir.path, 'no-such.db') });
      expect(result.method).toBe('client');
      expect(result.rows).toBeGreaterThan(0);
    } finally {
      client.close();
      await dir.remove();
    }
  });
});
