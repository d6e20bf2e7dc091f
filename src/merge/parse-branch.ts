import { checkPublishedText } from '../contract/check.js';
import { ContractError } from '../contract/contract-error.js';
import type { CoinLatestFile } from '../contract/coin-latest-schema.js';
import type { HistoryDays } from '../contract/published-files.js';
import type { HistoryFile } from '../contract/history-schema.js';
import type { PublishedManifest } from '../contract/manifest-schema.js';
import type { ProvidersFile } from '../contract/providers-schema.js';
import { MANIFEST_PATH, classifyPublishedPath } from '../contract/published-files.js';
import { createHash } from 'node:crypto';
import { problemOf, slugSchema, treePathProblem } from '../contract/names.js';
import { checkGoldbackFile, isGoldbackFilePath } from '../goldback/index.js';
import { checkSpotFile, type SpotFileLevel } from '../spot/spot-files.js';

/** One poller's published tree: path -> file text (price files at `{root}api/...`). */
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
  /** Files that are not price files (spot feeds, ...), by their full path, passed through as text. */
  other: Map<string, string>;
}

export type ParseBranchResult = { ok: true; branch: ParsedBranch } | { ok: false; reason: string };

/**
 * Parses and checks every file of a branch; price files are looked for under `root` (e.g. `data/`).
 * Any invalid JSON, any price file that fails its schema, a missing manifest, a path that is not a plain
 * relative path (`..`, `.git`, absolute, ...) or a coin folder under `{root}api/` whose name is not a valid slug
 * (contract/names.ts) makes the whole branch unusable: a half-valid branch must not leak into `main`.
 */
export function parseBranch(tree: BranchTree, root = '', options: { feedCheck?: SpotFileLevel | 'none' } = {}): ParseBranchResult {
  const parsed: ParsedBranch = { branch: tree.branch, manifest: null as never, providers: null, coinLatest: new Map(), history: new Map(), other: new Map() };
  try {
    for (const path of [...tree.files.keys()].sort()) {
      const text = tree.files.get(path)!;
      checkPath(path, root);
      const kind = path.startsWith(root) ? classifyPublishedPath(path.slice(root.length)) : null;
      if (!kind) {
        // Only the feed files the contract defines pass through to main: anything else on a branch (a foreign
        // commit, a stray file) is left out, so that nobody but the exporter decides what main publishes.
        if (!path.startsWith(root) || !isFeedPath(path.slice(root.length))) continue;
        if (options.feedCheck === 'none') continue;
        checkFeedFile(path, path.slice(root.length), text, options.feedCheck ?? 'published');
        parsed.other.set(path, text);
        continue;
      }
      const value = checkAt(path, root, text);
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
  if (!parsed.manifest) return { ok: false, reason: `no ${root}${MANIFEST_PATH}` };
  return { ok: true, branch: parsed };
}

/** Throws when a path could leave the tree or names a coin folder that is not a valid slug. */
function checkPath(path: string, root: string): void {
  const problem = treePathProblem(path);
  if (problem) throw new Error(`${JSON.stringify(path)} is ${problem}, not a path of a published tree`);
  const folder = path.startsWith(root) ? /^api\/([^/]+)\/./.exec(path.slice(root.length))?.[1] : undefined;
  if (folder === undefined) return;
  const invalid = problemOf(slugSchema, folder, 'coin folder');
  if (invalid) throw new Error(`${path}: ${invalid}`);
}

/**
 * The feed files of a tree that pass their schemas at `level`, each judged alone: main's feed files are kept by the
 * merge even when one of its price files (written by the system this replaces) would fail today's checks.
 */
export function readFeedFiles(tree: BranchTree, root: string, level: SpotFileLevel): Map<string, string> {
  const out = new Map<string, string>();
  for (const [path, text] of tree.files) {
    if (!path.startsWith(root) || treePathProblem(path) || !isFeedPath(path.slice(root.length))) continue;
    try {
      checkFeedFile(path, path.slice(root.length), text, level);
      out.set(path, text);
    } catch {
      /* left out: a broken file of main is not carried on */
    }
  }
  return out;
}

/**
 * Texts that passed their check, by level, path and content hash: every merge meets most files of the last one
 * again (a branch changes only where its poller got rows), and the schema check of a coin's latest.json is the
 * merge's largest cost at scale. Bounded: cleared when full.
 */
const checkedTexts = new Set<string>();
const MAX_CHECKED_TEXTS = 200_000;

/** Runs `check` unless this text at this path passed it before in this process; remembers it when it passes. */
function checkOnce(level: string, relative: string, text: string, check: () => void): void {
  const key = `${level}:${relative}:${createHash('sha1').update(text).digest('base64')}`;
  if (checkedTexts.has(key)) return;
  check();
  if (checkedTexts.size >= MAX_CHECKED_TEXTS) checkedTexts.clear();
  checkedTexts.add(key);
}

/** Spot files against the spot schemas (`published`: our own output, exact; `contract`: what the app can read, for main's older files), Goldback files against theirs. */
function checkFeedFile(path: string, relative: string, text: string, level: SpotFileLevel): void {
  checkOnce(level, relative, text, () => checkFeedFileAgain(path, relative, text, level));
}

function checkFeedFileAgain(path: string, relative: string, text: string, level: SpotFileLevel): void {
  if (isGoldbackFilePath(relative)) {
    try {
      checkGoldbackFile(relative, text);
    } catch (err) {
      throw new Error(`${path}: ${(err as Error).message}`);
    }
    return;
  }
  try {
    checkSpotFile(relative, text, level);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

/** Checks a price file by its path under root; errors name the full path in the tree. */
function checkAt(path: string, root: string, text: string): unknown {
  let value: unknown;
  try {
    // The schemas transform nothing: a text that passed before parses to the value its check returned.
    checkOnce('price', path.slice(root.length), text, () => {
      value = checkPublishedText(path.slice(root.length), text, 'published');
    });
  } catch (err) {
    throw err instanceof ContractError ? new ContractError(path, err.problems) : err;
  }
  return value === undefined ? JSON.parse(text) : value;
}

/** Feed files of the published contract (spot and Goldback), relative to data/: the only other files the merge passes on. */
const FEED_PATH_RE = /^(?:hourly\/\d{4}\/\d{2}\/\d{2}\/\d{2}\.json|15min\/\d{4}\/\d{2}\/\d{2}\/\d{4}\.json|spot-history-\d{4}\.json|goldback-\d{4}\.json|api\/goldback-spot\.json|api\/goldback-\d{4}\.json)$/;

export function isFeedPath(relative: string): boolean {
  return FEED_PATH_RE.test(relative);
}
