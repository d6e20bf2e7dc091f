/**
 * `npm run demo -- --once --vision`: the second reader through the local server speaking Gemini's protocol, on a
 * small catalogue (two coins at two HTTP dealers and the two dealers the fleet serves only to a browser).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPoller } from './support/cli.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';

const COINS = ['ase', 'age'];
const VENDORS = ['apmex', 'jmbullion', 'bullionexchanges', 'summitmetals'];

describe('npm run demo -- --once --vision', () => {
  const redis = testRedis('demo-vision');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let catalogue: string;
  beforeAll(async () => {
    dir = await tempDir('demo-vision');
    const file = JSON.parse(await readFile('test/fixtures/contract/config/providers.json', 'utf8'));
    file.coins = Object.fromEntries(COINS.map((slug) => [slug, { ...file.coins[slug], providers: file.coins[slug].providers.filter((p: { id: string }) => VENDORS.includes(p.id)) }]));
    catalogue = join(dir.path, 'providers.json');
    await writeFile(catalogue, JSON.stringify(file));
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir.remove();
  });

  it('reads every page twice, reconciles them by numbers and publishes the consensus', async () => {
    const { code, out } = await runPoller(['demo', '--once', '--vision', '--pollers', '1', '--catalogue', catalogue, '--workdir', dir.path], { REDIS_URL: redis.url }, 240_000);
    expect(code, out).toBe(0);
    expect(out).toMatch(/vision: each page's screenshot read through Gemini's protocol at http:\/\/127\.0\.0\.1:\d+ \(a local server answering from the fleet\)/);
    expect(out).toMatch(/all 8 jobs settled/);
    const client = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    const rows = (await client.execute('SELECT coin_slug, vendor, price, source, confidence, outcome FROM price_snapshots WHERE is_failed = 0')).rows;
    const reads = (await client.execute('SELECT coin_slug, vendor, outcome, agreement FROM vision_reads')).rows;
    client.close();
    expect(rows).toHaveLength(8);
    // The local server answers from the fleet's truth, as a model reading the screenshot right would: all agree.
    for (const r of rows) expect(r, `${r.coin_slug}@${r.vendor}`).toMatchObject({ source: 'consensus', confidence: 99 });
    expect(reads).toHaveLength(8);
    for (const r of reads) expect(r, `${r.coin_slug}@${r.vendor}`).toMatchObject({ outcome: 'ok', agreement: 'agree' });
    // The published entries carry the consensus: source, confidence (a medal in the app) and price.
    const latest = JSON.parse(execFileSync('git', [`--git-dir=${join(dir.path, 'remote.git')}`, 'show', 'main:data/api/ase/latest.json'], { encoding: 'utf8' }));
    expect(Object.keys(latest.availability_by_site).sort()).toEqual([...VENDORS].sort());
    const inStock = rows.filter((r) => r.coin_slug === 'ase' && r.outcome === 'ok');
    expect(inStock.length).toBeGreaterThan(0);
    // In-stock vendors are published with the consensus; an out-of-stock one only in availability (no last price yet).
    expect(Object.keys(latest.vendors).sort()).toEqual(inStock.map((r) => String(r.vendor)).sort());
    for (const row of inStock) expect(latest.vendors[String(row.vendor)], String(row.vendor)).toEqual({ price: row.price, confidence: 99, inStock: true, source: 'consensus' });
  }, 260_000);
});
