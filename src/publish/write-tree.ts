import { randomBytes } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findSymlinks } from '../files/no-follow.js';
import type { CacheRepo } from './cache-repo.js';
import { PublishConfigError } from './errors.js';
import { gitText, runGit } from './git-command.js';

/** The git tree id of an empty folder; publishing it would delete every file on the branch. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * Stores every file under `dir` in the cache repository and returns the id of the tree they form.
 * Uses a throwaway index, so nothing is checked out and nothing is written into `dir`.
 * Ignore rules inside `dir` do not apply: the folder is the complete tree.
 * A tree holding a symbolic link is refused (PublishConfigError naming it): git would publish the link itself,
 * pointing readers of the branch at whatever it names.
 */
export async function writeTreeFromDir(repo: CacheRepo, dir: string): Promise<string> {
  const treeDir = resolve(dir);
  const info = await stat(treeDir).catch(() => null);
  if (!info?.isDirectory()) throw new PublishConfigError(`treeDir ${dir} is not a folder: build the tree there first`);
  const links = await findSymlinks(treeDir);
  if (links.length) {
    throw new PublishConfigError(`treeDir ${dir} holds symbolic links (${links.slice(0, 5).join(', ')}${links.length > 5 ? ', ...' : ''}): refusing to publish them; remove them and export again`);
  }
  const index = join(repo.gitDir, `publish-${process.pid}-${randomBytes(6).toString('hex')}.index`);
  try {
    const env = { GIT_INDEX_FILE: index };
    await runGit(['add', '--all', '--force', '--', '.'], { gitDir: repo.gitDir, workTree: treeDir, env });
    const tree = await gitText(['write-tree'], { gitDir: repo.gitDir, env });
    if (tree === EMPTY_TREE) throw new PublishConfigError(`treeDir ${dir} holds no files: refusing to publish an empty tree (it would delete every file on the branch)`);
    return tree;
  } finally {
    await rm(index, { force: true });
    await rm(`${index}.lock`, { force: true });
  }
}

/** The tree id of a commit. */
export function treeOfCommit(repo: CacheRepo, commit: string): Promise<string> {
  return gitText(['rev-parse', '--verify', '--quiet', `${commit}^{tree}`], { gitDir: repo.gitDir });
}

/** Whether the commit is in the cache (so it can be a parent without a fetch). */
export async function hasCommit(repo: CacheRepo, commit: string): Promise<boolean> {
  const r = await runGit(['cat-file', '-e', `${commit}^{commit}`], { gitDir: repo.gitDir, allowFailure: true });
  return r.code === 0;
}

export interface CommitIdentity {
  name: string;
  email: string;
}

/** Default author and committer of every published commit. */
export const DEFAULT_IDENTITY: CommitIdentity = { name: 'StakTrakr Poller', email: 'poller@staktrakr.invalid' };

/** Creates one commit of `tree` on `parent` (none: a first commit) and returns its id. Updates no ref. */
export function commitTree(
  repo: CacheRepo,
  args: { tree: string; parent: string | null; message: string; identity?: CommitIdentity },
): Promise<string> {
  const { name, email } = args.identity ?? DEFAULT_IDENTITY;
  const env = { GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email };
  const parentArgs = args.parent ? ['-p', args.parent] : [];
  return gitText(['commit-tree', args.tree, ...parentArgs, '-F', '-'], { gitDir: repo.gitDir, env, input: `${args.message}\n` });
}
