import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGit } from './git-command.js';

/** Per parent folder, the shim being made or made. */
const made = new Map<string, Promise<Record<string, string> | null>>();

/** Bumped when the shim's layout changes: a new folder is made beside the old. */
const SHIM_VERSION = 2;

/**
 * The exec path a push runs with, so that the pack it sends is built by buildSplitThinPack (split-pack.ts): a folder
 * holding every program of git's own exec path (links to them) except `git`, which is bin/git-exec-shim.js. git runs
 * `git pack-objects` for a push from its exec path; everything else the shim hands to the real git untouched.
 * Made once per folder (under the cache repository) and reused; `null` when it cannot be made (git then packs as usual).
 */
export async function packShimEnv(parentDir: string): Promise<Record<string, string> | null> {
  const env = await made.get(parentDir);
  // Made again when its folder went away (a cache rebuilt from scratch).
  if (env && existsSync(join(env.GIT_EXEC_PATH, 'git'))) return env;
  const making = makeShim(parentDir).catch(() => null);
  made.set(parentDir, making);
  return making;
}

async function makeShim(parentDir: string): Promise<Record<string, string> | null> {
  const script = findShimScript();
  if (!script) return null;
  const realExecPath = (await runGit(['--exec-path'])).stdout.toString('utf8').trim();
  const realGit = join(realExecPath, 'git');
  // Named by what it links to: another git, node or package gets a folder of its own.
  const id = createHash('sha1').update([SHIM_VERSION, realExecPath, process.execPath, script].join('\0')).digest('hex').slice(0, 10);
  const dir = join(parentDir, `exec-path-${id}`);
  const env = { GIT_EXEC_PATH: dir };
  if (/['\n]/.test(realGit)) return null;
  if (existsSync(join(dir, 'git'))) return env;
  await mkdir(parentDir, { recursive: true });
  const fresh = await mkdtemp(join(parentDir, '.exec-path-'));
  try {
    for (const name of await readdir(realExecPath)) if (name !== 'git') await symlink(join(realExecPath, name), join(fresh, name));
    // The real git is named in the script, not the environment: a hook that runs git under `env -i` still finds it.
    await writeFile(join(fresh, 'git'), `#!/bin/sh\nSTAKTRAKR_REAL_GIT='${realGit}' exec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 });
    await rename(fresh, dir);
  } catch (err) {
    await rm(fresh, { recursive: true, force: true });
    if (!existsSync(join(dir, 'git'))) throw err; // another process made it meanwhile: use theirs
  }
  return env;
}

/** bin/git-exec-shim.js of this package, found from this module in src/ or dist/src/; null when absent. */
function findShimScript(): string | null {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) {
      const script = join(dir, 'bin', 'git-exec-shim.js');
      return existsSync(script) && existsSync(join(dir, 'dist', 'src', 'publish', 'split-pack.js')) && !/['\n]/.test(script + process.execPath) ? script : null;
    }
  }
  return null;
}
