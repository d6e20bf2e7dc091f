import type { CatalogueFile } from '../catalogue/schema.js';
import { fleetPath } from './routes.js';

/** The fleet URL that stands in for a dealer URL: `{base}/{vendor}{path}{query}`. */
export function fleetUrlFor(baseUrl: string, vendor: string, dealerUrl: string): string {
  return baseUrl.replace(/\/+$/, '') + fleetPath(vendor, dealerUrl);
}

/**
 * A copy of the catalogue whose every `url` and `urls[]` points at the fleet at `baseUrl`.
 * Everything else (disabled entries, unknown fields, order) is kept as it was.
 */
export function rewriteCatalogueForFleet(file: CatalogueFile, baseUrl: string): CatalogueFile {
  const copy = structuredClone(file);
  for (const coin of Object.values(copy.coins)) {
    for (const p of coin.providers) {
      if (p.url) p.url = fleetUrlFor(baseUrl, p.id, p.url);
      if (p.urls) p.urls = p.urls.map((u) => fleetUrlFor(baseUrl, p.id, u));
    }
  }
  return copy;
}
