import puppeteer, { type Browser, type BrowserContext, type CDPSession, type HTTPRequest, type Page } from 'puppeteer-core';
import type { Logger } from '../log.js';
import { redactText } from '../secrets.js';
import { CHROMIUM_FLAGS, INSTALL_CHROMIUM, locateChromium } from './chromium.js';

/**
 * A bounded pool of headless Chromium browsers for one worker process.
 *
 * - At most `browsers` browsers (launching, live or closing) and `pagesPerBrowser` open pages each: a job
 *   WAITS for a free page rather than launching more (the system this replaces ran out of memory at 15
 *   parallel launches on 4 GB).
 * - Pages are reused. Each page lives in a browser context of its own, so two concurrent jobs never share
 *   cookies. Between jobs a page is reset: about:blank, every cookie of its context deleted, the storage of
 *   the origins it visited cleared, its request filter, proxy credentials and user agent reset. Cookies are
 *   NOT kept for a vendor's next job (a script challenge's cookie is earned again, one reload): jobs stay
 *   independent of their order and one vendor's session never reaches another's page.
 * - Proxy: Chromium's proxy is per browser context (`createBrowserContext({ proxyServer })`), so one browser
 *   serves direct and proxied vendors alike; credentials go to `page.authenticate` (answering the proxy's
 *   407), never into the proxy server string, a launch argument or a log. A free page of another proxy is
 *   rebuilt in a new context when no page of the job's proxy is free.
 * - A browser is retired after `retireAfterPages` jobs (once its pages are idle) and replaced on demand;
 *   a browser that crashes or disconnects is dropped (its jobs fail with a retryable error) and replaced on
 *   the next demand; a tab that crashes is closed and replaced, its job failing with a retryable error.
 * - A browser with no busy page for `idleCloseMs` is closed.
 * - Chromium is driven over a pipe (no debugging port opened); when this process dies the pipe closes and
 *   Chromium exits by itself. Process signals are left to the worker (puppeteer's handlers would exit it).
 */

/** Options of a {@link BrowserPool}. Every field has a default. */
export interface BrowserPoolOptions {
  /** Chromium binary. Default: `locateChromium(process.env.CHROMIUM_PATH)` (never downloads a browser). */
  executablePath?: string;
  /** Browsers alive at once (launching and closing ones included). Default 1. */
  browsers?: number;
  /** Open pages per browser, i.e. concurrent jobs per browser. Default 2. */
  pagesPerBrowser?: number;
  /** Jobs served by one browser before it is retired (when its pages are idle) and replaced. Default 200. */
  retireAfterPages?: number;
  /** A browser with no busy page for this long is closed. Default 60000 ms. */
  idleCloseMs?: number;
  /** Longest wait for Chromium to start. Default 30000 ms. */
  launchTimeoutMs?: number;
  /** Longest single DevTools call (bounds a call to a page that stopped answering). Default 60000 ms. */
  protocolTimeoutMs?: number;
  /** Extra Chromium arguments after the pool's own (e.g. `--host-resolver-rules=...`). Default []. */
  extraArgs?: string[];
  /** Where pool events go (launch, retire, crash, idle close). Default: nowhere. */
  logger?: Pick<Logger, 'info' | 'warn'>;
}

/** Viewport of every page: a desktop screen, what the screenshot (and the vision reader) sees. */
export const POOL_VIEWPORT = { width: 1280, height: 900 } as const;

/** A current desktop Chrome on Windows (headless Chromium's own string says "HeadlessChrome"). */
export const POOL_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/144.0.0.0 Safari/537.36';

/** Chromium arguments of the pool: the server flags of src/browser/chromium.ts plus quiet, lean headless ones. */
export const POOL_FLAGS = [
  ...CHROMIUM_FLAGS,
  '--no-first-run',
  '--no-default-browser-check',
  '--mute-audio',
  '--hide-scrollbars',
  '--disable-extensions',
  '--disable-default-apps',
  '--disable-breakpad',
  // The back-forward cache kept every page a reused tab had shown alive in its own renderer (29 processes
  // for one browser of 2 pages over 50 jobs; 12 without it). `extraArgs` with its own --disable-features replaces this list.
  '--disable-features=Translate,MediaRouter,OptimizationHints,InterestFeedContentSuggestions,BackForwardCache,SpareRendererForSitePerProcess',
  '--metrics-recording-only',
  '--password-store=basic',
  `--window-size=${POOL_VIEWPORT.width},${POOL_VIEWPORT.height}`,
] as const;

/**
 * Why the pool could not run a job.
 * - `closed`: the pool was closed.
 * - `wait_timeout`: no page became free before the job's deadline.
 * - `aborted`: the job's signal fired.
 * - `deadline`: the job ran past its deadline (its page was closed).
 * - `tab_crashed`: the page's renderer crashed (out of memory, a renderer fault); the tab was replaced.
 * - `browser_crashed`: the browser process died or disconnected; it is replaced on the next job.
 * - `launch_failed`: Chromium could not be started.
 * - `bad_proxy`: the job's proxy setting is not an http(s) URL.
 */
export type BrowserPoolFailure = 'closed' | 'wait_timeout' | 'aborted' | 'deadline' | 'tab_crashed' | 'browser_crashed' | 'launch_failed' | 'bad_proxy';

const RETRYABLE: ReadonlySet<BrowserPoolFailure> = new Set(['wait_timeout', 'deadline', 'tab_crashed', 'browser_crashed']);

export class BrowserPoolError extends Error {
  readonly reason: BrowserPoolFailure;
  /** True when the same job may succeed if tried again (a crash, a busy pool). */
  readonly retryable: boolean;

  constructor(reason: BrowserPoolFailure, message: string) {
    super(redactText(message));
    this.name = 'BrowserPoolError';
    this.reason = reason;
    this.retryable = RETRYABLE.has(reason);
  }
}

export function isBrowserPoolError(err: unknown): err is BrowserPoolError {
  return err instanceof BrowserPoolError;
}

/** Decides each request of a job's page: true lets it through, false blocks it. */
export type RequestFilter = (request: HTTPRequest) => boolean;

/** What a job gets beside its page. */
export interface PageLease {
  /** Epoch ms by which the job must be done (Infinity without a deadline). */
  readonly deadline: number;
  /** Fires when the job is abandoned (deadline, caller's signal, crash): stop working on the page. */
  readonly signal: AbortSignal;
  /** PID of the browser process serving the job. */
  readonly browserPid: number | undefined;
  /** Milliseconds left before the deadline (never negative). */
  remainingMs(): number;
  /** Sets the request filter of this job (reset when the page is released). */
  setRequestFilter(filter: RequestFilter | null): void;
}

export interface WithPageOptions {
  /** Abandons the job (waiting or running) when fired. */
  signal?: AbortSignal;
  /** Deadline as an absolute epoch-ms time (e.g. the job's own deadline). */
  deadlineMs?: number;
  /** Deadline relative to now; the earlier of the two wins. Default: no deadline. */
  timeoutMs?: number;
  /** HTTP(S) proxy for this job, credentials included (`http://user:pass@host:port`). Default: direct. */
  proxyUrl?: string;
  /** User agent of the page for this job. Default {@link POOL_USER_AGENT}. */
  userAgent?: string;
}

export interface BrowserPoolStats {
  /** Browsers launching, live or closing. */
  browsers: number;
  /** Pages open (busy, free or being reset). */
  pagesOpen: number;
  /** Pages running a job. */
  busy: number;
  /** Jobs waiting for a page. */
  waiting: number;
  /** Browsers launched since the pool was made. */
  launched: number;
  /** Browsers closed after `retireAfterPages` jobs. */
  retired: number;
  /** Browsers closed after `idleCloseMs` without work. */
  idleClosed: number;
  /** Browsers lost to a crash or a disconnect. */
  crashes: number;
  /** Tabs whose renderer crashed. */
  tabCrashes: number;
  /** PIDs of the browser processes alive now. */
  pids: number[];
}

/** A job after this much time past its deadline is abandoned by the pool (its own timeouts should fire first). */
const DEADLINE_GRACE_MS = 1_000;
/** Bound of each housekeeping step (reset navigation, closing a page or a browser). */
const HOUSEKEEPING_MS = 5_000;
/** How long a job that failed waits for a crash report before judging its page alive. */
const CRASH_PROBE_MS = 1_000;

type EntryState = 'launching' | 'live' | 'retiring' | 'closing' | 'gone';

interface BrowserEntry {
  id: number;
  state: EntryState;
  browser: Browser | null;
  pid: number | undefined;
  slots: Set<PageSlot>;
  /** Pages being created for a job. */
  pending: number;
  /** Jobs started on this browser. */
  served: number;
  busy: number;
  idleTimer: NodeJS.Timeout | null;
  /** The browser's start, while it runs. */
  launching: Promise<Browser> | null;
}

interface PageSlot {
  entry: BrowserEntry;
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  proxyServer: string;
  state: 'free' | 'busy' | 'resetting' | 'closed';
  crashed: boolean;
  filter: RequestFilter | null;
  origins: Set<string>;
  userAgent: string | null;
  authenticated: boolean;
  /** Called when the tab crashes or the browser goes while a job runs. */
  onLost: ((err: BrowserPoolError) => void) | null;
}

interface Waiter {
  proxyServer: string;
  settled: boolean;
  resolve(slot: PageSlot): void;
  reject(err: unknown): void;
}

interface ProxySetting {
  server: string;
  credentials: { username: string; password: string } | null;
  secrets: string[];
}

const DEFAULTS = {
  browsers: 1,
  pagesPerBrowser: 2,
  retireAfterPages: 200,
  idleCloseMs: 60_000,
  launchTimeoutMs: 30_000,
  protocolTimeoutMs: 60_000,
};

export class BrowserPool {
  private readonly browsersMax: number;
  private readonly pagesPerBrowser: number;
  private readonly retireAfterPages: number;
  private readonly idleCloseMs: number;
  private readonly launchTimeoutMs: number;
  private readonly protocolTimeoutMs: number;
  private readonly extraArgs: string[];
  private readonly logger: Pick<Logger, 'info' | 'warn'> | undefined;
  private readonly configuredPath: string | undefined;

  private readonly entries = new Set<BrowserEntry>();
  private readonly waiters: Waiter[] = [];
  private nextId = 1;
  private closed = false;
  private counters = { launched: 0, retired: 0, idleClosed: 0, crashes: 0, tabCrashes: 0 };

  constructor(options: BrowserPoolOptions = {}) {
    this.browsersMax = whole(options.browsers, DEFAULTS.browsers, 'browsers');
    this.pagesPerBrowser = whole(options.pagesPerBrowser, DEFAULTS.pagesPerBrowser, 'pagesPerBrowser');
    this.retireAfterPages = whole(options.retireAfterPages, DEFAULTS.retireAfterPages, 'retireAfterPages');
    this.idleCloseMs = whole(options.idleCloseMs, DEFAULTS.idleCloseMs, 'idleCloseMs');
    this.launchTimeoutMs = whole(options.launchTimeoutMs, DEFAULTS.launchTimeoutMs, 'launchTimeoutMs');
    this.protocolTimeoutMs = whole(options.protocolTimeoutMs, DEFAULTS.protocolTimeoutMs, 'protocolTimeoutMs');
    this.extraArgs = [...(options.extraArgs ?? [])];
    this.logger = options.logger;
    this.configuredPath = options.executablePath;
  }

  /**
   * Runs `fn` with a page of the pool, waiting for a free one when all are busy (never launching more than
   * `browsers`). Rejects with a {@link BrowserPoolError} when waiting outlasts the deadline or the signal,
   * when the tab crashes or the browser goes (both retryable), or with `fn`'s own error.
   */
  async withPage<T>(fn: (page: Page, lease: PageLease) => Promise<T>, options: WithPageOptions = {}): Promise<T> {
    const deadline = Math.min(
      typeof options.deadlineMs === 'number' && Number.isFinite(options.deadlineMs) ? options.deadlineMs : Infinity,
      typeof options.timeoutMs === 'number' && Number.isFinite(options.timeoutMs) ? Date.now() + Math.max(0, options.timeoutMs) : Infinity,
    );
    const proxy = parseProxy(options.proxyUrl);
    const slot = await this.acquire(proxy.server, options.signal, deadline);

    const abandon = new AbortController();
    let fail!: (err: BrowserPoolError) => void;
    const abandoned = new Promise<never>((_, reject) => {
      fail = (err) => {
        if (!abandon.signal.aborted) abandon.abort(err);
        reject(err);
      };
    });
    abandoned.catch(() => undefined);
    slot.onLost = fail;
    let timer: NodeJS.Timeout | null = null;
    if (deadline !== Infinity) {
      timer = setTimeout(
        () => fail(new BrowserPoolError('deadline', `the browser job ran past its deadline by ${DEADLINE_GRACE_MS} ms; its page was closed`)),
        Math.max(0, deadline - Date.now()) + DEADLINE_GRACE_MS,
      );
    }
    const onAbort = () => fail(new BrowserPoolError('aborted', 'the browser job was cancelled by its caller; its page was closed'));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    let broken = false;
    try {
      if (options.signal?.aborted) onAbort();
      await Promise.race([this.prepare(slot, proxy, options.userAgent), abandoned]);
      const lease: PageLease = {
        deadline,
        signal: abandon.signal,
        browserPid: slot.entry.pid,
        remainingMs: () => (deadline === Infinity ? Number.MAX_SAFE_INTEGER : Math.max(0, deadline - Date.now())),
        setRequestFilter: (filter) => {
          if (!abandon.signal.aborted) slot.filter = filter;
        },
      };
      return await Promise.race([fn(slot.page, lease), abandoned]);
    } catch (err) {
      if (abandon.signal.aborted) {
        broken = true;
        throw abandon.signal.reason;
      }
      // A failed job may be the first sign of a crash (navigation aborted before the crash event): ask.
      // A page that does not answer is replaced; the job's own error stands unless the tab or browser died.
      if (!(await this.pageAnswers(slot, abandoned))) {
        broken = true;
        if (abandon.signal.aborted) throw abandon.signal.reason;
        if (slot.crashed) throw new BrowserPoolError('tab_crashed', 'the browser tab crashed during the job; it was closed and will be replaced. Retry the job.');
      }
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      slot.onLost = null;
      this.release(slot, broken || abandon.signal.aborted);
    }
  }

  /** Counts of the pool, for metrics and tests. */
  stats(): BrowserPoolStats {
    let pagesOpen = 0;
    let busy = 0;
    const pids: number[] = [];
    for (const e of this.entries) {
      pagesOpen += [...e.slots].filter((s) => s.state !== 'closed').length;
      busy += e.busy;
      if (e.pid !== undefined && e.state !== 'gone') pids.push(e.pid);
    }
    return { browsers: this.entries.size, pagesOpen, busy, waiting: this.waiters.length, ...this.counters, pids };
  }

  /** Closes every browser; waiting and running jobs are rejected (`closed`). Later jobs are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiters.splice(0)) settle(w, null, new BrowserPoolError('closed', 'the browser pool was closed while the job waited for a page'));
    await Promise.all([...this.entries].map((e) => this.closeEntry(e, 'pool closed')));
  }

  // ---------------------------------------------------------------------------------------------

  private acquire(proxyServer: string, signal: AbortSignal | undefined, deadline: number): Promise<PageSlot> {
    if (this.closed) return Promise.reject(new BrowserPoolError('closed', 'the browser pool is closed; no more browser jobs are taken'));
    if (signal?.aborted) return Promise.reject(new BrowserPoolError('aborted', 'the browser job was cancelled before it got a page'));
    if (deadline <= Date.now()) return Promise.reject(new BrowserPoolError('wait_timeout', 'the browser job reached its deadline before it got a page'));
    return new Promise<PageSlot>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const leave = (err: BrowserPoolError) => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        settle(waiter, null, err);
      };
      const onAbort = () => leave(new BrowserPoolError('aborted', 'the browser job was cancelled while it waited for a page'));
      const waiter: Waiter = {
        proxyServer,
        settled: false,
        resolve: (slot) => {
          cleanup();
          resolve(slot);
        },
        reject: (err) => {
          cleanup();
          reject(err);
        },
      };
      if (deadline !== Infinity) {
        timer = setTimeout(() => {
          const s = this.stats();
          leave(
            new BrowserPoolError(
              'wait_timeout',
              `no browser page became free before the job's deadline (${s.busy} of ${this.browsersMax * this.pagesPerBrowser} pages busy, ${s.waiting} jobs waiting); ` +
                'raise the pool size (browsers, pagesPerBrowser) or lower the worker concurrency',
            ),
          );
        }, Math.max(0, deadline - Date.now()));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Gives waiting jobs the pages the pool can offer now, launching browsers up to the limit. */
  private pump(): void {
    while (this.waiters.length > 0 && !this.closed) {
      const waiter = this.waiters[0];
      const usable = [...this.entries].filter((e) => e.state === 'live');
      const free = usable.flatMap((e) => [...e.slots].filter((s) => s.state === 'free'));
      const same = free.find((s) => s.proxyServer === waiter.proxyServer);
      if (same) {
        this.waiters.shift();
        this.hand(waiter, same);
        continue;
      }
      const roomy = usable.find((e) => e.slots.size + e.pending < this.pagesPerBrowser);
      if (roomy) {
        this.waiters.shift();
        this.openSlot(roomy, waiter);
        continue;
      }
      const other = free[0];
      if (other) {
        // A free page of another proxy: its context cannot change proxy, so it makes way for a new one.
        this.waiters.shift();
        this.discardSlot(other);
        this.openSlot(other.entry, waiter);
        continue;
      }
      if (this.entries.size < this.browsersMax) {
        this.waiters.shift();
        const entry = this.launch();
        this.openSlot(entry, waiter);
        continue;
      }
      break;
    }
  }

  private hand(waiter: Waiter, slot: PageSlot): void {
    const entry = slot.entry;
    slot.state = 'busy';
    entry.busy += 1;
    entry.served += 1;
    this.stopIdle(entry);
    if (!settle(waiter, slot, null)) this.release(slot, false); // the job left while its page was being made
  }

  private launch(): BrowserEntry {
    const entry: BrowserEntry = { id: this.nextId++, state: 'launching', browser: null, pid: undefined, slots: new Set(), pending: 0, served: 0, busy: 0, idleTimer: null, launching: null };
    this.entries.add(entry);
    return entry;
  }

  private async startBrowser(entry: BrowserEntry): Promise<Browser> {
    const executablePath = this.configuredPath ?? locateChromium(process.env.CHROMIUM_PATH).path;
    if (!executablePath) throw new BrowserPoolError('launch_failed', `no Chromium found for the browser tier: ${INSTALL_CHROMIUM}`);
    let browser: Browser;
    try {
      browser = await puppeteer.launch({
        executablePath,
        headless: true,
        pipe: true,
        args: [...POOL_FLAGS, ...this.extraArgs],
        defaultViewport: { ...POOL_VIEWPORT },
        timeout: this.launchTimeoutMs,
        protocolTimeout: this.protocolTimeoutMs,
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
        waitForInitialPage: false,
      });
    } catch (err) {
      throw new BrowserPoolError('launch_failed', `Chromium at ${executablePath} could not start (${firstLine(err)}); ${INSTALL_CHROMIUM}`);
    }
    entry.browser = browser;
    entry.pid = browser.process()?.pid;
    this.counters.launched += 1;
    browser.on('disconnected', () => this.lostBrowser(entry));
    if (this.closed || entry.state !== 'launching') {
      await this.closeEntry(entry, 'pool closed during launch');
      throw new BrowserPoolError('closed', 'the browser pool was closed while a browser started');
    }
    entry.state = 'live';
    this.logger?.info({ browser: entry.id, pid: entry.pid }, 'browser pool: browser launched');
    return browser;
  }

  /** Makes a new page (and its context) in `entry` for `waiter`, starting the browser first when needed. */
  private openSlot(entry: BrowserEntry, waiter: Waiter): void {
    entry.pending += 1;
    this.stopIdle(entry);
    void (async () => {
      let slot: PageSlot | null = null;
      try {
        const browser = entry.state === 'launching' && !entry.browser ? await (entry.launching ??= this.startBrowser(entry)) : entry.browser;
        if (!browser || entry.state !== 'live') throw new BrowserPoolError('browser_crashed', 'the browser went away while a page was being opened; retry the job');
        slot = await this.createSlot(entry, browser, waiter.proxyServer);
      } catch (err) {
        entry.pending -= 1;
        if (entry.state === 'launching') {
          entry.state = 'gone';
          this.entries.delete(entry);
        }
        const failure = err instanceof BrowserPoolError ? err : new BrowserPoolError('browser_crashed', `a browser page could not be opened (${firstLine(err)}); retry the job`);
        if (failure.reason === 'launch_failed') this.logger?.warn({ err: failure.message }, 'browser pool: launch failed');
        settle(waiter, null, failure);
        this.afterChange(entry);
        return;
      }
      entry.pending -= 1;
      entry.slots.add(slot);
      if (entry.state !== 'live') {
        this.discardSlot(slot);
        settle(waiter, null, new BrowserPoolError('browser_crashed', 'the browser went away while a page was being opened; retry the job'));
        this.afterChange(entry);
        return;
      }
      this.hand(waiter, slot);
    })();
  }

  private async createSlot(entry: BrowserEntry, browser: Browser, proxyServer: string): Promise<PageSlot> {
    const context = await browser.createBrowserContext(proxyServer ? { proxyServer, proxyBypassList: ['<-loopback>'] } : {});
    try {
      const page = await context.newPage();
      const cdp = await page.createCDPSession();
      const slot: PageSlot = {
        entry,
        context,
        page,
        cdp,
        proxyServer,
        state: 'free',
        crashed: false,
        filter: null,
        origins: new Set(),
        userAgent: null,
        authenticated: false,
        onLost: null,
      };
      await page.setViewport({ ...POOL_VIEWPORT });
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        if (request.isInterceptResolutionHandled()) return;
        let allowed = true;
        try {
          allowed = slot.filter ? slot.filter(request) : true;
        } catch {
          allowed = true;
        }
        (allowed ? request.continue() : request.abort('blockedbyclient')).catch(() => undefined);
      });
      page.on('framenavigated', (frame) => {
        if (frame !== page.mainFrame()) return;
        try {
          const origin = new URL(frame.url()).origin;
          if (origin.startsWith('http')) slot.origins.add(origin);
        } catch {
          /* about:blank and the like */
        }
      });
      page.on('dialog', (dialog) => void dialog.dismiss().catch(() => undefined)); // an alert() would stall the page
      page.on('error', () => this.tabCrashed(slot));
      // Pop-up windows a page opens are closed at once: one page per job keeps memory bounded.
      context.on('targetcreated', (target) => {
        if (target.type() !== 'page' || target === page.target()) return;
        void target
          .page()
          .then((p) => p?.close())
          .catch(() => undefined);
      });
      return slot;
    } catch (err) {
      await bounded(context.close(), HOUSEKEEPING_MS);
      throw err;
    }
  }

  /** Per-job settings: proxy credentials and the user agent. */
  private async prepare(slot: PageSlot, proxy: ProxySetting, userAgent: string | undefined): Promise<void> {
    if (proxy.credentials || slot.authenticated) {
      await slot.page.authenticate(proxy.credentials);
      slot.authenticated = !!proxy.credentials;
    }
    const ua = userAgent || POOL_USER_AGENT;
    if (slot.userAgent !== ua) {
      await slot.page.setUserAgent(ua);
      slot.userAgent = ua;
    }
  }

  /** False when the page crashed or does not answer a trivial call within a second. */
  private async pageAnswers(slot: PageSlot, abandoned: Promise<never>): Promise<boolean> {
    if (slot.crashed || slot.page.isClosed() || slot.entry.state === 'gone' || slot.entry.state === 'closing') return false;
    const probe = slot.page.evaluate(() => 1).then(
      () => true,
      () => false,
    );
    const verdict = await Promise.race([probe, abandoned.then(() => false, () => false), delay(CRASH_PROBE_MS).then(() => false)]);
    return verdict && !slot.crashed;
  }

  private release(slot: PageSlot, broken: boolean): void {
    const entry = slot.entry;
    if (slot.state === 'busy') entry.busy -= 1;
    if (entry.served >= this.retireAfterPages && entry.state === 'live') {
      entry.state = 'retiring';
      this.logger?.info({ browser: entry.id, pid: entry.pid, served: entry.served }, 'browser pool: retiring browser');
    }
    if (broken || slot.crashed || entry.state !== 'live' || this.closed) {
      this.discardSlot(slot);
      this.afterChange(entry);
      return;
    }
    slot.state = 'resetting';
    void this.reset(slot).then(
      () => {
        if (slot.state !== 'resetting') return;
        if (entry.state !== 'live') {
          this.discardSlot(slot);
        } else {
          slot.state = 'free';
        }
        this.afterChange(entry);
      },
      () => {
        this.discardSlot(slot);
        this.afterChange(entry);
      },
    );
  }

  /** Leaves nothing of the last job on the page: blank document, no cookies, no storage, no filter. */
  private async reset(slot: PageSlot): Promise<void> {
    slot.filter = null;
    await bounded(slot.page.goto('about:blank', { timeout: HOUSEKEEPING_MS }), HOUSEKEEPING_MS, true);
    const cookies = await bounded(slot.context.cookies(), HOUSEKEEPING_MS, true);
    if (cookies && cookies.length > 0) await bounded(slot.context.deleteCookie(...cookies), HOUSEKEEPING_MS, true);
    for (const origin of slot.origins) {
      await bounded(
        slot.cdp.send('Storage.clearDataForOrigin', {
          origin,
          storageTypes: 'local_storage,session_storage,indexeddb,websql,cache_storage,service_workers,file_systems,shared_storage',
        }),
        HOUSEKEEPING_MS,
        true,
      );
    }
    slot.origins.clear();
  }

  /** After a slot or job changed: retire a drained browser, arm the idle timer, serve the waiters. */
  private afterChange(entry: BrowserEntry): void {
    const settling = [...entry.slots].some((s) => s.state === 'busy' || s.state === 'resetting') || entry.pending > 0;
    if (entry.state === 'retiring' && !settling) {
      this.counters.retired += 1;
      void this.closeEntry(entry, 'retired').then(() => this.pump());
    } else if (entry.state === 'live' && entry.busy === 0 && entry.pending === 0) {
      this.armIdle(entry);
    }
    this.pump();
  }

  private armIdle(entry: BrowserEntry): void {
    this.stopIdle(entry);
    entry.idleTimer = setTimeout(() => {
      entry.idleTimer = null;
      if (entry.state !== 'live' || entry.busy > 0 || entry.pending > 0) return;
      if ([...entry.slots].some((s) => s.state === 'resetting')) return this.armIdle(entry);
      this.counters.idleClosed += 1;
      this.logger?.info({ browser: entry.id, pid: entry.pid, idleMs: this.idleCloseMs }, 'browser pool: closing idle browser');
      void this.closeEntry(entry, 'idle').then(() => this.pump());
    }, this.idleCloseMs);
    entry.idleTimer.unref();
  }

  private stopIdle(entry: BrowserEntry): void {
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = null;
  }

  private tabCrashed(slot: PageSlot): void {
    if (slot.crashed) return;
    slot.crashed = true;
    this.counters.tabCrashes += 1;
    this.logger?.warn({ browser: slot.entry.id, pid: slot.entry.pid }, 'browser pool: a tab crashed; it is replaced');
    slot.onLost?.(new BrowserPoolError('tab_crashed', 'the browser tab crashed during the job (renderer out of memory or a fault); it was closed and will be replaced. Retry the job.'));
    if (slot.state === 'free') {
      this.discardSlot(slot);
      this.afterChange(slot.entry);
    }
  }

  /** The browser went without being asked (crash, SIGKILL, lost pipe): its jobs fail, the next job gets a new one. */
  private lostBrowser(entry: BrowserEntry): void {
    if (entry.state === 'closing' || entry.state === 'gone') return;
    entry.state = 'gone';
    this.counters.crashes += 1;
    this.stopIdle(entry);
    this.entries.delete(entry);
    this.logger?.warn({ browser: entry.id, pid: entry.pid }, 'browser pool: browser crashed or disconnected; it is replaced on the next job');
    killQuietly(entry);
    for (const slot of entry.slots) {
      slot.onLost?.(new BrowserPoolError('browser_crashed', 'the browser process died or disconnected during the job; a new browser is started for the next job. Retry the job.'));
      slot.state = 'closed';
    }
    this.pump();
  }

  private discardSlot(slot: PageSlot): void {
    if (slot.state === 'closed') return;
    slot.state = 'closed';
    slot.entry.slots.delete(slot);
    void bounded(slot.context.close(), HOUSEKEEPING_MS);
  }

  private async closeEntry(entry: BrowserEntry, why: string): Promise<void> {
    if (entry.state === 'gone') return;
    const wasLaunching = entry.state === 'launching' && !entry.browser;
    entry.state = 'closing';
    this.stopIdle(entry);
    if (wasLaunching) {
      // startBrowser sees the state and closes what it launched; wait for it so close() leaves no process behind.
      await entry.launching?.catch(() => undefined);
      entry.state = 'gone';
      this.entries.delete(entry);
      return;
    }
    for (const slot of entry.slots) {
      slot.onLost?.(new BrowserPoolError('closed', `the browser was closed (${why}) during the job`));
      slot.state = 'closed';
    }
    entry.slots.clear();
    if (entry.browser) await bounded(entry.browser.close(), HOUSEKEEPING_MS);
    killQuietly(entry);
    entry.state = 'gone';
    this.entries.delete(entry);
  }
}

// ---------------------------------------------------------------------------------------------

function whole(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < (name === 'idleCloseMs' ? 0 : 1)) {
    throw new RangeError(`BrowserPool option ${name} must be a positive number (got ${value}); leave it out for the default ${fallback}`);
  }
  return Math.floor(value);
}

/** Proxy server (no credentials: it reaches Chromium's context settings) and the credentials for page.authenticate. */
function parseProxy(proxyUrl: string | undefined): ProxySetting {
  if (!proxyUrl) return { server: '', credentials: null, secrets: [] };
  let u: URL;
  try {
    u = new URL(proxyUrl);
  } catch {
    throw new BrowserPoolError('bad_proxy', 'the proxy setting is not a URL (expected http://user:pass@host:port)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new BrowserPoolError('bad_proxy', `the proxy setting uses ${u.protocol}; only http: and https: proxies are supported`);
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(u.username);
  const password = decode(u.password);
  return {
    server: `${u.protocol}//${u.host}`,
    credentials: username || password ? { username, password } : null,
    secrets: [u.username, u.password, username, password].filter(Boolean),
  };
}

/** Resolves a waiter once; false when it had already left (deadline, abort). */
function settle(waiter: Waiter, slot: PageSlot | null, err: unknown): boolean {
  if (waiter.settled) return false;
  waiter.settled = true;
  if (slot) waiter.resolve(slot);
  else waiter.reject(err);
  return true;
}

function killQuietly(entry: BrowserEntry): void {
  const proc = entry.browser?.process();
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    try {
      proc.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** The promise's value, or undefined after `ms` (or on failure unless `rethrow`): housekeeping never hangs a job. */
async function bounded<T>(promise: Promise<T>, ms: number, rethrow = false): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve, reject) => {
    timer = setTimeout(() => (rethrow ? reject(new Error(`browser housekeeping step took more than ${ms} ms`)) : resolve(undefined)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } catch (err) {
    if (rethrow) throw err;
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return redactText(text.split('\n')[0].slice(0, 300));
}

/** The proxy credentials of a proxy URL, for redacting messages (exported for the browser fetch). */
export function proxySecrets(proxyUrl: string | undefined): string[] {
  try {
    return parseProxy(proxyUrl).secrets;
  } catch {
    return [];
  }
}
