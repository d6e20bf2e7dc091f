// Browser-compatible: only fetch, AbortController, setTimeout and Promise.any; no node: imports.
import { EndpointError, fetchJson, globalFetch, normalizeEndpoints, type EndpointAttempt, type FetchLike } from './fetch-json.js';

const HOUR_MS = 3_600_000;

/** One entry of an hourly spot file (`hourly/YYYY/MM/DD/HH.json`). */
export interface HourlySpotEntry {
  spot: number;
  /** `Gold`, `Silver`, `Platinum`, `Palladium`. */
  metal: string;
  /** Naive UTC `YYYY-MM-DD HH:MM:SS`. */
  timestamp: string;
  source?: string;
  provider?: string;
}

export interface HourlySpot {
  /** The data base that answered first, e.g. `https://api.staktrakr.com/data`. */
  endpoint: string;
  /** The file read, relative to the base: `hourly/2026/03/14/15.json`. */
  path: string;
  url: string;
  entries: HourlySpotEntry[];
  /** The newest entry of each metal. */
  latest: Record<string, { spot: number; timestamp: string }>;
}

export interface HourlySpotOptions {
  /** Clock (ms). Default Date.now. */
  now?: () => number;
  /** Hours to walk back when no endpoint has the current hour's file: 24 means 25 files at most. Default 24. */
  hoursBack?: number;
  /** Per request, body included. Default 5000 ms. */
  timeoutMs?: number;
  /** Default: the global fetch. */
  fetch?: FetchLike;
}

/** `hourly/YYYY/MM/DD/HH.json` of the UTC hour holding `ms`. */
export function hourlyPath(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-03-14T15:42:00.000Z
  return `hourly/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}.json`;
}

/**
 * The spot prices of the current UTC hour from whichever endpoint answers first with a valid file
 * (`Promise.any`: a slow or broken endpoint costs nothing while another answers). When no endpoint has a
 * valid file for that hour, the hour before, up to `hoursBack`. An endpoint that cannot be reached (network
 * error, timeout, HTTP 5xx) is not asked again for earlier hours. Rejects with an AggregateError holding one
 * EndpointError per endpoint, whose `attempts` say what each URL answered.
 */
export async function fetchHourlySpot(endpoints: ReadonlyArray<string>, options: HourlySpotOptions = {}): Promise<HourlySpot> {
  const { now = () => Date.now(), hoursBack = 24, timeoutMs = 5000, fetch = globalFetch } = options;
  const bases = normalizeEndpoints(endpoints, 'hourly spot endpoints');
  if (!Number.isInteger(hoursBack) || hoursBack < 0) throw new TypeError('hoursBack must be a whole number of hours, 0 or more');
  const attempts = new Map<string, EndpointAttempt[]>(bases.map((b) => [b, []]));
  const currentHour = Math.floor(now() / HOUR_MS) * HOUR_MS;
  let asking = bases;

  for (let back = 0; back <= hoursBack && asking.length > 0; back++) {
    const path = hourlyPath(currentHour - back * HOUR_MS);
    const round = new AbortController();
    try {
      const winner = await Promise.any(
        asking.map(async (endpoint) => {
          const url = `${endpoint}/${path}`;
          const data = await fetchJson(endpoint, url, { fetch, timeoutMs, signal: round.signal });
          const parsed = parseHourlyEntries(data);
          if (typeof parsed === 'string') throw new EndpointError(endpoint, [{ url, kind: 'invalid', reason: parsed }]);
          return { endpoint, url, entries: parsed };
        }),
      );
      round.abort(); // the others' answers are no longer needed
      return { endpoint: winner.endpoint, path, url: winner.url, entries: winner.entries, latest: latestByMetal(winner.entries) };
    } catch (err) {
      const failures = err instanceof AggregateError ? err.errors : [err];
      for (const failure of failures) if (failure instanceof EndpointError) attempts.get(failure.endpoint)?.push(...failure.attempts);
      // Walking back helps only where the server answered (a missing or broken file), not where it is down.
      asking = asking.filter((endpoint) => answered(attempts.get(endpoint)!.at(-1)));
    }
  }
  const errors = bases.map((endpoint) => new EndpointError(endpoint, attempts.get(endpoint)!, summary(endpoint, attempts.get(endpoint)!)));
  const oldest = hourlyPath(currentHour - hoursBack * HOUR_MS);
  throw new AggregateError(errors, `no valid hourly spot file on any of ${bases.length} endpoints from ${hourlyPath(currentHour)} back to ${oldest}: ${errors.map((e) => e.message).join(' | ')}`);
}

/** The entries when `data` is a non-empty array of valid entries; otherwise why not. */
export function parseHourlyEntries(data: unknown): HourlySpotEntry[] | string {
  if (!Array.isArray(data)) return `expected an array of spot entries, got ${data === null ? 'null' : typeof data}`;
  if (data.length === 0) return 'an empty array';
  const entries: HourlySpotEntry[] = [];
  for (let i = 0; i < data.length; i++) {
    const e = data[i] as Record<string, unknown> | null;
    if (typeof e !== 'object' || e === null) return `entry ${i} is not an object`;
    if (typeof e.spot !== 'number' || !Number.isFinite(e.spot) || e.spot <= 0) return `entry ${i}: spot must be a number > 0`;
    if (typeof e.metal !== 'string' || e.metal.trim() === '') return `entry ${i}: metal must be a name`;
    if (typeof e.timestamp !== 'string' || timestampMs(e.timestamp) === null) return `entry ${i}: timestamp must be a UTC time like 2026-03-14 15:00:00`;
    entries.push({
      spot: e.spot,
      metal: e.metal,
      timestamp: e.timestamp,
      ...(typeof e.source === 'string' ? { source: e.source } : {}),
      ...(typeof e.provider === 'string' ? { provider: e.provider } : {}),
    });
  }
  return entries;
}

/** The newest entry of each metal; of two with the same time, the later in the file. */
export function latestByMetal(entries: ReadonlyArray<HourlySpotEntry>): Record<string, { spot: number; timestamp: string }> {
  const latest: Record<string, { spot: number; timestamp: string; ms: number }> = {};
  for (const e of entries) {
    const ms = timestampMs(e.timestamp)!;
    const held = latest[e.metal];
    if (!held || ms >= held.ms) latest[e.metal] = { spot: e.spot, timestamp: e.timestamp, ms };
  }
  return Object.fromEntries(Object.entries(latest).map(([metal, { spot, timestamp }]) => [metal, { spot, timestamp }]));
}

/** Naive UTC `YYYY-MM-DD HH:MM[:SS]` (the contract's form) or ISO with `Z`, as ms; null when it is neither. */
function timestampMs(text: string): number | null {
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z)?$/.exec(text.trim());
  if (!m) return null;
  const ms = Date.parse(`${m[1]}T${m[2]}Z`);
  return Number.isFinite(ms) ? ms : null;
}

function answered(last: EndpointAttempt | undefined): boolean {
  if (!last) return false;
  return last.kind === 'json' || last.kind === 'invalid' || (last.kind === 'http' && (last.status ?? 500) < 500);
}

function summary(endpoint: string, attempts: ReadonlyArray<EndpointAttempt>): string {
  if (attempts.length === 0) return `${endpoint}: not asked`;
  const shown = attempts.slice(0, 3).map((a) => `${a.url.slice(endpoint.length + 1)}: ${a.reason}`);
  const more = attempts.length > 3 ? `; and ${attempts.length - 3} earlier hours` : '';
  return `${endpoint}: ${shown.join('; ')}${more}`;
}
