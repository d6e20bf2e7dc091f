import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
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
    const { code, out } = await runPoller(['demo', '--once', '--workdir', dir.path], { REDIS_URL: redis.url }, 180_000);
    expect(code, out).toBe(0);
    expect(out).toMatch(/all 498 jobs settled/);
    const catalogue = await loadCatalogue('../shared/contract/config/providers.json');
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
    // The run removed its own Redis keys.
    const prefix = /Redis keys under (demo-[0-9a-f]+):\*/.exec(out)![1];
    expect(await redis.connection.keys(`${prefix}:*`)).toEqual([]);
  });
});
