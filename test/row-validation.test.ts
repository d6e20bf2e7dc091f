import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { CatalogueError, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { slugSchema as contractSlug, vendorIdSchema as contractVendor } from '../src/contract/fields.js';
import { slugSchema, vendorIdSchema } from '../src/contract/names.js';
import { buildExportTree, exportTree } from '../src/export/export-tree.js';
import { memoryExportState } from '../src/export/export-state.js';
import { writeSnapshot } from '../src/export/snapshot.js';
import { mergeTrees } from '../src/merge/merge-trees.js';
import { parseBranch } from '../src/merge/parse-branch.js';
import { importLogs } from '../src/recovery/import-log.js';
import { parseLogLine } from '../src/recovery/log-line.js';
import { RecoveryLog } from '../src/recovery/recovery-log.js';
import { replayLog } from '../src/recovery/replay.js';
import { RowSink } from '../src/recovery/row-sink.js';
import { runMigrations } from '../src/store/migrations.js';
import { PriceStore } from '../src/store/price-store.js';
import type { PriceRow } from '../src/store/price-row.js';
import { windowStart } from '../src/time/window.js';
import { runPoller } from './support/cli.js';
import { countRows, sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';

/**
 * Issue 16, item 3: names and values entering by a side door (import-log, the replay, a branch read by the merge,
 * rows already in the database) are checked with the one set of rules of src/contract/names.ts. A bad record is
 * refused with its place and reason; the good ones go on.
 */

const TRAVERSAL = '../../../outside/pwn';
const NOW = new Date('2026-11-23T12:10:00Z');

const current = (n: number, over: Partial<PriceRow> = {}) => JSON.stringify(sampleRow(n, over));
const legacy = (over: Record<string, unknown>) =>
  JSON.stringify({ scraped_at: '2026-02-20T10:07:03.120Z', coin_slug: 'ase', vendor: 'apmex', price: 92.3, source: 'firecrawl', in_stock: true, ...over });

/** Good and bad lines mixed; `bad` lists the 1-based numbers of the bad ones and what their reason must say. */
const LINES: Array<{ text: string; bad?: RegExp }> = [
  { text: current(0) },
  { text: current(1, { coin_slug: TRAVERSAL }), bad: /^coin_slug: expected a slug of lowercase letters, digits and - \(got "\.\.\/\.\.\/\.\.\/outside\/pwn"\)/ },
  { text: current(2) },
  { text: current(3, { vendor: '' }), bad: /^vendor: expected a vendor id/ },
  { text: current(4, { price: -5 }), bad: /^price: expected a price > 0 \(got -5\)/ },
  { text: legacy({ price: 'NaN', scraped_at: '2026-02-20T10:07:04.000Z' }), bad: /price is not a number: "NaN"/ },
  { text: current(6, { price: 2e9 }), bad: /^price: expected a price of at most 10000000/ },
  { text: current(7, { scraped_at: '2026-02-30T12:00:00.000Z' }), bad: /^scraped_at: expected an ISO 8601 UTC time/ },
  { text: current(8, { window_start: '2026-11-23T12:07:00Z' }), bad: /^window_start: expected a window start/ },
  { text: legacy({ scraped_at: 'yesterday' }), bad: /^scraped_at: expected an ISO 8601 UTC time/ },
  { text: legacy({ coin_slug: TRAVERSAL, scraped_at: '2026-02-20T10:07:05.000Z' }), bad: /^coin_slug: expected a slug/ },
  { text: legacy({ scraped_at: '2026-02-20T10:07:06.000Z', price: -1 }), bad: /^price: expected a price > 0/ },
  { text: current(12, { scraped_at: '2026-11-23T12:00:12+00:00' }) }, // a zero offset is UTC
  { text: legacy({ scraped_at: '2026-02-20T10:07:07.000Z' }) },
  { text: current(14) },
];
const GOOD = LINES.filter((l) => !l.bad).length;
const BAD = LINES.map((l, i) => ({ line: i + 1, bad: l.bad })).filter((l): l is { line: number; bad: RegExp } => l.bad !== undefined);

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  dir = await tempDir('row-validation');
});
afterEach(() => dir.remove());

describe('one set of rules', () => {
  it('the contract, the catalogue and the row checks use the same slug and vendor id schemas', () => {
    expect(contractSlug).toBe(slugSchema);
    expect(contractVendor).toBe(vendorIdSchema);
    for (const bad of [TRAVERSAL, '', 'ASE', 'a b', '.hidden', '-x', 'a/b', 'x'.repeat(101)]) expect(slugSchema.safeParse(bad).success, bad).toBe(false);
    for (const good of ['ase', 'goldback-oklahoma-g1', 'generic-silver-bar-10oz']) expect(slugSchema.safeParse(good).success).toBe(true);
  });
});

describe('the catalogue', () => {
  const coin = (providers: unknown[]) => ({ name: 'Coin', metal: 'silver', weight_oz: 1, providers });
  const good = { id: 'apmex', url: 'https://apmex.example/ase' };

  it('refuses a traversal slug and an empty vendor id, naming the coin and the field', () => {
    const bySlug = (() => parseCatalogue(JSON.stringify({ coins: { ase: coin([good]), [TRAVERSAL]: coin([good]) } })))
    expect(bySlug).toThrow(CatalogueError);
    expect(bySlug).toThrow(/coin "\.\.\/\.\.\/\.\.\/outside\/pwn".*expected a slug/);
    const byVendor = () => parseCatalogue(JSON.stringify({ coins: { ase: coin([good, { id: '', url: 'https://x.example/' }]) } }));
    expect(byVendor).toThrow(/coin "ase", provider #2.*expected a vendor id/);
    expect(parseCatalogue(JSON.stringify({ coins: { ase: coin([good]) } })).targets).toHaveLength(1);
  });
});

describe('a recovery-log line', () => {
  it('is refused with the field and the reason when it breaks a rule; good lines of both formats parse', () => {
    for (const [i, l] of LINES.entries()) {
      if (l.bad) expect(() => parseLogLine(l.text), `line ${i + 1}`).toThrow(l.bad);
      else expect(parseLogLine(l.text), `line ${i + 1}`).toMatchObject({ coin_slug: 'ase' });
    }
    // Times are stored in one form, so that they sort as text.
    expect(parseLogLine(current(12, { scraped_at: '2026-11-23T12:00:12+00:00' }))).toMatchObject({ scraped_at: '2026-11-23T12:00:12.000Z', window_start: '2026-11-23T12:00:00Z' });
    expect(parseLogLine(legacy({ window_start: '' }))).toMatchObject({ window_start: '2026-02-20T10:00:00Z' });
    // An older writer's window with milliseconds is read into the one published form.
    expect(parseLogLine(current(1, { window_start: '2026-11-23T12:00:00.000Z' }))!.window_start).toBe('2026-11-23T12:00:00Z');
  });
});

describe('import-log', () => {
  it('imports the good lines, refuses the bad ones with file, line number and reason, and counts them', async () => {
    const logs = join(dir.path, 'logs');
    await mkdir(logs);
    const file = join(logs, 'prices-2026-11-23.jsonl');
    await writeFile(file, LINES.map((l) => l.text).join('\n') + '\n');
    const url = `file:${join(dir.path, 'import.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    const told: Array<{ line: number; reason: string }> = [];
    const report = await importLogs(logs, store, { onSkipped: (where, reason) => told.push({ line: where.line, reason }) });
    await store.close();

    expect(report).toMatchObject({ files: 1, rows: GOOD, added: GOOD, skipped: BAD.length });
    expect(told.map((t) => t.line)).toEqual(BAD.map((b) => b.line));
    for (const [i, b] of BAD.entries()) expect(told[i].reason).toMatch(b.bad);
    expect(report.skippedExamples[0]).toBe(`${file}:2: ${told[0].reason}`);
    expect(await countRows(url)).toBe(GOOD);
    expect(await countRows(url, undefined, "coin_slug <> 'ase' OR vendor NOT GLOB '[a-z0-9]*' OR price <= 0")).toBe(0);
  });

  it('poller import-log prints each refused line on stderr and exits 0 with the count', async () => {
    const file = join(dir.path, 'prices-2026-11-23.jsonl');
    await writeFile(file, LINES.map((l) => l.text).join('\n') + '\n');
    const url = `file:${join(dir.path, 'cli.db')}`;
    const { code, out } = await runPoller(['import-log', file], { TURSO_DATABASE_URL: url });
    expect(code, out).toBe(0);
    expect(out).toContain(`refused ${file}:2: coin_slug: expected a slug`);
    for (const b of BAD) expect(out).toContain(`refused ${file}:${b.line}: `);
    expect(out).toMatch(new RegExp(`"skipped": ${BAD.length}`));
    expect(out).not.toMatch(/unexpected failure/);
    expect(await countRows(url)).toBe(GOOD);
  });
});

describe('the replay of the recovery log', () => {
  async function writeLog(): Promise<{ log: RecoveryLog; file: string }> {
    const logDir = join(dir.path, 'log');
    await mkdir(logDir);
    const file = 'prices-2026-11-23.jsonl';
    await writeFile(join(logDir, file), LINES.map((l) => l.text).join('\n') + '\n');
    return { log: new RecoveryLog(logDir), file };
  }

  it('writes the good rows, tells each refused line with its number (also from the middle of a file) and goes on', async () => {
    const { log, file } = await writeLog();
    const url = `file:${join(dir.path, 'replay.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    const told: Array<{ file: string; line: number; reason: string }> = [];
    const all = await replayLog(log, store, { file: '', offset: 0 }, { onSkipped: (w, reason) => told.push({ ...w, reason }) });
    expect(all).toMatchObject({ read: GOOD, inserted: GOOD, skipped: BAD.length });
    expect(told.map((t) => `${t.file}:${t.line}`)).toEqual(BAD.map((b) => `${file}:${b.line}`));
    expect(all.skippedExamples[0]).toMatch(new RegExp(`^${file}:2: coin_slug: `));

    // From the start of line 5: the numbers stay those of the file.
    const offset = LINES.slice(0, 4).reduce((n, l) => n + Buffer.byteLength(l.text) + 1, 0);
    const later: number[] = [];
    const part = await replayLog(log, store, { file, offset }, { onSkipped: (w) => later.push(w.line) });
    expect(part).toMatchObject({ inserted: 0, skipped: BAD.filter((b) => b.line >= 5).length });
    expect(later).toEqual(BAD.filter((b) => b.line >= 5).map((b) => b.line));
    await store.close();
    expect(await countRows(url)).toBe(GOOD);
  });

  it('a row sink replaying what a dead process left logs each refused line and stores the rest', async () => {
    const { log, file } = await writeLog();
    await mkdir(join(log.dir, 'pending'));
    await writeFile(join(log.dir, 'pending', 'gone.json'), JSON.stringify({ file: '', offset: 0, host: 'another-host', pid: 1 }));
    const url = `file:${join(dir.path, 'sink.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    const warnings: Array<{ fields: Record<string, unknown>; message: string }> = [];
    const logger = { warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }), info: () => undefined } as unknown as Logger;
    const sink = new RowSink(log, store, { logger });
    await sink.start();
    await sink.close();
    await store.close();
    expect(await countRows(url)).toBe(GOOD);
    const refused = warnings.filter((w) => /refused/.test(w.message));
    expect(refused.map((w) => w.fields.line)).toEqual(BAD.map((b) => b.line));
    expect(refused[0].fields).toMatchObject({ file, line: 2, reason: expect.stringMatching(/^coin_slug: /) });
    expect(readdirSync(join(log.dir, 'pending'))).toEqual([]);
  });
});

describe('the export defends itself against rows that came in by a side door', () => {
  const catalogue: Catalogue = parseCatalogue(JSON.stringify({
    coins: { ase: { name: 'ASE', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', url: 'https://apmex.example/ase' }] } },
  }));
  let seq = 0;
  const row = (coin: string, vendor: string, at: string, price: number): PriceRow => ({
    key: `api1/v${++seq}`, poller_id: 'api1', scraped_at: new Date(at).toISOString(), window_start: windowStart(new Date(at)),
    coin_slug: coin, vendor, price, source: 'http', confidence: 80, is_failed: false, in_stock: true, outcome: 'ok', reason: null, matched_by: 'jsonld',
  });

  async function databaseWithBadRows(): Promise<string> {
    const url = `file:${join(dir.path, 'prices.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    await store.writeRows([
      row('ase', 'apmex', '2026-11-23T12:01:00Z', 30),
      row('ase', 'jmbullion', '2026-11-23T12:02:00Z', 31),
      row(TRAVERSAL, 'apmex', '2026-11-23T12:03:00Z', 99),
      row('ase', '', '2026-11-23T12:04:00Z', 32),
      row('ase', 'Bad Vendor', '2026-11-23T12:04:30Z', 33),
      row('ase', 'apmex', '2026-11-23T12:05:00Z', -7), // newer, but no price: ignored
      row('ase', 'sdbullion', '2026-11-23T12:06:00Z', 5e7), // over MAX_PRICE: ignored
    ]);
    await store.close();
    return url;
  }

  it('skips an invalid slug or vendor with a warning, ignores impossible prices, and exports the rest inside the tree', async () => {
    const url = await databaseWithBadRows();
    const client = createClient({ url });
    await runMigrations(client);
    const out = join(dir.path, 'out', 'data');
    const warnings: string[] = [];
    const state = memoryExportState();
    const stats = await exportTree({ client, catalogue, pollerId: null, outDir: out, now: NOW, state, onWarning: (m) => warnings.push(m) });
    client.close();

    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/invalid coin slug skipped by the export: coin_slug: expected a slug .*\(got "\.\.\/\.\.\/\.\.\/outside\/pwn"\)/);
    expect(warnings.join('\n')).toMatch(/invalid vendor id skipped by the export: vendor: .*\(got ""\)/);
    expect(warnings.join('\n')).toMatch(/\(got "Bad Vendor"\)/);
    expect(stats.skippedNames).toEqual(warnings);
    // The traversal would have reached dir/outside/pwn (data/api/../../../outside).
    expect(existsSync(join(dir.path, 'outside'))).toBe(false);
    const latest = (await import('node:fs')).readFileSync(join(out, 'api', 'ase', 'latest.json'), 'utf8');
    expect(Object.keys(JSON.parse(latest).vendors).sort()).toEqual(['apmex', 'jmbullion']);
    expect(JSON.parse(latest).vendors.apmex.price).toBe(30);
    expect(readdirSync(join(out, 'api')).sort()).toEqual(['ase', 'latest.json', 'manifest.json', 'providers.json']);
    // The state kept for the next export holds no bad name either.
    expect(JSON.stringify(state.current)).not.toMatch(/outside|Bad Vendor|""/);
  });

  it.each([
    ['read through the client', false],
    ['copied by SQLite from the file', true],
  ])('the snapshot leaves such rows out and counts them (%s)', async (_how, fromFile) => {
    const url = await databaseWithBadRows();
    const client = createClient({ url });
    const outFile = join(dir.path, 'snap.db');
    const result = await writeSnapshot({ client, outFile, days: 1, databaseFile: fromFile ? url.slice('file:'.length) : null });
    client.close();
    expect(result.method).toBe(fromFile ? 'sqlite' : 'client');
    expect(result.skippedInvalidNames).toBe(3);
    const snap = createClient({ url: `file:${outFile}` });
    const coins = (await snap.execute('SELECT slug FROM coins')).rows.map((r) => r.slug);
    const vendors = (await snap.execute('SELECT vendor FROM vendors ORDER BY vendor')).rows.map((r) => r.vendor);
    const rows = Number((await snap.execute('SELECT COUNT(*) AS n FROM prices')).rows[0].n);
    const viewRows = Number((await snap.execute('SELECT COUNT(*) AS n FROM price_windows')).rows[0].n);
    snap.close();
    expect(coins).toEqual(['ase']);
    expect(vendors).toEqual(['apmex', 'jmbullion']);
    // Every row kept has its names: none is lost to the view's joins.
    expect(viewRows).toBe(rows);
    expect(rows).toBe(result.rows);
  });
});

describe('a branch read by the merge', () => {
  async function validTree(): Promise<Map<string, string>> {
    const url = `file:${join(dir.path, 'merge.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    await store.writeRows([sampleRow(1, { vendor: 'apmex' }), sampleRow(2, { vendor: 'jmbullion' })]);
    await store.close();
    const client = createClient({ url });
    const catalogue = parseCatalogue(JSON.stringify({ coins: { ase: { name: 'ASE', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', url: 'https://apmex.example/ase' }] } } }));
    const { files } = await buildExportTree({ client, catalogue, pollerId: null, now: NOW });
    client.close();
    return new Map([...files].map(([p, t]) => [`data/${p}`, t]));
  }

  it('is skipped whole when a path leaves the tree or a coin folder is not a valid slug; main is built from the good branches', async () => {
    const good = await validTree();
    const latest = good.get('data/api/ase/latest.json')!;
    const withExtra = (path: string, text = latest) => new Map([...good, [path, text]]);
    const trees = [
      { branch: 'api1', files: good },
      { branch: 'api2', files: withExtra(`data/api/${TRAVERSAL}/latest.json`) },
      { branch: 'api3', files: withExtra('data/api/Bad_Slug/latest.json') },
      { branch: 'api4', files: withExtra('data/../../outside/spot.json', '{}') },
      { branch: 'api5', files: withExtra('data/api/pwn dir/history-7d.json', '[]') },
      { branch: 'api6', files: withExtra('data/.git/hooks/post-merge', 'x') },
      { branch: 'api7', files: withExtra('data/api/ase/latest.json', latest.replace('"slug": "ase"', `"slug": "${TRAVERSAL}"`).replace('"slug":"ase"', `"slug":"${TRAVERSAL}"`)) },
    ];
    const merged = mergeTrees(trees, { root: 'data/' });
    expect(merged.used).toEqual(['api1']);
    const reasons = Object.fromEntries(merged.skipped.map((s) => [s.branch, s.reason]));
    expect(reasons.api2).toMatch(/a path with a "\.\." segment/);
    expect(reasons.api3).toMatch(/data\/api\/Bad_Slug\/latest\.json: coin folder: expected a slug/);
    expect(reasons.api4).toMatch(/"\.\." segment/);
    expect(reasons.api5).toMatch(/coin folder: expected a slug .*\(got "pwn dir"\)/);
    expect(reasons.api6).toMatch(/"\.git" segment/);
    expect(reasons.api7).toMatch(/slug/);
    for (const path of merged.files.keys()) expect(path).toMatch(/^data\/api\/(ase\/)?[a-z0-9-]+\.json$/);
    expect(parseBranch({ branch: 'api1', files: good }, 'data/').ok).toBe(true);
  });
});
