import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMetalPriceApi, type FakeMetalPriceApiHandle, type FakeRateFormat } from '../src/fleet/metal-price-api.js';
import { createMetalPriceApiClient, parseRetryAfter, readQuote } from '../src/spot/metal-price-api.js';
import { SPOT_METALS } from '../src/spot/metals.js';
import { SpotApiError } from '../src/spot/spot-api-error.js';

/** A planted key: no message, URL or field of any error may hold it. */
const KEY = 'mpk-PLANTED-7c1e9f44a0b2';
/** Wednesday 2026-03-11 14:37:20 UTC: markets open. */
const NOW = Date.UTC(2026, 2, 11, 14, 37, 20);

let fake: FakeMetalPriceApiHandle;
beforeAll(async () => {
  fake = await startFakeMetalPriceApi({ apiKey: KEY, now: () => NOW, seed: 7 });
});
afterAll(() => fake?.close());
afterEach(() => fake.setFault(null));

const client = (over: { apiKey?: string; timeoutMs?: number; baseUrl?: string } = {}) =>
  createMetalPriceApiClient({ baseUrl: fake.url, apiKey: KEY, ...over });

/** The error a call throws, checked to be a SpotApiError that nowhere holds the key. */
async function failure(call: Promise<unknown>): Promise<SpotApiError> {
  const err = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SpotApiError);
  const e = err as SpotApiError;
  for (const text of [e.message, String(e.stack), e.url ?? '', JSON.stringify(e), String(e)]) {
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(encodeURIComponent(KEY));
  }
  return e;
}

describe('MetalPriceAPI formats', () => {
  it('reads the same USD prices from inverse (XAU), direct (USDXAU) and combined answers', async () => {
    const results = [];
    for (const format of ['inverse', 'direct', 'both'] as FakeRateFormat[]) {
      const server = await startFakeMetalPriceApi({ format, now: () => NOW, seed: 7 });
      try {
        const api = createMetalPriceApiClient({ baseUrl: server.url, apiKey: KEY });
        const latest = await api.latest();
        const day = await api.timeframe('2026-03-09', '2026-03-10');
        const hourly = await api.hourly('Platinum', Date.UTC(2026, 2, 11, 10) / 1000, Date.UTC(2026, 2, 11, 12) / 1000);
        results.push({ latest, day, hourly });
      } finally {
        await server.close();
      }
    }
    const expected = Object.fromEntries(SPOT_METALS.map((m) => [m, fake.spotAt(m, NOW)]));
    for (const r of results) {
      expect(r.latest.prices).toEqual(expected);
      expect(r.latest.rejected).toEqual([]);
      expect(r.latest.providerTimestamp?.toISOString()).toBe('2026-03-11T14:37:00.000Z');
      expect(r.day.map((d) => d.date)).toEqual(['2026-03-09', '2026-03-10']);
      expect(r.day[1].prices.Gold).toBe(fake.spotAt('Gold', Date.UTC(2026, 2, 10, 12)));
      expect(r.hourly.points.map((p) => p.at.toISOString())).toEqual(['2026-03-11T10:00:00.000Z', '2026-03-11T11:00:00.000Z', '2026-03-11T12:00:00.000Z']);
      expect(r.hourly.points[1].spot).toBe(fake.spotAt('Platinum', Date.UTC(2026, 2, 11, 11)));
    }
    // Cents, around the fleet's DEFAULT_SPOT (gold 5000, silver 85, platinum 2200, palladium 1700).
    expect(Math.abs(results[0].latest.prices.Gold! - 5000)).toBeLessThan(25);
    expect(Math.abs(results[0].latest.prices.Silver! - 85)).toBeLessThan(1);
    expect(Number.isInteger(Math.round(results[0].latest.prices.Silver! * 100))).toBe(true);
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('prefers the direct USDXAU value when both are given, inverts a bare XAU, and rounds to cents', () => {
    expect(readQuote({ XAU: 1 / 4000, USDXAU: 5012.345 }).prices.Gold).toBe(5012.35);
    expect(readQuote({ XAG: 0.0125 }).prices.Silver).toBe(80);
    expect(readQuote({ USD: 1, EUR: 0.9 })).toEqual({ prices: {}, rejected: [] });
    expect(readQuote({ XPT: 0, USDXPD: 'n/a' }).rejected.map((r) => r.metal)).toEqual(['Platinum', 'Palladium']);
  });

  it('asks with base USD, the four codes and the key as api_key only', async () => {
    const before = fake.requests().length;
    await client().latest();
    const [req] = fake.requests().slice(before);
    expect(req).toEqual({ path: '/latest', query: { base: 'USD', currencies: 'XAU,XAG,XPT,XPD' } });
  });
});

describe('MetalPriceAPI errors', () => {
  it('a wrong key (code 101, HTTP 200) is bad-key, not retryable, and says which variable to set', async () => {
    const e = await failure(client({ apiKey: 'mpk-PLANTED-wrong-key-000' }).latest());
    expect(e.kind).toBe('bad-key');
    expect(e.retryable).toBe(false);
    expect(e.code).toBe(101);
    expect(e.message).toContain('METAL_PRICE_API_KEY');
    expect(e.message).not.toContain('mpk-PLANTED-wrong-key-000');
    expect(e.url).toContain('api_key=***');
  });

  it('the {statusCode: 401, message} shape is bad-key too', async () => {
    fake.setFault({ kind: 'bad-key', style: 'statusCode' });
    const e = await failure(client().latest());
    expect([e.kind, e.status, e.code]).toEqual(['bad-key', 401, 401]);
  });

  it('HTTP 429 is rate-limited with Retry-After; quota code 104 is rate-limited', async () => {
    fake.setFault({ kind: 'rate-limited', retryAfterSeconds: 42, count: 1 });
    const e = await failure(client().latest());
    expect([e.kind, e.retryable, e.retryAfterMs]).toEqual(['rate-limited', true, 42_000]);
    expect(e.message).toContain('42 s');
    fake.setFault({ kind: 'rate-limited', style: 'code', count: 1 });
    const q = await failure(client().timeframe('2026-03-02', '2026-03-06'));
    expect([q.kind, q.code]).toEqual(['rate-limited', 104]);
    // Both faults were for one request: the next call works.
    expect((await client().latest()).prices.Gold).toBeGreaterThan(0);
    expect(parseRetryAfter('Wed, 11 Mar 2026 14:38:20 GMT', NOW)).toBe(60_000);
  });

  it('a 500, a closed port and a hung server are unavailable and retryable', async () => {
    fake.setFault({ kind: 'server-error', count: 1 });
    const e500 = await failure(client().latest());
    expect([e500.kind, e500.status, e500.retryable]).toEqual(['unavailable', 500, true]);

    const closedPort = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const down = await failure(client({ baseUrl: `http://127.0.0.1:${closedPort}/v1` }).latest());
    expect([down.kind, down.retryable]).toEqual(['unavailable', true]);
    expect(down.message).toContain('could not reach MetalPriceAPI');

    fake.setFault({ kind: 'hang', count: 1 });
    const hung = await failure(client({ timeoutMs: 300 }).latest());
    expect(hung.kind).toBe('unavailable');
    expect(hung.message).toContain('no answer within 300 ms');
  });

  it('an answer that is not JSON, or of the wrong shape, is bad-answer', async () => {
    fake.setFault({ kind: 'malformed', count: 1 });
    const e = await failure(client().latest());
    expect([e.kind, e.retryable]).toEqual(['bad-answer', false]);
    expect(e.message).toContain('not JSON');
    const unknown = await failure(client({ baseUrl: `${fake.url}/nope` }).latest());
    expect(unknown.kind).toBe('bad-key'); // code 103 (unknown endpoint) is in the key family, as the service documents it
  });

  it('a value out of range is rejected with its reason and the other metals stand', async () => {
    fake.setFault({ kind: 'out-of-range', metal: 'Silver' });
    const latest = await client().latest();
    expect(Object.keys(latest.prices).sort()).toEqual(['Gold', 'Palladium', 'Platinum']);
    expect(latest.rejected).toHaveLength(1);
    expect(latest.rejected[0].metal).toBe('Silver');
    expect(latest.rejected[0].reason).toMatch(/\$1 is outside \$5\.\.\$50,000 per oz/);
    const days = await client().timeframe('2026-03-09', '2026-03-10');
    expect(days.every((d) => d.prices.Silver === undefined && d.prices.Gold !== undefined)).toBe(true);
    // Nothing in range at all is an error.
    const e = await failure(client().hourly('Silver', Date.UTC(2026, 2, 11, 10) / 1000, Date.UTC(2026, 2, 11, 12) / 1000));
    expect(e.kind).toBe('bad-answer');
    expect(e.message).toContain('every value was refused');
  });

  it('refuses a timeframe of more than 365 dates before calling the service', async () => {
    const before = fake.requests().length;
    await expect(client().timeframe('2025-01-01', '2026-01-01')).rejects.toThrow(/366 dates.*at most 365/);
    await expect(client().timeframe('2026-03-10', '2026-03-01')).rejects.toThrow(/after end/);
    expect(fake.requests().length).toBe(before);
    expect(await client().timeframe('2025-01-01', '2025-12-31')).toHaveLength(365);
  });

  it('an empty key is refused at once, naming the variable', () => {
    expect(() => createMetalPriceApiClient({ apiKey: '' })).toThrow(/METAL_PRICE_API_KEY/);
  });
});
