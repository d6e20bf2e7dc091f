import { withCacheRepo } from '../publish/cache-repo.js';
import type { PushedSyncCommit } from './sync-error.js';
import { SYNC_SIDES, syncSettings, type SyncRepositoriesOptions, type SyncSide } from './sync-options.js';
import { differingFiles, filesLacking, type SkippedPath } from './sync-plan.js';
import { fetchSideHead, missingBranchError, pushSide, sideRemote, type SideRemote } from './sync-side.js';
import { listTree, type TreeEntry } from './tree-entries.js';

/** One commit the sync pushed. */
export interface SyncCommit {
  side: SyncSide;
  /** The remote's name, e.g. `StakTrakrApi`. */
  name: string;
  sha: string;
  /** `sync: +N files from X`, N the number of files the commit adds. */
  message: string;
}

export interface SyncRepositoriesResult {
  /** Paths copied into the primary from the fallback, sorted; its length is the N of the primary's commit. */
  primaryAdded: string[];
  /** Paths copied into the fallback from the primary, sorted. */
  fallbackAdded: string[];
  /** Number of paths under the root that both sides hold with different bytes: left alone. */
  differing: number;
  differingPaths: string[];
  /** Paths under the root not copied, with why: a file on one side and a folder on the other, links, submodules. */
  skipped: SkippedPath[];
  /** At most one per side; none for a side that lacked nothing. */
  commits: SyncCommit[];
  /** Each side's branch tip after the sync (null: a branch that does not exist). */
  heads: Record<SyncSide, string | null>;
  /** Wall time of the whole sync. */
  ms: number;
}

/**
 * Additive two-way sync of the `root` folder (default `data/`) between two API repositories: every regular file
 * one side has and the other lacks is copied across, in both directions; nothing is overwritten or deleted, and
 * nothing outside the root is copied. A side that lacked something gets exactly one commit
 * `sync: +N files from <other name>` on its tip, pushed without force. Both sides are read before anything is
 * pushed, so a side that cannot be read leaves the other unchanged. Throws SyncError (side, remote, what to do)
 * or SyncConfigError.
 */
export async function syncRepositories(options: SyncRepositoriesOptions): Promise<SyncRepositoriesResult> {
  const settings = syncSettings(options);
  const { branch, root, logger, now } = settings;
  const started = now();
  const remotes: Record<SyncSide, SideRemote> = {
    primary: sideRemote('primary', settings.remotes.primary),
    fallback: sideRemote('fallback', settings.remotes.fallback),
  };

  return withCacheRepo(settings.workDir, async (repo) => {
    const pushed: PushedSyncCommit[] = [];
    // One after the other: two fetches into one repository would race on its shallow file.
    const heads: Record<SyncSide, string | null> = { primary: null, fallback: null };
    for (const side of SYNC_SIDES) heads[side] = await fetchSideHead(repo, remotes[side], branch, pushed);
    for (const side of SYNC_SIDES) if (heads[side] === null && !settings.createMissingBranch) throw missingBranchError(remotes[side], branch, pushed);

    const trees: Record<SyncSide, Map<string, TreeEntry>> = { primary: await listTree(repo, heads.primary), fallback: await listTree(repo, heads.fallback) };
    const differingPaths = differingFiles(trees.primary, trees.fallback, root);
    const skipped = new Map<string, SkippedPath>();
    const added: Record<SyncSide, string[]> = { primary: [], fallback: [] };
    const commits: SyncCommit[] = [];

    for (const side of SYNC_SIDES) {
      const other = otherSide(side);
      const labels = { target: `${side} "${remotes[side].name}"`, source: `${other} "${remotes[other].name}"` };
      const plan = filesLacking(trees[side], trees[other], root, labels);
      for (const s of plan.skipped) skipped.set(`${s.path}\0${s.reason}`, s);
      if (plan.add.length === 0) continue;
      const done = await pushSide({
        repo,
        target: remotes[side],
        source: remotes[other],
        branch,
        root,
        head: heads[side],
        entries: trees[side],
        sourceEntries: trees[other],
        identity: settings.identity,
        maxPushAttempts: settings.maxPushAttempts,
        createMissingBranch: settings.createMissingBranch,
        logger,
        pushed,
      });
      if (!done) continue; // the branch moved meanwhile and now holds everything
      heads[side] = done.sha;
      added[side] = done.added.map((f) => f.path);
      commits.push({ side, name: remotes[side].name, sha: done.sha, message: done.message });
      pushed.push({ side, sha: done.sha, message: done.message });
      logger.info({ side, remote: remotes[side].access.display, branch, sha: done.sha, files: done.added.length, attempts: done.attempts }, done.message);
    }

    const result: SyncRepositoriesResult = {
      primaryAdded: added.primary,
      fallbackAdded: added.fallback,
      differing: differingPaths.length,
      differingPaths,
      skipped: [...skipped.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
      commits,
      heads,
      ms: Math.max(0, now() - started),
    };
    if (result.skipped.length) logger.warn({ branch, skipped: result.skipped.slice(0, 20) }, `sync skipped ${result.skipped.length} paths (conflicts or not regular files)`);
    logger.info(
      {
        primary: remotes.primary.access.display,
        fallback: remotes.fallback.access.display,
        branch,
        primaryAdded: result.primaryAdded.length,
        fallbackAdded: result.fallbackAdded.length,
        differing: result.differing,
        ms: result.ms,
      },
      'sync done',
    );
    return result;
  });
}

function otherSide(side: SyncSide): SyncSide {
  return side === 'primary' ? 'fallback' : 'primary';
}
