import type { PublishedManifest } from '../contract/manifest-schema.js';
import type { ProvidersFile } from '../contract/providers-schema.js';

/** Union of providers.json files: every slug and vendor any branch lists; the earlier branch's URL wins. */
export function mergeProviders(files: ReadonlyArray<ProvidersFile | null>): ProvidersFile {
  const merged: ProvidersFile = {};
  for (const file of files) {
    if (!file) continue;
    for (const [slug, links] of Object.entries(file)) {
      if (slug === '_vendor_meta') continue;
      const into = (merged[slug] ??= {});
      for (const [vendor, url] of Object.entries(links)) if (!(vendor in into)) into[vendor] = url;
    }
  }
  return merged;
}

/** The manifests' union: slugs, coin meta (earlier branch wins), newest generated_at and latest_window. */
export function mergeManifestParts(manifests: readonly PublishedManifest[]): {
  slugs: string[];
  coinsMeta: PublishedManifest['coins_meta'];
  generatedAt: string | null;
  anchorWindow: string | null;
} {
  const slugs = new Set<string>();
  const coinsMeta: PublishedManifest['coins_meta'] = {};
  let generatedAt: string | null = null;
  let anchorWindow: string | null = null;
  for (const m of manifests) {
    for (const slug of m.coins) slugs.add(slug);
    for (const [slug, meta] of Object.entries(m.coins_meta)) if (!(slug in coinsMeta)) coinsMeta[slug] = meta;
    if (m.latest_window !== null) {
      // Only a manifest with data carries a meaningful generated_at.
      if (generatedAt === null || m.generated_at > generatedAt) generatedAt = m.generated_at;
      if (anchorWindow === null || m.latest_window > anchorWindow) anchorWindow = m.latest_window;
    }
  }
  return { slugs: [...slugs].sort(), coinsMeta, generatedAt, anchorWindow };
}
