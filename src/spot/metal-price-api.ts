import { z } from 'zod';
import { roundToCents } from '../export/cents.js';
import { METAL_CODES, SPOT_METALS, spotValueProblem, type SpotMetal } from './metals.js';
import { SpotApiError, type SpotApiErrorKind } from './spot-api-error.js';

/** MetalPriceAPI's US server; the EU one is `https://api-eu.metalpriceapi.com/v1`. */
export const DEFAULT_METAL_PRICE_API_URL = 'https://api.metalpriceapi.com/v1';
/** Longest range `/timeframe` serves in one call, in dates (both ends counted). */
export const MAX_TIMEFRAME_DAYS = 365;

export interface MetalPriceApiOptions {
  /** Base URL up to the version, no trailing slash needed. Default DEFAULT_METAL_PRICE_API_URL. */
  baseUrl?: string;
  /** The account key (METAL_PRICE_API_KEY): sent only as the `api_key` query parameter, never shown. */
  apiKey: string;
  /** Limit for one whole call (connect, headers, body). Default 10,000 ms. */
  timeoutMs?: number;
}

/** A value refused by the bounds or the format; the other metals of the answer stand. */
export interface RejectedSpot {
  metal: SpotMetal;
  reason: string;
}

export interface SpotQuote {
  /** USD per troy oz, rounded to cents, for each metal the answer held in range. */
  prices: Partial<Record<SpotMetal, number>>;
  rejected: RejectedSpot[];
}

export interface LatestSpot extends SpotQuote {
  /** When the provider last updated its rates (`timestamp`); it stands still while markets are closed. */
  providerTimestamp: Date | null;
}

export interface DailySpot extends SpotQuote {
  /** `YYYY-MM-DD`. */
  date: string;
}

export interface HourlySpot {
  metal: SpotMetal;
  /** One point per hour the provider had, oldest first. */
  points: Array<{ at: Date; spot: number }>;
  rejected: Array<{ at: Date; reason: string }>;
}

export interface MetalPriceApiClient {
  /** Current spot of the four metals (`/latest`). */
  latest(): Promise<LatestSpot>;
  /** Daily spot from startDate to endDate (`YYYY-MM-DD`, both included, at most 365 dates; refused before any call). */
  timeframe(startDate: string, endDate: string): Promise<DailySpot[]>;
  /** Hourly spot of one metal between two Unix times in seconds, both included (`/hourly`). */
  hourly(metal: SpotMetal, startUnix: number, endUnix: number): Promise<HourlySpot>;
}

const rates = z.record(z.string(), z.unknown());
const latestAnswer = z.object({ success: z.literal(true), base: z.string().optional(), timestamp: z.number().optional(), rates });
const timeframeAnswer = z.object({ success: z.literal(true), base: z.string().optional(), rates: z.record(z.string().regex(/^\d{4}-\d{2}-\d{2}$/), rates) });
const hourlyAnswer = z.object({
  success: z.literal(true),
  base: z.string().optional(),
  currency: z.string().optional(),
  rates: z.array(z.object({ timestamp: z.number(), rates })),
});
// Both error shapes the service has used: {code, type, info} and {statusCode, message}.
const errorAnswer = z.object({
  success: z.literal(false),
  error: z
    .object({ code: z.coerce.number().optional(), statusCode: z.coerce.number().optional(), type: z.string().optional(), info: z.string().optional(), message: z.string().optional() })
    .optional(),
});

const BAD_KEY_CODES = new Set([101, 102, 103, 401, 403]);
const RATE_LIMIT_CODES = new Set([104, 105, 106, 429]);
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

/** A MetalPriceAPI client for USD spot of gold, silver, platinum and palladium, whatever format the service answers in. */
export function createMetalPriceApiClient(options: MetalPriceApiOptions): MetalPriceApiClient {
  const { apiKey, timeoutMs = 10_000 } = options;
  const baseUrl = (options.baseUrl ?? DEFAULT_METAL_PRICE_API_URL).replace(/\/+$/, '');
  if (typeof apiKey !== 'string' || apiKey.trim() === '') {
    throw new SpotApiError('bad-key', 'no MetalPriceAPI key: set METAL_PRICE_API_KEY to the key of your metalpriceapi.com account');
  }
  if (!/^https?:\/\//.test(baseUrl)) throw new Error(`MetalPriceAPI base URL must start with http:// or https://, got ${JSON.stringify(baseUrl)}`);
  const secrets = [apiKey];
  const fail = (kind: SpotApiErrorKind, message: string, details: ConstructorParameters<typeof SpotApiError>[2] = {}) =>
    new SpotApiError(kind, message, details, secrets);

  async function call(path: string, params: Record<string, string>): Promise<unknown> {
    const url = new URL(`${baseUrl}${path}`);
    url.searchParams.set('api_key', apiKey);
    url.searchParams.set('base', 'USD');
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const shown = shownUrl(url);
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      // One signal for the headers and the body: a server that stalls mid-body is cut off too.
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e?.name === 'TimeoutError' || e?.name === 'AbortError') {
        throw fail('unavailable', `MetalPriceAPI gave no answer within ${timeoutMs} ms (${shown}); it is retried`, { url: shown });
      }
      const why = e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
      throw fail('unavailable', `could not reach MetalPriceAPI at ${shown}: ${why}; it is retried`, { url: shown });
    }
    const body = parseJson(text);
    const error = errorAnswer.safeParse(body);
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(retryAfter);
      const when = retryAfterMs === undefined ? 'later' : `in ${Math.ceil(retryAfterMs / 1000)} s`;
      throw fail('rate-limited', `MetalPriceAPI rate limit reached (HTTP 429, ${shown}): try again ${when}, or raise the plan's quota`, { status, retryAfterMs, url: shown });
    }
    if (error.success) {
      const code = error.data.error?.code ?? error.data.error?.statusCode;
      const info = (error.data.error?.info ?? error.data.error?.message ?? error.data.error?.type ?? 'no reason given').slice(0, 200);
      throw classified(code ?? status, `${info} (HTTP ${status}, code ${code ?? 'none'}, ${shown})`, status, shown);
    }
    if (status >= 400) throw classified(status, `HTTP ${status} (${shown}): ${describeBody(text)}`, status, shown);
    if (body === undefined) throw fail('bad-answer', `MetalPriceAPI answered with something that is not JSON (${shown}): ${describeBody(text)}`, { status, url: shown });
    return body;
  }

  function classified(code: number, detail: string, status: number, shown: string): SpotApiError {
    if (BAD_KEY_CODES.has(code)) {
      return fail('bad-key', `MetalPriceAPI refused the key: ${detail}; set METAL_PRICE_API_KEY to the key of an active metalpriceapi.com account`, { status, code, url: shown });
    }
    if (RATE_LIMIT_CODES.has(code)) {
      return fail('rate-limited', `MetalPriceAPI quota or rate limit reached: ${detail}; wait for the quota to renew or raise the plan`, { status, code, url: shown });
    }
    if (code >= 500 && code < 600) return fail('unavailable', `MetalPriceAPI is failing: ${detail}; it is retried`, { status, code, url: shown });
    return fail('bad-answer', `MetalPriceAPI refused the request: ${detail}`, { status, code, url: shown });
  }

  function shape<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
    const r = schema.safeParse(body);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw fail('bad-answer', `MetalPriceAPI ${what} answer has an unexpected shape: ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    }
    const base = (r.data as { base?: string }).base;
    if (base !== undefined && base !== 'USD') throw fail('bad-answer', `MetalPriceAPI ${what} answer is in base ${base}, not USD`);
    return r.data;
  }

  return {
    async latest() {
      const answer = shape(latestAnswer, await call('/latest', { currencies: allCodes() }), '/latest');
      const quote = readQuote(answer.rates);
      mustHaveValues(quote, '/latest', fail);
      const providerTimestamp = answer.timestamp === undefined ? null : new Date(answer.timestamp * 1000);
      return { ...quote, providerTimestamp };
    },

    async timeframe(startDate, endDate) {
      const days = timeframeDays(startDate, endDate);
      if (days > MAX_TIMEFRAME_DAYS) {
        throw new RangeError(`timeframe ${startDate}..${endDate} spans ${days} dates; MetalPriceAPI serves at most ${MAX_TIMEFRAME_DAYS} a call: split it (catchUpRanges does)`);
      }
      const answer = shape(timeframeAnswer, await call('/timeframe', { start_date: startDate, end_date: endDate, currencies: allCodes() }), '/timeframe');
      const out: DailySpot[] = Object.entries(answer.rates)
        .filter(([date]) => date >= startDate && date <= endDate)
        .map(([date, r]) => ({ date, ...readQuote(r) }))
        .sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
      const rejected = out.flatMap((d) => d.rejected);
      if (rejected.length > 0 && out.every((d) => Object.keys(d.prices).length === 0)) {
        throw fail('bad-answer', `MetalPriceAPI /timeframe ${startDate}..${endDate}: every value was refused (${rejected[0].metal}: ${rejected[0].reason})`);
      }
      return out;
    },

    async hourly(metal, startUnix, endUnix) {
      if (!Number.isInteger(startUnix) || !Number.isInteger(endUnix) || startUnix > endUnix) {
        throw new RangeError(`hourly: expected whole Unix seconds with start <= end, got ${startUnix}..${endUnix}`);
      }
      const code = METAL_CODES[metal];
      const answer = shape(hourlyAnswer, await call('/hourly', { currency: code, start: String(startUnix), end: String(endUnix) }), '/hourly');
      if (answer.currency !== undefined && answer.currency !== code) throw fail('bad-answer', `MetalPriceAPI /hourly answered for ${answer.currency}, asked ${code}`);
      const result: HourlySpot = { metal, points: [], rejected: [] };
      for (const entry of [...answer.rates].sort((a, b) => a.timestamp - b.timestamp)) {
        const at = new Date(entry.timestamp * 1000);
        const v = readValue(entry.rates, metal);
        if (v === null) continue;
        if ('reason' in v) result.rejected.push({ at, reason: v.reason });
        else result.points.push({ at, spot: v.spot });
      }
      if (result.points.length === 0 && result.rejected.length > 0) {
        throw fail('bad-answer', `MetalPriceAPI /hourly ${code}: every value was refused (${result.rejected[0].reason})`);
      }
      return result;
    },
  };
}

function allCodes(): string {
  return SPOT_METALS.map((m) => METAL_CODES[m]).join(',');
}

/**
 * One metal's USD per oz from a rates object: `USDXAU` is USD per oz (direct), a bare `XAU` is oz per USD (inverted);
 * when both are there the direct one wins (no rounding through the inverse). Null when the metal is absent.
 */
export function readValue(r: Record<string, unknown>, metal: SpotMetal): { spot: number } | { reason: string } | null {
  const code = METAL_CODES[metal];
  const direct = r[`USD${code}`];
  const inverse = r[code];
  let value: number;
  if (direct !== undefined && direct !== null) {
    if (typeof direct !== 'number' || !Number.isFinite(direct)) return { reason: `USD${code} is not a number (${JSON.stringify(direct)})` };
    value = direct;
  } else if (inverse !== undefined && inverse !== null) {
    if (typeof inverse !== 'number' || !Number.isFinite(inverse) || inverse <= 0) return { reason: `${code} is not a positive number (${JSON.stringify(inverse)})` };
    value = 1 / inverse;
  } else {
    return null;
  }
  const spot = roundToCents(value);
  const problem = spotValueProblem(spot);
  return problem ? { reason: `${metal} ${problem}` } : { spot };
}

/** The four metals of one rates object, each kept or refused on its own. */
export function readQuote(r: Record<string, unknown>): SpotQuote {
  const quote: SpotQuote = { prices: {}, rejected: [] };
  for (const metal of SPOT_METALS) {
    const v = readValue(r, metal);
    if (v === null) continue;
    if ('reason' in v) quote.rejected.push({ metal, reason: v.reason });
    else quote.prices[metal] = v.spot;
  }
  return quote;
}

function mustHaveValues(quote: SpotQuote, what: string, fail: (k: SpotApiErrorKind, m: string) => SpotApiError): void {
  if (Object.keys(quote.prices).length > 0) return;
  if (quote.rejected.length === 0) throw fail('bad-answer', `MetalPriceAPI ${what} answer holds none of ${allCodes()}`);
  throw fail('bad-answer', `MetalPriceAPI ${what}: every value was refused (${quote.rejected.map((r) => r.reason).join('; ')})`);
}

/** Dates from start to end, both counted; throws RangeError for a malformed or reversed range. */
function timeframeDays(start: string, end: string): number {
  const a = dateMs(start);
  const b = dateMs(end);
  if (a === null || b === null) throw new RangeError(`timeframe: expected dates as YYYY-MM-DD, got ${JSON.stringify(start)}..${JSON.stringify(end)}`);
  if (b < a) throw new RangeError(`timeframe: start ${start} is after end ${end}`);
  return Math.round((b - a) / DAY_MS) + 1;
}

function dateMs(date: string): number | null {
  if (!DATE.test(date)) return null;
  const ms = Date.parse(`${date}T00:00:00Z`);
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === date ? ms : null;
}

/** The URL for messages: the key replaced by `***`. */
function shownUrl(url: URL): string {
  const copy = new URL(url);
  copy.searchParams.set('api_key', '***');
  return copy.toString();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Retry-After in ms: seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

function describeBody(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > 120 ? `${JSON.stringify(flat.slice(0, 117))}...` : JSON.stringify(flat);
}
