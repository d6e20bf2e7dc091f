import type { Client } from '@libsql/client';
import type { Catalogue } from '../catalogue/load.js';
import { assembleTree, newestObservation } from './assemble-tree.js';
import { refreshDailyAggregates } from './daily-cache.js';
import { ensureExportSchema } from './export-schema.js';
import { readWindowPrices } from './export-queries.js';
import type { ExportState, ExportStateStore } from './export-state.js';
import type { WindowPrice } from './model.js';
import { checkPublishedFiles, renderStableFiles } from './render-files.js';
import { DEFAULT_PUBLISH_RULES, firstWindowInRange, type PublishRules } from './rules.js';
import { writeTree } from './write-tree.js';
import { buildFeedFiles, type FeedFingerprint } from './feed-files.js';
import { dropInvalidNames, dropInvalidWindowNames } from './valid-names.js';
import { previousWindowPrices } from './previous-windows.js';
import { coinLatestPath } from '../contract/published-files.js';
import { readFileNoFollow } from '../files/no-follow.js';
import { dirname, join } from 'node:path';

export interface ExportTreeOptions {
  client: Client;
  /** The catalogue: which slugs are configured, coins_meta and providers.json. */
  catalogue: Pick<Catalogue, 'file'>;
  /** Export only this poller's rows (its branch `apiN`); null exports every poller's rows together. */
  pollerId: string | null;
  /** The `data/` folder of the published tree: files go to `outDir/api/...`, the contract's paths. */
  outDir: string;
  /** Wall clock, only for the retention horizon. Default: now. File contents depend on the data alone. */
  now?: Date;
  /** Where the per-day aggregates are kept between exports. Default none: every export is a full rebuild. */
  state?: ExportStateStore | null;
  /** Days of data kept in the files and the state. Default 30. */
  retentionDays?: number;
  /** Freshness, stale fills and the windows_24h span. Default DEFAULT_PUBLISH_RULES. */
  rules?: PublishRules;
  /** Spot and Goldback files: the last this many hours of hourly and 15-minute files are rendered again. null: no feed files. Default 48. */
  feedHours?: number | null;
  /** The feed tables' marks when this tree last got its feed files (stats.feedFingerprint of that export): unchanged parts are skipped. */
  feedSince?: FeedFingerprint | null;
  /** Told of each row group skipped because its coin slug or vendor id breaks the shared name rules. Default none. */
  onWarning?: (message: string) => void;
}

/** Above this many windows with new rows, the export reads the whole windows_24h range again rather than one window at a time. */
const MAX_WINDOWS_READ_ALONE = 8;

export interface ExportStats {
  /** Files in the tree (written or already up to date). */
  files: number;
  /** Files whose bytes changed. */
  filesWritten: number;
  /** Feed files (spot, Goldback) rendered this time, written or already up to date; not counted in `files`. */
  feedFiles: number;
  /** The feed tables' marks as read (pass as feedSince next time), or null without feed files. */
  feedFingerprint: FeedFingerprint | null;
  /** Coin folders removed (slug no longer configured and no data in retention). */
  foldersRemoved: string[];
  /** Result rows read from the database (aggregated groups, not raw rows). */
  rowsRead: number;
  /** Dates whose aggregates were read from the database this time. */
  datesRecomputed: number;
  /** True when there was no usable state (everything was read). */
  full: boolean;
  latestWindow: string | null;
  generatedAt: string | null;
  /**
   * Rows of the database skipped because their coin slug or vendor id is not a valid name (contract/names.ts),
   * one message per name: such a row would name a folder outside the tree or break the contract, so it is left
   * out with a warning instead of failing the whole export.
   */
  skippedNames: string[];
  ms: number;
}

export interface BuiltExport {
  /** Relative path under data/ -> stable JSON text, not yet checked. */
  files: Map<string, string>;
  /** Checks these files against the published contract (a ContractError names the file and field): those about to be written. */
  check: (paths: Iterable<string>) => void;
  slugs: string[];
  /** To save once the files are published (exportTree does). */
  state: ExportState;
  stats: Omit<ExportStats, 'filesWritten' | 'foldersRemoved' | 'feedFiles' | 'feedFingerprint' | 'ms'>;
}

/**
 * Reads what changed since the previous export plus what the files need, and renders every file in memory (checked by
 * `check` before it is written). `previousLatest(slug)`: the text of the coin's latest.json as the previous export (of this state) published it, or
 * null; its windows that got no rows since are taken from it rather than read again from the database.
 */
export async function buildExportTree(options: Omit<ExportTreeOptions, 'outDir'> & { previousLatest?: (slug: string) => Promise<string | null> }): Promise<BuiltExport> {
  const { client, catalogue, pollerId, now = new Date(), state = null, retentionDays = 30, rules = DEFAULT_PUBLISH_RULES } = options;
  await ensureExportSchema(client);
  const previous = state ? await state.load() : null;
  const refreshed = await refreshDailyAggregates({ client, scope: pollerId, previous, now, retentionDays });
  // Names are checked before anything is assembled, and the state is saved without the bad ones.
  const skippedNames = dropInvalidNames(refreshed.state.days);
  const days = refreshed.state.days;

  let rowsRead = refreshed.rowsRead;
  let windowPrices = new Map<string, WindowPrice[]>();
  const anchor = newestObservation(days).anchorWindow;
  if (anchor !== null) {
    const firstWindow = firstWindowInRange(anchor, rules);
    const read = await readWindows({ ...options, previous, changedWindows: refreshed.changedWindows, firstWindow, lastWindow: anchor, maxId: refreshed.state.maxId, coins: coinsOf(days) });
    windowPrices = read.prices;
    rowsRead += read.rowsRead;
    for (const message of dropInvalidWindowNames(windowPrices)) if (!skippedNames.includes(message)) skippedNames.push(message);
    refreshed.state.windowsFrom = firstWindow;
  }
  for (const message of skippedNames) options.onWarning?.(message);
  const tree = assembleTree({ catalogueCoins: catalogue.file.coins, days, windowPrices, rules });
  const files = renderStableFiles(tree.files);
  return {
    files,
    check: (paths) => checkPublishedFiles(tree.files, paths),
    slugs: tree.slugs,
    state: refreshed.state,
    stats: {
      files: files.size,
      rowsRead,
      datesRecomputed: refreshed.datesRecomputed.length,
      full: refreshed.full,
      latestWindow: tree.anchorWindow,
      generatedAt: tree.generatedAt,
      skippedNames,
    },
  };
}

function coinsOf(days: ExportState['days']): string[] {
  const coins = new Set<string>();
  for (const byCoin of Object.values(days)) for (const coin of Object.keys(byCoin)) coins.add(coin);
  return [...coins].sort();
}

/**
 * windows_24h's prices of every coin in `[firstWindow, lastWindow]`. Incrementally (a usable previous state whose
 * files covered this range): the windows that got rows are read from the database, the others come from each coin's
 * previous latest.json; a coin without a readable previous file is read whole. Otherwise the whole range is read.
 */
async function readWindows(o: {
  client: ExportTreeOptions['client'];
  pollerId: string | null;
  previous: ExportState | null;
  changedWindows: string[] | null;
  previousLatest?: (slug: string) => Promise<string | null>;
  firstWindow: string;
  lastWindow: string;
  maxId: number;
  coins: string[];
}): Promise<{ prices: Map<string, WindowPrice[]>; rowsRead: number }> {
  const count = (m: Map<string, WindowPrice[]>) => [...m.values()].reduce((n, l) => n + l.length, 0);
  const whole = { firstWindow: o.firstWindow, lastWindow: o.lastWindow };
  const changed = (o.changedWindows ?? []).filter((w) => w >= o.firstWindow && w <= o.lastWindow);
  const from = o.previous?.windowsFrom;
  if (!o.previousLatest || o.changedWindows === null || !from || from > o.firstWindow || changed.length > MAX_WINDOWS_READ_ALONE) {
    const prices = await readWindowPrices(o.client, o.pollerId, whole, o.maxId);
    return { prices, rowsRead: count(prices) };
  }
  const prices = new Map<string, WindowPrice[]>();
  for (const w of changed) await readWindowPrices(o.client, o.pollerId, { firstWindow: w, lastWindow: w }, o.maxId, prices);
  let rowsRead = count(prices);
  const skip = new Set(changed);
  const unread: string[] = [];
  for (const coin of o.coins) {
    const text = await o.previousLatest(coin);
    const kept = text === null ? null : previousWindowPrices(text, { ...whole, skip });
    if (kept === null) {
      unread.push(coin);
      continue;
    }
    if (kept.length === 0) continue;
    const list = prices.get(coin);
    prices.set(coin, list ? [...kept, ...list] : kept);
  }
  if (unread.length) {
    // Read whole: drop what the changed windows gave these coins first, so nothing is counted twice.
    for (const coin of unread) prices.delete(coin);
    const before = count(prices);
    await readWindowPrices(o.client, o.pollerId, { ...whole, coins: unread }, o.maxId, prices);
    rowsRead += count(prices) - before;
  }
  return { prices, rowsRead };
}

/**
 * Exports the price files of `pollerId` (or all pollers) and the feed files (spot, Goldback: shared by all
 * pollers) into `outDir` (the `data/` folder): builds every file in memory first and checks each one whose bytes
 * changed, so a file that would break the contract throws a ContractError and nothing is written; then writes
 * those files, removes coin folders of slugs that left the manifest, and saves the state for the next incremental
 * export.
 */
export async function exportTree(options: ExportTreeOptions): Promise<ExportStats> {
  const started = performance.now();
  const root = dirname(options.outDir);
  const built = await buildExportTree({ ...options, previousLatest: (slug) => readFileNoFollow(join(options.outDir, coinLatestPath(slug)), root).catch(() => null) });
  const feeds = options.feedHours === null ? null : await buildFeedFiles(options.client, { now: options.now ?? new Date(), hours: options.feedHours, since: options.feedSince });
  const files = feeds ? new Map([...built.files, ...feeds.files]) : built.files;
  // Only the files whose bytes change are checked: one already in the tree was checked when it was written.
  const result = await writeTree(options.outDir, files, new Set(built.slugs), { writeOnce: feeds?.writeOnce, beforeWrite: built.check });
  if (options.state) await options.state.save(built.state);
  return {
    ...built.stats,
    filesWritten: result.written.length,
    feedFiles: feeds?.files.size ?? 0,
    feedFingerprint: feeds?.fingerprint ?? null,
    foldersRemoved: result.removedFolders,
    ms: Math.round(performance.now() - started),
  };
}
