import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import type { Catalogue } from '../catalogue/load.js';
import { publishTree, type PublishLogger } from '../publish/index.js';
import type { PublishProgress } from '../publish/progress.js';
import { checkedDir } from '../files/no-follow.js';
import { fileExportState } from './export-state.js';
import { ensureExportSchema } from './export-schema.js';
import { exportTree, type ExportStats } from './export-tree.js';
import type { FeedFingerprint } from './feed-files.js';

export interface PublishBranchOptions {
  client: Client;
  catalogue: Pick<Catalogue, 'file'>;
  /** The poller: its rows only, published on its own branch of the same name. */
  pollerId: string;
  remoteUrl: string;
  /** GITHUB_TOKEN; sent as a header for each git command, never stored. */
  token?: string;
  /**
   * This poller's publishing folder (never published itself): `tree/` the tree kept between exports
   * (unchanged files are not rewritten), `git/` the clone cache, `export-state.json` the incremental state.
   */
  workDir: string;
  logger?: PublishLogger;
  /** Default: now. Names the commit and bounds the retention. */
  now?: Date;
  /** Told as the export reads, writes and pushes. Default none. */
  progress?: PublishProgress;
  /** Hours of spot files rendered again at each export (exportTree's feedHours). Default 48. */
  feedHours?: number | null;
  /**
   * `tip` (default): the branch holds its latest commit only (parentless, force-pushed), so the poller branches add
   * nothing to what a clone of the repository downloads day after day; `linear` keeps every export as history.
   */
  history?: 'tip' | 'linear';
  /** Build the pushed pack by path groups, each file a delta of its own previous version (PUBLISH_SPLIT_PACKS). Default false. */
  splitPacks?: boolean;
}

export interface PublishBranchResult {
  committed: boolean;
  sha: string | null;
  files: number;
  export: ExportStats;
  ms: number;
  /** Why nothing was offered to git (no rows yet), when so. */
  skipped?: string;
}

const prepared = new WeakSet<Client>();

/** Per tree folder, the feed tables' marks of its last export in this process: unchanged feeds are not read again. */
const feedMarks = new Map<string, FeedFingerprint>();

/** `apiN: YYYY-MM-DD HH:MM export`, in UTC. */
export function exportCommitMessage(pollerId: string, at: Date): string {
  return `${pollerId}: ${at.toISOString().slice(0, 16).replace('T', ' ')} export`;
}

/** Builds this poller's data/ tree from the database (incrementally) and publishes it whole on branch `pollerId`. */
export async function publishPollerBranch(options: PublishBranchOptions): Promise<PublishBranchResult> {
  const started = performance.now();
  const now = options.now ?? new Date();
  if (!prepared.has(options.client)) {
    await ensureExportSchema(options.client);
    prepared.add(options.client);
  }
  const treeDir = join(options.workDir, 'tree');
  // The work folder is the configuration's; `tree/` and everything below it are ours and never a link.
  await mkdir(options.workDir, { recursive: true });
  await checkedDir(options.workDir, 'tree', { create: true });
  options.progress?.(10, 'reading the database and writing the tree');
  const stats = await exportTree({
    client: options.client,
    catalogue: options.catalogue,
    pollerId: options.pollerId,
    outDir: join(treeDir, 'data'),
    now,
    state: fileExportState(join(options.workDir, 'export-state.json')),
    feedHours: options.feedHours,
    feedSince: feedMarks.get(treeDir) ?? null,
    onWarning: (message) => options.logger?.warn({ poller: options.pollerId }, message),
  }).catch((err: unknown) => {
    throw diskFullProblem(err, options.workDir) ?? err;
  });
  if (stats.feedFingerprint) feedMarks.set(treeDir, stats.feedFingerprint);
  // A poller without a row in the retention publishes nothing: an empty tree would only blank its branch.
  if (stats.latestWindow === null) {
    options.logger?.info({ poller: options.pollerId }, 'no rows yet: nothing to publish');
    return { committed: false, sha: null, files: 0, export: stats, ms: Math.round(performance.now() - started), skipped: 'no rows yet' };
  }
  options.progress?.(60, `tree written (${stats.filesWritten} of ${stats.files} files changed); committing and pushing branch ${options.pollerId}`);
  // Always offered to git: a publish that failed last time is carried by this one; an unchanged tree makes no commit.
  const pushed = await publishTree({
    remoteUrl: options.remoteUrl,
    branch: options.pollerId,
    treeDir,
    message: exportCommitMessage(options.pollerId, now),
    token: options.token,
    workDir: join(options.workDir, 'git'),
    logger: options.logger,
    history: options.history ?? 'tip',
    splitPacks: options.splitPacks,
  }).catch((err: unknown) => {
    throw diskFullProblem(err, options.workDir) ?? err;
  });
  return { committed: pushed.committed, sha: pushed.sha, files: stats.files, export: stats, ms: Math.round(performance.now() - started) };
}

/** A full disk named as the operator fixes it: the publishing folder (PUBLISH_DIR), and that nothing was lost. */
function diskFullProblem(err: unknown, workDir: string): Error | null {
  const errno = (err as NodeJS.ErrnoException)?.code;
  // git says it in its own words (a GitCommandError carries no errno).
  const code = errno === 'ENOSPC' || errno === 'EDQUOT' ? errno : /no space left on device|disk quota exceeded/i.test(String((err as Error)?.message)) ? 'ENOSPC' : null;
  if (!code) return null;
  return new Error(
    `${code}: no space left on device in the publishing folder ${workDir} (PUBLISH_DIR): free space there or point PUBLISH_DIR at a larger disk; ` +
      'the rows are safe in the database, and the next export publishes them',
    { cause: err },
  );
}
