import type { CacheRepo } from '../publish/cache-repo.js';
import { gitText, runGit } from '../publish/git-command.js';
import type { PublishLogger } from '../publish/logger.js';
import { remoteAccess, type RemoteAccess } from '../publish/remote-access.js';
import { lsRemote, pushCommit, pushFailureText } from '../publish/remote-refs.js';
import { scrubText } from '../publish/scrub.js';
import { hasCommit, type CommitIdentity } from '../publish/write-tree.js';
import { changesOfCommit, commitAddedFiles } from './commit-added-files.js';
import { SyncConfigError, SyncError, type PushedSyncCommit } from './sync-error.js';
import type { SyncRemote, SyncSide } from './sync-options.js';
import { filesLacking, type FileToAdd } from './sync-plan.js';
import { listTree, type TreeEntry } from './tree-entries.js';

/** One side as the sync reaches it: its name, its access (token as a per-command header) and how errors name it. */
export interface SideRemote {
  side: SyncSide;
  name: string;
  access: RemoteAccess;
  /** `primary "StakTrakrApi" (https://github.com/owner/repo.git)`: never a token. */
  label: string;
}

export function sideRemote(side: SyncSide, remote: SyncRemote): SideRemote {
  let access: RemoteAccess;
  try {
    access = remoteAccess(remote.url, remote.token);
  } catch (err) {
    throw new SyncConfigError(`sync ${side} "${remote.name}": ${messageOf(err)}`);
  }
  return { side, name: remote.name, access, label: `${side} "${remote.name}" (${access.display})` };
}

/** Where the cache keeps the last tip read of a side: one namespace per side, since both sides have a `main`. */
export function sideRef(side: SyncSide, branch: string): string {
  return `refs/sync/${side}/${branch}`;
}

/**
 * The current tip of `branch` on the side, fetched into the cache (depth 1: the sync needs the tree, not the
 * history); null when the remote answers and has no such branch. Throws SyncError when the remote cannot be read.
 */
export async function fetchSideHead(repo: CacheRepo, remote: SideRemote, branch: string, pushed: ReadonlyArray<PushedSyncCommit>): Promise<string | null> {
  const { access } = remote;
  const unreachable = (err: unknown) =>
    new SyncError(
      `sync: could not read ${branch} of the ${remote.label}: ${scrubText(messageOf(err), access.secrets)}. ${pushedNote(pushed)} ` +
        'Check that the remote is reachable and that its token may read the repository, then run the sync again.',
      remote.side,
      access.display,
      pushed,
    );
  let tip: string | null;
  try {
    tip = (await lsRemote(repo, access, [branch])).get(branch) ?? null;
  } catch (err) {
    throw unreachable(err);
  }
  if (tip === null) return null;
  const ref = sideRef(remote.side, branch);
  if (await hasCommit(repo, tip)) {
    await runGit(['update-ref', ref, tip], { gitDir: repo.gitDir });
    return tip;
  }
  try {
    await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--no-recurse-submodules', '--depth=1', access.url, `+refs/heads/${branch}:${ref}`], {
      gitDir: repo.gitDir,
      config: access.config,
      secrets: access.secrets,
    });
  } catch (err) {
    throw unreachable(err);
  }
  // The branch may have moved between ls-remote and fetch: what was fetched is the newer tip.
  return gitText(['rev-parse', '--verify', `${ref}^{commit}`], { gitDir: repo.gitDir });
}

export interface PushSideArgs {
  /** The cache repository, already held by the caller's withCacheRepo. */
  repo: CacheRepo;
  target: SideRemote;
  source: SideRemote;
  branch: string;
  root: string;
  /** The target's tip as first read (null: the branch is to be created) and its tree. */
  head: string | null;
  entries: ReadonlyMap<string, TreeEntry>;
  /** The source's tree as read at the start: what the target is completed from. */
  sourceEntries: ReadonlyMap<string, TreeEntry>;
  identity: CommitIdentity;
  maxPushAttempts: number;
  createMissingBranch: boolean;
  logger: PublishLogger;
  /** Commits already pushed by this sync, for the error messages. */
  pushed: ReadonlyArray<PushedSyncCommit>;
}

export interface SidePushed {
  sha: string;
  message: string;
  added: FileToAdd[];
  attempts: number;
}

/**
 * Adds to the target's branch, in one commit on its tip, the files it lacks of the source, and pushes without
 * force. When the push is refused because the branch moved meanwhile, reads the branch again and redoes the
 * commit on the new tip (what it lacks may have changed), up to maxPushAttempts. Null when it lacks nothing
 * (any more). The commit's file count is checked with git before it is pushed.
 */
export async function pushSide(args: PushSideArgs): Promise<SidePushed | null> {
  const { repo, target, source, branch, logger } = args;
  const { access } = target;
  const ref = sideRef(target.side, branch);
  const labels = { target: `${target.side} "${target.name}"`, source: `${source.side} "${source.name}"` };
  let head = args.head;
  let entries = args.entries;
  for (let attempt = 1; attempt <= args.maxPushAttempts; attempt++) {
    if (attempt > 1) {
      head = await fetchSideHead(repo, target, branch, args.pushed);
      if (head === null && !args.createMissingBranch) throw missingBranchError(target, branch, args.pushed);
      entries = await listTree(repo, head);
    }
    const { add } = filesLacking(entries, args.sourceEntries, args.root, labels);
    if (add.length === 0) return null;
    const message = scrubText(`sync: +${add.length} files from ${source.name}`, access.secrets);
    const commit = await commitAddedFiles(repo, { parent: head, files: add, message, identity: args.identity });
    await assertAddsExactly(repo, commit, head, add, target);

    const result = await pushCommit(repo, access, { commit, branch });
    let tip: string | null;
    try {
      tip = (await lsRemote(repo, access, [branch])).get(branch) ?? null;
    } catch (err) {
      throw new SyncError(
        `sync: pushed ${commit.slice(0, 12)} to ${branch} of the ${target.label} but could not read the branch back: ${scrubText(messageOf(err), access.secrets)}. ` +
          'The push may or may not have landed; run the sync again (it only adds, so running twice is safe).',
        target.side,
        access.display,
        args.pushed,
      );
    }
    // Exit 0 of a push without force means the ref was updated (it may have moved on since: someone built on it).
    if (tip === commit || result.code === 0) {
      await runGit(['update-ref', ref, commit], { gitDir: repo.gitDir });
      if (tip !== commit) logger.info({ side: target.side, remote: access.display, branch, sha: commit, tip }, 'sync commit pushed; the branch has moved on since');
      return { sha: commit, message, added: add, attempts: attempt };
    }
    if (tip !== head) {
      logger.warn({ side: target.side, remote: access.display, branch, attempt, expected: head, tip }, 'branch moved while syncing; reading it again');
      continue;
    }
    throw new SyncError(
      `sync: ${target.label} refused the push to ${branch}: ${pushFailureText(result, access)}. ${pushedNote(args.pushed)} ` +
        'Check that the token may push to this repository and that no branch protection or hook rejects the push, then run the sync again.',
      target.side,
      access.display,
      args.pushed,
    );
  }
  throw new SyncError(
    `sync: ${branch} of the ${target.label} moved during each of ${args.maxPushAttempts} push attempts. ${pushedNote(args.pushed)} ` +
      'Something writes to it constantly; run the sync again later (or raise maxPushAttempts).',
    target.side,
    access.display,
    args.pushed,
  );
}

/** The commit must add exactly the planned files and change nothing else; otherwise nothing is pushed. */
async function assertAddsExactly(repo: CacheRepo, commit: string, parent: string | null, add: ReadonlyArray<FileToAdd>, target: SideRemote): Promise<void> {
  const changes = await changesOfCommit(repo, commit, parent);
  const planned = new Set(add.map((f) => f.path));
  const ok = changes.length === add.length && changes.every((c) => c.status === 'A' && planned.has(c.path));
  if (!ok) {
    const seen = changes.slice(0, 5).map((c) => `${c.status} ${c.path}`).join(', ');
    throw new SyncError(
      `sync: the commit built for the ${target.label} changes ${changes.length} paths (${seen}${changes.length > 5 ? ', ...' : ''}) instead of adding the ${add.length} planned files; nothing was pushed to it. This is a bug: report it with the sync's log.`,
      target.side,
      target.access.display,
    );
  }
}

export function missingBranchError(remote: SideRemote, branch: string, pushed: ReadonlyArray<PushedSyncCommit>): SyncError {
  return new SyncError(
    `sync: the ${remote.label} has no branch ${branch}. ${pushedNote(pushed)} ` +
      `Create it (push a first commit to ${branch}), fix the branch option, or pass createMissingBranch: true to let the sync create it with the copied files.`,
    remote.side,
    remote.access.display,
    pushed,
  );
}

function pushedNote(pushed: ReadonlyArray<PushedSyncCommit>): string {
  if (pushed.length === 0) return 'Nothing was pushed to either side.';
  return `Already pushed (kept, the sync only adds): ${pushed.map((p) => `${p.side} ${p.sha.slice(0, 12)} "${p.message}"`).join(', ')}.`;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
