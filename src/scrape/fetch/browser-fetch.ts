import type { HTTPRequest, HTTPResponse, Page } from 'puppeteer-core';
import { BrowserPool, BrowserPoolError, proxySecrets, type BrowserPoolFailure, type PageLease } from '../../browser/browser-pool.js';
import { FetchError, redactText, redactUrl, type FetchErrorKind } from './fetch-error.js';
import { DEFAULT_USER_AGENT, parseHttpUrl } from './http-fetch.js';
import type { BrowserFetchedPage, BrowserFetchOptions, BrowserResource } from './browser-options.js';

export type { BrowserFetchOptions, BrowserResource } from './browser-options.js';

/** Settle time after the network went quiet, when the vendor names no selector to wait for. */
export const DEFAULT_SETTLE_MS = 500;
/** JPEG quality of screenshots: small files, prices still legible. */
export const SCREENSHOT_QUALITY = 70;
/** Tallest screenshot of a product area (a long page is cut, the price sits near the top). */
export const SCREENSHOT_MAX_HEIGHT = 2_400;

/**
 * Third-party hosts never loaded: analytics, tag managers, ad and session-recording networks. They cost
 * time and memory and never carry a price; a host matches itself and its subdomains.
 */
export const TRACKER_HOSTS = [
  'google-analytics.com',
  'googletagmanager.com',
  'googleadservices.com',
  'googlesyndication.com',
  'doubleclick.net',
  'facebook.net',
  'facebook.com',
  'hotjar.com',
  'hotjar.io',
  'segment.io',
  'segment.com',
  'clarity.ms',
  'bing.com',
  'analytics.tiktok.com',
  'ct.pinterest.com',
  'criteo.com',
  'criteo.net',
  'taboola.com',
  'outbrain.com',
  'nr-data.net',
  'newrelic.com',
  'fullstory.com',
  'mixpanel.com',
  'amplitude.com',
  'quantserve.com',
  'scorecardresearch.com',
  'adnxs.com',
] as const;

/**
 * Buttons that close cookie banners and newsletter pop-ups, by their whole visible text (lower case,
 * punctuation trimmed). Whole-text matches only: "Accept" closes a banner, "Accept our terms and buy" is never clicked.
 */
export const DISMISS_TEXTS = [
  'accept',
  'accept all',
  'accept all cookies',
  'accept cookies',
  'allow all',
  'allow all cookies',
  'allow cookies',
  'i agree',
  'agree',
  'agree and close',
  'i accept',
  'got it',
  'ok',
  'okay',
  'close',
  'dismiss',
  'no thanks',
  'no, thanks',
  'no thank you',
  'not now',
  'maybe later',
  'continue without accepting',
  'x',
  '×',
  '✕',
];

/** The page a browser fetch returns: what the extractor reads, as the HTTP tier gives it, plus the screenshot. */
export interface BrowserPage extends BrowserFetchedPage {
  /** Milliseconds the whole fetch took, waiting for a page included. */
  ms: number;
  /** How the wait for the price ended: the selector appeared, it never did (DOM read anyway), or the page settled. */
  waited: 'selector' | 'selector_missing' | 'settled';
  /** Pop-up dismiss buttons clicked. */
  dismissed: number;
  /** Requests blocked (resource types and trackers). */
  blocked: number;
}

/** A browser fetch that produced no usable page; `kind` as the HTTP tier's, `reason` says what the browser saw. */
export class BrowserFetchError extends FetchError {
  /** The pool's failure, or `navigation` for an error of the page load itself. */
  readonly reason: BrowserPoolFailure | 'navigation';
  /** True when the same job may succeed if tried again (crash, busy pool, timeout, network). */
  readonly retryable: boolean;

  constructor(kind: FetchErrorKind, reason: BrowserPoolFailure | 'navigation', retryable: boolean, message: string, url: string) {
    super(kind, message, url);
    this.name = 'BrowserFetchError';
    this.reason = reason;
    this.retryable = retryable;
  }
}

/**
 * Loads `url` in a page of `pool` and returns the rendered DOM the way the HTTP tier returns a body:
 * images, fonts and media are blocked (stylesheets too when no screenshot is taken) unless
 * `allowResources` names them, known trackers are always blocked, and the page's own origin is never
 * blocked (an app shell needs its JSON). After load it waits for `waitForSelector` (bounded; on a miss
 * the DOM is read anyway) or for the network to go quiet plus `settleMs`, following script reloads
 * (a challenge that sets a cookie and reloads); then it clicks cookie and newsletter dismiss buttons
 * and reads `page.content()`. The whole job, waiting for a page included, is bounded by `timeoutMs`.
 * Rejects only with a {@link BrowserFetchError} (a {@link FetchError}): `timeout`, `network`, `proxy`, ...
 */
export async function fetchWithBrowser(pool: BrowserPool, url: string, options: BrowserFetchOptions): Promise<BrowserPage> {
  const startedAt = Date.now();
  const target = parseHttpUrl(url);
  if (!target) {
    throw new BrowserFetchError('bad_url', 'navigation', false, `cannot fetch ${JSON.stringify(redactUrl(String(url)).slice(0, 200))}: only absolute http: and https: URLs are fetched`, redactUrl(String(url)));
  }
  const timeoutMs = options.timeoutMs > 0 && Number.isFinite(options.timeoutMs) ? options.timeoutMs : 30_000;
  const secrets = proxySecrets(options.proxyUrl);
  const clean = (text: string) => redactText(text, secrets);
  const via = options.proxyUrl ? ` via proxy ${redactUrl(options.proxyUrl)}` : '';
  try {
    return await pool.withPage((page, lease) => readPage(page, lease, target, options, startedAt), {
      signal: options.signal,
      deadlineMs: startedAt + timeoutMs,
      proxyUrl: options.proxyUrl,
      userAgent: options.userAgent || DEFAULT_USER_AGENT,
    });
  } catch (err) {
    throw toFetchError(err, target.href, timeoutMs, via, clean);
  }
}

async function readPage(page: Page, lease: PageLease, target: URL, options: BrowserFetchOptions, startedAt: number): Promise<BrowserPage> {
  const allowed = new Set<BrowserResource>(options.allowResources ?? []);
  if (options.screenshot) allowed.add('stylesheet'); // the screenshot (and the vision reader) needs the layout
  let blocked = 0;
  lease.setRequestFilter((request) => {
    const pass = mayLoad(request, target, allowed);
    if (!pass) blocked += 1;
    return pass;
  });

  // The last main-frame document answered: a script reload (challenge) replaces the first one.
  let document: HTTPResponse | null = null;
  let navigations = 0;
  const onResponse = (response: HTTPResponse) => {
    const request = response.request();
    if (request.isNavigationRequest() && response.frame() === page.mainFrame() && !isRedirect(response.status())) document = response;
  };
  const onNavigated = (frame: unknown) => {
    if (frame === page.mainFrame()) navigations += 1;
  };
  page.on('response', onResponse);
  page.on('framenavigated', onNavigated);
  // Time kept at the end for reading the DOM and the screenshot, so a slow wait still returns a page.
  const reserve = options.screenshot ? 2_000 : 700;
  const budget = () => Math.max(0, lease.remainingMs() - reserve);
  try {
    const first = await page.goto(target.href, { waitUntil: 'load', timeout: Math.max(1, lease.remainingMs() - 200) });
    if (first && !isRedirect(first.status())) document ??= first;

    let waited: BrowserPage['waited'] = 'settled';
    if (options.waitForSelector) {
      try {
        await page.waitForSelector(options.waitForSelector, { timeout: Math.max(1, budget()), signal: lease.signal });
        waited = 'selector';
      } catch (err) {
        if (lease.signal.aborted) throw err;
        if (isInvalidSelector(err)) throw new Error(`the vendor's waitForSelector ${JSON.stringify(options.waitForSelector)} is not a valid CSS selector; fix it in config/vendors.json`);
        waited = 'selector_missing';
      }
    } else {
      // Quiet network plus the settle time; a script reload during it (a challenge) starts the wait again.
      const settleMs = options.settleMs !== undefined && options.settleMs >= 0 ? options.settleMs : DEFAULT_SETTLE_MS;
      for (let round = 0; round < 4 && budget() > 0; round += 1) {
        const before = navigations;
        await page.waitForNetworkIdle({ idleTime: 250, timeout: Math.max(1, Math.min(budget(), 10_000)), signal: lease.signal }).catch(() => undefined);
        await sleep(Math.min(settleMs, budget()), lease.signal);
        if (navigations === before) break;
      }
    }

    const dismissed = await dismissPopups(page, Math.min(1_500, budget()));
    if (dismissed > 0) await sleep(Math.min(200, budget()), lease.signal);

    const body = await contentOf(page, lease, budget);
    const screenshot = options.screenshot ? await productScreenshot(page) : undefined;
    const response = document as HTTPResponse | null;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response?.headers() ?? {})) headers[name.toLowerCase()] = value;
    return {
      status: response?.status() ?? 200,
      url: page.url(),
      headers,
      body,
      bytes: Buffer.byteLength(body),
      ...(screenshot ? { screenshot } : {}),
      ms: Date.now() - startedAt,
      waited,
      dismissed,
      blocked,
    };
  } finally {
    page.off('response', onResponse);
    page.off('framenavigated', onNavigated);
  }
}

/** The rendered DOM; a navigation in progress (a script reload) is waited for, within the job's budget. */
async function contentOf(page: Page, lease: PageLease, budget: () => number): Promise<string> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await page.content();
    } catch (err) {
      if (attempt >= 3 || lease.signal.aborted || !/context was destroyed|navigat/i.test(String((err as Error)?.message))) throw err;
      await page.waitForNavigation({ waitUntil: 'load', timeout: Math.max(1, Math.min(budget(), 5_000)) }).catch(() => undefined);
    }
  }
}

/** Whether a request may load: own origin always; trackers never; blocked resource types unless allowed. */
function mayLoad(request: HTTPRequest, target: URL, allowed: ReadonlySet<BrowserResource>): boolean {
  let host = '';
  let origin = '';
  try {
    const u = new URL(request.url());
    host = u.hostname.toLowerCase();
    origin = u.origin;
  } catch {
    return true; // data:, blob: and the like stay inside the page
  }
  if (request.isNavigationRequest() && request.frame() && !request.frame()?.parentFrame()) return true; // the page itself
  const type = request.resourceType();
  if (BLOCKABLE.has(type) && !allowed.has(type as BrowserResource)) return false;
  if (origin === target.origin) return true;
  return !isTracker(host);
}

const BLOCKABLE: ReadonlySet<string> = new Set<BrowserResource>(['image', 'font', 'media', 'stylesheet']);

export function isTracker(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return TRACKER_HOSTS.some((t) => h === t || h.endsWith(`.${t}`));
}

/**
 * Clicks buttons that close cookie banners and newsletter pop-ups, in the page (no navigation: links that
 * go elsewhere and form submits are skipped). Returns how many were clicked; never throws.
 */
async function dismissPopups(page: Page, withinMs: number): Promise<number> {
  if (withinMs <= 0) return 0;
  const clicking = page
    .evaluate((texts: string[]) => {
      const wanted = new Set(texts);
      const container = /cookie|consent|gdpr|newsletter|subscribe|modal|popup|pop-up|overlay|banner|dialog/i;
      const closeLike = /close|dismiss|accept|agree|allow|reject|decline/i;
      const norm = (s: string) =>
        s
          .replace(/\s+/g, ' ')
          .trim()
          .toLowerCase()
          .replace(/^[\s.!]+|[\s.!]+$/g, '');
      const visible = (el: Element) => {
        const r = (el as HTMLElement).getBoundingClientRect();
        const style = getComputedStyle(el);
        return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
      };
      const navigates = (el: Element) => {
        if (el instanceof HTMLAnchorElement) {
          const href = (el.getAttribute('href') ?? '').trim();
          return href !== '' && !href.startsWith('#') && !/^javascript:/i.test(href);
        }
        const form = (el as HTMLButtonElement).form;
        return !!form && (el as HTMLButtonElement).type === 'submit' && !container.test(`${form.id} ${form.className}`);
      };
      const inPopup = (el: Element) => {
        for (let p: Element | null = el; p; p = p.parentElement) {
          const tag = `${p.id} ${typeof p.className === 'string' ? p.className : ''} ${p.getAttribute('role') ?? ''} ${p.getAttribute('aria-modal') ?? ''}`;
          if (container.test(tag) || p.tagName === 'DIALOG' || /dialog|alertdialog|true/.test(tag)) return true;
        }
        return false;
      };
      let clicked = 0;
      const seen = new Set<Element>();
      const candidates = Array.from(document.querySelectorAll('button, a, [role="button"], input[type="button"], input[type="submit"], [aria-label]'));
      for (const el of candidates) {
        if (clicked >= 5 || seen.has(el) || !visible(el) || navigates(el)) continue;
        const text = norm((el as HTMLElement).innerText || (el as HTMLInputElement).value || '');
        const label = norm(el.getAttribute('aria-label') ?? '');
        const idClass = `${el.id} ${typeof el.className === 'string' ? el.className : ''}`;
        const byText = wanted.has(text) && (inPopup(el) || /cookie|consent|accept|agree/.test(text));
        const byLabel = /^(close|dismiss|close dialog|close modal|close popup)$/.test(label) && inPopup(el);
        const byName = container.test(idClass) && closeLike.test(idClass) && inPopup(el);
        if (!byText && !byLabel && !byName) continue;
        seen.add(el);
        (el as HTMLElement).click();
        clicked += 1;
      }
      return clicked;
    }, DISMISS_TEXTS)
    .catch(() => 0);
  return Promise.race([clicking, sleep(withinMs).then(() => 0)]);
}

/** JPEG of the product area (full viewport width, from the product's top), else of the viewport. */
async function productScreenshot(page: Page): Promise<Buffer> {
  const area = await page
    .evaluate(() => {
      const selectors = ['[itemtype*="schema.org/Product" i]', '#product', '.product-detail', '[class*="product-detail" i]', '[class*="product-info" i]', 'main', '.product', '[id*="product" i]', 'article'];
      for (const selector of selectors) {
        const el = document.querySelector(selector);
        if (!el) continue;
        const r = el.getBoundingClientRect();
        if (r.width >= 200 && r.height >= 100) return { top: r.top + window.scrollY, height: r.height };
      }
      return null;
    })
    .catch(() => null);
  const width = page.viewport()?.width ?? 1280;
  const options = area
    ? {
        clip: { x: 0, y: Math.max(0, Math.floor(area.top) - 16), width, height: Math.min(SCREENSHOT_MAX_HEIGHT, Math.max(300, Math.ceil(area.height) + 32)) },
        captureBeyondViewport: true,
      }
    : {};
  const shot = await page.screenshot({ type: 'jpeg', quality: SCREENSHOT_QUALITY, ...options });
  return Buffer.from(shot);
}

// ---------------------------------------------------------------------------------------------

/** Chromium's network error names, to the HTTP tier's kinds. */
const NET_ERRORS: Array<[RegExp, FetchErrorKind, string]> = [
  [/ERR_NAME_NOT_RESOLVED|ERR_NAME_RESOLUTION_FAILED/, 'network', 'the host name does not resolve'],
  [/ERR_CONNECTION_REFUSED/, 'network', 'the connection was refused'],
  [/ERR_CONNECTION_RESET|ERR_CONNECTION_CLOSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_ABORTED/, 'network', 'the connection was reset or closed before a response'],
  [/ERR_CERT_|ERR_SSL_|ERR_BAD_SSL/, 'network', 'the TLS handshake failed'],
  [/ERR_PROXY_|ERR_TUNNEL_CONNECTION_FAILED|ERR_NO_SUPPORTED_PROXIES/, 'proxy', 'the proxy could not be reached or refused the request; check its host, port and credentials'],
  [/ERR_TOO_MANY_REDIRECTS/, 'too_many_redirects', 'the page redirects too many times'],
  [/ERR_UNSAFE_REDIRECT|ERR_INVALID_REDIRECT/, 'bad_redirect', 'the page redirects to a location a browser refuses'],
  [/ERR_TIMED_OUT|ERR_CONNECTION_TIMED_OUT/, 'timeout', 'the connection timed out'],
  [/ERR_INVALID_URL|ERR_UNSAFE_PORT|ERR_DISALLOWED_URL_SCHEME/, 'bad_url', 'the browser refuses this URL'],
];

const POOL_KINDS: Record<BrowserPoolFailure, FetchErrorKind> = {
  closed: 'network',
  wait_timeout: 'timeout',
  aborted: 'timeout',
  deadline: 'timeout',
  tab_crashed: 'network',
  browser_crashed: 'network',
  launch_failed: 'network',
  bad_proxy: 'proxy',
};

function toFetchError(err: unknown, url: string, timeoutMs: number, via: string, clean: (s: string) => string): BrowserFetchError {
  if (err instanceof BrowserFetchError) return err;
  if (err instanceof BrowserPoolError) {
    return new BrowserFetchError(POOL_KINDS[err.reason], err.reason, err.retryable, clean(`${url}${via}: ${err.message}`), url);
  }
  const message = String((err as Error)?.message ?? err).split('\n')[0];
  if ((err as Error)?.name === 'TimeoutError' || /Navigation timeout|Timeout .* exceeded|timed out/i.test(message)) {
    return new BrowserFetchError('timeout', 'navigation', true, clean(`${url}${via} did not load within the ${timeoutMs} ms of the job (timeoutMs)`), url);
  }
  for (const [pattern, kind, hint] of NET_ERRORS) {
    if (pattern.test(message)) {
      const retryable = kind === 'network' || kind === 'timeout' || kind === 'proxy';
      return new BrowserFetchError(kind, 'navigation', retryable, clean(`${url}${via}: ${hint} (${message.slice(0, 200)})`), url);
    }
  }
  return new BrowserFetchError('network', 'navigation', true, clean(`${url}${via}: the browser could not load the page (${message.slice(0, 300)})`), url);
}


function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

function isInvalidSelector(err: unknown): boolean {
  return /not a valid selector|SyntaxError|is not valid/i.test(String((err as Error)?.message));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
