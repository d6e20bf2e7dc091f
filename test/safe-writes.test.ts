import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readlink, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { exportTree } from '../src/export/export-tree.js';
import { fileExportState } from '../src/export/export-state.js';
import { writeSnapshot } from '../src/export/snapshot.js';
import { SymlinkRefusedError } from '../src/files/no-follow.js';
import { withCacheRepo } from '../src/publish/cache-repo.js';
import { PublishConfigError } from '../src/publish/errors.js';
import { writeFilesToDir } from '../src/publish/files-to-dir.js';
import { writeTreeFromDir } from '../src/publish/write-tree.js';
import { RecoveryLog } from '../src/recovery/recovery-log.js';
import { RowSink } from '../src/recovery/row-sink.js';
import { runMigrations } from '../src/store/migrations.js';
import { PriceStore } from '../src/store/price-store.js';
import type { PriceRow } from '../src/store/price-row.js';
import { windowStart } from '../src/time/window.js';
import { runPoller } from './support/cli.js';
import { sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';

/**
 * Issue 16, item 2: writers followed symbolic links out of the tree. Every test puts a link inside the folder a
 * writer owns, pointing at an `outside` folder, and checks that the outside folder stays empty and that the writer
 * either refused with the link's path or replaced the link with something of its own (one behaviour per writer).
 */

const NOW = new Date('2026-11-23T12:10:00Z');
const catalogue: Catalogue = parseCatalogue(JSON.stringify({
  coins: Object.fromEntries(['age', 'ase'].map((slug) => [slug, {
    name: `Coin ${slug}`, metal: 'silver', weight_oz: 1,
    providers: ['apmex', 'jmbullion'].map((id) => ({ id, enabled: true, url: `https://${id}.example/${slug}` })),
  }])),
}));

let seq = 0;
function row(coin: string, vendor: string, at: string, price: number): PriceRow {
  return {
    key: `api1/s${++seq}`, poller_id: 'api1', scraped_at: new Date(at).toISOString(), window_start: windowStart(new Date(at)),
    coin_slug: coin, vendor, price, source: 'http', confidence: 80, is_failed: false, in_stock: true, outcome: 'ok', reason: null, matched_by: 'jsonld',
  };
}
const ROWS = [row('ase', 'apmex', '2026-11-23T12:01:00Z', 30), row('ase', 'jmbullion', '2026-11-23T12:02:00Z', 31), row('age', 'apmex', '2026-11-23T12:03:00Z', 2000)];

/** Every entry under a folder, recursively (links listed, not entered). */
function listAll(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(prefix + e.name);
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let outside: string;
let dbUrl: string;
beforeEach(async () => {
  dir = await tempDir('safe-writes');
  outside = join(dir.path, 'outside');
  await mkdir(outside);
  dbUrl = `file:${join(dir.path, 'prices.db')}`;
  const store = new PriceStore({ url: dbUrl });
  await store.migrate();
  await store.writeRows(ROWS);
  await store.close();
});
afterEach(() => dir.remove());

async function runExport(outDir: string, state?: string) {
  const client = createClient({ url: dbUrl });
  try {
    await runMigrations(client);
    return await exportTree({ client, catalogue, pollerId: null, outDir, now: NOW, state: state ? fileExportState(state) : null });
  } finally {
    client.close();
  }
}

describe('the export tree writer (incremental, in place): refuses a link below the data folder, naming it', () => {
  it('a symlinked coin folder', async () => {
    const data = join(dir.path, 'out', 'data');
    await mkdir(join(data, 'api'), { recursive: true });
    await symlink(outside, join(data, 'api', 'ase'));
    const err = await runExport(data).catch((e) => e);
    expect(err).toBeInstanceOf(SymlinkRefusedError);
    expect(err.message).toContain(`refusing to write through ${join(data, 'api', 'ase')}: it is a symbolic link`);
    expect(listAll(outside)).toEqual([]);
    // Refused before anything was written: the tree is as it was, the link still a link.
    expect(listAll(data)).toEqual(['api', 'api/ase']);
    expect(lstatSync(join(data, 'api', 'ase')).isSymbolicLink()).toBe(true);
  });

  it('a symlinked file, dangling or not', async () => {
    const data = join(dir.path, 'out', 'data');
    await mkdir(join(data, 'api', 'ase'), { recursive: true });
    await symlink(join(outside, 'latest.json'), join(data, 'api', 'ase', 'latest.json'));
    const err = await runExport(data).catch((e) => e);
    expect(err).toBeInstanceOf(SymlinkRefusedError);
    expect(err.message).toContain(join(data, 'api', 'ase', 'latest.json'));
    expect(listAll(outside)).toEqual([]);

    // A link to an existing outside file is refused too, and that file keeps its bytes.
    await unlink(join(data, 'api', 'ase', 'latest.json'));
    await writeFile(join(outside, 'keep.json'), 'outside data\n');
    await symlink(join(outside, 'keep.json'), join(data, 'api', 'manifest.json'));
    await expect(runExport(data)).rejects.toBeInstanceOf(SymlinkRefusedError);
    expect(listAll(outside)).toEqual(['keep.json']);
    expect(readFileSync(join(outside, 'keep.json'), 'utf8')).toBe('outside data\n');
  });

  it('a symlinked data folder', async () => {
    const out = join(dir.path, 'out');
    await mkdir(out);
    await symlink(outside, join(out, 'data'));
    const err = await runExport(join(out, 'data')).catch((e) => e);
    expect(err).toBeInstanceOf(SymlinkRefusedError);
    expect(err.message).toContain(`${join(out, 'data')}: it is a symbolic link inside ${out}`);
    expect(listAll(outside)).toEqual([]);
  });

  it('a symlinked api folder, and a link left where a stale coin folder would be', async () => {
    const data = join(dir.path, 'out', 'data');
    await mkdir(data, { recursive: true });
    await symlink(outside, join(data, 'api'));
    await expect(runExport(data)).rejects.toThrow(`refusing to write through ${join(data, 'api')}`);
    expect(listAll(outside)).toEqual([]);

    // Once the link is gone the export writes a real tree; a link named like a slug that is not exported is
    // neither followed nor removed (nor is what it points at).
    await writeFile(join(outside, 'latest.json'), 'outside\n');
    await unlink(join(data, 'api'));
    await mkdir(join(data, 'api'));
    await symlink(outside, join(data, 'api', 'gone-coin'));
    const stats = await runExport(data);
    expect(stats.filesWritten).toBe(stats.files);
    expect(lstatSync(join(data, 'api', 'ase')).isDirectory()).toBe(true);
    expect(JSON.parse(readFileSync(join(data, 'api', 'ase', 'latest.json'), 'utf8')).slug).toBe('ase');
    expect(lstatSync(join(data, 'api', 'gone-coin')).isSymbolicLink()).toBe(true);
    expect(listAll(outside)).toEqual(['latest.json']);
    expect(readFileSync(join(outside, 'latest.json'), 'utf8')).toBe('outside\n');
  });

  it('stays incremental: unchanged files are not rewritten, a changed file is replaced (a new inode, never written in place)', async () => {
    const data = join(dir.path, 'out', 'data');
    const state = join(dir.path, 'state', 'export-state.json');
    const first = await runExport(data, state);
    expect(first.filesWritten).toBe(first.files);
    const inode = statSync(join(data, 'api', 'ase', 'latest.json')).ino;
    const mtime = statSync(join(data, 'api', 'age', 'latest.json')).mtimeMs;
    const again = await runExport(data, state);
    expect(again.filesWritten).toBe(0);
    expect(statSync(join(data, 'api', 'age', 'latest.json')).mtimeMs).toBe(mtime);

    const store = new PriceStore({ url: dbUrl });
    await store.writeRows([row('ase', 'apmex', '2026-11-23T12:06:00Z', 29)]);
    await store.close();
    const third = await runExport(data, state);
    expect(third.filesWritten).toBeGreaterThan(0);
    expect(third.filesWritten).toBeLessThan(third.files);
    expect(statSync(join(data, 'api', 'ase', 'latest.json')).ino).not.toBe(inode);
    expect(statSync(join(data, 'api', 'age', 'latest.json')).mtimeMs).toBe(mtime);
    expect(listAll(data).filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });
});

describe('poller export --out DIR', () => {
  it('refuses a symlinked coin folder with the path and no stack, writes nothing outside, and exports once it is gone', async () => {
    const out = join(dir.path, 'cli-out');
    await mkdir(join(out, 'data', 'api'), { recursive: true });
    await symlink(outside, join(out, 'data', 'api', 'ase'));
    const env = { TURSO_DATABASE_URL: dbUrl, CATALOGUE_PATH: 'test/fixtures/contract/config/providers.json' };
    const refused = await runPoller(['export', '--out', out, '--all'], env);
    expect(refused.code, refused.out).toBe(2);
    expect(refused.out).toContain(`refusing to write through ${join(out, 'data', 'api', 'ase')}: it is a symbolic link`);
    expect(refused.out).not.toMatch(/unexpected failure|\n\s+at /);
    expect(listAll(outside)).toEqual([]);

    await unlink(join(out, 'data', 'api', 'ase'));
    const done = await runPoller(['export', '--out', out, '--all'], env);
    expect(done.code, done.out).toBe(0);
    expect(lstatSync(join(out, 'data', 'api', 'ase')).isDirectory()).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'data', 'api', 'ase', 'latest.json'), 'utf8')).vendors).toHaveProperty('apmex');
    expect(listAll(outside)).toEqual([]);
  });
});

describe('the publish staging writer (writeFilesToDir): builds a fresh folder and swaps it in, replacing links', () => {
  const files = new Map<string, string | Uint8Array>([['data/api/manifest.json', '{}\n'], ['data/api/ase/latest.json', '{"slug":"ase"}\n'], ['data/prices.db', new Uint8Array([1, 2, 3])]]);

  it('replaces a destination that is a link, and a tree holding a symlinked data folder, coin folder and file', async () => {
    const dest = join(dir.path, 'staging');
    await symlink(outside, dest);
    await writeFilesToDir(files, dest);
    expect(lstatSync(dest).isDirectory()).toBe(true);
    expect(listAll(dest)).toEqual(['data', 'data/api', 'data/api/ase', 'data/api/ase/latest.json', 'data/api/manifest.json', 'data/prices.db']);
    expect(listAll(outside)).toEqual([]);

    for (const [link, target] of [['data', outside], ['data/api/ase', outside], ['data/api/manifest.json', join(outside, 'm.json')]] as const) {
      const tree = join(dir.path, `tree-${link.replace(/\//g, '_')}`);
      await mkdir(join(tree, link, '..'), { recursive: true });
      await symlink(target, join(tree, link));
      await writeFilesToDir(files, tree);
      expect(listAll(tree)).toEqual(['data', 'data/api', 'data/api/ase', 'data/api/ase/latest.json', 'data/api/manifest.json', 'data/prices.db']);
      expect(readFileSync(join(tree, 'data', 'api', 'manifest.json'), 'utf8')).toBe('{}\n');
      expect(listAll(outside)).toEqual([]);
    }
    // No temporary or old folder is left beside the destinations.
    expect(readdirSync(dir.path).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('keeps the old tree when the new one cannot be built', async () => {
    const dest = join(dir.path, 'kept');
    await writeFilesToDir(files, dest);
    await expect(writeFilesToDir(new Map([['data/a', 'x'], ['data/a/b', 'y']]), dest)).rejects.toThrow();
    expect(readFileSync(join(dest, 'data', 'api', 'manifest.json'), 'utf8')).toBe('{}\n');
    expect(readdirSync(dir.path).filter((n) => n.startsWith('.'))).toEqual([]);
  });
});

describe('the git tree writer (writeTreeFromDir): refuses a tree holding a link', () => {
  it('names the link and publishes nothing', async () => {
    const tree = join(dir.path, 'tree');
    await mkdir(join(tree, 'data', 'api'), { recursive: true });
    await writeFile(join(tree, 'data', 'api', 'manifest.json'), '{}\n');
    await symlink(outside, join(tree, 'data', 'api', 'ase'));
    const err = await withCacheRepo(join(dir.path, 'git'), (repo) => writeTreeFromDir(repo, tree)).catch((e) => e);
    expect(err).toBeInstanceOf(PublishConfigError);
    expect(err.message).toContain('data/api/ase');
    expect(err.message).toMatch(/symbolic link/);
  });
});

describe('single-file writers replace a link at their path, never writing through it', () => {
  it('the snapshot (prices.db)', async () => {
    const outFile = join(dir.path, 'snap', 'prices.db');
    await mkdir(join(dir.path, 'snap'));
    await symlink(join(outside, 'prices.db'), outFile);
    const client = createClient({ url: dbUrl });
    const result = await writeSnapshot({ client, outFile, days: 2 });
    client.close();
    expect(result.rows).toBe(3);
    expect(lstatSync(outFile).isFile()).toBe(true);
    expect(listAll(outside)).toEqual([]);
    // Built in a folder of its own: nothing is left beside it.
    expect(readdirSync(join(dir.path, 'snap'))).toEqual(['prices.db']);
  });

  it('the export state, with links at its path and at the temporary name an older writer used', async () => {
    const path = join(dir.path, 'work', 'export-state.json');
    await mkdir(join(dir.path, 'work'));
    await symlink(join(outside, 'state.json'), path);
    await symlink(join(outside, 'tmp.json'), `${path}.${process.pid}.tmp`);
    await runExport(join(dir.path, 'work', 'tree', 'data'), path);
    expect(lstatSync(path).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8')).maxId).toBe(3);
    expect(listAll(outside)).toEqual([]);
  });
});

describe('the recovery log and its markers refuse links', () => {
  it('an append to a log file that is a link is refused; a symlinked pending folder is refused', async () => {
    const logDir = join(dir.path, 'log');
    await mkdir(logDir);
    const at = new Date('2026-11-23T12:00:00Z');
    await symlink(join(outside, 'stolen.jsonl'), join(logDir, 'prices-2026-11-23.jsonl'));
    const log = new RecoveryLog(logDir);
    const err = await log.append(sampleRow(1), at).catch((e) => e);
    expect(err).toBeInstanceOf(SymlinkRefusedError);
    expect(err.message).toContain(join(logDir, 'prices-2026-11-23.jsonl'));
    expect(listAll(outside)).toEqual([]);
    expect(await readlink(join(logDir, 'prices-2026-11-23.jsonl'))).toBe(join(outside, 'stolen.jsonl'));

    // A database that fails makes the sink leave a marker in pending/: a link there is refused, nothing lands outside.
    const other = join(dir.path, 'log2');
    await mkdir(other);
    await symlink(outside, join(other, 'pending'));
    const failing = { description: 'down', write: async () => { throw new Error('down'); } } as unknown as PriceStore;
    const sink = new RowSink(new RecoveryLog(other), failing, { retryMs: 60_000 });
    await expect(sink.submit(sampleRow(2))).rejects.toBeInstanceOf(SymlinkRefusedError);
    await sink.close();
    expect(listAll(outside)).toEqual([]);
  });
});
