import type { PublishedFileKind } from './published-files.js';

/** Paths of objects keyed by data (slug, vendor) rather than by field name, per file kind. */
const RECORD_PATHS: Record<PublishedFileKind['kind'], string[]> = {
  manifest: ['coins_meta'],
  providers: ['', '*'],
  'global-latest': ['coins'],
  'coin-latest': ['vendors', 'availability_by_site', 'last_known_price_by_site', 'last_available_date_by_site', 'windows_24h[].vendors'],
  'coin-history': ['[].vendors'],
};

/**
 * The key structure of a published file: every path of a field, with data keys (slugs, vendors) as `*`
 * and array items as `[]`. Two files with the same shape have the same field names at the same places,
 * whatever their values; used to hold our files against the real ones.
 */
export function keyShape(kind: PublishedFileKind['kind'], value: unknown): Set<string> {
  const records = new Set(RECORD_PATHS[kind]);
  const shape = new Set<string>();
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) {
      for (const item of v) walk(item, `${path}[]`);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const isRecord = records.has(path);
    for (const [key, child] of Object.entries(v)) {
      const childPath = `${path}${path && !path.endsWith('.') ? '.' : ''}${isRecord ? '*' : key}`;
      shape.add(childPath);
      walk(child, childPath);
    }
  };
  walk(value, '');
  return shape;
}
