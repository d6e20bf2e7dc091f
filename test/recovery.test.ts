import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecoveryLog } from '../src/recovery/recovery-log.js';
import { RowSink } from '../src/recovery/row-sink.js';
import { importLogs } from '../src/recovery/import-log.js';
import { parseLogLine } from '../src/recovery/log-line.js';
import { PriceStore } from '../src/store/price-store.js';
import { countRows, sampleRow } from './support/rows.js';
import { startSqld, type SqldHandle } from './support/sqld.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';


describe('recovery log and replay, against a real libSQL server that goes away', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let sqld: SqldHandle;
  beforeAll(async () => {
    dir = await tempDir('recovery');
    sqld = await startSqld(dir.path, { auth: true });
  });
  afterAll(async () => {
    await sqld.stop();
    await dir.remove();
  });

  it('logs every row, keeps rows while the server is down and replays each exactly once when it is back', async () => {
    const log = new RecoveryLog(join(dir.path, 'log'));
    const store = new PriceStore({ url: sqld.url, authToken: sqld.token });
    await store.migrate();
    const sink = new RowSink(log, store, { retryMs: 200 });
    await sink.start();
    const rows = Array.from({ length: 90 }, (_, i) => sampleRow(i));
    for (const r of rows.slice(0, 30)) expect(await sink.submit(r)).toBe('stored');
    await sqld.stop();
    const during = await Promise.all(rows.slice(30, 60).map((r) => sink.submit(r)));
    expect(during.every((d) => d === 'logged')).toBe(true);
    expect(sink.degraded).toBe(true);
    await sqld.start();
    for (const r of rows.slice(60)) await sink.submit(r); // may arrive during the replay
    await waitUntil('the sink to leave degraded mode', async () => !sink.degraded);
    await sink.close();
    await store.close();
    expect(await countRows(sqld.url, sqld.token, "idem_key LIKE 'api1/test:%'")).toBe(90);
    const logged = (await readFile(join(log.dir, (await log.files())[0]), 'utf8')).trim().split('\n');
    expect(logged).toHaveLength(90);
    expect(await readdir(join(log.dir, 'pending'))).toEqual([]);
  });

  it('a process that dies while the database is down leaves a marker; the next start replays it', async () => {
    const logDir = join(dir.path, 'log-crash');
    // A folder where the database file should be: SQLite cannot open it.
    await mkdir(join(dir.path, 'not-a-database.db'), { recursive: true });
    const badStore = new PriceStore({ url: `file:${join(dir.path, 'not-a-database.db')}` });
    const first = new RowSink(new RecoveryLog(logDir), badStore, { retryMs: 60_000 });
    await first.start();
    const rows = Array.from({ length: 20 }, (_, i) => sampleRow(1000 + i, { key: `crash/${i}` }));
    for (const r of rows) expect(await first.submit(r)).toBe('logged');
    // Simulate the crash: the marker stays, written with a pid that no longer runs.
    const markers = await readdir(join(logDir, 'pending'));
    expect(markers).toHaveLength(1);
    const markerPath = join(logDir, 'pending', markers[0]);
    const marker = JSON.parse(await readFile(markerPath, 'utf8'));
    await writeFile(markerPath, JSON.stringify({ ...marker, pid: 999_999 }));
    await first.close();

    const store = new PriceStore({ url: sqld.url, authToken: sqld.token });
    const second = new RowSink(new RecoveryLog(logDir), store);
    await second.start();
    await second.close();
    await store.close();
    expect(await countRows(sqld.url, sqld.token, "idem_key LIKE 'crash/%'")).toBe(20);
    expect(await readdir(join(logDir, 'pending'))).toEqual([]);
  });
});

describe('import-log', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('import');
  });
  afterAll(() => dir.remove());

  it('imports both formats idempotently, with a dry run that writes nothing, and skips torn lines', async () => {
    const logs = join(dir.path, 'logs');
    await mkdir(logs);
    const current = Array.from({ length: 10 }, (_, i) => JSON.stringify(sampleRow(i))).join('\n') + '\n';
    const legacy = [
      { scraped_at: '2026-02-20T10:07:03.120Z', window_start: '2026-02-20T10:00:00.000Z', coin_slug: 'ase', vendor: 'apmex', price: 92.3, source: 'firecrawl', in_stock: true },
      { scraped_at: '2026-02-20T10:07:04.000Z', window_start: '2026-02-20T10:00:00Z', coin_slug: 'ase', vendor: 'jmbullion', price: null, source: 'firecrawl', in_stock: false },
      { scraped_at: '2026-02-20T10:07:05.000Z', coin_slug: 'age', vendor: 'sdbullion', price: '5,1', source: 'firecrawl', in_stock: true },
    ].map((l) => JSON.stringify(l)).join('\n') + '\n{"scraped_at": "2026-02-20T10:0\n';
    await writeFile(join(logs, 'prices-2026-11-23.jsonl'), current);
    await writeFile(join(logs, 'prices-2026-02-20.jsonl'), legacy);
    const url = `file:${join(dir.path, 'import.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();

    const dry = await importLogs(logs, store, { dryRun: true });
    expect(dry).toMatchObject({ files: 2, rows: 12, added: 12, skipped: 2 });
    expect(await countRows(url)).toBe(0);

    const progress: number[] = [];
    const real = await importLogs(logs, store, { onProgress: (d, t) => progress.push(d / t) });
    expect(real).toMatchObject({ rows: 12, added: 12, alreadyPresent: 0, skipped: 2 });
    expect(progress.at(-1)).toBe(1);
    expect(real.skippedExamples.join('\n')).toMatch(/price is not a number|not JSON/);
    const again = await importLogs(logs, store);
    expect(again).toMatchObject({ added: 0, alreadyPresent: 12 });
    await store.close();
    expect(await countRows(url)).toBe(12);
    expect(await countRows(url, undefined, "window_start = '2026-02-20T10:00:00Z'")).toBe(2);
  });

  it('reads an old-format line into a row with a stable key and the window in one format', () => {
    const row = parseLogLine('{"scraped_at":"2026-02-20T10:07:03.120Z","window_start":"2026-02-20T10:00:00.000Z","coin_slug":"ase","vendor":"apmex","price":92.3,"source":"firecrawl","in_stock":false}');
    expect(row).toMatchObject({ window_start: '2026-02-20T10:00:00Z', price: 92.3, in_stock: false, outcome: 'out_of_stock', is_failed: false, poller_id: 'legacy' });
    expect(row!.key).toBe('legacy/ase/apmex/2026-02-20T10:07:03.120Z');
    expect(() => parseLogLine('{"hello":1}')).toThrow(/neither format/);
  });
});
