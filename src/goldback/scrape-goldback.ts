/**
 * One scrape of the official Goldback rate: fetch the configured page through the HTTP tier, read the G1 rate,
 * check it against the goldback coins' retail prices, store it as the day's rate. What a daily job calls.
 */
import { performance } from 'node:perf_hooks';
import type { Client } from '@libsql/client';
import { redactText, redactUrl } from '../secrets.js';
import { fetchPage, isFetchError, type FetchedPage, type HttpFetchOptions } from '../scrape/fetch/http-fetch.js';
import { isoTimestamp } from '../time/window.js';
import { checkAgainstRetail, type GoldbackConfidence } from './goldback-check.js';
import { readGoldbackRate } from './goldback-rate.js';
import { ensureGoldbackSchema, recordGoldbackRate } from './goldback-store.js';

/** The official page ("Exchange Rate - One Goldback $..."), which an operator points the feed at unless configured otherwise. */
export const DEFAULT_GOLDBACK_RATE_URL = 'https://goldback.com/exchange-rate';

export interface ScrapeGoldbackOptions {
  /** The page that states the official rate, e.g. DEFAULT_GOLDBACK_RATE_URL (the local fleet's in the demo and tests). */
  url: string;
  /** HTTP tier settings (proxy, user agent, timeout, size cap, redirects). Default: fetchPage's defaults. */
  fetchOptions?: HttpFetchOptions;
  /** The database: retail prices are read from it and the rate is stored in it. */
  client: Client;
  /** The catalogue's goldback coin slugs, for the retail check. Default: every slug containing `goldback`. */
  slugs?: readonly string[];
  /** Notes per unit by slug (the catalogue's goldback `weight_oz`). Default: from the slug's `-gN`, else 1. */
  notesPerUnit?: Readonly<Record<string, number>>;
  /** Time of the scrape: its UTC day is the row's date. Default: now. */
  now?: Date | number;
  /** Gold spot in USD per troy ounce, when known: the rate must then be 0.5x..5x a G1's melt value. */
  goldSpot?: number | null;
  /** Published as `source`. Default: the host name of the page read, without `www.` (e.g. `goldback.com`). */
  source?: string;
  /** Hours of retail prices the check compares with. Default 48. */
  retailWindowHours?: number;
  /** Replaces the HTTP tier (the benchmark's zero-cost runs). Default fetchPage. */
  fetch?: (url: string, options: HttpFetchOptions) => Promise<FetchedPage>;
}

/** What a job reports after a scrape that stored a rate. */
export interface GoldbackScrapeSummary {
  /** UTC day stored, `YYYY-MM-DD`. */
  date: string;
  g1Usd: number;
  confidence: GoldbackConfidence;
  /** Why the confidence is not high; null when it is. */
  reason: string | null;
  /** Where on the page the rate was read. */
  evidence: string;
  source: string;
  /** Median retail price per G1 it was compared with, or null when there was none. */
  medianRetailPerG1: number | null;
  /** Duration of fetch, read, check and store, in ms. */
  ms: number;
}

/** Why a scrape stored nothing: `fetch` (no response), `http` (an error status), `no_rate` (no readable rate). */
export type GoldbackScrapeFailure = 'fetch' | 'http' | 'no_rate';

export class GoldbackScrapeError extends Error {
  constructor(
    readonly kind: GoldbackScrapeFailure,
    message: string,
  ) {
    super(redactText(message));
    this.name = 'GoldbackScrapeError';
  }
}

/** The host a rate came from, as published: `www.goldback.com` -> `goldback.com`. */
export function sourceHost(url: string): string {
  return new URL(url).hostname.replace(/^www\./, '');
}

/**
 * Fetches, reads, checks and stores the day's Goldback rate; a re-scrape the same day replaces the day's row.
 * Throws GoldbackScrapeError (nothing stored) when the page cannot be fetched, answers an error status, or
 * states no readable rate of one Goldback; the message says which and why.
 */
export async function scrapeGoldbackRate(options: ScrapeGoldbackOptions): Promise<GoldbackScrapeSummary> {
  const started = performance.now();
  const shown = redactUrl(options.url);
  const fetcher = options.fetch ?? fetchPage;
  let page: FetchedPage;
  try {
    page = await fetcher(options.url, options.fetchOptions ?? {});
  } catch (err) {
    const why = isFetchError(err) ? `${err.kind}: ${err.message}` : String((err as Error)?.message ?? err);
    throw new GoldbackScrapeError('fetch', `Goldback rate page ${shown} could not be fetched (${why}); check the URL and the network, the next daily run retries`);
  }
  if (page.status >= 400 && ![401, 403, 404, 410, 429].includes(page.status)) {
    throw new GoldbackScrapeError('http', `Goldback rate page ${shown} answered HTTP ${page.status}; the next daily run retries`);
  }
  const reading = readGoldbackRate(page.body, { goldSpotUsdPerOz: options.goldSpot, status: page.status });
  if (!reading.ok) {
    throw new GoldbackScrapeError(
      page.status >= 400 ? 'http' : 'no_rate',
      `no Goldback rate read from ${shown} (HTTP ${page.status}): ${reading.reason}; if the page changed, point the feed at the page that states the rate of one Goldback`,
    );
  }
  const at = options.now ?? Date.now();
  const scrapedAt = isoTimestamp(at);
  const check = await checkAgainstRetail(options.client, reading.g1Usd, {
    now: at,
    windowHours: options.retailWindowHours,
    slugs: options.slugs,
    notesPerUnit: options.notesPerUnit,
  });
  const source = options.source ?? sourceHost(page.url || options.url);
  await ensureGoldbackSchema(options.client);
  const date = scrapedAt.slice(0, 10);
  await recordGoldbackRate(options.client, { date, g1_usd: reading.g1Usd, scraped_at: scrapedAt, source, confidence: check.confidence, reason: check.reason });
  return {
    date,
    g1Usd: reading.g1Usd,
    confidence: check.confidence,
    reason: check.reason,
    evidence: reading.evidence,
    source,
    medianRetailPerG1: check.medianRetailPerG1,
    ms: Math.round(performance.now() - started),
  };
}
