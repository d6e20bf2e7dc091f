import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CatalogueFile } from '../catalogue/schema.js';
import { handleAdmin, sendJson, type FleetControl } from './admin.js';
import { APP_SHELL_API_PATH, CLEARANCE_COOKIE, clearanceToken, hasClearance, parseBrowserVendors, type BrowserOnly, type BrowserVendors } from './browser-only.js';
import { chaosDice, parseChaos, type ChaosFault, type FleetChaos } from './chaos.js';
import { sendAccessDenied, sendChallenge, sendHtml, sendNotFound, sendServerError, sendTooManyRequests, sendTruncated, withTabCrash } from './faults.js';
import { GOLDBACK_RATE_PATH, goldbackRateOn, isGoldbackRatePath } from './goldback-rate.js';
import { hash32, stream } from './hash.js';
import { truthOf, type Truth } from './market.js';
import { FleetInputError, parsePatch, type Fault, type Patch } from './patch.js';
import { appShellPage, renderAppShell } from './pages/app-shell.js';
import { renderGoldbackRatePage } from './pages/goldback-rate.js';
import { renderScriptChallenge } from './pages/script-challenge.js';
import { buildPageModel, spotTicks } from './pages/model.js';
import { styleFor } from './pages/styles.js';
import { DEFAULT_SPOT, windowIndex, type SpotPrices } from './price-model.js';
import { buildRoutes, lookupPath, type FleetTarget } from './routes.js';
import { FleetState } from './state.js';
import { StatsRecorder, type FleetStats } from './stats.js';

export type { FleetStats } from './stats.js';

export interface FleetOptions {
  /** The catalogue whose dealer URLs the fleet stands in for (the providers.json format). */
  catalogue: CatalogueFile;
  /** Interface to listen on. Default `127.0.0.1`: the fleet is never reachable from the network. */
  host?: string;
  /** Port. Default 0: a random free port (read it from the handle). */
  port?: number;
  /** Delay before each answer, drawn uniformly from [min, max] ms. Default [0, 0]. */
  latencyMs?: [number, number];
  /** Seed of the price model, stock and latency draws. Default 1. */
  seed?: number;
  /** Spot in USD per troy oz (goldback: USD per note); missing metals keep DEFAULT_SPOT
   * (gold 5000, silver 85, platinum 2200, palladium 1700, goldback 10). */
  spot?: Partial<SpotPrices>;
  /** How long the `slow` fault waits before answering. Default 30,000 ms. */
  slowMs?: number;
  /** Clock that picks the 15-minute price window. Default `Date.now`. */
  now?: () => number;
  /** Random faults (bot walls, 429, 500, hangs) from the start; reset() comes back to it. Default none. */
  chaos?: FleetChaos;
  /**
   * Vendors whose pages only a browser can read: an app shell rendered by script from the fleet's product JSON,
   * and/or a script challenge that sets a cookie and reloads. Default none (plain HTML everywhere); reset() comes back to it.
   */
  browserVendors?: BrowserVendors;
}

export interface FleetHandle {
  /** Base URL, no trailing slash, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Stops listening, drops open connections and pending delays (slow faults included). */
  close(): Promise<void>;
  /** Overrides what one coin x vendor page serves; throws FleetInputError for an unknown target or a bad patch. */
  setTarget(vendor: string, coin: string, patch: Patch): void;
  /** Overrides every page of a vendor (price excepted); target patches win over vendor patches. */
  setVendor(vendor: string, patch: Omit<Patch, 'price'>): void;
  /**
   * Replaces the random faults (null: none) and restarts their draws; throws FleetInputError naming a bad field.
   * Patched faults keep priority over chaos; chaos never changes truth().
   */
  setChaos(chaos: FleetChaos | null): void;
  /** Replaces the browser-only vendors (null: none); throws FleetInputError naming a bad field or an unknown vendor. */
  setBrowserVendors(browserVendors: BrowserVendors | null): void;
  /** The browser-only vendors in force. */
  browserVendors(): Required<BrowserVendors>;
  /** Clears every patch and fault, chaos and browser-only vendors back to the options (draws restarted); with `{stats: true}` also the stats. */
  reset(options?: { stats?: boolean }): void;
  stats(): FleetStats;
  /** What the page of a target advertises now for its catalogue product (even under a fault). */
  truth(vendor: string, coin: string): Truth;
  /** Fleet URL of a target's first catalogue URL. */
  urlFor(vendor: string, coin: string): string;
  /** Every coin x vendor entry served (enabled or not), with its fleet URL. */
  targets(): Array<{ vendor: string; coin: string; enabled: boolean; url: string }>;
  /** Fleet URL of the official Goldback exchange rate page: `{url}/goldback/exchange-rate` (fleetUrlFor of GOLDBACK_RATE_SITE_URL). */
  goldbackRateUrl: string;
  /** The G1 rate in USD that page states on the UTC day of `atMs` (default: the fleet's clock now). */
  goldbackRate(atMs?: number): number;
}

/** Starts the local vendor fleet: one HTTP server standing in for every dealer of the catalogue. */
export async function startFleet(options: FleetOptions): Promise<FleetHandle> {
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? 1;
  const spot: SpotPrices = { ...DEFAULT_SPOT, ...options.spot };
  const [minLatency, maxLatency] = options.latencyMs ?? [0, 0];
  const slowMs = options.slowMs ?? 30_000;
  const now = options.now ?? Date.now;
  if (!(minLatency >= 0 && maxLatency >= minLatency)) throw new FleetInputError(`latencyMs: expected [min, max] with 0 <= min <= max, got [${minLatency}, ${maxLatency}]`);

  const routes = buildRoutes(options.catalogue);
  const state = new FleetState();
  const draw = stream(seed);
  const stats = new StatsRecorder();
  const startChaos = parseChaos(options.chaos, routes.vendors, 'chaos option');
  let chaos: FleetChaos | null = null;
  let chaosFor: (vendor: string) => ChaosFault | null = () => null;
  const useChaos = (c: FleetChaos | null) => {
    chaos = c;
    chaosFor = c ? chaosDice(c, seed) : () => null;
  };
  useChaos(startChaos);
  const startBrowserOnly = parseBrowserVendors(options.browserVendors, routes.vendors, 'browserVendors option');
  let browserOnly: BrowserOnly = startBrowserOnly;
  let closed = false;
  const sleepers = new Set<{ timer: NodeJS.Timeout; wake: (finished: boolean) => void }>();
  /** Requests a `hang` holds open; close() destroys them. */
  const hung = new Set<ServerResponse>();

  /** Resolves true after `ms`, or false at once when the fleet closes (so no delay holds up close()). */
  function sleep(ms: number): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(true), ms),
        wake: (finished: boolean) => {
          clearTimeout(entry.timer);
          sleepers.delete(entry);
          resolve(finished);
        },
      };
      sleepers.add(entry);
    });
  }

  /** Never answers: resolves when the client gives up or the fleet closes. */
  function hang(res: ServerResponse): Promise<void> {
    if (closed) return Promise.resolve(void res.destroy());
    return new Promise((resolve) => {
      hung.add(res);
      res.once('close', () => {
        hung.delete(res);
        resolve();
      });
    });
  }

  function targetOrThrow(vendor: string, coin: string): FleetTarget {
    const t = routes.find(vendor, coin);
    if (!t) throw new FleetInputError(`unknown target ${coin}:${vendor}: the catalogue has no URL for coin "${coin}" at vendor "${vendor}"`);
    return t;
  }

  const market = () => ({ seed, spot, window: windowIndex(now()) });
  const truthNow = (t: FleetTarget): Truth => truthOf(t, state.settings(t.vendor, t.coin), market());

  async function serveDealer(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const vendorId = url.pathname.split('/')[1] ?? '';
    const vendor = routes.vendors.get(vendorId);
    stats.arrive(vendor ? vendorId : undefined, res);
    const target = lookupPath(routes, url.pathname, url.search);
    const settings = state.settings(vendorId, target?.coin);
    if (vendor && browserOnly.challenge.has(vendorId) && !hasClearance(req, seed, vendorId)) {
      // In front of the shop, like Cloudflare: faults and chaos draws are kept for the requests that pass.
      const wait = settings.latencyMs ?? minLatency + (maxLatency - minLatency) * draw();
      stats.latency(vendorId, wait);
      if (!(await sleep(wait))) return void res.destroy();
      return sendScriptChallenge(res, vendorId, vendor.host, url.pathname);
    }
    const fault = vendor ? state.takeFault(vendorId, target?.coin) : null;
    // Drawn even when a patched fault wins, so that patches do not shift the vendor's sequence of draws.
    const random = vendor ? chaosFor(vendorId) : null;
    const latency = settings.latencyMs ?? minLatency + (maxLatency - minLatency) * draw();
    if (vendor) stats.latency(vendorId, latency);
    if (!(await sleep(latency))) return void res.destroy();
    const style = styleFor(vendorId);
    const notFound = () => sendNotFound(res, vendor, spotTicks(seed, spot, windowIndex(now())));
    if (fault && fault !== 'slow' && fault !== 'truncated' && fault !== 'crash') return sendFault(fault);
    if (!fault && random) return sendFault(random);
    if (!target) return notFound();
    if (fault) stats.fault(vendorId, fault, res);
    if (fault === 'slow' && !(await sleep(slowMs))) return void res.destroy();
    const html = browserOnly.appShell.has(vendorId)
      ? renderAppShell({ vendorName: target.vendorName, apiUrl: `${APP_SHELL_API_PATH}?${new URLSearchParams({ vendor: target.vendor, coin: target.coin })}` })
      : style.render(productModel(target, settings));
    if (fault === 'truncated') return sendTruncated(res, html);
    if (fault === 'crash') return sendHtml(res, 200, withTabCrash(html));
    sendHtml(res, 200, html);

    function sendFault(f: Exclude<Fault, 'slow' | 'truncated' | 'crash'> | ChaosFault): Promise<void> | void {
      stats.fault(vendorId, f, res);
      const host = vendor?.host ?? url.host;
      const path = url.pathname.slice(vendorId.length + 1) + url.search;
      const send: Record<typeof f, () => Promise<void> | void> = {
        '403': () => sendAccessDenied(res, host),
        '404': notFound,
        '429': () => sendTooManyRequests(res, vendor?.name ?? vendorId),
        '500': () => sendServerError(res, vendor?.name ?? vendorId),
        challenge: () => sendChallenge(res, host, path, style.challengeStatus),
        // A bot wall is Cloudflare's managed challenge with the 403 it gives clients it has flagged.
        wall: () => sendChallenge(res, host, path, 403),
        hang: () => hang(res),
      };
      return send[f]();
    }
  }

  /** The model of a target's product page now: what its style renders, and what an app shell's JSON carries. */
  function productModel(target: FleetTarget, settings = state.settings(target.vendor, target.coin)) {
    const ctx = market();
    return buildPageModel({ target, truth: truthOf(target, settings, ctx), wrongProduct: settings.wrongProduct ?? false, routes, truthOf: truthNow, ...ctx });
  }

  /** The product JSON an app shell's script fetches: the product's data, and the page the vendor would serve, cut for the DOM. */
  function serveAppShellApi(res: ServerResponse, url: URL): void {
    const target = routes.find(url.searchParams.get('vendor') ?? '', url.searchParams.get('coin') ?? '');
    if (!target) return sendJson(res, 404, { error: 'no such product: expected ?vendor=<vendor id>&coin=<coin slug> of a catalogue target' });
    const model = productModel(target);
    sendJson(res, 200, {
      product: { name: model.product.name, sku: model.product.sku, price: model.price, availability: model.availability },
      page: appShellPage(styleFor(target.vendor).render(model)),
    });
  }

  /** A script challenge (HTTP 403, like Cloudflare's managed challenge): only a client that runs it gets the cookie. */
  function sendScriptChallenge(res: ServerResponse, vendorId: string, host: string, path: string): void {
    const ray = `${hash32(`chl|${path}|${now()}|${Math.random()}`).toString(16).padStart(8, '0')}${hash32(`chl|${vendorId}`).toString(16).padStart(8, '0')}-IAD`;
    const html = renderScriptChallenge({
      host,
      cookie: { name: CLEARANCE_COOKIE, value: clearanceToken(seed, vendorId), path: `/${vendorId}` },
      delayMs: browserOnly.challengeDelayMs,
      rayId: ray.slice(0, 16),
    });
    sendHtml(res, 403, html, { server: 'cloudflare', 'cf-ray': ray, 'cf-mitigated': 'challenge', 'cache-control': 'no-store' });
  }

  /** The official Goldback rate page: today's rate, the last five days, gold spot and the dealers' goldback prices. */
  function serveGoldbackRate(res: ServerResponse): void {
    const at = now();
    const offers = [...routes.byKey.values()]
      .filter((t) => t.metal === 'goldback' && t.enabled)
      .slice(0, 6)
      .map((t) => ({ name: t.coinName, dealer: t.vendorName, href: t.paths[0], price: truthNow(t).price }));
    const history = [1, 2, 3, 4, 5].map((k) => ({ atMs: at - k * 86_400_000, rate: goldbackRateOn(seed, spot, at - k * 86_400_000) }));
    sendHtml(res, 200, renderGoldbackRatePage({ rate: goldbackRateOn(seed, spot, at), history, atMs: at, spot: spotTicks(seed, spot, windowIndex(at)), offers }));
  }

  const control: FleetControl & Omit<FleetHandle, 'url' | 'port' | 'close' | 'goldbackRateUrl'> = {
    health: () => ({ ok: true, vendors: [...routes.vendors.keys()].sort(), targets: routes.byKey.size, seed, spot, window: windowIndex(now()), chaos, browserVendors: browserOnly.asJson() }),
    stats: () => stats.snapshot(),
    targets: () => [...routes.byKey.values()].map((t) => ({ vendor: t.vendor, coin: t.coin, enabled: t.enabled, url: handle.url + t.paths[0] })),
    truth: (vendor, coin) => truthNow(targetOrThrow(vendor, coin)),
    urlFor: (vendor, coin) => handle.url + targetOrThrow(vendor, coin).paths[0],
    goldbackRate: (atMs) => goldbackRateOn(seed, spot, atMs ?? now()),
    setTarget(vendor, coin, patch) {
      targetOrThrow(vendor, coin);
      state.patchTarget(vendor, coin, parsePatch(patch, `patch for ${coin}:${vendor}`));
    },
    setVendor(vendor, patch) {
      if (!routes.vendors.has(vendor)) throw new FleetInputError(`unknown vendor "${vendor}": expected one of ${[...routes.vendors.keys()].join(', ')}`);
      const parsed = parsePatch(patch, `patch for vendor ${vendor}`);
      if (parsed.price !== undefined) throw new FleetInputError(`bad patch for vendor ${vendor}: price: set prices per target (POST /_fleet/target)`);
      state.patchVendor(vendor, parsed);
    },
    setChaos(c) {
      useChaos(parseChaos(c, routes.vendors));
    },
    setBrowserVendors(bv) {
      browserOnly = parseBrowserVendors(bv, routes.vendors);
    },
    browserVendors: () => browserOnly.asJson(),
    reset(o) {
      state.reset();
      useChaos(startChaos);
      browserOnly = startBrowserOnly;
      if (o?.stats) stats.reset();
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fleet.local');
    const work = url.pathname === APP_SHELL_API_PATH
      ? Promise.resolve().then(() => serveAppShellApi(res, url))
      : url.pathname.startsWith('/_fleet/')
      ? handleAdmin(req, res, url, control)
      : isGoldbackRatePath(url.pathname)
        ? Promise.resolve().then(() => serveGoldbackRate(res))
        : serveDealer(req, res, url);
    work.catch((err: Error) => {
      if (!res.headersSent) sendHtml(res, 500, `<!DOCTYPE html><title>fleet error</title><pre>${String(err.stack ?? err).replace(/</g, '&lt;')}</pre>`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const handle: FleetHandle = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    get goldbackRateUrl() {
      return handle.url + GOLDBACK_RATE_PATH;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of [...sleepers]) s.wake(false);
      for (const res of [...hung]) res.destroy();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
    ...control,
  };
  return handle;
}

