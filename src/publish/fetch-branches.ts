import { withCacheRepo, type CacheRepo } from './cache-repo.js';
import { PublishConfigError } from './errors.js';
import { SILENT_LOGGER, type PublishLogger } from './logger.js';
import { remoteAccess, type RemoteAccess } from './remote-access.js';
import { readTreeFiles } from './read-tree-files.js';
import { assertBranchName, fetchTips, lsRemote, setTrackingRef, trackingRef } from './remote-refs.js';
import { gitText } from './git-command.js';
import { hasCommit } from './write-tree.js';
import { scrubText } from './scrub.js';

export interface FetchBranchesOptions {
  /** The repository: an https URL (without credentials), or a local bare repository path / file:// URL. */
  remoteUrl: string;
  /** Branches to read, e.g. `['api1', 'api2', 'api3', 'main']`. */
  branches: ReadonlyArray<string>;
  /** GITHUB_TOKEN for https remotes; never stored. Default: none. */
  token?: string;
  /** Folder for the local git cache, reused between runs. Give pushMain the same one. */
  workDir: string;
  /** Default: silent. */
  logger?: PublishLogger;
}

export interface FetchedBranch {
  branch: string;
  /** The commit read. */
  sha: string;
  /** Text files by path (`data/ase/latest.json`). */
  files: Map<string, string>;
  /** Files that are not UTF-8 text (e.g. a snapshot), by path. */
  binaryFiles: Map<string, Buffer>;
}

export interface BranchFetchFailure {
  branch: string;
  /** What went wrong, scrubbed of secrets. */
  error: string;
  /** True when the remote answered and has no such branch (e.g. `main` before the first merge: pass expectedSha null). */
  missing: boolean;
}

export type BranchFetchResult = FetchedBranch | BranchFetchFailure;

/** Whether an entry of fetchBranches' answer is a failure. */
export function isFetchFailure(result: BranchFetchResult): result is BranchFetchFailure {
  return 'error' in result;
}

/**
 * Reads the current files of each branch, one entry per branch in the order asked. A branch that is
 * missing or cannot be fetched gets an entry with `error`; this never throws for one bad branch
 * (only for wrong options).
 */
export async function fetchBranches(options: FetchBranchesOptions): Promise<BranchFetchResult[]> {
  const { branches, workDir, logger = SILENT_LOGGER } = options;
  if (!Array.isArray(branches)) throw new PublishConfigError('branches must be a list of branch names, e.g. ["api1", "api2"]');
  const access = remoteAccess(options.remoteUrl, options.token);
  const fail = (branch: string, error: string, missing = false): BranchFetchFailure => ({ branch, error: scrubText(error, access.secrets), missing });

  return withCacheRepo(workDir, async (repo) => {
    const valid = branches.filter((b) => isValidBranch(b));
    let tips: Map<string, string>;
    try {
      tips = valid.length ? await lsRemote(repo, access, valid) : new Map();
    } catch (err) {
      const reason = `could not reach ${access.display}: ${messageOf(err)}`;
      logger.warn({ remote: access.display, error: scrubText(reason, access.secrets) }, 'fetch failed');
      return branches.map((b) => (isValidBranch(b) ? fail(b, reason) : fail(b, invalidReason(b))));
    }
    const fetchErrors = await fetchMissingTips(repo, access, tips);

    const results: BranchFetchResult[] = [];
    for (const branch of branches) {
      if (!isValidBranch(branch)) {
        results.push(fail(branch, invalidReason(branch)));
        continue;
      }
      const sha = tips.get(branch);
      if (!sha) {
        results.push(fail(branch, `branch ${branch} does not exist on ${access.display}`, true));
        continue;
      }
      const fetchError = fetchErrors.get(branch);
      if (fetchError) {
        results.push(fail(branch, `could not fetch branch ${branch}: ${fetchError}`));
        continue;
      }
      try {
        await setTrackingRef(repo, branch, sha);
        results.push({ branch, sha, ...(await readTreeFiles(repo, sha)) });
      } catch (err) {
        results.push(fail(branch, `could not read branch ${branch}: ${messageOf(err)}`));
      }
    }
    for (const r of results) if (isFetchFailure(r) && !r.missing) logger.warn({ branch: r.branch, remote: access.display, error: r.error }, 'branch not fetched');
    return results;
  });
}

/**
 * Fetches every tip the cache lacks in one go; if that fails, branch by branch, so one bad branch
 * spoils only itself. Updates `tips` when a branch moved meanwhile; returns the errors by branch.
 */
async function fetchMissingTips(repo: CacheRepo, access: RemoteAccess, tips: Map<string, string>): Promise<Map<string, string>> {
  const needed: string[] = [];
  for (const [branch, sha] of tips) if (!(await hasCommit(repo, sha))) needed.push(branch);
  const errors = new Map<string, string>();
  if (needed.length === 0) return errors;
  try {
    await fetchTips(repo, access, needed);
  } catch {
    for (const branch of needed) {
      try {
        await fetchTips(repo, access, [branch]);
      } catch (err) {
        errors.set(branch, messageOf(err));
      }
    }
  }
  // A branch that moved between ls-remote and fetch: read what was fetched, the newer tip.
  for (const branch of needed) {
    if (errors.has(branch) || (await hasCommit(repo, tips.get(branch)!))) continue;
    try {
      tips.set(branch, await gitText(['rev-parse', '--verify', trackingRef(branch)], { gitDir: repo.gitDir }));
    } catch (err) {
      errors.set(branch, messageOf(err));
    }
  }
  return errors;
}

function isValidBranch(branch: string): boolean {
  try {
    assertBranchName(branch);
    return true;
  } catch {
    return false;
  }
}

function invalidReason(branch: string): string {
  return `branch ${JSON.stringify(branch)} is not a valid branch name`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
