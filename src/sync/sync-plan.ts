import { treePathProblem } from '../contract/names.js';
import { isRegularFile, type TreeEntry } from './tree-entries.js';

/** A file one side lacks: the other side's blob, to add under the same path and mode. */
export interface FileToAdd {
  path: string;
  mode: string;
  oid: string;
}

/** A path under the root that was left alone, and why (a file on one side and a folder on the other, a link...). */
export interface SkippedPath {
  path: string;
  reason: string;
}

/** What one side lacks of the other, under the root. */
export interface LackingFiles {
  add: FileToAdd[];
  skipped: SkippedPath[];
}

/** How the sides appear in the reasons, e.g. `primary "StakTrakrApi"`. */
export interface SideLabels {
  target: string;
  source: string;
}

/**
 * The regular files under `root` that `source` has and `target` lacks, sorted by path. Nothing is
 * overwritten: a path the target holds in any form (a file with other bytes, a link, a folder, or a file
 * where the path needs a folder) is not added; the ones that block a copy are listed as skipped.
 */
export function filesLacking(target: ReadonlyMap<string, TreeEntry>, source: ReadonlyMap<string, TreeEntry>, root: string, labels: SideLabels): LackingFiles {
  const add: FileToAdd[] = [];
  const skipped: SkippedPath[] = [];
  const targetFolders = foldersOf(target.keys());
  for (const entry of source.values()) {
    if (!entry.path.startsWith(root)) continue;
    const held = target.get(entry.path);
    if (held) {
      if (!isRegularFile(held) && isRegularFile(entry)) skipped.push({ path: entry.path, reason: `a ${kindOf(held)} on the ${labels.target}, a file on the ${labels.source}: left alone` });
      continue; // equal or differing bytes: both left alone (differing ones are counted by planSync)
    }
    if (!isRegularFile(entry)) {
      skipped.push({ path: entry.path, reason: `a ${kindOf(entry)} on the ${labels.source}: only regular files are copied` });
      continue;
    }
    const problem = treePathProblem(entry.path);
    if (problem) {
      skipped.push({ path: entry.path, reason: `${problem} on the ${labels.source}: not copied` });
      continue;
    }
    const blocking = ancestorsOf(entry.path).find((folder) => target.has(folder));
    if (blocking !== undefined) {
      skipped.push({ path: entry.path, reason: `${blocking} is a ${kindOf(target.get(blocking)!)} on the ${labels.target}, a folder on the ${labels.source}: conflict, not copied` });
      continue;
    }
    if (targetFolders.has(entry.path)) {
      skipped.push({ path: entry.path, reason: `a folder on the ${labels.target}, a file on the ${labels.source}: conflict, not copied` });
      continue;
    }
    add.push({ path: entry.path, mode: entry.mode, oid: entry.oid });
  }
  add.sort((a, b) => compare(a.path, b.path));
  skipped.sort((a, b) => compare(a.path, b.path));
  return { add, skipped };
}

/** Paths under `root` that are regular files on both sides with different bytes (left alone, reported). */
export function differingFiles(a: ReadonlyMap<string, TreeEntry>, b: ReadonlyMap<string, TreeEntry>, root: string): string[] {
  const paths: string[] = [];
  for (const entry of a.values()) {
    if (!entry.path.startsWith(root) || !isRegularFile(entry)) continue;
    const other = b.get(entry.path);
    if (other && isRegularFile(other) && other.oid !== entry.oid) paths.push(entry.path);
  }
  return paths.sort(compare);
}

/** `a/b/c.json` -> `a`, `a/b`. */
function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function foldersOf(paths: Iterable<string>): Set<string> {
  const folders = new Set<string>();
  for (const path of paths) for (const folder of ancestorsOf(path)) folders.add(folder);
  return folders;
}

function kindOf(entry: TreeEntry): string {
  if (entry.type === 'commit') return 'submodule';
  if (entry.mode === '120000') return 'symbolic link';
  return 'file';
}

// Byte order, as git sorts: the same answer on every machine and locale.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
