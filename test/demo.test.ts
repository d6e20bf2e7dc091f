import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCatalogue } from '../src/catalogue/load.js';
import { runPoller } from './support/cli.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';

describe('npm run demo -- --once', () => {
  const redis = testRedis('demo');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('demo');
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir.remove();
  });

  it('scrapes every target of the real catalogue once per poller into one database and exits 0', async () => {
    const { code, out } = await runPoller(['demo', '--once', '--workdir', dir.path], { REDIS_URL: redis.url }, 280_000);
    expect(code, out).toBe(0);
    expect(out).toMatch(/all 498 jobs settled/);
    const catalogue = await loadCatalogue('test/fixtures/contract/config/providers.json');
    const client = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    const rows = (await client.execute('SELECT poller_id, coin_slug, vendor, price, is_failed FROM price_snapshots')).rows;
    client.close();
    for (const poller of ['api1', 'api2', 'api3']) {
      const mine = rows.filter((r) => r.poller_id === poller);
      const seen = new Set(mine.map((r) => `${r.coin_slug}:${r.vendor}`));
      expect(seen.size, poller).toBe(166);
      for (const t of catalogue.targets) expect(seen.has(`${t.coin}:${t.vendor}`), `${poller} ${t.coin}:${t.vendor}`).toBe(true);
    }
    // Real pages, real extraction: the fleet's pages yield prices, not failures.
    const priced = rows.filter((r) => !r.is_failed && r.price !== null).length;
    expect(priced / rows.length).toBeGreaterThan(0.95);
    expect((await readdir(join(dir.path, 'recovery', 'api1'))).some((f) => /^prices-\d{4}-\d{2}-\d{2}\.jsonl$/.test(f))).toBe(true);
    // Published: a branch per poller and main carrying the merged tree, one commit per export and merge.
    const remote = join(dir.path, 'remote.git');
    const git = (...args: string[]) => execFileSync('git', [`--git-dir=${remote}`, ...args], { encoding: 'utf8' }).trim();
    expect(git('for-each-ref', '--format=%(refname:short)', 'refs/heads').split('\n').sort()).toEqual(['api1', 'api2', 'api3', 'main']);
    for (const poller of ['api1', 'api2', 'api3']) {
      for (const subject of git('log', '--format=%s', poller).split('\n')) expect(subject).toMatch(new RegExp(`^${poller}: \\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} export$`));
    }
    for (const subject of git('log', '--format=%s', 'main').split('\n')) expect(subject).toMatch(/^merge: api\d(\+api\d)* @ \d{2}:\d{2}$/);
    expect(git('log', '-1', '--format=%s', 'main')).toMatch(/^merge: api1\+api2\+api3 @/);
    const manifest = JSON.parse(git('show', 'main:data/api/manifest.json'));
    expect([...manifest.coins].sort()).toEqual([...new Set(catalogue.targets.map((t) => t.coin))].sort());
    const mainFiles = git('ls-tree', '-r', '--name-only', 'main').split('\n');
    expect(mainFiles).toContain('data/prices.db');
    // The feeds ran once through the spot queue and reached main: 7 days of hourly files (what the app reads on a
    // first visit), the 15-minute files, the year's spot history and the Goldback rate of the fleet's page.
    expect(out).toMatch(/^spot-latest: window \d{4}-\d{2}-\d{2} \d{2}:\d{2}:00: 4 new of 4 metals/m);
    expect(out).toMatch(/^spot-backfill: backfill .*: 168 hours missing, 168 filled, 0 without data/m);
    expect(out).toMatch(/^goldback: G1 \$\d+\.\d+ \(high\)/m);
    const hourlyFiles = mainFiles.filter((f) => /^data\/hourly\/\d{4}\/\d{2}\/\d{2}\/\d{2}\.json$/.test(f));
    expect(hourlyFiles.length).toBeGreaterThanOrEqual(169);
    const newestHour = JSON.parse(git('show', `main:${hourlyFiles.sort().at(-1)}`)) as Array<{ metal: string; timestamp: string; spot: number }>;
    expect(new Set(newestHour.map((e) => e.metal))).toEqual(new Set(['Gold', 'Silver', 'Platinum', 'Palladium']));
    expect(Date.now() - Date.parse(newestHour.at(-1)!.timestamp.replace(' ', 'T') + 'Z')).toBeLessThan(20 * 60_000);
    expect(mainFiles.some((f) => /^data\/15min\/\d{4}\/\d{2}\/\d{2}\/\d{2}(00|15|30|45)\.json$/.test(f))).toBe(true);
    expect(mainFiles).toContain(`data/spot-history-${new Date().getUTCFullYear()}.json`);
    const goldback = JSON.parse(git('show', 'main:data/api/goldback-spot.json'));
    expect(goldback).toMatchObject({ g1_usd: expect.any(Number), confidence: 'high', denominations: { g5: expect.any(Number) } });
    expect(Date.now() - Date.parse(goldback.scraped_at)).toBeLessThan(10 * 60_000);
    for (const coin of manifest.coins) {
      const latest = JSON.parse(git('show', `main:data/api/${coin}/latest.json`));
      const vendors = catalogue.targets.filter((t) => t.coin === coin).map((t) => t.vendor);
      // Every vendor of the coin appears: priced, or marked unavailable.
      for (const v of vendors) expect(latest.vendors[v] !== undefined || latest.availability_by_site[v] === false, `${coin}@${v}`).toBe(true);
    }
    // The run removed its own Redis keys.
    const prefix = /Redis keys under (demo-[0-9a-f]+):\*/.exec(out)![1];
    expect(await redis.connection.keys(`${prefix}:*`)).toEqual([]);
    // The two dealers the demo serves only to a browser were read by the browser tier, and priced.
    const client2 = createClient({ url: `file:${join(dir.path, 'prices.db')}` });
    const browserRows = (await client2.execute("SELECT vendor, source, is_failed FROM price_snapshots WHERE vendor IN ('bullionexchanges', 'summitmetals')")).rows;
    client2.close();
    expect(browserRows.length).toBeGreaterThan(0);
    expect(browserRows.filter((r) => r.source === 'browser' && !r.is_failed).length / browserRows.length).toBeGreaterThan(0.95);
    expect(out).toMatch(/^browser tier: .*bullionexchanges and summitmetals/m);
  }, 300_000);
});
