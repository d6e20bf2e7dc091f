import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EndpointError, fetchHourlySpot, hourlyPath, RetailEndpoints, type HourlySpotEntry } from '../src/client/endpoint-race.js';

const SAMPLES = 'test/fixtures/contract/StakTrakrApi/data';
// A quarter to four on the day of the real hourly sample: its file is the current hour's.
const NOW = Date.parse('2026-03-14T15:42:10Z');
const now = () => NOW;
const isoAgo = (ms: number) => new Date(NOW - ms).toISOString();
const MIN = 60_000;

/** What a test server answers for one path. */
interface Route {
  status?: number;
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (until the client gives up or the server stops). */
  hang?: boolean;
}

interface TestServer {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  routes: Map<string, Route>;
  /** Paths requested, in order. */
  requests: string[];
  /** Paths whose request the client dropped before an answer was sent. */
  dropped: string[];
  close: () => Promise<void>;
}

const servers: TestServer[] = [];

/** A real HTTP server on 127.0.0.1 serving `routes` (404 for anything else). */
async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const state: TestServer = { origin: '', routes: new Map(Object.entries(routes)), requests: [], dropped: [], close: async () => undefined };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    state.requests.push(path);
    const route = state.routes.get(path) ?? { status: 404, body: 'not found' };
    res.on('close', () => {
      if (!res.writableFinished) state.dropped.push(path);
    });
    if (route.hang) return;
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(route.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(route.body ?? '');
    };
    if (route.delayMs) setTimeout(answer, route.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  servers.push(state);
  return state;
}

/** A base URL where nothing listens: a server started and closed. */
async function closedOrigin(): Promise<string> {
  const s = await startServer();
  await s.close();
  servers.splice(servers.indexOf(s), 1);
  return s.origin;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Waits until `check` holds (the server sees a dropped connection a moment after the client aborts). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

let realManifest: Record<string, unknown>;
let realLatest: string;
let realHourly: string;
beforeAll(async () => {
  realManifest = JSON.parse(await readFile(join(SAMPLES, 'api/manifest.json'), 'utf8'));
  realLatest = await readFile(join(SAMPLES, 'api/ase/latest.json'), 'utf8');
  realHourly = await readFile(join(SAMPLES, 'hourly/2026/03/14/15.json'), 'utf8');
});

/** The real manifest with another `generated_at`. */
const manifest = (generatedAt: string) => JSON.stringify({ ...realManifest, generated_at: generatedAt });

/** A retail tree: the manifest and one coin file that says which server it came from. */
function retailRoutes(generatedAt: string, tag: string, manifestRoute: Partial<Route> = {}): Record<string, Route> {
  return {
    '/data/api/manifest.json': { body: manifest(generatedAt), ...manifestRoute },
    '/data/api/ase/latest.json': { body: JSON.stringify({ ...JSON.parse(realLatest), served_by: tag }) },
  };
}

describe('RetailEndpoints: ranking by manifest generated_at', () => {
  it('the freshest of two live servers wins, and get reads from it', async () => {
    const older = await startServer(retailRoutes(isoAgo(10 * MIN), 'older'));
    const fresher = await startServer(retailRoutes(isoAgo(2 * MIN), 'fresher'));
    const retail = new RetailEndpoints([`${older.origin}/data/api`, `${fresher.origin}/data/api`], { now });

    const ranking = await retail.rank();
    expect(ranking.ranked.map((r) => r.endpoint)).toEqual([`${fresher.origin}/data/api`, `${older.origin}/data/api`]);
    expect(ranking.ranked[0]).toMatchObject({ generatedAt: isoAgo(2 * MIN), ageMs: 2 * MIN, stale: false });
    expect(ranking.failures).toEqual([]);
    expect(retail.winner).toBe(`${fresher.origin}/data/api`);

    const answer = await retail.get<{ served_by: string; median_price: number }>('ase/latest.json');
    expect(answer.endpoint).toBe(`${fresher.origin}/data/api`);
    expect(answer.data.served_by).toBe('fresher');
    expect(answer.data.median_price).toBe(JSON.parse(realLatest).median_price);
    expect(older.requests).not.toContain('/data/api/ase/latest.json');
  });

  it('get ranks first when nothing is cached, and concurrent gets share that one ranking', async () => {
    const a = await startServer(retailRoutes(isoAgo(5 * MIN), 'a'));
    const b = await startServer(retailRoutes(isoAgo(1 * MIN), 'b'));
    const retail = new RetailEndpoints([`${a.origin}/data/api`, `${b.origin}/data/api`], { now });
    const [one, two] = await Promise.all([retail.get<{ served_by: string }>('ase/latest.json'), retail.get<{ served_by: string }>('/ase/latest.json')]);
    expect([one.data.served_by, two.data.served_by]).toEqual(['b', 'b']);
    expect(a.requests.filter((p) => p.endsWith('manifest.json'))).toHaveLength(1);
    expect(b.requests.filter((p) => p.endsWith('manifest.json'))).toHaveLength(1);
  });

  it('one server down: the other wins, and the down one is listed with why', async () => {
    const down = await closedOrigin();
    const up = await startServer(retailRoutes(isoAgo(20 * MIN), 'up'));
    const retail = new RetailEndpoints([`${down}/data/api`, `${up.origin}/data/api`], { now });
    const ranking = await retail.rank();
    expect(ranking.ranked.map((r) => r.endpoint)).toEqual([`${up.origin}/data/api`]);
    expect(ranking.failures).toHaveLength(1);
    expect(ranking.failures[0].endpoint).toBe(`${down}/data/api`);
    expect(ranking.failures[0].error.kind).toBe('network');
    expect(ranking.failures[0].reason).toMatch(/manifest\.json: unreachable \(ECONNREFUSED\)/);
    expect((await retail.get<{ served_by: string }>('ase/latest.json')).data.served_by).toBe('up');
  });

  it('a stale server (generated_at 2 h old) ranks after a fresh one, even when the fresh one answers later', async () => {
    const stale = await startServer(retailRoutes(isoAgo(120 * MIN), 'stale'));
    const fresh = await startServer(retailRoutes(isoAgo(3 * MIN), 'fresh', { delayMs: 300 }));
    const retail = new RetailEndpoints([`${stale.origin}/data/api`, `${fresh.origin}/data/api`], { now });
    const ranking = await retail.rank();
    expect(ranking.ranked.map((r) => [r.endpoint, r.stale])).toEqual([
      [`${fresh.origin}/data/api`, false],
      [`${stale.origin}/data/api`, true],
    ]);
    expect((await retail.get<{ served_by: string }>('ase/latest.json')).data.served_by).toBe('fresh');
  });

  it('a stale server still serves when it is the only one that answers', async () => {
    const stale = await startServer(retailRoutes(isoAgo(120 * MIN), 'stale'));
    const broken = await startServer({ '/data/api/manifest.json': { body: '{"coins":[]}' } });
    const retail = new RetailEndpoints([`${broken.origin}/data/api`, `${stale.origin}/data/api`], { now });
    const ranking = await retail.rank();
    expect(ranking.ranked.map((r) => r.endpoint)).toEqual([`${stale.origin}/data/api`]);
    expect(ranking.failures[0]).toMatchObject({ endpoint: `${broken.origin}/data/api`, reason: expect.stringContaining('no generated_at') });
    expect((await retail.get<{ served_by: string }>('ase/latest.json')).data.served_by).toBe('stale');
  });

  it('a hanging server times out and the other wins', async () => {
    const hanging = await startServer(retailRoutes(isoAgo(1 * MIN), 'hanging', { hang: true }));
    const slowerData = await startServer(retailRoutes(isoAgo(25 * MIN), 'answers'));
    const retail = new RetailEndpoints([`${hanging.origin}/data/api`, `${slowerData.origin}/data/api`], { now, timeoutMs: 300 });
    const ranking = await retail.rank();
    expect(ranking.ranked.map((r) => r.endpoint)).toEqual([`${slowerData.origin}/data/api`]);
    expect(ranking.failures[0].endpoint).toBe(`${hanging.origin}/data/api`);
    expect(ranking.failures[0].error.kind).toBe('timeout');
    expect(ranking.failures[0].reason).toContain('no answer within 300 ms');
    await eventually(() => hanging.dropped.includes('/data/api/manifest.json'), 'the hanging request is aborted');
    expect((await retail.get<{ served_by: string }>('ase/latest.json')).data.served_by).toBe('answers');
  });

  it('the cached winner failing on get: ranks again without it and the other answers; the new winner is cached', async () => {
    const first = await startServer(retailRoutes(isoAgo(1 * MIN), 'first'));
    const second = await startServer(retailRoutes(isoAgo(6 * MIN), 'second'));
    const retail = new RetailEndpoints([`${first.origin}/data/api`, `${second.origin}/data/api`], { now });
    await retail.rank();
    expect(retail.winner).toBe(`${first.origin}/data/api`);

    first.routes.set('/data/api/ase/latest.json', { status: 503, body: 'overloaded' });
    const answer = await retail.get<{ served_by: string }>('ase/latest.json');
    expect(answer.data.served_by).toBe('second');
    expect(answer.endpoint).toBe(`${second.origin}/data/api`);
    expect(retail.winner).toBe(`${second.origin}/data/api`);
    // Re-ranked: the second's manifest read again, the failed one's not (excluded for this call).
    expect(second.requests.filter((p) => p.endsWith('manifest.json'))).toHaveLength(2);
    expect(first.requests.filter((p) => p.endsWith('manifest.json'))).toHaveLength(1);

    // Later calls go straight to the cached winner.
    await retail.get('ase/latest.json');
    expect(second.requests.filter((p) => p.endsWith('manifest.json'))).toHaveLength(2);
  });

  it('every endpoint failing on get: an AggregateError with each failure', async () => {
    const a = await startServer({ '/data/api/manifest.json': { body: manifest(isoAgo(MIN)) } });
    const b = await startServer({ '/data/api/manifest.json': { body: manifest(isoAgo(2 * MIN)) } });
    const retail = new RetailEndpoints([`${a.origin}/data/api`, `${b.origin}/data/api`], { now });
    const error = await retail.get('ase/latest.json').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    const errors = (error as AggregateError).errors as EndpointError[];
    expect(errors.map((e) => [e.endpoint, e.kind, e.status])).toEqual([
      [`${a.origin}/data/api`, 'http', 404],
      [`${b.origin}/data/api`, 'http', 404],
    ]);
    expect((error as Error).message).toContain('no retail endpoint answered ase/latest.json');
    expect(retail.winner).toBeNull();
  });

  it('refuses an empty endpoint list and a path leaving the api base', async () => {
    expect(() => new RetailEndpoints([])).toThrow(TypeError);
    const a = await startServer(retailRoutes(isoAgo(MIN), 'a'));
    await expect(new RetailEndpoints([`${a.origin}/data/api`]).get('../secrets.json')).rejects.toThrow(TypeError);
  });
});

/** A valid hourly file, tagged by its first entry's provider. */
function hourlyFile(provider: string, entries: Array<Partial<HourlySpotEntry>> = JSON.parse(realHourly)): string {
  return JSON.stringify(entries.map((e) => ({ ...e, provider })));
}

describe('fetchHourlySpot: the first valid answer wins', () => {
  const current = `/data/${hourlyPath(NOW)}`;
  const previous = `/data/${hourlyPath(NOW - 3_600_000)}`;

  it('reads the current UTC hour file', () => {
    expect(current).toBe('/data/hourly/2026/03/14/15.json');
    expect(previous).toBe('/data/hourly/2026/03/14/14.json');
    expect(hourlyPath(Date.parse('2026-01-01T00:59:59.999Z'))).toBe('hourly/2026/01/01/00.json');
  });

  it('the first valid answer wins; the other request is aborted', async () => {
    const slow = await startServer({ [current]: { hang: true } });
    const quick = await startServer({ [current]: { body: realHourly } });
    const spot = await fetchHourlySpot([`${slow.origin}/data`, `${quick.origin}/data`], { now });
    expect(spot.endpoint).toBe(`${quick.origin}/data`);
    expect(spot.path).toBe('hourly/2026/03/14/15.json');
    expect(spot.entries).toHaveLength(JSON.parse(realHourly).length);
    // The newest entry per metal, from the real file.
    const real = JSON.parse(realHourly) as HourlySpotEntry[];
    for (const metal of new Set(real.map((e) => e.metal))) {
      const newest = real.filter((e) => e.metal === metal).sort((x, y) => (x.timestamp < y.timestamp ? -1 : 1)).at(-1)!;
      expect(spot.latest[metal]).toEqual({ spot: newest.spot, timestamp: newest.timestamp });
    }
    await eventually(() => slow.dropped.includes(current), 'the losing request is aborted');
  });

  it('invalid JSON or invalid entries on one endpoint are skipped for the other', async () => {
    const garbage = await startServer({ [current]: { body: '[{"spot": 5018.9, "metal": "Gold",' } });
    const zero = await startServer({ [current]: { body: JSON.stringify([{ spot: 0, metal: 'Gold', timestamp: '2026-03-14 15:00:00' }]) } });
    const good = await startServer({ [current]: { body: hourlyFile('good'), delayMs: 150 } });
    const spot = await fetchHourlySpot([`${garbage.origin}/data`, `${zero.origin}/data`, `${good.origin}/data`], { now });
    expect(spot.endpoint).toBe(`${good.origin}/data`);
    expect(spot.entries[0].provider).toBe('good');
  });

  it('every endpoint failing: an AggregateError with one error per endpoint saying why', async () => {
    const down = await closedOrigin();
    const broken = await startServer({ [current]: { status: 500, body: 'boom' } });
    const empty = await startServer({ [current]: { body: '[]' } });
    const endpoints = [`${down}/data`, `${broken.origin}/data`, `${empty.origin}/data`];
    const error = await fetchHourlySpot(endpoints, { now, hoursBack: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AggregateError);
    const errors = (error as AggregateError).errors as EndpointError[];
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => e instanceof EndpointError)).toBe(true);
    expect(errors.map((e) => e.endpoint)).toEqual(endpoints);
    expect(errors[0].message).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(errors[1].message).toMatch(/HTTP 500/);
    expect(errors[2].message).toMatch(/an empty array/);
    // Down and 5xx are not asked again for earlier hours; one that answered (an empty file, then 404s) is.
    expect(errors.map((e) => e.attempts.length)).toEqual([1, 1, 3]);
    expect(empty.requests).toEqual([current, previous, '/data/hourly/2026/03/14/13.json']);
  });

  it('walks back one hour when the current hour file is missing everywhere', async () => {
    const a = await startServer({});
    const b = await startServer({ [previous]: { body: hourlyFile('b-previous') } });
    const spot = await fetchHourlySpot([`${a.origin}/data`, `${b.origin}/data`], { now });
    expect(spot.endpoint).toBe(`${b.origin}/data`);
    expect(spot.path).toBe('hourly/2026/03/14/14.json');
    expect(spot.entries[0].provider).toBe('b-previous');
    expect(a.requests).toEqual([current, previous]);
  });

  it('takes the newest entry of each metal, whatever the order in the file', async () => {
    const entries = [
      { spot: 31.2, metal: 'Silver', timestamp: '2026-03-14 15:30:00' },
      { spot: 31.0, metal: 'Silver', timestamp: '2026-03-14 15:00:00' },
      { spot: 5019.5, metal: 'Gold', timestamp: '2026-03-14 15:15:00' },
    ];
    const a = await startServer({ [current]: { body: JSON.stringify(entries) } });
    const spot = await fetchHourlySpot([`${a.origin}/data`], { now });
    expect(spot.latest).toEqual({ Silver: { spot: 31.2, timestamp: '2026-03-14 15:30:00' }, Gold: { spot: 5019.5, timestamp: '2026-03-14 15:15:00' } });
  });
});

describe('the client is browser-compatible', () => {
  it('imports nothing from node and uses no node globals', async () => {
    const dir = 'src/client';
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const text = await readFile(join(dir, file), 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      expect(imports.every((spec) => spec.startsWith('./')), `${file} imports ${imports.join(', ')}`).toBe(true);
      expect(text, file).not.toMatch(/\b(process|Buffer|require)\s*[.(]/);
    }
  });
});
