import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { assertOutsideTree, withCacheRepo, type CacheRepo } from './cache-repo.js';
import { PublishConfigError, PublishError } from './errors.js';
import { writeFilesToDir, type TreeFiles } from './files-to-dir.js';
import { SILENT_LOGGER, type PublishLogger } from './logger.js';
import { remoteAccess } from './remote-access.js';
import { assertBranchName, fetchTips, lsRemote, pushCommit, pushFailureText, setTrackingRef } from './remote-refs.js';
import { RetriesExhaustedError, withRetries } from './retry.js';
import { scrubText } from './scrub.js';
import { commitTree, hasCommit, treeOfCommit, writeTreeFromDir, type CommitIdentity } from './write-tree.js';

export interface PushMainOptions {
  /** The repository: an https URL (without credentials), or a local bare repository path / file:// URL. */
  remoteUrl: string;
  /** The merged branch. Default `main`. */
  branch?: string;
  /** The full merged tree by path (text or bytes). Give this or `treeDir`. */
  files?: TreeFiles;
  /** A folder holding the full merged tree. Give this or `files`. */
  treeDir?: string;
  /** Commit message, e.g. `merge: api1+api2+api3 @ 16:45`. */
  message: string;
  /** GITHUB_TOKEN for https remotes; never stored. Default: none. */
  token?: string;
  /** Folder for the local git cache (the one fetchBranches used saves a fetch). */
  workDir: string;
  /** The branch tip the merge was computed from (fetchBranches' sha), or null when the branch did not exist. */
  expectedSha: string | null;
  /** Author and committer. Default `StakTrakr Poller <poller@staktrakr.invalid>`. */
  identity?: CommitIdentity;
  /** Further attempts after a failed push (not after a conflict). Default 3. */
  retries?: number;
  /** Wait before the first retry in ms, doubled each time. Default 1000. */
  backoffMs?: number;
  /** Default: silent. */
  logger?: PublishLogger;
  /** Build the pushed pack by path groups, each file a delta of its own previous version (PUBLISH_SPLIT_PACKS). Default false. */
  splitPacks?: boolean;
}

export interface PushMainResult {
  /** A new commit was made and pushed. */
  committed: boolean;
  /** The branch tip after this call: the new commit, or expectedSha when the tree was unchanged; null on conflict. */
  sha: string | null;
  /** The remote branch was updated by this call. */
  pushed: boolean;
  /** The branch moved since expectedSha (another merger won): nothing was pushed; fetch and merge again. */
  conflict: boolean;
  /** Attempts used. */
  attempts: number;
}

/**
 * Commits the merged tree on top of `expectedSha` (one commit per merge, linear history) and pushes
 * it only if the branch is still at `expectedSha` (a lease), so two mergers never overwrite each
 * other: the loser gets `conflict: true` rather than an error. No commit when the tree is unchanged.
 */
export async function pushMain(options: PushMainOptions): Promise<PushMainResult> {
  const { branch = 'main', workDir, expectedSha, identity, retries = 3, backoffMs = 1000, logger = SILENT_LOGGER } = options;
  assertBranchName(branch);
  if ((options.files === undefined) === (options.treeDir === undefined)) throw new PublishConfigError('give exactly one of files (the merged tree as a Map) or treeDir');
  if (expectedSha !== null && !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(String(expectedSha))) {
    throw new PublishConfigError(`expectedSha ${JSON.stringify(expectedSha)} is not a commit id: pass the sha fetchBranches returned for ${branch}, or null when it does not exist`);
  }
  if (typeof options.message !== 'string' || options.message.trim() === '') throw new PublishConfigError('message is empty: say what the commit merges, e.g. "merge: api1+api2+api3 @ 16:45"');
  const access = remoteAccess(options.remoteUrl, options.token);
  const message = scrubText(options.message, access.secrets);
  if (options.treeDir !== undefined) await assertOutsideTree(workDir, options.treeDir);
  const conflict = (attempts: number): PushMainResult => {
    logger.info({ branch, remote: access.display, expectedSha }, `${branch} moved since the merge was computed; merge again`);
    return { committed: false, sha: null, pushed: false, conflict: true, attempts };
  };

  return withCacheRepo(workDir, async (repo) => {
    const tree = await mergedTree(repo, options);
    let commit: string | null = null;

    const attempt = async (): Promise<Omit<PushMainResult, 'attempts'> | 'conflict'> => {
      if (expectedSha !== null) {
        if (!(await hasCommit(repo, expectedSha))) await fetchTips(repo, access, [branch]);
        if (!(await hasCommit(repo, expectedSha))) return 'conflict'; // the remote no longer has it at its tip
        if ((await treeOfCommit(repo, expectedSha)) === tree) return { committed: false, sha: expectedSha, pushed: false, conflict: false };
      }
      commit ??= await commitTree(repo, { tree, parent: expectedSha, message, identity });
      const result = await pushCommit(repo, access, { commit, branch, lease: { expected: expectedSha }, splitPacks: options.splitPacks });
      // Whatever git says (a lease refused here, or a ref lock lost on the server), the remote tip decides.
      const tip = (await lsRemote(repo, access, [branch])).get(branch) ?? null;
      if (tip === commit) {
        await setTrackingRef(repo, branch, commit);
        return { committed: true, sha: commit, pushed: true, conflict: false };
      }
      if (tip !== expectedSha) return 'conflict';
      throw new Error(result.code === 0 ? `the push reported success but ${branch} is still at ${tip ?? '(nothing)'}` : `push rejected: ${pushFailureText(result, access)}`);
    };

    try {
      const { value, attempts } = await withRetries(attempt, {
        retries,
        backoffMs,
        isRetryable: (err) => !(err instanceof PublishConfigError),
        onRetry: (err, n, delayMs) =>
          logger.warn({ branch, remote: access.display, attempt: n, retryInMs: delayMs, error: scrubText(messageOf(err), access.secrets) }, 'push attempt failed; retrying'),
      });
      if (value === 'conflict') return conflict(attempts);
      logger.info({ branch, remote: access.display, sha: value.sha, attempts }, value.committed ? 'pushed merged tree' : 'merged tree unchanged; nothing to push');
      return { ...value, attempts };
    } catch (err) {
      if (!(err instanceof RetriesExhaustedError)) throw err;
      const reason = scrubText(messageOf(err.cause), access.secrets);
      logger.warn({ branch, remote: access.display, attempts: err.attempts, error: reason }, 'push failed');
      throw new PublishError(
        `could not push ${branch} to ${access.display} after ${err.attempts} attempts: ${reason}. ` +
          `The remote ${branch} is unchanged; the next merge pushes the whole merged tree. ` +
          'Check that the remote is reachable, that GITHUB_TOKEN is set and may push to this repository, and that no branch protection or hook rejects the push.',
        err.attempts,
      );
    }
  });
}

/** The tree id of the merged files, staged in a throwaway folder next to the cache when given as a map. */
async function mergedTree(repo: CacheRepo, options: PushMainOptions): Promise<string> {
  if (options.treeDir !== undefined) return writeTreeFromDir(repo, options.treeDir);
  const staging = join(repo.workDir, `staging-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await writeFilesToDir(options.files!, staging);
    return await writeTreeFromDir(repo, staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
