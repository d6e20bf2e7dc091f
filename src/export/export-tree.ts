import type { Client } from '@libsql/client';
import type { Catalogue } from '../catalogue/load.js';
import { assembleTree, newestObservation } from './assemble-tree.js';
import { refreshDailyAggregates } from './daily-cache.js';
import { ensureExportSchema } from './export-schema.js';
import { readWindowPrices } from './export-queries.js';
import type { ExportState, ExportStateStore } from './export-state.js';
import type { WindowPrice } from './model.js';
import { renderPublishedFiles } from './render-files.js';
import { DEFAULT_PUBLISH_RULES, firstWindowInRange, type PublishRules } from './rules.js';
import { writeTree } from './write-tree.js';
import { buildFeedFiles, type FeedFingerprint } from './feed-files.js';
import { dropInvalidNames, dropInvalidWindowNames } from './valid-names.js';

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
  /** Relative path under data/ -> checked, stable JSON text. */
  files: Map<string, string>;
  slugs: string[];
  /** To save once the files are published (exportTree does). */
  state: ExportState;
  stats: Omit<ExportStats, 'filesWritten' | 'foldersRemoved' | 'feedFiles' | 'feedFingerprint' | 'ms'>;
}

/** Reads what changed since the previous export plus what the files need, and renders every checked file in memory. */
export async function buildExportTree(options: Omit<ExportTreeOptions, 'outDir'>): Promise<BuiltExport> {
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
    windowPrices = await readWindowPrices(client, pollerId, firstWindowInRange(anchor, rules), anchor, refreshed.state.maxId);
    for (const list of windowPrices.values()) rowsRead += list.length;
    for (const message of dropInvalidWindowNames(windowPrices)) if (!skippedNames.includes(message)) skippedNames.push(message);
  }
  for (const message of skippedNames) options.onWarning?.(message);
  const tree = assembleTree({ catalogueCoins: catalogue.file.coins, days, windowPrices, rules });
  const files = renderPublishedFiles(tree.files);
  return {
    files,
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

/**
 * Exports the price files of `pollerId` (or all pollers) and the feed files (spot, Goldback: shared by all
 * pollers) into `outDir` (the `data/` folder): builds
 * and checks every file in memory first, so a file that would break the contract throws a ContractError
 * and nothing is written; then writes only the files whose bytes changed, removes coin folders of slugs
 * that left the manifest, and saves the state for the next incremental export.
 */
export async function exportTree(options: ExportTreeOptions): Promise<ExportStats> {
  const started = performance.now();
  const built = await buildExportTree(options);
  const feeds = options.feedHours === null ? null : await buildFeedFiles(options.client, { now: options.now ?? new Date(), hours: options.feedHours, since: options.feedSince });
  const files = feeds ? new Map([...built.files, ...feeds.files]) : built.files;
  const result = await writeTree(options.outDir, files, new Set(built.slugs), { writeOnce: feeds?.writeOnce });
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
