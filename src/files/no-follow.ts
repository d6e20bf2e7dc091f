import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

/**
 * Writing files without following symbolic links. Every writer of the system goes through here:
 * - a whole folder is built in a fresh temporary folder of its own (mkdtemp, next to the destination) and
 *   renamed into place (replaceDir), so nothing inside it can be a link someone else made;
 * - a single file is written to a fresh temporary name opened with O_CREAT|O_EXCL|O_NOFOLLOW in its folder and
 *   renamed over the destination (writeFileReplacing): a link at the destination is replaced, never followed;
 * - a tree updated in place (the incremental export) checks every path component below its root with lstat
 *   first and refuses a link with SymlinkRefusedError naming it (checkedDir, lstatBelow).
 * The root a caller gives (an --out folder, a work folder from the configuration) is trusted as given: only
 * what lies below it is checked.
 */

/** O_NOFOLLOW where the platform has it (Linux, macOS); 0 elsewhere. */
export const O_NOFOLLOW: number = constants.O_NOFOLLOW ?? 0;

/** A write refused because a path component is a symbolic link (or not a folder where one is needed). */
export class SymlinkRefusedError extends Error {
  constructor(
    readonly path: string,
    readonly root: string,
    detail = 'is a symbolic link',
  ) {
    super(
      detail === 'is a symbolic link'
        ? `refusing to write through ${path}: it is a symbolic link inside ${root}, and writers never follow a link they did not create. ` +
            'Nothing was written through it; remove it (the next run writes a real folder or file there).'
        : `refusing to write through ${path}: it ${detail} (inside ${root}). Nothing was written; move it away and run again.`,
    );
    this.name = 'SymlinkRefusedError';
  }
}

function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** lstat, or null when the path does not exist. */
async function lstatOrNull(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** The relative path's folders from the root down: `a/b/c` -> [`a`, `a/b`, `a/b/c`]. */
function prefixes(rel: string): string[] {
  const parts = rel.split(/[\\/]/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`${rel} leaves its folder`);
  return parts.map((_, i) => parts.slice(0, i + 1).join(sep));
}

/**
 * Checks, with lstat, each existing component of `rel` below `root` (not `root` itself): a symbolic link, or a
 * file where a folder is needed, throws SymlinkRefusedError. With `create`, missing folders are made one at a
 * time (never through a link). `checked` caches folders already seen in one operation. Returns the full path.
 */
export async function checkedDir(root: string, rel: string, options: { create?: boolean; checked?: Set<string> } = {}): Promise<string> {
  for (const prefix of prefixes(rel)) {
    const full = join(root, prefix);
    if (options.checked?.has(full)) continue;
    let info = await lstatOrNull(full);
    if (!info && options.create) {
      try {
        await mkdir(full);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      info = await lstat(full);
    }
    if (!info) return join(root, rel); // missing, and not asked to create: nothing below exists either
    if (info.isSymbolicLink()) throw new SymlinkRefusedError(full, root);
    if (!info.isDirectory()) throw new SymlinkRefusedError(full, root, 'is not a folder');
    options.checked?.add(full);
  }
  return join(root, rel);
}

/** Refuses (SymlinkRefusedError) when the file at `root/rel` or a folder on its way is a link; a missing path passes. */
export async function lstatBelow(root: string, rel: string, checked?: Set<string>): Promise<void> {
  await checkedDir(root, dirname(rel), { checked });
  const full = join(root, rel);
  const info = await lstatOrNull(full);
  if (info?.isSymbolicLink()) throw new SymlinkRefusedError(full, root);
  if (info && !info.isFile()) throw new SymlinkRefusedError(full, root, 'is not a regular file');
}

/** The text of a file, or null when it does not exist; a link there throws SymlinkRefusedError (O_NOFOLLOW). */
export async function readFileNoFollow(path: string, root: string): Promise<string | null> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
  } catch (err) {
    if (isNotFound(err)) return null;
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefusedError(path, root);
    throw err;
  }
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** A fresh name next to `path` (same folder, so the rename stays on one file system). */
function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Writes `data` to a fresh temporary file in the folder of `path` (created with O_EXCL|O_NOFOLLOW: it cannot
 * be a link) and renames it over `path`. A symbolic link at `path` is replaced by the file, never followed.
 * The folder itself is the caller's (trusted, or checked with checkedDir).
 */
export async function writeFileReplacing(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = temporaryName(path);
  const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(data);
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Opens `path` for appending (created when missing) without following a link: a link there throws SymlinkRefusedError. */
export async function appendNoFollow(path: string, data: string, root: string): Promise<void> {
  let handle;
  try {
    handle = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_NOFOLLOW, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new SymlinkRefusedError(path, root);
    throw err;
  }
  try {
    const bytes = Buffer.from(data);
    for (let at = 0; at < bytes.length; ) at += (await handle.write(bytes, at, bytes.length - at)).bytesWritten;
  } finally {
    await handle.close();
  }
}

/**
 * Builds a whole folder afresh and puts it at `dest`: `build` fills a new temporary folder (mkdtemp next to
 * `dest`, so it is ours and holds no link we did not make), which is then renamed to `dest`. An existing
 * folder at `dest` is kept until the swap succeeded, then removed (rm never follows the links inside it);
 * a symbolic link or a file at `dest` is replaced (unlinked, never followed). On failure `dest` is unchanged.
 */
export async function replaceDir(dest: string, build: (dir: string) => Promise<void>): Promise<void> {
  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  const fresh = await mkdtemp(join(parent, `.${basename(dest)}.new-`));
  try {
    await build(fresh);
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
  const existing = await lstatOrNull(dest);
  if (existing && !existing.isDirectory()) await unlink(dest); // a link or a file: the link itself goes, its target is untouched
  if (!existing?.isDirectory()) {
    await rename(fresh, dest).catch(async (err) => {
      await rm(fresh, { recursive: true, force: true });
      throw err;
    });
    return;
  }
  const old = join(parent, `.${basename(dest)}.old-${process.pid}-${randomBytes(6).toString('hex')}`);
  await rename(dest, old);
  try {
    await rename(fresh, dest);
  } catch (err) {
    await rename(old, dest).catch(() => undefined);
    await rm(fresh, { recursive: true, force: true });
    throw err;
  }
  await rm(old, { recursive: true, force: true });
}

/**
 * Writes `files` (relative path -> content) into `dir`, a folder this process just created and owns: folders
 * are made one by one and files opened with O_CREAT|O_EXCL|O_NOFOLLOW, so nothing is ever written through a link.
 */
export async function writeIntoOwnDir(dir: string, files: Iterable<readonly [string, string | Uint8Array]>): Promise<void> {
  const made = new Set<string>();
  for (const [path, content] of files) {
    const folder = dirname(path);
    if (folder !== '.' && folder !== '') {
      for (const prefix of prefixes(folder)) {
        if (made.has(prefix)) continue;
        await mkdir(join(dir, prefix)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST') throw err;
        });
        made.add(prefix);
      }
    }
    await writeFile(join(dir, path), content, { flag: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW });
  }
}

/** Every symbolic link under `dir` (relative paths, `/`-separated); links are listed, never entered. */
export async function findSymlinks(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isSymbolicLink()) found.push(relative(dir, full).split(sep).join('/'));
      else if (entry.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return found.sort();
}
