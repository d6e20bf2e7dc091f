import { checkPublishedText } from '../contract/check.js';
import type { CoinLatestFile } from '../contract/coin-latest-schema.js';
import type { HistoryDays } from '../contract/published-files.js';
import type { HistoryFile } from '../contract/history-schema.js';
import type { PublishedManifest } from '../contract/manifest-schema.js';
import type { ProvidersFile } from '../contract/providers-schema.js';
import { MANIFEST_PATH, classifyPublishedPath } from '../contract/published-files.js';

/** One poller's published tree: relative path under data/ -> file text. */
export interface BranchTree {
  branch: string;
  files: ReadonlyMap<string, string>;
}

/** A branch's price files, parsed and checked against the published contract. */
export interface ParsedBranch {
  branch: string;
  manifest: PublishedManifest;
  providers: ProvidersFile | null;
  coinLatest: Map<string, CoinLatestFile>;
  /** slug -> days -> file. */
  history: Map<string, Map<HistoryDays, HistoryFile>>;
  /** Files that are not price files (spot feeds, ...), passed through as text. */
  other: Map<string, string>;
}

export type ParseBranchResult = { ok: true; branch: ParsedBranch } | { ok: false; reason: string };

/**
 * Parses and checks every file of a branch. Any invalid JSON, any price file that fails its schema, or a
 * missing manifest makes the whole branch unusable: a half-valid branch must not leak into `main`.
 */
export function parseBranch(tree: BranchTree): ParseBranchResult {
  const parsed: ParsedBranch = { branch: tree.branch, manifest: null as never, providers: null, coinLatest: new Map(), history: new Map(), other: new Map() };
  try {
    for (const path of [...tree.files.keys()].sort()) {
      const text = tree.files.get(path)!;
      const kind = classifyPublishedPath(path);
      if (!kind) {
        if (path.endsWith('.json')) parseJson(path, text);
        parsed.other.set(path, text);
        continue;
      }
      const value = checkPublishedText(path, text, 'published');
      switch (kind.kind) {
        case 'manifest':
          parsed.manifest = value as PublishedManifest;
          break;
        case 'providers':
          parsed.providers = value as ProvidersFile;
          break;
        case 'global-latest':
          break; // recomputed from the coins
        case 'coin-latest': {
          const file = value as CoinLatestFile;
          if (file.slug !== kind.slug) throw new Error(`${path}: slug "${file.slug}" does not match its folder`);
          parsed.coinLatest.set(kind.slug, file);
          break;
        }
        case 'coin-history': {
          let byDays = parsed.history.get(kind.slug);
          if (!byDays) parsed.history.set(kind.slug, (byDays = new Map()));
          byDays.set(kind.days, value as HistoryFile);
          break;
        }
      }
    }
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (!parsed.manifest) return { ok: false, reason: `no ${MANIFEST_PATH}` };
  return { ok: true, branch: parsed };
}

function parseJson(path: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}
