import { existsSync } from 'node:fs';
import { withCacheRepo } from './cache-repo.js';
import { runGit } from './git-command.js';
import { remoteAccess, type RemoteAccess } from './remote-access.js';
import { assertBranchName, fetchTips, lsRemote } from './remote-refs.js';
import { scrubText } from './scrub.js';
import { hasCommit } from './write-tree.js';

/** The tip of one branch on the publishing remote, for the status page. */
export interface BranchHead {
  branch: string;
  /** The tip commit; null when the branch is missing or could not be read. */
  sha: string | null;
  /** The tip's committer time (ISO); null when unknown. */
  committedAt: string | null;
  /** True when the remote answered and has no such branch (not yet published). */
  missing: boolean;
  /** Why it could not be read (scrubbed of secrets); absent when read or missing. */
  error?: string;
}

export interface BranchHeadsOptions {
  /** The publishing remote: a local (bare) repository path, or an http(s)/ssh/file URL. */
  remoteUrl: string;
  token?: string;
  branches: ReadonlyArray<string>;
  /** A folder of its own for the cache repository of URL remotes (never the exporter's or merger's). */
  workDir: string;
}

/**
 * Tip commits and their commit times. A local repository is read in place (one `for-each-ref`); a URL remote
 * with `ls-remote`, then a depth-1 fetch of tips the cache lacks (a tip already fetched costs nothing), then the
 * commit times from the cache. Never throws for the remote: every branch then carries the error.
 */
export async function readBranchHeads(options: BranchHeadsOptions): Promise<BranchHead[]> {
  const access = remoteAccess(options.remoteUrl, options.token);
  const valid = options.branches.filter((b) => {
    try {
      assertBranchName(b);
      return true;
    } catch {
      return false;
    }
  });
  const invalid = (b: string): BranchHead => ({ branch: b, sha: null, committedAt: null, missing: false, error: `${JSON.stringify(b)} is not a valid branch name` });
  try {
    const found = isLocalPath(access) ? await readLocal(access.url, valid) : await readRemote(access, valid, options.workDir);
    return options.branches.map((b) => {
      if (!valid.includes(b)) return invalid(b);
      const head = found.get(b);
      return head ? { branch: b, sha: head.sha, committedAt: head.committedAt, missing: false } : { branch: b, sha: null, committedAt: null, missing: true };
    });
  } catch (err) {
    const error = scrubText(`could not read ${access.display}: ${err instanceof Error ? err.message : String(err)}`, access.secrets);
    return options.branches.map((b) => (valid.includes(b) ? { branch: b, sha: null, committedAt: null, missing: false, error } : invalid(b)));
  }
}

type Heads = Map<string, { sha: string; committedAt: string | null }>;

function isLocalPath(access: RemoteAccess): boolean {
  return !/^[^/]*:/.test(access.url);
}

/** A local repository: read its refs in place. One that does not exist yet has no branches (nothing published). */
async function readLocal(gitDir: string, branches: string[]): Promise<Heads> {
  const heads: Heads = new Map();
  if (branches.length === 0 || !existsSync(gitDir)) return heads;
  const { stdout } = await runGit(['for-each-ref', '--format=%(refname)%09%(objectname)%09%(committerdate:unix)', ...branches.map((b) => `refs/heads/${b}`)], {
    gitDir,
    timeoutMs: 10_000,
  });
  for (const line of stdout.toString('utf8').split('\n')) {
    const [ref, sha, unix] = line.split('\t');
    const branch = ref?.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : null;
    // for-each-ref matches prefixes (refs/heads/api1/x): keep exact names only.
    if (branch && branches.includes(branch) && sha) heads.set(branch, { sha, committedAt: isoFromUnix(unix) });
  }
  return heads;
}

async function readRemote(access: RemoteAccess, branches: string[], workDir: string): Promise<Heads> {
  const heads: Heads = new Map();
  if (branches.length === 0) return heads;
  return withCacheRepo(workDir, async (repo) => {
    const tips = await lsRemote(repo, access, branches);
    const lacking: string[] = [];
    for (const [branch, sha] of tips) if (!(await hasCommit(repo, sha))) lacking.push(branch);
    if (lacking.length) await fetchTips(repo, access, lacking);
    const shas = [...new Set(tips.values())];
    if (shas.length === 0) return heads;
    const { stdout } = await runGit(['log', '--no-walk=unsorted', '--format=%H%x09%ct', ...shas], { gitDir: repo.gitDir, timeoutMs: 10_000 });
    const times = new Map<string, string | null>();
    for (const line of stdout.toString('utf8').split('\n')) {
      const [sha, unix] = line.split('\t');
      if (sha && unix) times.set(sha, isoFromUnix(unix));
    }
    for (const [branch, sha] of tips) heads.set(branch, { sha, committedAt: times.get(sha) ?? null });
    return heads;
  });
}

function isoFromUnix(unix: string | undefined): string | null {
  const n = Number(unix);
  return Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : null;
}
