import type { Target } from '../catalogue/target.js';
import { httpFetchOptionsOf, type VendorSettings } from '../config/vendors.js';
import { extractPrice } from './extract/extract.js';
import type { ExtractResult } from './extract/types.js';
import type { BrowserFetch } from './fetch/browser-options.js';
import { fetchPage, retryAfterMs, isFetchError, type FetchedPage, type HttpFetchOptions } from './fetch/http-fetch.js';
import type { SpotPrices } from '../config/env.js';
import { judgePrice, spotFor } from './sanity.js';

/** The fetch tier that read a page. */
export type FetchTier = 'http' | 'browser';

/**
 * One tier tried on one URL, for the job's log.
 * `outcome`: the extraction outcome (`ok`, `blocked`, `no_price`, ...), `rejected` (sanity), `rate_limited`,
 * `error` (no page: network, timeout, 5xx) or `unavailable` (no browser in this process).
 * `why`: one line: what the tier saw and, when the next tier was tried, why.
 */
export interface TierAttempt {
  tier: FetchTier;
  url: string;
  outcome: string;
  why: string;
}

/** Said when a vendor needs the browser tier and this process has none. */
export const NO_BROWSER_REASON = 'browser tier not available in this process (no Chromium)';

/** Below this many characters of visible text a page without a price is taken for an unrendered app shell. */
const APP_SHELL_MAX_TEXT = 400;

/** Which tiers were tried: every report carries them. */
interface Tried {
  /** The tier whose answer this report is. */
  source: FetchTier;
  /** Every tier tried for this target, in order, over all its URLs. */
  tiers: TierAttempt[];
}

/** What one scrape of a target came to, before it becomes a row. */
export type ScrapeReport =
  /** A page was read: a price (maybe out of stock), or a verdict such as not_found; `final` when retrying cannot help. */
  | ({
      kind: 'result';
      result: ExtractResult;
      url: string;
      status: number;
      final: boolean;
      /** The price failed the sanity check: stored as a rejected row with this price and reason, never published. */
      rejected?: { price: number; reason: string };
      /** The price passed but jumped against the vendor's previous price or the window's median: stored, marked. */
      flagged?: string;
      /** JPEG of the product area, when the browser tier read the page and was asked for one (`ScrapeDeps.screenshot`). */
      screenshot?: Buffer;
      /** The HTML the extractor read (rendered by the browser tier), for a second reader; held for the job only. */
      html?: string;
    } & Tried)
  /** The vendor said 429: back off the whole vendor queue. */
  | ({ kind: 'rate_limited'; retryAfterMs: number; url: string } & Tried)
  /** Transport failure (timeout, reset, 5xx) or no browser for a browser-tier vendor: worth another attempt later. */
  | ({ kind: 'transient'; reason: string; url: string } & Tried);

export interface ScrapeDeps {
  vendor: VendorSettings;
  /** Abort the whole scrape (job timeout, shutdown). */
  signal?: AbortSignal;
  /** Replaces the HTTP tier, for the benchmark's zero-cost runs. Default fetchPage. */
  fetch?: (url: string, options: HttpFetchOptions) => Promise<FetchedPage>;
  /**
   * The browser tier (the pool-backed fetchWithBrowser). Default none: vendors with tier `browser` get a
   * transient error saying so, and `auto` keeps its HTTP answer with that note.
   */
  browser?: BrowserFetch;
  /** Ask the browser tier for a screenshot of the product area (for vision and the status page). Default false. */
  screenshot?: boolean;
  now?: () => number;
  /** Spot per metal in USD/oz when known (configured, later the spot feed): prices are judged against melt. */
  spot?: SpotPrices;
  /** The vendor's previous price and the window's cross-vendor median, for the jump check. Failures mean "unknown". */
  priceContext?: (target: Target) => Promise<{ previousPrice: number | null; windowMedian: number | null }>;
}

/** Outcomes where another attempt can give a different answer. */
const RETRYABLE = new Set(['blocked', 'no_price']);

/** A report of one tier on one URL, before the tiers tried are attached. */
type TierReport = DistributiveOmit<ScrapeReport, keyof Tried>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * Fetches each URL of the target in turn with the vendor's tier(s) and extracts the 1-unit price; the first URL
 * with a price wins. Tier `http` reads with plain HTTP, `browser` with the browser only, `auto` with HTTP and then
 * the browser when the HTTP page is a challenge, an empty app shell or shows no price.
 */
export async function scrapeTarget(target: Target, deps: ScrapeDeps): Promise<ScrapeReport> {
  const tiers: TierAttempt[] = [];
  let first: ScrapeReport | null = null;
  for (const url of target.urls) {
    const report = await scrapeUrl(url, target, deps, tiers);
    if (report.kind === 'result' && (report.result.outcome === 'ok' || report.result.outcome === 'out_of_stock')) return { ...report, tiers };
    first ??= report;
  }
  return { ...(first as ScrapeReport), tiers };
}

async function scrapeUrl(url: string, target: Target, deps: ScrapeDeps, tiers: TierAttempt[]): Promise<ScrapeReport> {
  const tier = deps.vendor.tier ?? 'http';
  const tried = (source: FetchTier, report: TierReport): ScrapeReport => ({ ...report, source, tiers }) as ScrapeReport;

  if (tier === 'http') {
    const { report } = await readWith('http', url, target, deps);
    tiers.push(attemptOf('http', url, report));
    return tried('http', report);
  }

  if (tier === 'auto') {
    const { report, escalate } = await readWith('http', url, target, deps);
    if (!escalate) {
      tiers.push(attemptOf('http', url, report));
      return tried('http', report);
    }
    tiers.push({ ...attemptOf('http', url, report), why: `${escalate}: trying the browser` });
    if (!deps.browser) {
      tiers.push({ tier: 'browser', url, outcome: 'unavailable', why: NO_BROWSER_REASON });
      return tried('http', withNote(report, `${escalate}; ${NO_BROWSER_REASON}`));
    }
  } else if (!deps.browser) {
    const why = `${NO_BROWSER_REASON}; vendor ${target.vendor} is configured with tier browser: install Chromium (deploy/install-system-deps.sh) or set CHROMIUM_PATH`;
    tiers.push({ tier: 'browser', url, outcome: 'unavailable', why });
    return tried('browser', { kind: 'transient', reason: why, url });
  }

  const { report } = await readWith('browser', url, target, deps);
  tiers.push(attemptOf('browser', url, report));
  return tried('browser', report);
}

/** The HTTP answer kept by `auto` when the browser cannot be tried, with why in its reason. */
function withNote(report: TierReport, note: string): TierReport {
  if (report.kind === 'result') return { ...report, result: { ...report.result, reason: `${report.result.reason}; ${note}` } };
  if (report.kind === 'transient') return { ...report, reason: `${report.reason}; ${note}` };
  return report;
}

function attemptOf(tier: FetchTier, url: string, report: TierReport): TierAttempt {
  switch (report.kind) {
    case 'rate_limited':
      return { tier, url, outcome: 'rate_limited', why: `HTTP 429: retry after ${report.retryAfterMs} ms` };
    case 'transient':
      return { tier, url, outcome: 'error', why: report.reason };
    case 'result': {
      const r = report.result;
      const price = r.price === null ? '' : ` $${r.price.toFixed(2)}`;
      if (report.rejected) return { tier, url, outcome: 'rejected', why: `HTTP ${report.status}: ${report.rejected.reason}` };
      return { tier, url, outcome: r.outcome, why: `HTTP ${report.status}:${price}${r.matchedBy ? ` by ${r.matchedBy}` : ''} ${report.flagged ? `flagged: ${report.flagged}` : r.reason}`.trim() };
    }
  }
}

/**
 * One URL read with one tier. `escalate` (HTTP only) says why the browser should read the page instead:
 * a challenge or bot wall, an empty app shell, or no price; never a 404, another product, out of stock or a price.
 */
async function readWith(tier: FetchTier, url: string, target: Target, deps: ScrapeDeps): Promise<{ report: TierReport; escalate?: string }> {
  let page: FetchedPage & { screenshot?: Buffer };
  try {
    deps.signal?.throwIfAborted();
    const common = { proxyUrl: deps.vendor.proxyUrl ?? undefined, userAgent: deps.vendor.userAgent ?? undefined, timeoutMs: deps.vendor.timeoutMs };
    if (tier === 'http') {
      page = await (deps.fetch ?? fetchPage)(url, httpFetchOptionsOf(deps.vendor));
    } else {
      const b = deps.vendor.browser;
      page = await deps.browser!(url, {
        ...common,
        signal: deps.signal,
        ...(b?.waitForSelector ? { waitForSelector: b.waitForSelector } : {}),
        ...(b?.settleMs !== null && b?.settleMs !== undefined ? { settleMs: b.settleMs } : {}),
        ...(b?.allowResources?.length ? { allowResources: b.allowResources } : {}),
        screenshot: deps.screenshot ?? false,
      });
    }
  } catch (err) {
    if (deps.signal?.aborted) throw deps.signal.reason ?? err;
    return { report: { kind: 'transient', reason: describeFetchError(tier, err), url } };
  }
  if (page.status === 429) {
    return { report: { kind: 'rate_limited', retryAfterMs: retryAfterMs(page.headers ?? {}, deps.now?.() ?? Date.now()) ?? 30_000, url } };
  }
  const spotUsdPerOz = spotFor(target.metal, deps.spot);
  const extract = () => extractPrice({ html: page.body, status: page.status, url: page.url, vendor: target.vendor, product: target, rules: deps.vendor.rules, spotUsdPerOz });
  if (page.status >= 500) {
    const report = { kind: 'transient' as const, reason: `HTTP ${page.status} from the vendor${tier === 'browser' ? ' (browser)' : ''}`, url };
    // A 503 "checking your browser" page is a challenge for the browser, not an outage.
    if (tier === 'http' && deps.vendor.tier === 'auto') {
      const seen = extract();
      if (seen.outcome === 'blocked') return { report, escalate: `HTTP ${page.status}: challenge or bot wall (${seen.reason})` };
    }
    return { report };
  }
  const result = extract();
  const report = { kind: 'result' as const, result, url, status: page.status, html: page.body, ...(page.screenshot ? { screenshot: page.screenshot } : {}) };
  if (result.rejected) return { report: { ...report, final: true, rejected: { price: result.rejected.price, reason: result.rejected.reason } } };
  if (result.price !== null && (result.outcome === 'ok' || result.outcome === 'out_of_stock')) {
    const context = (await deps.priceContext?.(target).catch(() => null)) ?? { previousPrice: null, windowMedian: null };
    const judged = judgePrice({ price: result.price, product: target, spotUsdPerOz, ...context });
    if (judged.verdict === 'rejected') return { report: { ...report, final: true, rejected: { price: result.price, reason: judged.reason } } };
    if (judged.verdict === 'flagged') return { report: { ...report, final: true, flagged: judged.reason } };
  }
  const escalate = tier === 'http' ? escalationReason(result, page.body) : undefined;
  return { report: { ...report, final: !RETRYABLE.has(result.outcome) }, ...(escalate ? { escalate: `HTTP ${page.status}: ${escalate}` } : {}) };
}

/** Why a page read over HTTP should be read by the browser instead, or undefined when HTTP's answer stands. */
export function escalationReason(result: ExtractResult, html: string): string | undefined {
  if (result.outcome === 'blocked') return `challenge or bot wall (${result.reason})`;
  if (result.outcome !== 'no_price' || result.rejected) return undefined;
  const text = visibleTextLength(html);
  return text < APP_SHELL_MAX_TEXT ? `empty app shell (no price, ${text} characters of text)` : 'no price on the HTTP page';
}

/** Characters of text a reader would see: scripts, styles, templates and markup left out, whitespace collapsed. */
export function visibleTextLength(html: string): number {
  return html
    .replace(/<(script|style|noscript|template|svg)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(?:#\d+|#x[0-9a-f]+|[a-z]+);/gi, 'x')
    .replace(/\s+/g, ' ')
    .trim().length;
}

function describeFetchError(tier: FetchTier, err: unknown): string {
  const prefix = tier === 'browser' ? 'browser ' : '';
  if (isFetchError(err)) return `${prefix}${err.kind}: ${err.message}`;
  const kind = typeof (err as { kind?: unknown })?.kind === 'string' ? (err as { kind: string }).kind : null;
  const message = err instanceof Error ? err.message : String(err);
  return kind ? `${prefix}${kind}: ${message}` : `${prefix}fetch failed: ${message}`;
}
