import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { treePathProblem } from '../contract/names.js';
import { COIN_FILE_NAMES } from '../contract/published-files.js';
import { checkedDir, lstatBelow, readFileNoFollow, writeFileReplacing } from '../files/no-follow.js';
import { mapLimit } from '../files/map-limit.js';

/** File operations in flight at once (reads, checks, writes): enough to keep libuv's four threads busy. */
const FILES_IN_FLIGHT = 16;

export interface WriteTreeResult {
  /** Paths (relative to the data folder) whose bytes changed. */
  written: string[];
  /** Coin folders removed because their slug left the manifest. */
  removedFolders: string[];
}

/**
 * Writes files (relative path -> text) under `dataDir`, in place (the tree is kept between exports). A file
 * whose bytes are already there is not touched; a changed one is written to a fresh temporary file (O_EXCL,
 * O_NOFOLLOW) and renamed, so a reader never sees half a file.
 * Coin folders under `api/` whose slug is not in `keepSlugs` and which hold only the exporter's files are
 * removed; anything else there (spot files, other feeds) is left alone. A file for which `writeOnce(path, its text
 * now)` says true is not written again (15-minute spot files are never overwritten).
 *
 * Links: the parent of `dataDir` is trusted as given; `dataDir` itself and everything below it is checked with
 * lstat before anything is written. A symbolic link on the way to any file (the data folder, `api/`, a coin
 * folder, the file itself) refuses the whole write with a SymlinkRefusedError naming it: nothing is written,
 * inside the tree or through the link.
 */
export async function writeTree(
  dataDir: string,
  files: ReadonlyMap<string, string>,
  keepSlugs: ReadonlySet<string>,
  options: {
    writeOnce?: (path: string, existing: string) => boolean;
    /** Called with the paths about to be written, before any is: a throw writes nothing. Default none. */
    beforeWrite?: (paths: readonly string[]) => void;
  } = {},
): Promise<WriteTreeResult> {
  for (const path of files.keys()) {
    const problem = treePathProblem(path);
    if (problem) throw new Error(`export file path ${JSON.stringify(path)} is ${problem}: refusing to write it`);
  }
  const root = dirname(dataDir);
  const name = basename(dataDir);
  await mkdir(root, { recursive: true });
  const checked = new Set<string>();
  await checkedDir(root, join(name, 'api'), { checked });
  const paths = [...files.keys()];
  await mapLimit(paths, FILES_IN_FLIGHT, (path) => lstatBelow(root, join(name, path), checked));

  const changed = await mapLimit(paths, FILES_IN_FLIGHT, async (path) => {
    const there = await readFileNoFollow(join(dataDir, path), root);
    return there === files.get(path) || (there !== null && options.writeOnce?.(path, there)) ? null : path;
  });
  const written = changed.filter((p): p is string => p !== null);
  options.beforeWrite?.(written);
  const made = new Set<string>();
  for (const path of written) await checkedDir(root, dirname(join(name, path)), { create: true, checked: made });
  await mapLimit(written, FILES_IN_FLIGHT, (path) => writeFileReplacing(join(dataDir, path), files.get(path)!));
  return { written, removedFolders: await removeStaleCoinFolders(join(dataDir, 'api'), keepSlugs) };
}

async function removeStaleCoinFolders(apiDir: string, keepSlugs: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(apiDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    // A Dirent is the entry itself: a link is neither a directory nor followed, so it is left alone.
    if (!entry.isDirectory() || keepSlugs.has(entry.name)) continue;
    const folder = join(apiDir, entry.name);
    const inside = await readdir(folder, { withFileTypes: true });
    const ours = inside.every((f) => f.isFile() && (COIN_FILE_NAMES as readonly string[]).includes(f.name));
    if (!ours) continue;
    await rm(folder, { recursive: true, force: true });
    removed.push(`api/${entry.name}`);
  }
  return removed.sort();
}
