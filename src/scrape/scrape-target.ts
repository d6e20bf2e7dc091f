import type { Target } from '../catalogue/target.js';
import type { VendorSettings } from '../config/vendors.js';
import { extractPrice } from './extract/extract.js';
import type { ExtractResult } from './extract/types.js';
import { fetchPage, retryAfterMs, isFetchError, type FetchedPage, type HttpFetchOptions } from './fetch/http-fetch.js';
import type { SpotPrices } from '../config/env.js';
import { judgePrice, spotFor } from './sanity.js';

/** What one scrape of a target came to, before it becomes a row. */
export type ScrapeReport =
  /** A page was read: a price (maybe out of stock), or a verdict such as not_found; `final` when retrying cannot help. */
  | {
      kind: 'result';
      result: ExtractResult;
      url: string;
      status: number;
      source: 'http';
      final: boolean;
      /** The price failed the sanity check: stored as a rejected row with this price and reason, never published. */
      rejected?: { price: number; reason: string };
      /** The price passed but jumped against the vendor's previous price or the window's median: stored, marked. */
      flagged?: string;
    }
  /** The vendor said 429: back off the whole vendor queue. */
  | { kind: 'rate_limited'; retryAfterMs: number; url: string }
  /** Transport failure (timeout, reset, 5xx): worth another attempt later. */
  | { kind: 'transient'; reason: string; url: string };

export interface ScrapeDeps {
  vendor: VendorSettings;
  /** Abort the whole scrape (job timeout, shutdown). */
  signal?: AbortSignal;
  /** Replaces the HTTP tier, for the benchmark's zero-cost runs. Default fetchPage. */
  fetch?: (url: string, options: HttpFetchOptions) => Promise<FetchedPage>;
  now?: () => number;
  /** Spot per metal in USD/oz when known (configured, later the spot feed): prices are judged against melt. */
  spot?: SpotPrices;
  /** The vendor's previous price and the window's cross-vendor median, for the jump check. Failures mean "unknown". */
  priceContext?: (target: Target) => Promise<{ previousPrice: number | null; windowMedian: number | null }>;
}

/** Outcomes where another attempt can give a different answer. */
const RETRYABLE = new Set(['blocked', 'no_price']);

/** Fetches each URL of the target in turn and extracts the 1-unit price; the first URL with a price wins. */
export async function scrapeTarget(target: Target, deps: ScrapeDeps): Promise<ScrapeReport> {
  const fetcher = deps.fetch ?? fetchPage;
  let first: ScrapeReport | null = null;
  for (const url of target.urls) {
    const report = await scrapeUrl(url, target, deps, fetcher);
    if (report.kind === 'result' && (report.result.outcome === 'ok' || report.result.outcome === 'out_of_stock')) return report;
    first ??= report;
  }
  return first as ScrapeReport;
}

async function scrapeUrl(url: string, target: Target, deps: ScrapeDeps, fetcher: NonNullable<ScrapeDeps['fetch']>): Promise<ScrapeReport> {
  let page: FetchedPage;
  try {
    deps.signal?.throwIfAborted();
    page = await fetcher(url, {
      proxyUrl: deps.vendor.proxyUrl ?? undefined,
      userAgent: deps.vendor.userAgent ?? undefined,
      timeoutMs: deps.vendor.timeoutMs,
      maxBytes: deps.vendor.maxBytes,
    });
  } catch (err) {
    if (deps.signal?.aborted) throw deps.signal.reason ?? err;
    const reason = isFetchError(err) ? `${err.kind}: ${err.message}` : `fetch failed: ${(err as Error).message}`;
    return { kind: 'transient', reason, url };
  }
  if (page.status === 429) {
    return { kind: 'rate_limited', retryAfterMs: retryAfterMs(page.headers, deps.now?.() ?? Date.now()) ?? 30_000, url };
  }
  if (page.status >= 500) return { kind: 'transient', reason: `HTTP ${page.status} from the vendor`, url };
  const spotUsdPerOz = spotFor(target.metal, deps.spot);
  const result = extractPrice({ html: page.body, status: page.status, url: page.url, vendor: target.vendor, product: target, rules: deps.vendor.rules, spotUsdPerOz });
  const report = { kind: 'result' as const, result, url, status: page.status, source: 'http' as const };
  if (result.rejected) return { ...report, final: true, rejected: { price: result.rejected.price, reason: result.rejected.reason } };
  if (result.price !== null && (result.outcome === 'ok' || result.outcome === 'out_of_stock')) {
    const context = (await deps.priceContext?.(target).catch(() => null)) ?? { previousPrice: null, windowMedian: null };
    const judged = judgePrice({ price: result.price, product: target, spotUsdPerOz, ...context });
    if (judged.verdict === 'rejected') return { ...report, final: true, rejected: { price: result.price, reason: judged.reason } };
    if (judged.verdict === 'flagged') return { ...report, final: true, flagged: judged.reason };
  }
  return { ...report, final: !RETRYABLE.has(result.outcome) };
}
