import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { COIN_FILE_NAMES } from '../contract/published-files.js';

export interface WriteTreeResult {
  /** Paths (relative to the data folder) whose bytes changed. */
  written: string[];
  /** Coin folders removed because their slug left the manifest. */
  removedFolders: string[];
}

/**
 * Writes files (relative path -> text) under `dataDir`. A file whose bytes are already there is not
 * touched; a changed one is written to a temporary name and renamed, so a reader never sees half a file.
 * Coin folders under `api/` whose slug is not in `keepSlugs` and which hold only the exporter's files are
 * removed; anything else there (spot files, other feeds) is left alone.
 */
export async function writeTree(dataDir: string, files: ReadonlyMap<string, string>, keepSlugs: ReadonlySet<string>): Promise<WriteTreeResult> {
  const written: string[] = [];
  for (const [path, text] of files) {
    const target = join(dataDir, path);
    if ((await readIfExists(target)) === text) continue;
    await mkdir(dirname(target), { recursive: true });
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, text);
    await rename(tmp, target);
    written.push(path);
  }
  return { written, removedFolders: await removeStaleCoinFolders(join(dataDir, 'api'), keepSlugs) };
}

async function removeStaleCoinFolders(apiDir: string, keepSlugs: ReadonlySet<string>): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(apiDir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
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

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
