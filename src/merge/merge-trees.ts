import type { CoinLatestFile } from '../contract/coin-latest-schema.js';
import { NO_DATA_GENERATED_AT } from '../export/manifest.js';
import { GLOBAL_LATEST_PATH, HISTORY_DAYS, MANIFEST_PATH, PROVIDERS_PATH, coinHistoryPath, coinLatestPath } from '../contract/published-files.js';
import { buildCoinLatest } from '../export/coin-latest.js';
import { buildGlobalLatest } from '../export/global-latest.js';
import { countWindows } from '../export/manifest.js';
import { MANIFEST_ENDPOINTS, type PublishedManifest } from '../contract/manifest-schema.js';
import { renderPublishedFiles } from '../export/render-files.js';
import { DEFAULT_PUBLISH_RULES, utcDate, type PublishRules } from '../export/rules.js';
import { mergeManifestParts, mergeProviders } from './merge-catalogue-files.js';
import { mergeHistories } from './merge-history.js';
import { mergeCoinLatest } from './merge-latest.js';
import { mergeFeedFile } from './merge-feeds.js';
import { parseBranch, readFeedFiles, type BranchTree, type ParsedBranch } from './parse-branch.js';

export interface MergeResult {
  /** The merged tree: relative path under data/ -> text (price files checked and stable). */
  files: Map<string, string>;
  /** Branches merged, in the order given. */
  used: string[];
  /** Branches left out whole, with why (invalid JSON, a file breaking the contract, no manifest). */
  skipped: Array<{ branch: string; reason: string }>;
  /** When the newest data in the merged tree was scraped (the manifest's generated_at), or null without data. */
  newestDataAt: string | null;
}

export interface MergeOptions {
  /** Must match the exporters' rules. Default DEFAULT_PUBLISH_RULES. */
  rules?: PublishRules;
  /** Folder of the price files inside each tree, e.g. `data/` for a repository tree. Default '' (paths relative to data/). */
  root?: string;
  /**
   * The tree now on main. A coin that no branch has data for keeps main's files as they are, so an empty or
   * stale branch never empties a coin main has. Never counted as a branch used; ignored when invalid. Default none.
   */
  fallback?: BranchTree;
}

/**
 * Merges the pollers' trees (api1..apiN, in priority order: the earlier branch wins ties) into the
 * tree of `main`. A branch with any invalid file is skipped whole and never corrupts the result.
 * Price files are merged by the builders' rules (see mergeCoinLatest, mergeHistories); manifest and
 * providers are unions; api/latest.json is recomputed. Feed files (spot, Goldback) of main and the branches are
 * unioned by mergeFeedFile. The output passes the published contract. No valid branch: an empty result.
 */
export function mergeTrees(trees: ReadonlyArray<BranchTree>, options: MergeOptions = {}): MergeResult {
  const rules = options.rules ?? DEFAULT_PUBLISH_RULES;
  const root = options.root ?? '';
  const branches: ParsedBranch[] = [];
  const skipped: MergeResult['skipped'] = [];
  for (const tree of trees) {
    const parsed = parseBranch(tree, root);
    if (parsed.ok) branches.push(parsed.branch);
    else skipped.push({ branch: tree.branch, reason: parsed.reason });
  }
  if (!branches.length) return { files: new Map(), used: [], skipped, newestDataAt: null };

  const manifestParts = mergeManifestParts(branches.map((b) => b.manifest));
  const { anchorWindow, generatedAt } = manifestParts;
  const values = new Map<string, unknown>();
  const coinFiles: CoinLatestFile[] = [];
  const main = options.fallback ? parsedFallback(options.fallback, root) : null;
  const kept = keptFromFallback(main, branches);
  const slugs = [...new Set([...manifestParts.slugs, ...kept.keys()])].sort();
  for (const [slug, meta] of kept) if (!(slug in manifestParts.coinsMeta) && meta) manifestParts.coinsMeta[slug] = meta;
  for (const slug of slugs) {
    if (main && kept.has(slug)) {
      const latest = main.coinLatest.get(slug)!;
      coinFiles.push(latest);
      values.set(coinLatestPath(slug), latest);
      for (const days of HISTORY_DAYS) values.set(coinHistoryPath(slug, days), main.history.get(slug)?.get(days) ?? []);
      continue;
    }
    const latests = branches.map((b) => b.coinLatest.get(slug)).filter((f): f is CoinLatestFile => f !== undefined);
    const latest = anchorWindow === null ? buildCoinLatest({ slug, anchorWindow: null, vendors: [], windowPrices: [] }) : mergeCoinLatest(slug, latests, anchorWindow, rules);
    coinFiles.push(latest);
    values.set(coinLatestPath(slug), latest);
    for (const days of HISTORY_DAYS) {
      const histories = branches.map((b) => b.history.get(slug)?.get(days)).filter((h) => h !== undefined);
      values.set(coinHistoryPath(slug, days), anchorWindow === null ? [] : mergeHistories(histories, { days, lastDate: utcDate(anchorWindow) }));
    }
  }
  const manifest: PublishedManifest = {
    generated_at: generatedAt ?? branches.map((b) => b.manifest.generated_at).sort().at(-1)!,
    latest_window: anchorWindow,
    window_count: countWindows(coinFiles),
    coin_count: slugs.length,
    coins: slugs,
    enabled_coins: [...slugs],
    coins_meta: manifestParts.coinsMeta,
    endpoints: { ...MANIFEST_ENDPOINTS },
  };
  values.set(MANIFEST_PATH, manifest);
  values.set(PROVIDERS_PATH, mergeProviders(branches.map((b) => b.providers)));
  values.set(GLOBAL_LATEST_PATH, buildGlobalLatest({ coins: coinFiles, anchorWindow, generatedAt: manifest.generated_at }));

  const files = new Map([...renderPublishedFiles(values)].map(([path, text]) => [root + path, text]));
  // Feed files: main's and every branch's, unioned (merge-feeds.ts); a file only main has stays.
  const feeds = new Map<string, string[]>();
  const mainFeeds = options.fallback ? readFeedFiles(options.fallback, root, 'contract') : new Map<string, string>();
  for (const other of [mainFeeds, ...branches.map((b) => b.other)]) {
    for (const [path, text] of other) feeds.set(path, [...(feeds.get(path) ?? []), text]);
  }
  for (const [path, texts] of feeds) if (!files.has(path)) files.set(path, mergeFeedFile(path, texts));
  return { files: new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))), used: branches.map((b) => b.branch), skipped, newestDataAt: generatedAt === NO_DATA_GENERATED_AT ? null : generatedAt };
}

/** The fallback tree parsed, or null when it is invalid (then it is ignored). */
function parsedFallback(tree: BranchTree, root: string): ParsedBranch | null {
  // Its feed files are read apart (readFeedFiles), each on its own: one of them never costs main its price files.
  const parsed = parseBranch(tree, root, { feedCheck: 'none' });
  return parsed.ok ? parsed.branch : null;
}

/** Coins of the fallback tree (main) with vendors that no branch has data for, with their manifest meta. */
function keptFromFallback(main: ParsedBranch | null, branches: readonly ParsedBranch[]): Map<string, PublishedManifest['coins_meta'][string] | undefined> {
  const kept = new Map<string, PublishedManifest['coins_meta'][string] | undefined>();
  if (!main) return kept;
  const hasData = (f: CoinLatestFile | undefined) => f !== undefined && Object.keys(f.vendors).length > 0;
  for (const [slug, latest] of main.coinLatest) {
    if (!hasData(latest) || branches.some((b) => hasData(b.coinLatest.get(slug)))) continue;
    kept.set(slug, main.manifest.coins_meta[slug]);
  }
  return kept;
}
