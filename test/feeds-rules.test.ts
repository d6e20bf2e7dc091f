/**
 * The feeds' rules where they meet the rest: simulated spot gives way to real spot (table, files, merge), main's
 * feed files survive the merge whatever its price files are, missed days are asked again, and a failure that
 * retrying cannot mend fails the job at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Client } from '@libsql/client';
import { writeTree } from '../src/export/write-tree.js';
import { buildFeedFiles } from '../src/export/feed-files.js';
import { startFakeMetalPriceApi, type FakeMetalPriceApiHandle } from '../src/fleet/metal-price-api.js';
import { mergeTrees } from '../src/merge/merge-trees.js';
import { createMetalPriceApiClient } from '../src/spot/metal-price-api.js';
import { SpotApiError } from '../src/spot/spot-api-error.js';
import { catchUpSpotHistory } from '../src/spot/spot-feed.js';
import { addDays, utcDate } from '../src/spot/spot-plan.js';
import { ensureSpotSchema } from '../src/spot/spot-schema.js';
import { SIMULATED_PROVIDER, SpotStore } from '../src/spot/spot-store.js';
import { openDatabase } from '../src/store/database.js';
import { createSpotProcessor } from '../processors/feeds.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';
import { stableStringify } from '../src/export/stable-json.js';
import { MANIFEST_ENDPOINTS } from '../src/contract/manifest-schema.js';

const CONTRACT = 'test/fixtures/contract/StakTrakrApi/data';

/** A branch with a valid manifest and nothing else, under data/. */
const emptyBranch = (name: string, files: Record<string, string> = {}) => ({
  branch: name,
  files: new Map<string, string>([
    ['data/api/manifest.json', stableStringify({ generated_at: '2026-12-07T10:20:00.000Z', latest_window: null, window_count: 0, coin_count: 0, coins: [], enabled_coins: [], coins_meta: {}, endpoints: MANIFEST_ENDPOINTS })],
    ...Object.entries(files),
  ]),
});

async function treeOf(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    if (full.endsWith('.json')) files.set(`data/${relative(dir, full)}`, await readFile(full, 'utf8'));
  }
  return files;
}

describe('simulated spot gives way to real spot', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  beforeAll(async () => {
    dir = await tempDir('feeds-rules');
    client = openDatabase({ url: `file:${join(dir.path, 'spot.db')}` });
    await ensureSpotSchema(client);
  });
  afterAll(async () => {
    client.close();
    await dir.remove();
  });

  const row = (provider: string, spot: number) => ({ metal: 'Gold' as const, window_start: '2026-12-07 10:15:00', spot, provider, source: 'latest', fetched_at: '2026-12-07T10:15:30.000Z', poller_id: 'api1', provider_at: null });

  it('in the table, the files and the tree: a real value replaces a simulated one, never the other way', async () => {
    const store = new SpotStore(client);
    expect((await store.recordWindows([row(SIMULATED_PROVIDER, 4999)])).written).toBe(1);
    const tree = join(dir.path, 'tree', 'data');
    const now = new Date('2026-12-07T10:20:00Z');
    let feeds = await buildFeedFiles(client, { now });
    const quarter = '15min/2026/12/07/1015.json';
    expect(feeds.files.get(quarter)).toContain(`"provider": "${SIMULATED_PROVIDER}"`);
    await writeTree(tree, feeds.files, new Set(), { writeOnce: feeds.writeOnce });

    // A key arrives: the real value replaces the simulated one, and even the written-once file follows.
    expect((await store.recordWindows([row('MetalPriceAPI', 5012.5)])).written).toBe(1);
    feeds = await buildFeedFiles(client, { now });
    const written = await writeTree(tree, feeds.files, new Set(), { writeOnce: feeds.writeOnce });
    expect(written.written).toContain(quarter);
    const real = await readFile(join(tree, quarter), 'utf8');
    expect(JSON.parse(real)).toEqual([expect.objectContaining({ spot: 5012.5, provider: 'StakTrakr' })]);

    // A simulated value never replaces a real one, and a real 15-minute file is never written again.
    expect((await store.recordWindows([row(SIMULATED_PROVIDER, 1)])).written).toBe(0);
    expect((await store.windows({ from: '2026-12-07 10:00:00', to: '2026-12-07 11:00:00' }))[0]).toMatchObject({ spot: 5012.5, provider: 'MetalPriceAPI' });
    const again = await writeTree(tree, new Map([[quarter, '[]\n']]), new Set(), { writeOnce: feeds.writeOnce });
    expect(again.written).toEqual([]);
    expect(await readFile(join(tree, quarter), 'utf8')).toBe(real);
  });

  it('reads nothing again for an export while the feed tables have not changed', async () => {
    const now = new Date('2026-12-07T10:20:00Z');
    const first = await buildFeedFiles(client, { now });
    expect(first.files.size).toBeGreaterThan(0);
    const unchanged = await buildFeedFiles(client, { now, since: first.fingerprint });
    expect(unchanged.files.size).toBe(0);
    expect(unchanged.fingerprint).toEqual(first.fingerprint);
    await new SpotStore(client).recordWindows([{ ...row('MetalPriceAPI', 90.5), metal: 'Silver' }]);
    const moved = await buildFeedFiles(client, { now, since: first.fingerprint });
    expect(moved.fingerprint.windows).toBeGreaterThan(first.fingerprint.windows!);
    expect(JSON.parse(moved.files.get('hourly/2026/12/07/10.json')!).map((e: { metal: string }) => e.metal)).toEqual(['Gold', 'Silver']);
    expect([...moved.files.keys()].some((p) => p.startsWith('api/goldback'))).toBe(false); // Goldback did not change
  });

  it('in the merge: a simulated entry or 15-minute file on main gives way to a branch\'s real one', () => {
    const entry = (provider: string, spot: number) => ({ metal: 'Gold', provider, source: 'hourly', spot, timestamp: '2026-12-07 10:15:00' });
    const text = (v: unknown) => stableStringify(v);
    const main = emptyBranch('main', { 'data/hourly/2026/12/07/10.json': text([entry(SIMULATED_PROVIDER, 1)]), 'data/15min/2026/12/07/1015.json': text([{ ...entry(SIMULATED_PROVIDER, 1), source: 'seed' }]) });
    const branch = emptyBranch('api1', { 'data/hourly/2026/12/07/10.json': text([entry('StakTrakr', 5012.5)]), 'data/15min/2026/12/07/1015.json': text([{ ...entry('StakTrakr', 5012.5), source: 'seed' }]) });
    const { files, skipped } = mergeTrees([branch], { root: 'data/', fallback: main });
    expect(skipped).toEqual([]);
    expect(JSON.parse(files.get('data/hourly/2026/12/07/10.json')!)).toEqual([expect.objectContaining({ spot: 5012.5, provider: 'StakTrakr' })]);
    expect(JSON.parse(files.get('data/15min/2026/12/07/1015.json')!)).toEqual([expect.objectContaining({ spot: 5012.5 })]);
  });
});

describe('main\'s feed files in the merge', () => {
  it('are kept, each on its own, even though a price file of main (the system this replaces) fails today\'s checks', async () => {
    const contract = await treeOf(CONTRACT);
    const main = { branch: 'main', files: contract };
    const { files, skipped } = mergeTrees([emptyBranch('api1')], { root: 'data/', fallback: main });
    expect(skipped).toEqual([]);
    for (const path of ['data/spot-history-2025.json', 'data/spot-history-2026.json', 'data/hourly/2026/03/14/15.json', 'data/15min/2026/03/14/1545.json', 'data/goldback-2026.json', 'data/api/goldback-spot.json']) {
      expect(files.get(path), path).toBe(contract.get(path));
    }
  });
});

describe('the history catch-up', () => {
  let api: FakeMetalPriceApiHandle;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let client: Client;
  beforeAll(async () => {
    api = await startFakeMetalPriceApi({ apiKey: 'history-key' });
    dir = await tempDir('feeds-history');
    client = openDatabase({ url: `file:${join(dir.path, 'spot.db')}` });
    await ensureSpotSchema(client);
  });
  afterAll(async () => {
    client.close();
    await api.close();
    await dir.remove();
  });

  it('asks again for a weekday missed within the last 30 days, not only what follows the newest day', async () => {
    const now = new Date('2026-12-09T10:00:00Z'); // a Wednesday
    const store = new SpotStore(client);
    const days: string[] = [];
    for (let d = addDays(utcDate(now), -20); d < utcDate(now); d = addDays(d, 1)) days.push(d);
    const gap = '2026-11-24'; // a Tuesday, 15 days back
    const weekdays = days.filter((d) => ![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay()));
    await store.recordDaily(weekdays.filter((d) => d !== gap).flatMap((date) => (['Gold', 'Silver', 'Platinum', 'Palladium'] as const).map((metal) => ({ metal, date, spot: 100, provider: 'MetalPriceAPI', source: 'timeframe', fetched_at: null, poller_id: null }))));
    const metalPriceApi = createMetalPriceApiClient({ baseUrl: api.url, apiKey: 'history-key' });
    // The history begins with the days written above: the gap is the only weekday missing since.
    const r = await catchUpSpotHistory({ api: metalPriceApi, store, pollerId: 'api1', now: () => now, firstDate: days[0] });
    expect(r.lastDate).toBe('2026-11-23');
    expect(r.ranges[0].start).toBe(gap);
    expect(r.rows).toBe(4); // the gap's four metals; the days that were there stay as they were
    expect((await store.completeDailyDates({ from: gap, to: gap })).has(gap)).toBe(true);
    const again = await catchUpSpotHistory({ api: metalPriceApi, store, pollerId: 'api1', now: () => now, firstDate: days[0] });
    expect(again).toMatchObject({ ranges: [], rows: 0 });
  });
});

describe('a feed job whose failure retrying cannot mend', () => {
  const redis = testRedis('feeds-permanent');
  afterAll(() => redis.cleanup());

  it('fails at its first attempt; a passing outage is retried', async () => {
    const queue = new Queue('spot', { connection: redis.connection, prefix: redis.prefix });
    const events = new QueueEvents('spot', { connection: redis.connection.duplicate(), prefix: redis.prefix });
    let calls = 0;
    const worker = new Worker(
      'spot',
      createSpotProcessor({
        run: {
          'spot-latest': async () => {
            calls++;
            throw new SpotApiError('bad-key', 'MetalPriceAPI refused the key (code 101): set METAL_PRICE_API_KEY');
          },
          'spot-backfill': async () => {
            calls++;
            if (calls < 3) throw new SpotApiError('unavailable', 'MetalPriceAPI answered 503');
            return { changed: false, summary: 'ok' };
          },
          'spot-history': async () => ({ changed: false, summary: 'ok' }),
          goldback: async () => ({ changed: false, summary: 'ok' }),
        },
        afterFeed: async () => undefined,
        isPermanent: (err) => err instanceof SpotApiError && !err.retryable,
      }),
      { connection: redis.connection.duplicate({ maxRetriesPerRequest: null }), prefix: redis.prefix },
    );
    try {
      await events.waitUntilReady();
      const bad = await queue.add('spot-latest', { pollerId: 'api1', cause: 'manual' }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
      await expect(bad.waitUntilFinished(events, 10_000)).rejects.toThrow(/refused the key/);
      expect((await queue.getJob(bad.id!))!.attemptsMade).toBe(1);
      expect(calls).toBe(1);
      const outage = await queue.add('spot-backfill', { pollerId: 'api1', cause: 'manual' }, { attempts: 3, backoff: { type: 'fixed', delay: 50 } });
      await expect(outage.waitUntilFinished(events, 10_000)).resolves.toMatchObject({ summary: 'ok' });
      expect((await queue.getJob(outage.id!))!.attemptsMade).toBe(2);
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
