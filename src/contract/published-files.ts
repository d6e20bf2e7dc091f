import type { z } from 'zod';
import type { ContractLevel } from './fields.js';
import { isValidSlug } from './names.js';
import { manifestSchema } from './manifest-schema.js';
import { providersSchema } from './providers-schema.js';
import { globalLatestSchema } from './global-latest-schema.js';
import { coinLatestSchema } from './coin-latest-schema.js';
import { historySchema } from './history-schema.js';

/** Paths of the price files, relative to the `data/` folder of the API repository. */
export const MANIFEST_PATH = 'api/manifest.json';
export const PROVIDERS_PATH = 'api/providers.json';
export const GLOBAL_LATEST_PATH = 'api/latest.json';
export const coinLatestPath = (slug: string): string => `api/${slug}/latest.json`;
export const coinHistoryPath = (slug: string, days: HistoryDays): string => `api/${slug}/history-${days}d.json`;

/** The two history files. */
export const HISTORY_DAYS = [7, 30] as const;
export type HistoryDays = (typeof HISTORY_DAYS)[number];

/** File names the exporter owns inside a coin folder (a folder holding only these may be removed). */
export const COIN_FILE_NAMES = ['latest.json', 'history-7d.json', 'history-30d.json'] as const;

export type PublishedFileKind =
  | { kind: 'manifest' }
  | { kind: 'providers' }
  | { kind: 'global-latest' }
  | { kind: 'coin-latest'; slug: string }
  | { kind: 'coin-history'; slug: string; days: HistoryDays };

/** What a path under `data/` is, or null when it is not a price file (spot files, other feeds). */
export function classifyPublishedPath(path: string): PublishedFileKind | null {
  if (path === MANIFEST_PATH) return { kind: 'manifest' };
  if (path === PROVIDERS_PATH) return { kind: 'providers' };
  if (path === GLOBAL_LATEST_PATH) return { kind: 'global-latest' };
  const m = /^api\/([a-z0-9][a-z0-9-]*)\/(latest|history-(7|30)d)\.json$/.exec(path);
  if (!m || !isValidSlug(m[1])) return null;
  if (m[2] === 'latest') return { kind: 'coin-latest', slug: m[1] };
  return { kind: 'coin-history', slug: m[1], days: Number(m[3]) as HistoryDays };
}

/** One schema per kind and level: zod compiles a schema on its first parse, so a fresh one per file costs that each time. */
const schemas = new Map<string, z.ZodType>();

/** The schema of a price file at a contract level (the same instance for every file of a kind). */
export function schemaForKind(kind: PublishedFileKind, level: ContractLevel): z.ZodType {
  const key = `${kind.kind}:${level}`;
  let schema = schemas.get(key);
  if (!schema) schemas.set(key, (schema = buildSchema(kind, level)));
  return schema;
}

function buildSchema(kind: PublishedFileKind, level: ContractLevel): z.ZodType {
  switch (kind.kind) {
    case 'manifest':
      return manifestSchema(level);
    case 'providers':
      return providersSchema();
    case 'global-latest':
      return globalLatestSchema(level);
    case 'coin-latest':
      return coinLatestSchema(level);
    case 'coin-history':
      return historySchema(level);
  }
}
