import { mkdir, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { gitText, runGit } from './git-command.js';
import { PublishConfigError } from './errors.js';

/** The local bare repository in `workDir` that caches what was fetched and pushed between runs. */
export interface CacheRepo {
  workDir: string;
  gitDir: string;
}

// Bare: there is no working tree for a `reset --hard` to wipe, and nothing of ours sits in a published folder.
const CACHE_NAME = 'cache.git';
const locks = new Map<string, Promise<unknown>>();

/**
 * Runs `fn` with the cache repository of `workDir`, created on first use, one operation at a time
 * per workDir in this process (git ref updates in one repository must not race).
 */
export async function withCacheRepo<T>(workDir: string, fn: (repo: CacheRepo) => Promise<T>): Promise<T> {
  if (typeof workDir !== 'string' || workDir.trim() === '') throw new PublishConfigError('workDir is empty: give a folder for the local git cache, outside any published tree');
  const dir = resolve(workDir);
  const previous = locks.get(dir) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(async () => fn(await openCacheRepo(dir)));
  const tail = run.catch(() => undefined);
  locks.set(dir, tail);
  void tail.then(() => {
    if (locks.get(dir) === tail) locks.delete(dir);
  });
  return run;
}

async function openCacheRepo(workDir: string): Promise<CacheRepo> {
  const gitDir = join(workDir, CACHE_NAME);
  const repo = { workDir, gitDir };
  if (await isBareRepo(gitDir)) return repo;
  // A cache holds nothing the remote lacks, so a damaged one is rebuilt rather than repaired.
  await rm(gitDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  await runGit(['init', '--bare', '--quiet', gitDir]);
  return repo;
}

async function isBareRepo(gitDir: string): Promise<boolean> {
  try {
    await stat(gitDir);
  } catch {
    return false;
  }
  try {
    return (await gitText(['rev-parse', '--is-bare-repository'], { gitDir })) === 'true';
  } catch {
    return false;
  }
}

/** Refuses a workDir inside the published tree: the cache would publish itself (and be wiped with the tree). */
export async function assertOutsideTree(workDir: string, treeDir: string): Promise<void> {
  const work = await realpathOrResolve(workDir);
  const tree = await realpathOrResolve(treeDir);
  if (isInside(work, tree)) {
    throw new PublishConfigError(`workDir ${workDir} is inside the published tree ${treeDir}: put the git cache in its own folder (for example var/git/<branch>)`);
  }
  if (isInside(tree, join(work, CACHE_NAME))) {
    throw new PublishConfigError(`treeDir ${treeDir} is inside the git cache ${join(workDir, CACHE_NAME)}: build the tree in its own folder`);
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** The real path of the nearest existing ancestor, plus the rest: symlinked temp folders compare equal. */
async function realpathOrResolve(path: string): Promise<string> {
  const full = resolve(path);
  try {
    return await realpath(full);
  } catch {
    const parent = dirname(full);
    return parent === full ? full : join(await realpathOrResolve(parent), basename(full));
  }
}
