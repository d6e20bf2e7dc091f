import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CATALOGUE_METAL, METAL_CODES, SPOT_METALS, metalOfCode, type SpotMetal } from '../spot/metals.js';
import { DEFAULT_SPOT, spotQuote, windowIndex, type SpotPrices } from './price-model.js';

/**
 * A local stand-in for MetalPriceAPI (`/v1/latest`, `/v1/timeframe`, `/v1/hourly`), speaking its protocol in
 * either of the formats the service has used, with switchable faults. Spot wobbles per 15-minute window exactly as
 * the fleet's header tickers do (spotQuote), so it agrees with the dealer pages; markets are closed (flat values,
 * a provider timestamp that stands still) from Friday 21:00 to Sunday 22:00 UTC.
 */

/** How rates are written: `inverse` (`XAU`: oz per USD), `direct` (`USDXAU`: USD per oz) or both, as the live service. */
export type FakeRateFormat = 'inverse' | 'direct' | 'both';

export type FakeSpotFaultKind = 'rate-limited' | 'bad-key' | 'server-error' | 'out-of-range' | 'malformed' | 'hang';

export interface FakeSpotFault {
  kind: FakeSpotFaultKind;
  /** For this many requests, then cleared by itself. Default: until setFault(null). */
  count?: number;
  /**
   * Error shape: `code` answers HTTP 200 with `{success:false, error:{code, type, info}}` (bad-key 101, rate-limited 104);
   * `statusCode` answers the HTTP status with `{success:false, error:{statusCode, message}}` (401, 429 + Retry-After).
   * Default: `code` for bad-key, `statusCode` for rate-limited.
   */
  style?: 'code' | 'statusCode';
  /** Retry-After of `rate-limited`, in seconds. Default 30. */
  retryAfterSeconds?: number;
  /** The metal `out-of-range` answers at $1. Default Silver. */
  metal?: SpotMetal;
}

export interface FakeMetalPriceApiOptions {
  /** Default 0: a free port. */
  port?: number;
  /** When set, any other key gets error 101. Default: every non-empty key is accepted. */
  apiKey?: string;
  /** Default `both`. */
  format?: FakeRateFormat;
  /** Clock in ms. Default Date.now. */
  now?: () => number;
  /** Seed of the wobble (use the fleet's seed for matching tickers). Default 1. */
  seed?: number;
  /** Spot around which prices wobble, USD per oz; missing metals keep the fleet's DEFAULT_SPOT. */
  spot?: Partial<Pick<SpotPrices, 'gold' | 'silver' | 'platinum' | 'palladium'>>;
}

export interface FakeRequest {
  /** Endpoint path after `/v1`, e.g. `/timeframe`. */
  path: string;
  /** Query parameters except `api_key`. */
  query: Record<string, string>;
}

export interface FakeMetalPriceApiHandle {
  /** Base URL with the version, e.g. `http://127.0.0.1:40123/v1`. */
  url: string;
  port: number;
  close(): Promise<void>;
  setFault(fault: FakeSpotFault | null): void;
  /** Every request so far, oldest first. */
  requests(): FakeRequest[];
  /** The USD per oz the fake serves for a metal at a time (as `/latest` would then). */
  spotAt(metal: SpotMetal, atMs: number): number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const MAX_TIMEFRAME_DAYS = 365;

/** Friday 21:00 UTC to Sunday 22:00 UTC: the metals markets do not trade. */
export function marketClosedAt(ms: number): boolean {
  const d = new Date(ms);
  const day = d.getUTCDay();
  const hour = d.getUTCHours();
  return (day === 5 && hour >= 21) || day === 6 || (day === 0 && hour < 22);
}

/** The instant prices stood still at, when markets are closed: the Friday 21:00 UTC before `ms`. */
function closeOf(ms: number): number {
  const d = new Date(ms);
  const back = (d.getUTCDay() + 7 - 5) % 7; // days since Friday
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - back, 21);
}

export async function startFakeMetalPriceApi(options: FakeMetalPriceApiOptions = {}): Promise<FakeMetalPriceApiHandle> {
  const { port = 0, apiKey, format = 'both', now = Date.now, seed = 1 } = options;
  const spot: SpotPrices = { ...DEFAULT_SPOT, ...options.spot };
  let fault: (FakeSpotFault & { left: number }) | null = null;
  const log: FakeRequest[] = [];
  const hung = new Set<ServerResponse>();

  /** Prices and provider time at an instant: the last open window's while markets are closed. */
  function marketAt(ms: number): { at: number; window: number } {
    const at = marketClosedAt(ms) ? closeOf(ms) : ms;
    return { at, window: windowIndex(marketClosedAt(ms) ? at - 1 : at) };
  }

  function spotAt(metal: SpotMetal, ms: number): number {
    return spotQuote(seed, CATALOGUE_METAL[metal], spot, marketAt(ms).window).price;
  }

  function ratesFor(codes: SpotMetal[], ms: number, outOfRange: SpotMetal | null): Record<string, number> {
    const rates: Record<string, number> = {};
    for (const metal of codes) {
      const usd = metal === outOfRange ? 1 : spotAt(metal, ms);
      const code = METAL_CODES[metal];
      if (format !== 'direct') rates[code] = 1 / usd;
      if (format !== 'inverse') rates[`USD${code}`] = usd;
    }
    return rates;
  }

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, { success: false, error: { statusCode: 500, message: 'fake failed' } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname.replace(/^\/v1(?=\/)/, '');
    const query = Object.fromEntries([...url.searchParams].filter(([k]) => k !== 'api_key'));
    log.push({ path, query });

    const active = fault;
    if (active) {
      active.left--;
      if (active.left <= 0) fault = null;
    }
    if (active?.kind === 'hang') {
      hung.add(res);
      res.once('close', () => hung.delete(res));
      return;
    }
    if (active?.kind === 'server-error') return sendText(res, 500, 'Internal Server Error', 'text/plain');
    if (active?.kind === 'malformed') return sendText(res, 200, '<html><body>Service temporarily unavailable</body></html>', 'text/html');
    if (active?.kind === 'rate-limited') {
      if ((active.style ?? 'statusCode') === 'code') return send(res, 200, { success: false, error: { code: 104, type: 'monthly_limit_reached', info: 'Your monthly API request volume has been reached. Please upgrade your plan.' } });
      res.setHeader('retry-after', String(active.retryAfterSeconds ?? 30));
      return send(res, 429, { success: false, error: { statusCode: 429, message: 'Too many requests' } });
    }
    const key = url.searchParams.get('api_key');
    if (active?.kind === 'bad-key' || !key || (apiKey !== undefined && key !== apiKey)) {
      if ((active?.style ?? 'code') === 'statusCode') return send(res, 401, { success: false, error: { statusCode: 401, message: 'Invalid API Key.' } });
      return send(res, 200, { success: false, error: { code: 101, type: 'invalid_access_key', info: 'You have not supplied a valid API Access Key.' } });
    }
    if (url.searchParams.get('base') && url.searchParams.get('base') !== 'USD') {
      return send(res, 200, { success: false, error: { code: 201, type: 'invalid_base_currency', info: 'Only base USD is served by this fake.' } });
    }
    const outOfRange = active?.kind === 'out-of-range' ? (active.metal ?? 'Silver') : null;
    const nowMs = now();

    if (path === '/latest') {
      const metals = requestedMetals(url.searchParams.get('currencies'));
      const { at } = marketAt(nowMs);
      // The live service moves its timestamp every minute while markets trade.
      const timestamp = Math.floor((marketClosedAt(nowMs) ? at : Math.floor(at / 60_000) * 60_000) / 1000);
      return send(res, 200, { success: true, base: 'USD', timestamp, rates: ratesFor(metals, nowMs, outOfRange) });
    }
    if (path === '/timeframe') {
      const start = url.searchParams.get('start_date') ?? '';
      const end = url.searchParams.get('end_date') ?? '';
      const a = Date.parse(`${start}T00:00:00Z`);
      const b = Date.parse(`${end}T00:00:00Z`);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || !/^\d{4}-\d{2}-\d{2}$/.test(end) || !Number.isFinite(a) || !Number.isFinite(b) || b < a) {
        return send(res, 200, { success: false, error: { code: 202, type: 'invalid_date', info: 'start_date and end_date must be YYYY-MM-DD, start first.' } });
      }
      if ((b - a) / DAY_MS + 1 > MAX_TIMEFRAME_DAYS) {
        return send(res, 200, { success: false, error: { code: 203, type: 'invalid_timeframe', info: `The timeframe is limited to ${MAX_TIMEFRAME_DAYS} days.` } });
      }
      const metals = requestedMetals(url.searchParams.get('currencies'));
      const rates: Record<string, Record<string, number>> = {};
      for (let d = a; d <= b && d <= nowMs; d += DAY_MS) rates[new Date(d).toISOString().slice(0, 10)] = ratesFor(metals, d + 12 * HOUR_MS, outOfRange);
      return send(res, 200, { success: true, base: 'USD', start_date: start, end_date: end, rates });
    }
    if (path === '/hourly') {
      const metal = metalOfCode(url.searchParams.get('currency') ?? '');
      if (!metal) return send(res, 200, { success: false, error: { code: 202, type: 'invalid_currency', info: 'currency must be one of XAU, XAG, XPT, XPD.' } });
      const span = hourlySpan(url.searchParams);
      if (!span) return send(res, 200, { success: false, error: { code: 202, type: 'invalid_date', info: 'give start and end (Unix seconds) or start_date and end_date.' } });
      const rates: Array<{ timestamp: number; rates: Record<string, number> }> = [];
      for (let t = Math.ceil(span.from / HOUR_MS) * HOUR_MS; t <= span.to && t <= nowMs; t += HOUR_MS) {
        rates.push({ timestamp: t / 1000, rates: ratesFor([metal], t, outOfRange) });
      }
      return send(res, 200, { success: true, base: 'USD', currency: METAL_CODES[metal], rates });
    }
    return send(res, 404, { success: false, error: { code: 103, type: 'invalid_endpoint', info: 'The requested endpoint does not exist.' } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${actual}/v1`,
    port: actual,
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    setFault(next) {
      fault = next ? { ...next, left: next.count ?? Number.POSITIVE_INFINITY } : null;
    },
    requests: () => log.map((r) => ({ path: r.path, query: { ...r.query } })),
    spotAt,
  };
}

function requestedMetals(currencies: string | null): SpotMetal[] {
  if (!currencies) return [...SPOT_METALS];
  return currencies.split(',').map((c) => metalOfCode(c.trim())).filter((m): m is SpotMetal => m !== null);
}

function hourlySpan(q: URLSearchParams): { from: number; to: number } | null {
  const start = q.get('start');
  const end = q.get('end');
  if (start && end && /^\d+$/.test(start) && /^\d+$/.test(end)) return { from: Number(start) * 1000, to: Number(end) * 1000 };
  const sd = Date.parse(`${q.get('start_date')}T00:00:00Z`);
  const ed = Date.parse(`${q.get('end_date')}T00:00:00Z`);
  if (Number.isFinite(sd) && Number.isFinite(ed)) return { from: sd, to: ed + DAY_MS - HOUR_MS };
  return null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON.stringify(body), 'application/json');
}

function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
