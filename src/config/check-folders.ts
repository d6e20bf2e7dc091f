import { constants, mkdirSync, statSync } from 'node:fs';
import { access, mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from './env.js';

/**
 * Folders the roles write to (RECOVERY_LOG_DIR, DATA_DIR, PUBLISH_DIR) are checked at start: a file, a folder that
 * cannot be written, or a path that cannot be created stops the start with the variable named and the fix said.
 *
 * Node 20's `mkdir(..., {recursive: true})` never returns on some paths (`/proc/nope`: the kernel answers ENOENT
 * for a parent that exists, and node retries for ever, synchronously for mkdirSync). These helpers create one level
 * at a time instead, from the nearest folder that exists.
 */

/** Missing folders from the nearest existing ancestor down to `path`, outermost first. */
function missingLevels(path: string, exists: (p: string) => boolean): string[] {
  const levels: string[] = [];
  let current = resolve(path);
  while (!exists(current)) {
    levels.unshift(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return levels;
}

const existsSyncSafe = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** `mkdir -p` that always ends: creates each missing level by itself; throws the first level's error. */
export function makeFolderSync(path: string): void {
  for (const level of missingLevels(path, existsSyncSafe)) {
    try {
      mkdirSync(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Async `mkdir -p` that always ends (see makeFolderSync). */
export async function makeFolder(path: string): Promise<void> {
  const levels = missingLevels(path, existsSyncSafe);
  for (const level of levels) {
    try {
      await mkdir(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Why `path` cannot serve as a writable folder, or null when it can (it is created when missing). */
export async function folderProblem(path: string): Promise<string | null> {
  const full = resolve(path);
  const info = await stat(full).catch((err: NodeJS.ErrnoException) => err);
  if (!(info instanceof Error)) {
    if (!info.isDirectory()) return `${full} is a file, not a folder`;
  } else if (info.code === 'ENOTDIR') {
    return `${full} cannot be a folder: a part of its path is a file`;
  } else if (info.code !== 'ENOENT') {
    return `${full} cannot be read (${info.code ?? info.message})`;
  } else {
    try {
      await makeFolder(full);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return `${full} does not exist and cannot be created (${e.code ?? e.message}${e.path && e.path !== full ? ` at ${e.path}` : ''})`;
    }
  }
  // access() says yes to root on a read-only mount: write a file to be sure.
  try {
    await access(full, constants.W_OK | constants.X_OK);
    const probe = join(full, `.write-check-${process.pid}-${Date.now()}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  } catch (err) {
    return `${full} is not writable by this process (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  return null;
}

/**
 * Checks each `VARIABLE: path` pair; throws one ConfigError naming every variable whose folder cannot be used.
 * Missing folders are created (the roles would create them anyway).
 */
export async function checkFolders(folders: Record<string, string>): Promise<void> {
  const problems: string[] = [];
  for (const [variable, path] of Object.entries(folders)) {
    const problem = await folderProblem(path);
    if (problem) problems.push(`${variable}: ${problem}; set ${variable} to a folder this process can write (it is created when missing)`);
  }
  if (problems.length) throw new ConfigError(problems);
}
