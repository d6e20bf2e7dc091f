/**
 * The merge remembers which texts passed the contract check (by path and content hash), so that files met again
 * are not checked again. What it remembers must never let a bad file through or change what a file parses to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createClient } from '@libsql/client';
import { parseCatalogue } from '../src/catalogue/load.js';
import { exportTree } from '../src/export/export-tree.js';
import { generateHistory } from '../src/bench/history.js';
import { parseBranch } from '../src/merge/parse-branch.js';
import { tempDir } from './support/temp.js';

describe('parseBranch met again', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let tree: Map<string, string>;
  const files = () => new Map(tree);
  beforeAll(async () => {
    dir = await tempDir('parse-branch-cache');
    const client = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    const now = new Date('2026-11-23T12:00:00Z');
    await generateHistory(client, { days: 1, targets: [{ coin: 'ase', vendor: 'apmex' }, { coin: 'ase', vendor: 'jmbullion' }], pollers: ['api1'], now });
    const coin = { name: 'American Silver Eagle', metal: 'silver', weight_oz: 1, providers: [{ id: 'apmex', name: 'APMEX', enabled: true, url: 'https://www.apmex.com/ase' }] };
    const catalogue = parseCatalogue(JSON.stringify({ coins: { ase: coin } }), 'test');
    const out = join(dir.path, 'tree', 'data');
    await exportTree({ client, catalogue, pollerId: 'api1', outDir: out, now, feedHours: null });
    client.close();
    tree = new Map(readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => [`data/${relative(out, join(e.parentPath, e.name))}`, readFileSync(join(e.parentPath, e.name), 'utf8')]));
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('parses a file it checked before to the same value, and still refuses a changed one that breaks the contract', () => {
    const first = parseBranch({ branch: 'api1', files: files() }, 'data/');
    const again = parseBranch({ branch: 'api1', files: files() }, 'data/');
    expect(first.ok && again.ok).toBe(true);
    expect(again).toEqual(first);

    const broken = files();
    const latest = JSON.parse(broken.get('data/api/ase/latest.json')!);
    const vendor = Object.keys(latest.vendors)[0];
    latest.vendors[vendor].confidence = 101;
    broken.set('data/api/ase/latest.json', JSON.stringify(latest));
    const refused = parseBranch({ branch: 'api1', files: broken }, 'data/');
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.reason).toMatch(/api\/ase\/latest\.json.*confidence/s);
    // The same bad text at once again: still refused (only texts that passed are remembered).
    expect(parseBranch({ branch: 'api1', files: broken }, 'data/').ok).toBe(false);
  });
});
