import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CacheRepo } from '../publish/cache-repo.js';
import { gitText, runGit } from '../publish/git-command.js';
import { commitTree, type CommitIdentity } from '../publish/write-tree.js';
import type { FileToAdd } from './sync-plan.js';

/**
 * Creates one commit on `parent` (null: a first commit) whose tree is the parent's plus `files`, whose blobs
 * are already in the cache. A throwaway index (GIT_INDEX_FILE) is used, so nothing is checked out. Updates no ref.
 */
export async function commitAddedFiles(
  repo: CacheRepo,
  args: { parent: string | null; files: ReadonlyArray<FileToAdd>; message: string; identity: CommitIdentity },
): Promise<string> {
  const index = join(repo.gitDir, `sync-${process.pid}-${randomBytes(6).toString('hex')}.index`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await runGit(args.parent ? ['read-tree', args.parent] : ['read-tree', '--empty'], { gitDir: repo.gitDir, env });
    // --index-info on stdin rather than one --cacheinfo argument per file: no argv limit, any byte in a path.
    const input = args.files.map((f) => `${f.mode} ${f.oid}\t${f.path}\0`).join('');
    await runGit(['update-index', '--add', '-z', '--index-info'], { gitDir: repo.gitDir, env, input });
    const tree = await gitText(['write-tree'], { gitDir: repo.gitDir, env });
    return await commitTree(repo, { tree, parent: args.parent, message: args.message, identity: args.identity });
  } finally {
    await rm(index, { force: true });
    await rm(`${index}.lock`, { force: true });
  }
}

/** What a commit changes against its parent (all of its tree for a first commit), as status and path. */
export async function changesOfCommit(repo: CacheRepo, commit: string, parent: string | null): Promise<Array<{ status: string; path: string }>> {
  const args = parent
    ? ['diff-tree', '-r', '-z', '--no-renames', '--name-status', parent, commit]
    : ['diff-tree', '-r', '-z', '--no-renames', '--name-status', '--root', commit];
  const fields = (await runGit(args, { gitDir: repo.gitDir })).stdout.toString('utf8').split('\0');
  // --root prints the commit id first; a parent pair does not.
  if (!parent && fields[0] === commit) fields.shift();
  const changes: Array<{ status: string; path: string }> = [];
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]) changes.push({ status: fields[i], path: fields[i + 1] });
  return changes;
}
