import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { treePathProblem } from '../contract/names.js';
import { existsSync } from 'node:fs';
import { withCacheRepo, type CacheRepo } from '../publish/cache-repo.js';
import { localRemotePath } from '../publish/local-remote.js';
import { PublishConfigError } from '../publish/errors.js';
import { gitText, runGit } from '../publish/git-command.js';
import { SILENT_LOGGER, type PublishLogger } from '../publish/logger.js';
import { remoteAccess, type RemoteAccess } from '../publish/remote-access.js';
import { assertBranchName, fetchTips, lsRemote, setTrackingRef, trackingRef } from '../publish/remote-refs.js';
import { scrubText } from '../publish/scrub.js';
import { hasCommit } from '../publish/write-tree.js';

/**
 * A working copy of the served branch (`main`), kept current by fetch and an atomic switch, never by
 * `git reset --hard` of a folder something else writes (lesson 1). Layout of `dir`, which it alone owns:
 *   cache.git/      bare cache of the remote (withCacheRepo)
 *   trees/<sha>/    one commit's files, written once into a fresh folder and never changed afterwards
 *   current         symlink -> trees/<sha>, replaced by rename (atomic), for tools and for the next start
 * A reader that got current() keeps a folder that stays whole: the `keep` newest trees survive a switch.
 * Files a new commit did not change are hard links to the previous tree's, so their Last-Modified (and the
 * disk) stay as they were. One ServedBranch per `dir`.
 */

export interface ServedBranchOptions {
  /** The API repository: an https URL (no credentials in it), or a local bare repository path. */
  remoteUrl: string;
  /** GITHUB_TOKEN for an https remote; sent per command, never stored on disk. Default: none. */
  token?: string;
  /** Default `main` (what the merger writes). */
  branch?: string;
  /** A folder of its own (e.g. var/served/main); never the exporter's tree. */
  dir: string;
  /** The folder inside the commit that is served. Default `data`. */
  root?: string;
  /** Between two fetches, ms. Default 30000. */
  refreshMs?: number;
  /** Trees kept, the served one included, so that readers in flight finish on an old one. Default 2. */
  keep?: number;
  /** Default: silent. */
  logger?: PublishLogger;
}

export interface ServedBranchStatus {
  /** The commit served, or null before the first tree. */
  sha: string | null;
  /** When the remote last answered (ISO), or null. */
  fetchedAt: string | null;
  /** Why the last round failed, or null when it succeeded (scrubbed of secrets). */
  lastError: string | null;
  /** When a round last failed (ISO), kept after a recovery; null if none did. */
  lastErrorAt: string | null;
}

const TREES = 'trees';
const CURRENT = 'current';
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

interface TreeEntry {
  mode: string;
  blob: string;
  size: number;
  path: string;
}

export class ServedBranch {
  private readonly access: RemoteAccess;
  /** The remote's local folder when it is a path, else null. */
  private readonly localRemote: string | null;
  private readonly branch: string;
  private readonly dir: string;
  private readonly root: string;
  private readonly refreshMs: number;
  private readonly keep: number;
  private readonly logger: PublishLogger;
  private sha: string | null = null;
  private fetchedAt: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private round: Promise<ServedBranchStatus> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(options: ServedBranchOptions) {
    const { branch = 'main', root = 'data', refreshMs = 30_000, keep = 2 } = options;
    assertBranchName(branch);
    const rootProblem = treePathProblem(root);
    if (rootProblem) throw new PublishConfigError(`root ${JSON.stringify(root)} is ${rootProblem}: give the served folder inside the commit, e.g. data`);
    if (!Number.isFinite(refreshMs) || refreshMs < 1000) throw new PublishConfigError(`refreshMs ${refreshMs} is too small: give 1000 ms or more (default 30000)`);
    if (!Number.isInteger(keep) || keep < 1) throw new PublishConfigError(`keep ${keep} must be a whole number of trees, 1 or more (default 2)`);
    if (typeof options.dir !== 'string' || options.dir.trim() === '') throw new PublishConfigError('dir is empty: give a folder of its own for the served copy, e.g. var/served/main');
    this.access = remoteAccess(options.remoteUrl, options.token);
    this.localRemote = localRemotePath(options.remoteUrl);
    this.branch = branch;
    this.dir = resolve(options.dir);
    this.root = root;
    this.refreshMs = refreshMs;
    this.keep = keep;
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  /** Serves the tree a previous run left (if any), runs one round, then one every refreshMs. Never throws for a remote that is down. */
  async start(): Promise<ServedBranchStatus> {
    this.running = true;
    await this.adoptPrevious();
    const status = await this.refresh();
    this.schedule();
    return status;
  }

  /** Stops the rounds. A round in flight is waited for up to 2 s: a remote that hangs must not hold a shutdown. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.round) await Promise.race([this.round.catch(() => undefined), new Promise((r) => setTimeout(r, 2_000).unref())]);
  }

  /** The absolute folder served now (`dir/trees/<sha>/data`), or null before the first tree. */
  current(): string | null {
    return this.sha ? join(this.dir, TREES, this.sha, this.root) : null;
  }

  status(): ServedBranchStatus {
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return { sha: this.sha, fetchedAt: iso(this.fetchedAt), lastError: this.lastError, lastErrorAt: iso(this.lastErrorAt) };
  }

  /** One round now (a round already running is joined): fetch, and switch when the commit changed. Resolves with the status. */
  refresh(): Promise<ServedBranchStatus> {
    this.round ??= this.runRound().finally(() => {
      this.round = null;
    });
    return this.round;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.refresh().then(() => this.schedule());
    }, this.refreshMs);
    this.timer.unref(); // the server keeps the process alive, not this timer
  }

  private async runRound(): Promise<ServedBranchStatus> {
    try {
      // A local remote that is not there yet (before `poller init-remote`) leaves no cache folder behind.
      if (this.localRemote && !existsSync(this.localRemote)) throw new Error(`the remote ${this.access.display} does not exist (yet)`);
      const sha = await withCacheRepo(this.dir, (repo) => this.fetchAndBuild(repo));
      if (sha !== this.sha) await this.switchTo(sha);
      this.fetchedAt = Date.now();
      if (this.lastError) this.logger.info({ branch: this.branch, remote: this.access.display, sha }, 'served branch reachable again');
      this.lastError = null;
    } catch (err) {
      const message = scrubText(err instanceof Error ? err.message : String(err), this.access.secrets);
      // One line per new problem, not one every round while the remote stays down.
      if (message !== this.lastError) {
        this.logger.warn({ branch: this.branch, remote: this.access.display, error: message, serving: this.sha }, 'served branch not refreshed; serving the last tree');
      }
      this.lastError = message;
      this.lastErrorAt = Date.now();
    }
    return this.status();
  }

  /** The branch's tip, fetched and materialised in trees/<sha> when it is not there yet. */
  private async fetchAndBuild(repo: CacheRepo): Promise<string> {
    const tip = (await lsRemote(repo, this.access, [this.branch])).get(this.branch);
    if (!tip) throw new Error(`branch ${this.branch} does not exist on ${this.access.display}`);
    if (tip === this.sha && (await isDir(join(this.dir, TREES, tip, this.root)))) return tip;
    let sha = tip;
    if (!(await hasCommit(repo, tip))) {
      await fetchTips(repo, this.access, [this.branch]);
      // A branch that moved between ls-remote and fetch: the (shallow) fetch brought the newer tip; serve that.
      if (!(await hasCommit(repo, tip))) sha = await gitText(['rev-parse', '--verify', `${trackingRef(this.branch)}^{commit}`], { gitDir: repo.gitDir });
    }
    await setTrackingRef(repo, this.branch, sha);
    if (sha !== this.sha || !(await isDir(join(this.dir, TREES, sha, this.root)))) await this.materialise(repo, sha);
    return sha;
  }

  /** Writes the commit's `root` into a fresh folder and renames it to trees/<sha>; unchanged files are hard links. */
  private async materialise(repo: CacheRepo, sha: string): Promise<void> {
    const target = join(this.dir, TREES, sha);
    if (await isDir(join(target, this.root))) return; // built before and still kept
    await rm(target, { recursive: true, force: true }); // a partial one from a crash
    await mkdir(join(this.dir, TREES), { recursive: true });
    const build = await mkdtemp(join(this.dir, TREES, '.build-'));
    const index = join(this.dir, `.index-${randomBytes(6).toString('hex')}`);
    try {
      const entries = await this.listTree(repo, sha);
      const served = join(build, this.root);
      await mkdir(served, { recursive: true });
      const linked = await this.linkUnchanged(repo, entries, served);
      const rest = entries.filter((e) => !linked.has(e.path)).map((e) => e.path);
      if (rest.length) {
        const env = { GIT_INDEX_FILE: index };
        await runGit(['read-tree', `${sha}:${this.root}`], { gitDir: repo.gitDir, env });
        // core.symlinks=false: a link in the commit becomes a small file holding its target, never a link.
        await runGit(['checkout-index', '-z', '--stdin', `--prefix=${served}/`], {
          gitDir: repo.gitDir,
          workTree: build,
          env,
          config: [['core.symlinks', 'false']],
          input: rest.join('\0') + '\0',
        });
      }
      await rename(build, target);
    } catch (err) {
      await rm(build, { recursive: true, force: true });
      throw err;
    } finally {
      await rm(index, { force: true });
    }
  }

  /** Every file of `<sha>:root` (blobs and links; no submodules, no path that could leave the folder). */
  private async listTree(repo: CacheRepo, sha: string): Promise<TreeEntry[]> {
    const spec = `${sha}:${this.root}`;
    const probe = await runGit(['cat-file', '-t', spec], { gitDir: repo.gitDir, allowFailure: true });
    if (probe.code !== 0 || probe.stdout.toString('utf8').trim() !== 'tree') {
      throw new Error(`commit ${sha.slice(0, 12)} of ${this.branch} has no ${this.root}/ folder; nothing to serve from it`);
    }
    const out = (await runGit(['ls-tree', '-r', '-z', '-l', spec], { gitDir: repo.gitDir })).stdout.toString('utf8');
    const entries: TreeEntry[] = [];
    for (const record of out.split('\0')) {
      const tab = record.indexOf('\t');
      if (tab < 0) continue;
      const [mode, type, blob, size] = record.slice(0, tab).trim().split(/\s+/);
      const path = record.slice(tab + 1);
      if (type === 'blob' && !treePathProblem(path)) entries.push({ mode, blob, size: Number(size), path });
    }
    return entries;
  }

  /** Hard-links the files whose blob and mode equal the served tree's; returns their paths. */
  private async linkUnchanged(repo: CacheRepo, entries: TreeEntry[], served: string): Promise<Set<string>> {
    const linked = new Set<string>();
    const previousSha = this.sha;
    if (!previousSha) return linked;
    const previousRoot = join(this.dir, TREES, previousSha, this.root);
    let previous: Map<string, TreeEntry>;
    try {
      previous = new Map((await this.listTree(repo, previousSha)).map((e) => [e.path, e]));
    } catch {
      return linked; // the old commit is gone from the cache: check everything out
    }
    const made = new Set<string>();
    for (const entry of entries) {
      const old = previous.get(entry.path);
      if (!old || old.blob !== entry.blob || old.mode !== entry.mode || entry.mode === '120000') continue;
      const from = join(previousRoot, entry.path);
      const info = await lstat(from).catch(() => null);
      if (!info?.isFile() || info.size !== entry.size) continue;
      const to = join(served, entry.path);
      const folder = dirname(to);
      if (!made.has(folder)) {
        await mkdir(folder, { recursive: true }); // inside our fresh build folder: nothing there is a link
        made.add(folder);
      }
      await link(from, to);
      linked.add(entry.path);
    }
    return linked;
  }

  /** A new `current` link renamed over the old one (atomic), then the trees beyond `keep` removed. */
  private async switchTo(sha: string): Promise<void> {
    const now = new Date();
    await utimes(join(this.dir, TREES, sha), now, now); // recency, for pruning
    const tmp = join(this.dir, `${CURRENT}.tmp-${randomBytes(6).toString('hex')}`);
    await symlink(join(TREES, sha), tmp);
    try {
      await rename(tmp, join(this.dir, CURRENT));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const previous = this.sha;
    this.sha = sha;
    this.logger.info({ branch: this.branch, sha, previous }, 'serving a new commit');
    await this.prune().catch((err: unknown) => {
      this.logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'old served trees not removed; retried at the next switch');
    });
  }

  private async prune(): Promise<void> {
    const folder = join(this.dir, TREES);
    const trees: Array<{ name: string; mtime: number }> = [];
    for (const name of await readdir(folder)) {
      if (!SHA.test(name) || name === this.sha) continue;
      const info = await lstat(join(folder, name)).catch(() => null);
      if (info) trees.push({ name, mtime: info.mtimeMs });
    }
    trees.sort((a, b) => b.mtime - a.mtime);
    for (const old of trees.slice(this.keep - 1)) await rm(join(folder, old.name), { recursive: true, force: true });
  }

  /** At start: serve what `current` pointed at (the remote may be down), and clear a crashed run's leftovers. */
  private async adoptPrevious(): Promise<void> {
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (name.startsWith(`${CURRENT}.tmp-`) || name.startsWith('.index-')) await rm(join(this.dir, name), { force: true });
    }
    for (const name of await readdir(join(this.dir, TREES)).catch(() => [] as string[])) {
      if (name.startsWith('.build-')) await rm(join(this.dir, TREES, name), { recursive: true, force: true });
    }
    if (this.sha) return;
    const target = await readlink(join(this.dir, CURRENT)).catch(() => null);
    const sha = target?.startsWith(`${TREES}/`) ? target.slice(TREES.length + 1) : null;
    if (sha && SHA.test(sha) && (await isDir(join(this.dir, TREES, sha, this.root)))) {
      this.sha = sha;
      this.logger.info({ branch: this.branch, sha }, 'serving the tree of the previous run until the remote answers');
    }
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isDirectory() ?? false;
}
