import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeMetalPriceApi, type FakeMetalPriceApiHandle } from '../src/fleet/metal-price-api.js';
import { openDatabase } from '../src/store/database.js';
import { createMetalPriceApiClient } from '../src/spot/metal-price-api.js';
import { SPOT_METALS, type SpotMetal } from '../src/spot/metals.js';
import { backfillSpotHours, catchUpSpotHistory, pollLatestSpot } from '../src/spot/spot-feed.js';
import { checkSpotFile, hourlyFilePath, quarterFilePath, renderSpotFiles, spotHistoryPath } from '../src/spot/spot-files.js';
import { addDays, catchUpRanges, marketsClosed, missingHours, quarterWindow, seedDue } from '../src/spot/spot-plan.js';
import { ensureSpotSchema, type SpotDailyRow, type SpotWindowRow } from '../src/spot/spot-schema.js';
import { SpotStore } from '../src/spot/spot-store.js';
import { tempDir } from './support/temp.js';

const KEY = 'mpk-test-feed-key';
/** The real March 2026 files (the contract's samples, kept in the project). */
const SAMPLES = 'test/fixtures/contract/StakTrakrApi/data';
const at = (iso: string) => Date.parse(iso);

/** One database file, one fake MetalPriceAPI and a clock the test moves. */
interface Rig {
  url: string;
  client: Client;
  store: SpotStore;
  fake: FakeMetalPriceApiHandle;
  clock: { ms: number };
  parts: Parameters<typeof pollLatestSpot>[0];
  close(): Promise<void>;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('spot');
});
afterAll(() => dir.remove());

let rigs = 0;
async function rig(startIso: string): Promise<Rig> {
  const url = `file:${join(dir.path, `spot-${++rigs}.db`)}`;
  const client = openDatabase({ url });
  await ensureSpotSchema(client);
  await ensureSpotSchema(client); // idempotent
  const store = new SpotStore(client);
  const clock = { ms: at(startIso) };
  const fake = await startFakeMetalPriceApi({ apiKey: KEY, now: () => clock.ms, seed: 3 });
  const api = createMetalPriceApiClient({ baseUrl: fake.url, apiKey: KEY });
  return {
    url, client, store, fake, clock,
    parts: { api, store, pollerId: 'api1', now: () => clock.ms },
    async close() {
      client.close();
      await fake.close();
    },
  };
}

/** Rows read back with a fresh client (a writer's own client can believe in rows that never committed). */
async function readWindows(url: string): Promise<SpotWindowRow[]> {
  const c = openDatabase({ url });
  try {
    return await new SpotStore(c).windows({ from: '0000', to: '9999' });
  } finally {
    c.close();
  }
}

async function readDaily(url: string, where = '1=1'): Promise<Array<{ metal: string; date: string; spot: number; provider: string; source: string }>> {
  const c = openDatabase({ url });
  try {
    const rs = await c.execute(`SELECT metal, date, spot, provider, source FROM spot_daily WHERE ${where} ORDER BY date, metal`);
    return rs.rows.map((r) => ({ metal: String(r.metal), date: String(r.date), spot: Number(r.spot), provider: String(r.provider), source: String(r.source) }));
  } finally {
    c.close();
  }
}

function windowRow(metal: SpotMetal, window_start: string, spot: number, over: Partial<SpotWindowRow> = {}): SpotWindowRow {
  return { metal, window_start, spot, provider: 'MetalPriceAPI', source: 'latest', fetched_at: '2026-03-11T00:00:00.000Z', poller_id: 'api2', ...over };
}

describe('spot time rules', () => {
  it('floors to the quarter and leaves the current hour out of the backfill', () => {
    expect(quarterWindow(at('2026-03-14T15:59:59.999Z'))).toBe('2026-03-14 15:45:00');
    expect(quarterWindow(at('2026-03-14T16:00:00Z'))).toBe('2026-03-14 16:00:00');
    const now = at('2026-03-11T10:20:00Z');
    expect(missingHours(now, [], 3)).toEqual(['2026-03-11 07', '2026-03-11 08', '2026-03-11 09']);
    expect(missingHours(now, ['2026-03-11 08', '2026-03-11 10'], 3)).toEqual(['2026-03-11 07', '2026-03-11 09']);
    expect(missingHours(now, [])).toHaveLength(24);
  });

  it('seeds at or after 17:00 UTC on weekdays only, once', () => {
    expect(seedDue(at('2026-03-11T16:59:59Z'), false)).toBe(false);
    expect(seedDue(at('2026-03-11T17:00:00Z'), false)).toBe(true);
    expect(seedDue(at('2026-03-11T23:59:00Z'), true)).toBe(false);
    expect(seedDue(at('2026-03-14T18:00:00Z'), false)).toBe(false); // Saturday
    expect([marketsClosed('2026-03-13'), marketsClosed('2026-03-14'), marketsClosed('2026-03-15'), marketsClosed('2026-03-16')]).toEqual([false, true, true, false]);
  });

  it('catches up from the day after the last date (or January 1) to yesterday in chunks, trimming weekends', () => {
    const wed = at('2026-03-11T08:00:00Z');
    expect(catchUpRanges(null, wed)).toEqual([{ start: '2026-01-01', end: '2026-03-10' }]);
    expect(catchUpRanges('2026-03-10', wed)).toEqual([]);
    expect(catchUpRanges('2026-03-13', at('2026-03-16T08:00:00Z'))).toEqual([]); // only a weekend is missing
    expect(catchUpRanges('2026-02-27', wed, { chunkDays: 7 })).toEqual([
      { start: '2026-03-02', end: '2026-03-06' },
      { start: '2026-03-09', end: '2026-03-10' },
    ]);
  });
});

describe('SpotStore', () => {
  let r: Rig;
  beforeEach(async () => {
    r = await rig('2026-03-11T10:20:00Z');
    return () => r.close();
  });

  it('keeps the first value of a window, refuses bad rows with their reason and writes the good ones', async () => {
    const first = await r.store.recordWindows([
      windowRow('Gold', '2026-03-11 10:15:00', 5001.5),
      windowRow('Silver', '2026-03-11 10:15:00', 1), // below $5
      windowRow('Gold', '2026-03-11 10:17:00', 5002), // not a quarter
      { ...windowRow('Gold', '2026-03-11 10:00:00', 5000), metal: 'Rhodium' } as unknown as SpotWindowRow,
    ]);
    expect(first.written).toBe(1);
    expect(first.refused.map((x) => x.reason)).toEqual([
      expect.stringMatching(/^spot: \$1 is outside/),
      expect.stringMatching(/^window_start: expected a window like/),
      expect.stringMatching(/^metal: expected one of Gold/),
    ]);
    const again = await r.store.recordWindows([windowRow('Gold', '2026-03-11 10:15:00', 4999), windowRow('Gold', '2026-03-11 10:00:00', 4998)]);
    expect(again).toEqual({ written: 1, refused: [] });
    expect((await readWindows(r.url)).map((w) => [w.window_start, w.spot])).toEqual([['2026-03-11 10:00:00', 4998], ['2026-03-11 10:15:00', 5001.5]]);
  });

  it('gives the fresh spot per metal only when its window is young enough', async () => {
    await r.store.recordWindows([windowRow('Gold', '2026-03-11 10:15:00', 5001.5), windowRow('Gold', '2026-03-11 09:00:00', 4900), windowRow('Silver', '2026-03-11 08:00:00', 80)]);
    expect(await r.store.freshSpot(r.clock.ms, 30 * 60_000)).toEqual({ Gold: 5001.5 });
    expect(await r.store.freshSpot(r.clock.ms, 3 * 3_600_000)).toEqual({ Gold: 5001.5, Silver: 80 });
  });
});

describe('the latest poll and the daily seed', () => {
  it('writes the quarter window each poll; 16:59 no seed, 17:00 the seed, 17:15 no second seed', async () => {
    const r = await rig('2026-03-11T16:59:00Z');
    try {
      const early = await pollLatestSpot(r.parts);
      expect(early.window).toBe('2026-03-11 16:45:00');
      expect(early.written).toBe(4);
      expect(early.seed).toBeNull();
      expect(early.unchanged).toBe(false);

      r.clock.ms = at('2026-03-11T17:00:00Z');
      const due = await pollLatestSpot(r.parts);
      expect(due.seed).toEqual({ date: '2026-03-11', written: 4 });
      expect(due.unchanged).toBe(false);
      r.clock.ms = at('2026-03-11T17:15:00Z');
      const later = await pollLatestSpot(r.parts);
      expect(later.seed).toBeNull();

      const daily = await readDaily(r.url);
      expect(daily).toEqual(SPOT_METALS.map((m) => ({ metal: m, date: '2026-03-11', spot: due.prices[m], provider: 'StakTrakr', source: 'seed' })).sort((a, b) => (a.metal < b.metal ? -1 : 1)));
      const windows = await readWindows(r.url);
      expect(new Set(windows.map((w) => w.window_start))).toEqual(new Set(['2026-03-11 16:45:00', '2026-03-11 17:00:00', '2026-03-11 17:15:00']));
      expect(windows.find((w) => w.metal === 'Gold' && w.window_start === '2026-03-11 17:00:00')?.spot).toBe(r.fake.spotAt('Gold', at('2026-03-11T17:00:00Z')));
    } finally {
      await r.close();
    }
  });

  it('a Saturday poll writes no seed, and unchanged rates are reported as such, not as a failure', async () => {
    const r = await rig('2026-03-13T20:50:00Z'); // Friday, markets still open
    try {
      const friday = await pollLatestSpot(r.parts);
      r.clock.ms = at('2026-03-14T18:00:00Z');
      const sat1 = await pollLatestSpot(r.parts);
      r.clock.ms = at('2026-03-14T18:15:00Z');
      const sat2 = await pollLatestSpot(r.parts);
      expect(friday.unchanged).toBe(false);
      expect(friday.seed?.date).toBe('2026-03-13'); // after 17:00 on a Friday
      expect(sat1.seed).toBeNull();
      expect(sat2.seed).toBeNull();
      expect(sat2.unchanged).toBe(true);
      expect(sat2.written).toBe(4); // a new window, same values: the files stay fresh over the weekend
      expect(sat2.prices).toEqual(sat1.prices);
      expect(sat2.providerTimestamp).toBe('2026-03-13T21:00:00.000Z');
      expect(new Set((await readDaily(r.url)).map((d) => d.date))).toEqual(new Set(['2026-03-13']));
      // Monday after 17:00 the seed comes back.
      r.clock.ms = at('2026-03-16T17:05:00Z');
      const monday = await pollLatestSpot(r.parts);
      expect([monday.unchanged, monday.seed?.date]).toEqual([false, '2026-03-16']);
    } finally {
      await r.close();
    }
  });
});

describe('the 24-hour backfill', () => {
  it('fills exactly the hours without data, per metal, and overwrites nothing', async () => {
    const r = await rig('2026-03-11T10:20:00Z');
    try {
      const seeded = [
        ...SPOT_METALS.flatMap((m) => [windowRow(m, '2026-03-10 12:00:00', 100), windowRow(m, '2026-03-10 12:15:00', 101), windowRow(m, '2026-03-10 13:30:00', 102)]),
        windowRow('Gold', '2026-03-10 20:00:00', 1234.56), // only gold has hour 20, with a value the fake would never give
        ...SPOT_METALS.map((m) => windowRow(m, '2026-03-11 10:15:00', 200)), // the current hour: not backfilled
      ];
      await r.store.recordWindows(seeded);
      // Another poller writes a window of a missing hour while this backfill waits for /hourly: its value stands.
      const race = windowRow('Silver', '2026-03-10 15:00:00', 77.77, { poller_id: 'api3' });
      const api = r.parts.api;
      const racingApi = { ...api, hourly: async (...args: Parameters<typeof api.hourly>) => {
        const answer = await api.hourly(...args);
        if (args[0] === 'Silver') {
          const other = openDatabase({ url: r.url });
          await new SpotStore(other).recordWindows([race]);
          other.close();
        }
        return answer;
      } };
      const result = await backfillSpotHours({ ...r.parts, api: racingApi, hoursBack: 24 });

      const span = Array.from({ length: 24 }, (_, i) => new Date(at('2026-03-10T10:00:00Z') + i * 3_600_000).toISOString().slice(0, 13).replace('T', ' '));
      expect([result.from, result.to]).toEqual(['2026-03-10 10', '2026-03-11 09']);
      expect(result.missing).toEqual(span.filter((h) => h !== '2026-03-10 12' && h !== '2026-03-10 13'));
      expect(result.filled).toEqual(result.missing);
      expect(result.unfilled).toEqual([]);
      expect(result.rows).toBe(21 + 22 * 3 - 1); // the raced window was not replaced
      expect(result.calls).toBe(4);

      const hourly = r.fake.requests().filter((q) => q.path === '/hourly');
      expect(hourly.map((q) => q.query.currency)).toEqual(['XAU', 'XAG', 'XPT', 'XPD']);
      expect(hourly[0].query).toMatchObject({ start: String(at('2026-03-10T10:00:00Z') / 1000), end: String(at('2026-03-11T09:00:00Z') / 1000) });

      const rows = await readWindows(r.url);
      for (const s of [...seeded, race]) expect(rows.find((w) => w.metal === s.metal && w.window_start === s.window_start)?.spot).toBe(s.spot);
      const added = rows.filter((w) => w.source === 'hourly');
      expect(added.some((w) => w.metal === 'Silver' && w.window_start === race.window_start)).toBe(false);
      expect(added).toHaveLength(result.rows);
      for (const w of added) {
        expect(w.window_start.endsWith(':00:00')).toBe(true);
        expect(w.spot).toBe(r.fake.spotAt(w.metal, Date.parse(`${w.window_start.replace(' ', 'T')}Z`)));
      }
      // Every metal now has every hour of the span; the current hour keeps only its poll.
      for (const m of SPOT_METALS) expect(await r.store.hoursWithData({ from: span[0], to: span[23], metal: m })).toEqual(span);
      expect(rows.filter((w) => w.window_start.startsWith('2026-03-11 10')).map((w) => w.spot)).toEqual([200, 200, 200, 200]);

      const again = await backfillSpotHours(r.parts);
      expect([again.missing, again.rows, again.calls]).toEqual([[], 0, 0]);
    } finally {
      await r.close();
    }
  });
});

describe('the spot-history catch-up', () => {
  it('asks in chunks of at most 365 dates from the last date to yesterday, skips weekends, keeps existing rows', async () => {
    const r = await rig('2026-03-11T08:00:00Z');
    try {
      const existing: SpotDailyRow[] = [
        ...SPOT_METALS.map((m) => ({ metal: m, date: '2024-06-28', spot: 42, provider: 'LBMA', source: 'seed' })),
        { metal: 'Gold', date: '2026-03-11', spot: 4321, provider: 'StakTrakr', source: 'seed' }, // today: not the catch-up's start
      ];
      await r.store.recordDaily(existing);
      const result = await catchUpSpotHistory(r.parts);
      expect(result.lastDate).toBe('2024-06-28');
      const expectedRanges = [
        { start: '2024-07-01', end: '2025-06-27' },
        { start: '2025-06-30', end: '2026-03-10' },
      ];
      expect(result.ranges).toEqual(expectedRanges);
      const asked = r.fake.requests().filter((q) => q.path === '/timeframe').map((q) => ({ start: q.query.start_date, end: q.query.end_date }));
      expect(asked).toEqual(expectedRanges);
      for (const a of asked) expect((Date.parse(a.end) - Date.parse(a.start)) / 86_400_000 + 1).toBeLessThanOrEqual(365);

      const weekdays: string[] = [];
      for (let d = '2024-07-01'; d <= '2026-03-10'; d = addDays(d, 1)) if (![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay())) weekdays.push(d);
      const rows = await readDaily(r.url, "provider = 'MetalPriceAPI'");
      expect([...new Set(rows.map((x) => x.date))]).toEqual(weekdays);
      expect(rows).toHaveLength(weekdays.length * 4);
      expect(result.rows).toBe(weekdays.length * 4);
      expect(result.weekendDaysSkipped).toBeGreaterThan(0);
      expect(rows.find((x) => x.date === '2025-03-12' && x.metal === 'Silver')?.spot).toBe(r.fake.spotAt('Silver', at('2025-03-12T12:00:00Z')));
      expect(await readDaily(r.url, "provider <> 'MetalPriceAPI'")).toEqual(
        existing.map(({ metal, date, spot, provider, source }) => ({ metal, date, spot, provider, source })).sort((a, b) => (a.date + a.metal < b.date + b.metal ? -1 : 1)),
      );

      const again = await catchUpSpotHistory(r.parts);
      expect([again.lastDate, again.ranges, again.rows]).toEqual(['2026-03-10', [], 0]);
    } finally {
      await r.close();
    }
  });
});

describe('spot files', () => {
  it('renders paths and orders entries so the last element and each metal\'s last entry are the newest', () => {
    const windows = ['15:00', '15:15', '15:30', '15:45'].flatMap((t) =>
      SPOT_METALS.filter((m) => !(m === 'Silver' && t === '15:45')).map((m, i) => windowRow(m, `2026-03-11 ${t}:00`, 100 + i)),
    );
    const files = renderSpotFiles({ windows: [...windows].reverse(), daily: [] });
    expect([...files.keys()]).toEqual(['hourly/2026/03/11/15.json', '15min/2026/03/11/1500.json', '15min/2026/03/11/1515.json', '15min/2026/03/11/1530.json', '15min/2026/03/11/1545.json']);
    const hourly = checkSpotFile('hourly/2026/03/11/15.json', files.get('hourly/2026/03/11/15.json')!);
    expect(hourly).toHaveLength(15);
    expect(hourly[hourly.length - 1]).toMatchObject({ timestamp: '2026-03-11 15:45:00', source: 'hourly', provider: 'StakTrakr' });
    expect(hourly.filter((e) => e.metal === 'Silver').pop()?.timestamp).toBe('2026-03-11 15:30:00');
    expect(checkSpotFile('15min/2026/03/11/1545.json', files.get('15min/2026/03/11/1545.json')!).map((e) => e.metal)).toEqual(['Gold', 'Palladium', 'Platinum']);
    expect([hourlyFilePath('2026-03-11 05'), quarterFilePath('2026-03-11 05:30:00'), spotHistoryPath(2026)]).toEqual(['hourly/2026/03/11/05.json', '15min/2026/03/11/0530.json', 'spot-history-2026.json']);
    // Only the asked hours.
    expect([...renderSpotFiles({ windows, daily: [], hours: ['2026-03-11 14'] }).keys()]).toEqual([]);
  });

  it('builds 15-minute files from first-wins rows, and they match the real sample', async () => {
    const sample15 = JSON.parse(await readFile(join(SAMPLES, '15min/2026/03/14/1545.json'), 'utf8'));
    const sampleHour = JSON.parse(await readFile(join(SAMPLES, 'hourly/2026/03/14/15.json'), 'utf8'));
    const r = await rig('2026-03-14T15:50:00Z');
    try {
      const rows = sampleHour.map((e: { metal: SpotMetal; spot: number; timestamp: string }) => windowRow(e.metal, e.timestamp, e.spot));
      expect((await r.store.recordWindows(rows)).written).toBe(16);
      // A later poller's different values for the same windows change nothing.
      expect((await r.store.recordWindows(rows.map((w: SpotWindowRow) => ({ ...w, spot: w.spot + 1, poller_id: 'api3' })))).written).toBe(0);
      const files = renderSpotFiles({ windows: await r.store.windows({ from: '2026-03-14 15:00:00', to: '2026-03-14 16:00:00' }), daily: [] });
      expect(JSON.parse(files.get('15min/2026/03/14/1545.json')!)).toEqual(sample15);
      const ours = JSON.parse(files.get('hourly/2026/03/14/15.json')!);
      const byTime = (a: { timestamp: string; metal: string }, b: { timestamp: string; metal: string }) => (a.timestamp + a.metal < b.timestamp + b.metal ? -1 : 1);
      expect(ours).toEqual([...sampleHour].sort(byTime));
    } finally {
      await r.close();
    }
  });

  it('renders spot-history by year sorted by (timestamp, metal), each row with its provider', () => {
    const daily: SpotDailyRow[] = [
      { metal: 'Silver', date: '2026-01-05', spot: 75.07, provider: 'LBMA', source: 'seed' },
      { metal: 'Gold', date: '2026-01-05', spot: 4436.7, provider: 'LBMA', source: 'seed' },
      { metal: 'Gold', date: '2026-01-02', spot: 4386.85, provider: 'MetalPriceAPI', source: 'timeframe' },
      { metal: 'Gold', date: '2025-12-31', spot: 4300, provider: 'StakTrakr', source: 'seed' },
    ];
    const files = renderSpotFiles({ windows: [], daily });
    expect([...files.keys()]).toEqual(['spot-history-2025.json', 'spot-history-2026.json']);
    expect(checkSpotFile('spot-history-2026.json', files.get('spot-history-2026.json')!)).toEqual([
      { metal: 'Gold', provider: 'MetalPriceAPI', source: 'seed', spot: 4386.85, timestamp: '2026-01-02 12:00:00' },
      { metal: 'Gold', provider: 'LBMA', source: 'seed', spot: 4436.7, timestamp: '2026-01-05 12:00:00' },
      { metal: 'Silver', provider: 'LBMA', source: 'seed', spot: 75.07, timestamp: '2026-01-05 12:00:00' },
    ]);
  });

  it('checkSpotFile passes the real files and names the path and the problem otherwise', async () => {
    const real = async (path: string) => readFile(join(SAMPLES, path), 'utf8');
    // What we write is held to `published`; the real files, old writer's quirks included, pass at `contract`.
    for (const path of ['hourly/2026/03/14/15.json', '15min/2026/03/14/1545.json', 'spot-history-2026.json', 'spot-history-2025.json']) {
      expect(checkSpotFile(path, await real(path)).length).toBeGreaterThan(0);
    }
    for (const path of ['hourly/2026/02/20/10.json', 'hourly/2026/02/22/12.json', '15min/2026/03/14/1530.json']) {
      expect(checkSpotFile(path, await real(path), 'contract').length).toBeGreaterThan(0);
    }
    expect(() => checkSpotFile('15min/2026/03/14/1530.json', '[{"spot":5019.17,"metal":"Gold","source":"seed","provider":"StakTrakr","timestamp":"2026-03-14 15:30:02"}]')).toThrow(/not the window 2026-03-14 15:30:00/);
    const old = await readFile(join(SAMPLES, '../../StakTrakr/data/spot-history-1968.json'), 'utf8');
    expect(checkSpotFile('spot-history-1968.json', old, 'contract')).toHaveLength(495);
    expect(() => checkSpotFile('spot-history-1968.json', old)).toThrow(/spot-history-1968\.json: \[1\]\.spot: \$2\.173 is outside/);
    const e = (spot: number, metal: string, timestamp: string, source = 'hourly') => ({ spot, metal, source, provider: 'StakTrakr', timestamp });
    const bad = JSON.stringify([e(5000, 'Gold', '2026-03-14 15:45:00'), e(80, 'Silver', '2026-03-14 15:30:00')]);
    expect(() => checkSpotFile('hourly/2026/03/14/15.json', bad)).toThrow('hourly/2026/03/14/15.json: the last element (2026-03-14 15:30:00) is not the newest (2026-03-14 15:45:00)');
    expect(() => checkSpotFile('hourly/2026/03/14/16.json', JSON.stringify([e(5000, 'Gold', '2026-03-14 15:45:00')]))).toThrow(/16\.json: \[0\]: timestamp .* is not a quarter of the hour 2026-03-14 16/);
    expect(() => checkSpotFile('15min/2026/03/14/1545.json', JSON.stringify([e(1, 'Gold', '2026-03-14 15:45:00', 'seed')]))).toThrow(/1545\.json: \[0\]\.spot: \$1 is outside/);
    expect(() => checkSpotFile('15min/2026/03/14/1545.json', '{oops')).toThrow(/1545\.json: not valid JSON/);
    expect(() => checkSpotFile('spot/x.json', '[]')).toThrow(/spot\/x\.json: not a spot file path/);
  });
});
