// Browser-compatible: only fetch, AbortController, setTimeout and Promise.allSettled; no node: imports.
import { EndpointError, fetchJson, globalFetch, normalizeEndpoints, type FetchLike } from './fetch-json.js';

/** The frontend's health rule: a manifest older than 30 minutes is stale. */
export const DEFAULT_STALE_AFTER_MS = 30 * 60_000;

export interface RetailEndpointsOptions {
  /** Per request (manifest or file), body included. Default 8000 ms. */
  timeoutMs?: number;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Clock (ms) for the staleness of manifests. Default Date.now. */
  now?: () => number;
  /** A manifest older than this ranks after every fresh one. Default 30 minutes. */
  staleAfterMs?: number;
}

/** An endpoint whose manifest was read, with its age. */
export interface RankedEndpoint {
  /** The api base, e.g. `https://api.staktrakr.com/data/api`. */
  endpoint: string;
  generatedAt: string;
  ageMs: number;
  stale: boolean;
  manifest: Record<string, unknown>;
}

export interface RankFailure {
  endpoint: string;
  /** Why its manifest was not usable: unreachable, timeout, HTTP status, not JSON, no `generated_at`. */
  reason: string;
  error: EndpointError;
}

export interface EndpointRanking {
  /** Usable endpoints, best first: fresh before stale, then newest `generated_at`, then the order given. */
  ranked: RankedEndpoint[];
  failures: RankFailure[];
  /** When the ranking was made (the clock's ms). */
  at: number;
}

export interface RetailAnswer<T> {
  endpoint: string;
  url: string;
  data: T;
}

/**
 * The retail API served by several endpoints (GitHub Pages, the pollers' own servers...). `rank()` reads every
 * endpoint's `manifest.json` at once (`Promise.allSettled`, each with the timeout) and ranks them by
 * `generated_at`; `get(path)` reads a file from the cached winner and, when that fails, ranks again without
 * it and asks the next one.
 */
export class RetailEndpoints {
  readonly endpoints: ReadonlyArray<string>;
  private readonly timeoutMs: number;
  private readonly fetch: FetchLike;
  private readonly now: () => number;
  private readonly staleAfterMs: number;
  private cachedWinner: string | null = null;
  private lastRanking: EndpointRanking | null = null;
  private firstRanking: Promise<EndpointRanking> | null = null;

  constructor(endpoints: ReadonlyArray<string>, options: RetailEndpointsOptions = {}) {
    this.endpoints = normalizeEndpoints(endpoints, 'retail endpoints');
    this.timeoutMs = positive(options.timeoutMs ?? 8000, 'timeoutMs');
    this.fetch = options.fetch ?? globalFetch;
    this.now = options.now ?? (() => Date.now());
    this.staleAfterMs = positive(options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS, 'staleAfterMs');
  }

  /** The endpoint `get` asks first; null before the first ranking or when none was usable. */
  get winner(): string | null {
    return this.cachedWinner;
  }

  /** The last ranking made, or null. */
  get ranking(): EndpointRanking | null {
    return this.lastRanking;
  }

  /** Reads every manifest (except `exclude`d endpoints), ranks them and caches the best as the winner. */
  async rank(options: { exclude?: Iterable<string> } = {}): Promise<EndpointRanking> {
    const excluded = new Set(options.exclude ?? []);
    const asked = this.endpoints.filter((e) => !excluded.has(e));
    const settled = await Promise.allSettled(asked.map((endpoint) => this.readManifest(endpoint)));
    const at = this.now();
    const ranked: RankedEndpoint[] = [];
    const failures: RankFailure[] = [];
    settled.forEach((outcome, i) => {
      const endpoint = asked[i];
      if (outcome.status === 'fulfilled') {
        const { generatedAt, ms, manifest } = outcome.value;
        const ageMs = at - ms;
        ranked.push({ endpoint, generatedAt, ageMs, stale: ageMs > this.staleAfterMs, manifest });
      } else {
        const error = outcome.reason instanceof EndpointError ? outcome.reason : new EndpointError(endpoint, [{ url: `${endpoint}/manifest.json`, kind: 'network', reason: String(outcome.reason) }]);
        failures.push({ endpoint, reason: error.message, error });
      }
    });
    // Array sort is stable: equal freshness keeps the order given.
    ranked.sort((a, b) => Number(a.stale) - Number(b.stale) || a.ageMs - b.ageMs);
    const ranking = { ranked, failures, at };
    this.lastRanking = ranking;
    this.cachedWinner = ranked[0]?.endpoint ?? null;
    return ranking;
  }

  /**
   * `path` (e.g. `ase/latest.json`) parsed as JSON, from the winner (ranking first if there is none). When the
   * winner fails, ranks again without the endpoints that failed in this call and asks the new winner, until one
   * answers; rejects with an AggregateError of every failure when none does.
   */
  async get<T = unknown>(path: string): Promise<RetailAnswer<T>> {
    const relative = typeof path === 'string' ? path.replace(/^\/+/, '') : '';
    if (relative === '' || relative.split('/').some((part) => part === '..' || part === '.')) {
      throw new TypeError(`path ${JSON.stringify(path)} must be a file under the api base, e.g. ase/latest.json`);
    }
    const failed = new Set<string>();
    const errors: EndpointError[] = [];
    let endpoint = this.cachedWinner ?? (await this.rankOnce()).ranked[0]?.endpoint ?? null;
    while (endpoint !== null) {
      const url = `${endpoint}/${relative}`;
      try {
        return { endpoint, url, data: (await fetchJson(endpoint, url, { fetch: this.fetch, timeoutMs: this.timeoutMs })) as T };
      } catch (err) {
        errors.push(err instanceof EndpointError ? err : new EndpointError(endpoint, [{ url, kind: 'network', reason: String(err) }]));
        failed.add(endpoint);
        endpoint = (await this.rank({ exclude: failed })).ranked[0]?.endpoint ?? null;
      }
    }
    for (const f of this.lastRanking?.failures ?? []) if (!failed.has(f.endpoint)) errors.push(f.error);
    throw new AggregateError(errors, `no retail endpoint answered ${relative}: ${errors.map((e) => `${e.endpoint}: ${e.message}`).join(' | ') || 'no endpoints'}`);
  }

  /** The first ranking, shared by concurrent `get`s so that a page load reads each manifest once. */
  private rankOnce(): Promise<EndpointRanking> {
    this.firstRanking ??= this.rank().finally(() => {
      this.firstRanking = null;
    });
    return this.firstRanking;
  }

  private async readManifest(endpoint: string): Promise<{ generatedAt: string; ms: number; manifest: Record<string, unknown> }> {
    const url = `${endpoint}/manifest.json`;
    const data = await fetchJson(endpoint, url, { fetch: this.fetch, timeoutMs: this.timeoutMs });
    const invalid = (reason: string) => new EndpointError(endpoint, [{ url, kind: 'invalid', reason }]);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid('manifest is not an object');
    const manifest = data as Record<string, unknown>;
    const generatedAt = manifest.generated_at;
    if (typeof generatedAt !== 'string') throw invalid('manifest has no generated_at');
    const ms = isoMs(generatedAt);
    if (ms === null) throw invalid(`generated_at ${JSON.stringify(generatedAt.slice(0, 40))} is not an ISO time`);
    return { generatedAt, ms, manifest };
  }
}

/** An ISO 8601 time with a date and a clock time (Date.parse alone takes "1" for the year 2001). */
function isoMs(text: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

function positive(n: number, name: string): number {
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) throw new TypeError(`${name} must be a number of milliseconds > 0`);
  return n;
}
