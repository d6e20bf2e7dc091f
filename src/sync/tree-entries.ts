import type { CacheRepo } from '../publish/cache-repo.js';
import { runGit } from '../publish/git-command.js';

/** One entry of a commit's tree as `ls-tree -r` lists it (blobs, links and submodules; folders are implied). */
export interface TreeEntry {
  /** `100644` and `100755` are regular files, `120000` a link, `160000` a submodule. */
  mode: string;
  type: string;
  /** The object id (a blob's is its bytes' hash: equal ids, equal bytes). */
  oid: string;
  path: string;
}

/** Every entry of the commit's whole tree, by path; an empty map for no commit (a branch still to create). */
export async function listTree(repo: CacheRepo, commit: string | null): Promise<Map<string, TreeEntry>> {
  const entries = new Map<string, TreeEntry>();
  if (commit === null) return entries;
  // -z: paths come raw (no quoting of unusual names), NUL-separated.
  const { stdout } = await runGit(['ls-tree', '-r', '-z', '--full-tree', commit], { gitDir: repo.gitDir });
  for (const record of stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode, type, oid] = record.slice(0, tab).split(' ');
    const path = record.slice(tab + 1);
    entries.set(path, { mode, type, oid, path });
  }
  return entries;
}

/** A regular file (not a link, not a submodule). */
export function isRegularFile(entry: TreeEntry): boolean {
  return entry.type === 'blob' && (entry.mode === '100644' || entry.mode === '100755');
}
