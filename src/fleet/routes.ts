import type { CatalogueFile } from '../catalogue/schema.js';
import type { Metal } from '../catalogue/target.js';

/** One coin x vendor entry of the catalogue that the fleet serves (enabled or not, as long as it has a URL). */
export interface FleetTarget {
  vendor: string;
  vendorName: string;
  coin: string;
  coinName: string;
  metal: Metal;
  weightOz: number;
  enabled: boolean;
  /** Fleet paths (`/{vendor}{path}{query}`), one per catalogue URL. */
  paths: string[];
  /** The dealer's own path of the first URL, for canonical links. */
  originalPath: string;
}

/** A dealer as the fleet knows it. */
export interface FleetVendor {
  id: string;
  name: string;
  /** Host of the dealer's real site (first URL seen), shown on Cloudflare pages. */
  host: string;
}

/** Lookup tables from the catalogue: request path -> target, and the lists pages need. */
export interface RouteTable {
  byPath: ReadonlyMap<string, FleetTarget>;
  byKey: ReadonlyMap<string, FleetTarget>;
  vendors: ReadonlyMap<string, FleetVendor>;
  /** Targets of one vendor, in catalogue order. */
  ofVendor(vendor: string): FleetTarget[];
  find(vendor: string, coin: string): FleetTarget | undefined;
}

/** The fleet path of a dealer URL: `/{vendor}{path}{query}`; the same function serves the rewrite and the lookup. */
export function fleetPath(vendor: string, url: string): string {
  const u = new URL(url);
  return `/${vendor}${u.pathname}${u.search}`;
}

export function buildRoutes(file: CatalogueFile): RouteTable {
  const byPath = new Map<string, FleetTarget>();
  const byKey = new Map<string, FleetTarget>();
  const vendors = new Map<string, FleetVendor>();
  const perVendor = new Map<string, FleetTarget[]>();
  for (const [coin, c] of Object.entries(file.coins)) {
    for (const p of c.providers) {
      const urls = p.urls ?? (p.url ? [p.url] : []);
      const name = p.name ?? p.id; // older catalogues have no display name
      if (!vendors.has(p.id) && urls.length) vendors.set(p.id, { id: p.id, name, host: new URL(urls[0]).host });
      if (!urls.length) continue; // a disabled entry without URL has no page to serve
      const target: FleetTarget = {
        vendor: p.id,
        vendorName: name,
        coin,
        coinName: c.name,
        metal: c.metal,
        weightOz: c.weight_oz,
        enabled: p.enabled,
        paths: urls.map((u) => fleetPath(p.id, u)),
        originalPath: new URL(urls[0]).pathname,
      };
      for (const path of target.paths) if (!byPath.has(path)) byPath.set(path, target);
      byKey.set(`${coin}:${p.id}`, target);
      perVendor.set(p.id, [...(perVendor.get(p.id) ?? []), target]);
    }
  }
  return {
    byPath,
    byKey,
    vendors,
    ofVendor: (vendor) => perVendor.get(vendor) ?? [],
    find: (vendor, coin) => byKey.get(`${coin}:${vendor}`),
  };
}

/** The target a request path names: exact path and query first, then the path alone (tracking parameters). */
export function lookupPath(routes: RouteTable, pathname: string, search: string): FleetTarget | undefined {
  return routes.byPath.get(pathname + search) ?? routes.byPath.get(pathname);
}
