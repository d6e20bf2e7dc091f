import { dirname } from 'node:path';
import { packShimEnv } from './pack-shim.js';
import type { CacheRepo } from './cache-repo.js';
import { PublishConfigError } from './errors.js';
import { runGit, type GitResult } from './git-command.js';
import type { RemoteAccess } from './remote-access.js';
import { scrubText } from './scrub.js';

/** Where the cache keeps the last known tip of each remote branch (its "have"s for the next fetch). */
export function trackingRef(branch: string): string {
  return `refs/remotes/origin/${branch}`;
}

/** Branch names we accept: what our pollers use, and nothing git could read as an option or a range. */
export function assertBranchName(branch: string): void {
  const ok = typeof branch === 'string' && /^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(branch) && !branch.includes('..') && !branch.endsWith('/') && !branch.endsWith('.lock') && !branch.includes('//');
  if (!ok) throw new PublishConfigError(`branch ${JSON.stringify(branch)} is not a valid branch name (letters, digits, . _ - /; like api1 or main)`);
}

function remoteOptions(repo: CacheRepo, access: RemoteAccess, timeoutMs?: number) {
  return { gitDir: repo.gitDir, config: access.config, secrets: access.secrets, timeoutMs };
}

/** Current tip of each branch on the remote; a branch that does not exist is absent from the map. Throws when the remote is unreachable. */
export async function lsRemote(repo: CacheRepo, access: RemoteAccess, branches: ReadonlyArray<string>): Promise<Map<string, string>> {
  const refs = branches.map((b) => `refs/heads/${b}`);
  const { stdout } = await runGit(['ls-remote', '--heads', access.url, ...refs], remoteOptions(repo, access, 120_000));
  const wanted = new Map(branches.map((b) => [`refs/heads/${b}`, b]));
  const tips = new Map<string, string>();
  for (const line of stdout.toString('utf8').split('\n')) {
    const [sha, ref] = line.split('\t');
    const branch = ref ? wanted.get(ref) : undefined;
    if (branch && sha) tips.set(branch, sha);
  }
  return tips;
}

/**
 * Fetches the tip commit (and its tree) of each branch into its tracking ref. Shallow: a fresh
 * host needs only the current tree, not the branch's history.
 */
export async function fetchTips(repo: CacheRepo, access: RemoteAccess, branches: ReadonlyArray<string>): Promise<void> {
  if (branches.length === 0) return;
  const refspecs = branches.map((b) => `+refs/heads/${b}:${trackingRef(b)}`);
  await runGit(
    ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--depth=1', access.url, ...refspecs],
    remoteOptions(repo, access),
  );
}

/** Records a tip we saw or pushed, so the next fetch sends only what changed and gc keeps the objects. */
export async function setTrackingRef(repo: CacheRepo, branch: string, sha: string): Promise<void> {
  await runGit(['update-ref', trackingRef(branch), sha], { gitDir: repo.gitDir });
}

/**
 * One push of `commit` to `branch`; resolves with git's result whatever the outcome (the caller reads it). With
 * `splitPacks` the pack is built by path groups (pack-shim.ts), each file a delta against its own previous version.
 */
export async function pushCommit(
  repo: CacheRepo,
  access: RemoteAccess,
  args: { commit: string; branch: string; force?: boolean; lease?: { expected: string | null }; splitPacks?: boolean },
): Promise<GitResult> {
  const lease = args.lease ? [`--force-with-lease=refs/heads/${args.branch}:${args.lease.expected ?? ''}`] : [];
  const refspec = `${args.force ? '+' : ''}${args.commit}:refs/heads/${args.branch}`;
  const options = remoteOptions(repo, access);
  const shim = args.splitPacks ? await packShimEnv(dirname(repo.gitDir)) : null;
  // --no-verify: no local hook may veto or observe the push.
  return runGit(['push', '--porcelain', '--no-verify', ...lease, access.url, refspec], { ...options, ...(shim ? { env: shim } : {}), allowFailure: true });
}

/** The reason git gives for a failed push, for the error message. */
export function pushFailureText(result: GitResult, access: RemoteAccess): string {
  const rejected = scrubText(result.stdout.toString('utf8'), access.secrets)
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.split('\t').slice(2).join(' '));
  return [...rejected, result.stderr.trim()].filter(Boolean).join('; ') || `exit ${result.code}`;
}
