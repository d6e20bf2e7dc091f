import type { FetchedPage } from './http-fetch.js';

/**
 * Options of one browser-tier fetch, shared by the tier routing (src/scrape/scrape-target.ts)
 * and the pool-backed browser fetch (src/scrape/fetch/browser-fetch.ts).
 */
export interface BrowserFetchOptions {
  /** Per-vendor HTTP(S) proxy, credentials included (never logged). Default: direct connection. */
  proxyUrl?: string;
  /** User agent of the page. Default: the browser fetch's own desktop Chrome string. */
  userAgent?: string;
  /** Deadline for the whole job (waiting for a page, navigation, price wait, screenshot), in ms. */
  timeoutMs: number;
  /** Aborts the job (page released, navigation stopped) when signalled. */
  signal?: AbortSignal;
  /** CSS selector to wait for before reading the DOM (bounded by `timeoutMs`). Default: none. */
  waitForSelector?: string;
  /** Settle time after load when no `waitForSelector` is given, in ms. Default (in the browser fetch): 500. */
  settleMs?: number;
  /** Resource types the vendor's rule needs loaded although the browser fetch blocks them by default. Default: []. */
  allowResources?: BrowserResource[];
  /** Take a JPEG screenshot of the product area. Default false. */
  screenshot?: boolean;
}

/** Resource kinds a vendor may need loaded in the browser tier. */
export const BROWSER_RESOURCES = ['image', 'font', 'media', 'stylesheet'] as const;
export type BrowserResource = (typeof BROWSER_RESOURCES)[number];

/** What the browser tier returns: the rendered DOM as a fetched page, and the screenshot when taken. */
export type BrowserFetchedPage = FetchedPage & { screenshot?: Buffer };

/** The injected browser-tier fetch (the lead wires the pool-backed `fetchWithBrowser`). */
export type BrowserFetch = (url: string, options: BrowserFetchOptions) => Promise<BrowserFetchedPage>;
