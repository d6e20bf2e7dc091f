import type { CatalogueFile } from '../catalogue/schema.js';
import { MANIFEST_ENDPOINTS, type PublishedManifest } from '../contract/manifest-schema.js';

/** generated_at of an export without any data: the oldest time, so that any endpoint with data ranks above it. */
export const NO_DATA_GENERATED_AT = '1970-01-01T00:00:00.000Z';

export interface ManifestInput {
  /** Published slugs (configured, or with data in the retention period); sorted here. */
  slugs: readonly string[];
  /** The catalogue's coins, for `coins_meta` (slugs no longer configured have no meta). */
  catalogueCoins: CatalogueFile['coins'];
  /** The export's newest window, or null without data. */
  anchorWindow: string | null;
  /**
   * The newest published observation (scraped_at), not the wall clock: the frontend ranks endpoints by
   * it, and an export with nothing new must not change the file.
   */
  generatedAt: string | null;
  /** Distinct windows across all coins' windows_24h. */
  windowCount: number;
}

/** `api/manifest.json`, with `coins` and `enabled_coins` the same sorted list. */
export function buildManifest(input: ManifestInput): PublishedManifest {
  const coins = [...new Set(input.slugs)].sort();
  const coins_meta: PublishedManifest['coins_meta'] = {};
  for (const slug of coins) {
    const c = input.catalogueCoins[slug];
    if (c) coins_meta[slug] = { name: c.name, metal: c.metal, weight: c.weight_oz };
  }
  return {
    generated_at: input.generatedAt ?? NO_DATA_GENERATED_AT,
    latest_window: input.anchorWindow,
    window_count: input.windowCount,
    coin_count: coins.length,
    coins,
    enabled_coins: [...coins],
    coins_meta,
    endpoints: { ...MANIFEST_ENDPOINTS },
  };
}

/** Distinct windows over the coins' windows_24h: the manifest's window_count. */
export function countWindows(coins: Iterable<{ windows_24h: ReadonlyArray<{ window: string }> }>): number {
  const windows = new Set<string>();
  for (const c of coins) for (const w of c.windows_24h) windows.add(w.window);
  return windows.size;
}
