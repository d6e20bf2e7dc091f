import type { CatalogueFile } from '../catalogue/schema.js';
import type { ProvidersFile } from '../contract/providers-schema.js';

/** `api/providers.json`: every catalogue coin's enabled vendors and their first product URL. */
export function buildProviders(catalogueCoins: CatalogueFile['coins']): ProvidersFile {
  const file: ProvidersFile = {};
  for (const [slug, coin] of Object.entries(catalogueCoins)) {
    const links: Record<string, string> = {};
    for (const p of coin.providers) {
      const url = p.url ?? p.urls?.[0];
      if (p.enabled && url) links[p.id] = url;
    }
    file[slug] = links;
  }
  return file;
}
