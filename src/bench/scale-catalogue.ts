import type { CatalogueFile } from '../catalogue/schema.js';

/**
 * The catalogue `factor` times over, for measuring the system at scale: every coin is kept and copied
 * `factor - 1` times as `{slug}-x{k}` (k = 2..factor), named `{name} (copy k)`, with the same vendors at distinct
 * URLs (`-x{k}` added to the last path segment). Metal and weight stay, so prices stay plausible; the local
 * fleet started with the result serves every copy. Factor 1 returns a copy of the input.
 */
export function scaleCatalogue(file: CatalogueFile, factor: number): CatalogueFile {
  if (!Number.isInteger(factor) || factor < 1 || factor > 1000) throw new RangeError(`scale factor: expected an integer from 1 to 1000, got ${factor}`);
  const out = structuredClone(file);
  for (const [slug, coin] of Object.entries(file.coins)) {
    for (let k = 2; k <= factor; k++) {
      const copy = structuredClone(coin);
      copy.name = `${coin.name} (copy ${k})`;
      for (const p of copy.providers) {
        if (p.url) p.url = copyUrl(p.url, k);
        if (p.urls) p.urls = p.urls.map((u) => copyUrl(u, k));
      }
      out.coins[`${slug}-x${k}`] = copy;
    }
  }
  return out;
}

/** `https://d.com/a/b/` -> `https://d.com/a/b-x2/`; the query and fragment stay. */
function copyUrl(url: string, k: number): string {
  const u = new URL(url);
  u.pathname = u.pathname.replace(/([^/])(\/?)$/, `$1-x${k}$2`);
  return u.href;
}
