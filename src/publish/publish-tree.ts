import { assertOutsideTree, withCacheRepo } from './cache-repo.js';
import { PublishConfigError, PublishError } from './errors.js';
import { SILENT_LOGGER, type PublishLogger } from './logger.js';
import { remoteAccess } from './remote-access.js';
import { assertBranchName, fetchTips, lsRemote, pushCommit, pushFailureText, setTrackingRef } from './remote-refs.js';
import { RetriesExhaustedError, withRetries } from './retry.js';
import { scrubText } from './scrub.js';
import { commitTree, hasCommit, treeOfCommit, writeTreeFromDir, type CommitIdentity } from './write-tree.js';

export interface PublishTreeOptions {
  /** The repository: an https URL (without credentials), or a local bare repository path / file:// URL. */
  remoteUrl: string;
  /** The branch this poller owns, e.g. `api1`. Its content is replaced by the tree. */
  branch: string;
  /** Folder holding the complete tree to publish (e.g. with `data/...`); files not in it disappear from the branch. */
  treeDir: string;
  /** Commit message, e.g. `api1: 2026-11-23 16:45 export`. */
  message: string;
  /** GITHUB_TOKEN for https remotes; sent as a header for each command, never stored. Default: none. */
  token?: string;
  /** Folder for the local git cache, reused between runs; never inside `treeDir`. */
  workDir: string;
  /** Author and committer. Default `StakTrakr Poller <poller@staktrakr.invalid>`. */
  identity?: CommitIdentity;
  /** Further attempts after a failed one (so at most retries + 1). Default 3. */
  retries?: number;
  /** Wait before the first retry in ms, doubled each time. Default 1000. */
  backoffMs?: number;
  /** Default: silent. */
  logger?: PublishLogger;
  /**
   * What the branch keeps. `linear` (default): each commit's parent is the branch's tip. `tip`: each commit has no
   * parent, so the branch holds its latest tree only; the trees it held before are no longer reachable, and a clone
   * of the repository never downloads them (a poller branch is a transport to the merge; `main` keeps the history).
   */
  history?: 'linear' | 'tip';
  /** Build the pushed pack by path groups, each file a delta of its own previous version (PUBLISH_SPLIT_PACKS). Default false. */
  splitPacks?: boolean;
}

export interface PublishTreeResult {
  /** A new commit was made and pushed. False when the branch already held this tree. */
  committed: boolean;
  /** The commit the remote branch now points at. */
  sha: string | null;
  /** The remote branch was updated by this call. */
  pushed: boolean;
  /** Attempts used (1 when the first one succeeded). */
  attempts: number;
}

/**
 * Publishes `treeDir` as one commit on `branch` and force-pushes it (this poller owns the branch).
 * The commit's parent is the branch's current tip, so history stays linear (or none: `history: 'tip'`); a tree equal to the
 * branch's makes no commit and no push. A push is all or nothing on the remote. Failed attempts are
 * retried with exponential backoff; when all fail a PublishError says what to check, the remote is
 * unchanged, and the next publish carries the complete tree.
 */
export async function publishTree(options: PublishTreeOptions): Promise<PublishTreeResult> {
  const { branch, treeDir, workDir, identity, retries = 3, backoffMs = 1000, logger = SILENT_LOGGER } = options;
  assertBranchName(branch);
  if (typeof options.message !== 'string' || options.message.trim() === '') throw new PublishConfigError('message is empty: say what the commit publishes, e.g. "api1: 2026-11-23 16:45 export"');
  const access = remoteAccess(options.remoteUrl, options.token);
  const message = scrubText(options.message, access.secrets);
  await assertOutsideTree(workDir, treeDir);

  return withCacheRepo(workDir, async (repo) => {
    const tree = await writeTreeFromDir(repo, treeDir);
    let made: { commit: string; parent: string | null } | null = null;

    const attempt = async (): Promise<Omit<PublishTreeResult, 'attempts'>> => {
      const remoteTip = (await lsRemote(repo, access, [branch])).get(branch) ?? null;
      if (made && remoteTip === made.commit) return { committed: true, sha: made.commit, pushed: true }; // an earlier attempt landed
      if (remoteTip) {
        if (!(await hasCommit(repo, remoteTip))) await fetchTips(repo, access, [branch]);
        await setTrackingRef(repo, branch, remoteTip);
        if ((await treeOfCommit(repo, remoteTip)) === tree) return { committed: false, sha: remoteTip, pushed: false };
      }
      const parent = options.history === 'tip' ? null : remoteTip;
      if (!made || made.parent !== parent) made = { commit: await commitTree(repo, { tree, parent, message, identity }), parent };
      const result = await pushCommit(repo, access, { commit: made.commit, branch, force: true, splitPacks: options.splitPacks });
      if (result.code !== 0) throw new Error(`push rejected: ${pushFailureText(result, access)}`);
      // A force-push reports nothing useful about what landed: ask the remote.
      const landed = (await lsRemote(repo, access, [branch])).get(branch) ?? null;
      if (landed !== made.commit) throw new Error(`after the push the remote branch is at ${landed ?? '(nothing)'}, not at ${made.commit}`);
      await setTrackingRef(repo, branch, made.commit);
      return { committed: true, sha: made.commit, pushed: true };
    };

    try {
      const { value, attempts } = await withRetries(attempt, {
        retries,
        backoffMs,
        isRetryable: (err) => !(err instanceof PublishConfigError),
        onRetry: (err, n, delayMs) =>
          logger.warn({ branch, remote: access.display, attempt: n, retryInMs: delayMs, error: errorText(err, access.secrets) }, 'publish attempt failed; retrying'),
      });
      const fields = { branch, remote: access.display, sha: value.sha, attempts };
      if (value.committed) logger.info(fields, 'published tree');
      else logger.info(fields, 'tree unchanged; nothing to publish');
      return { ...value, attempts };
    } catch (err) {
      if (!(err instanceof RetriesExhaustedError)) throw err;
      const reason = errorText(err.cause, access.secrets);
      logger.warn({ branch, remote: access.display, attempts: err.attempts, error: reason }, 'publish failed');
      throw new PublishError(
        `could not publish branch ${branch} to ${access.display} after ${err.attempts} attempts: ${reason}. ` +
          'The remote branch is unchanged (a push is all or nothing) and the next publish carries this whole tree. ' +
          'Check that the remote is reachable, that GITHUB_TOKEN is set and may push to this repository, and that no branch protection or hook rejects the push.',
        err.attempts,
      );
    }
  });
}

function errorText(err: unknown, secrets: ReadonlyArray<string>): string {
  return scrubText(err instanceof Error ? err.message : String(err), secrets);
}
