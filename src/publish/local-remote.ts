import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { runGit } from './git-command.js';
import { remoteAccess } from './remote-access.js';

/** A remote given as a local path (not a URL nor scp-like `host:path`), or null. */
export function localRemotePath(remoteUrl: string): string | null {
  const access = remoteAccess(remoteUrl);
  return /^[^/]*:/.test(access.url) ? null : access.url;
}

/**
 * Creates a new bare repository at a local path, with `main` as its default branch: a deliberate act (the demo,
 * `poller init-remote`, tests), never a side effect of starting a poller, so that a remote that went away is a
 * publish failure instead of a new, empty history. URLs and existing paths are left alone. True when one was created.
 */
export async function ensureLocalRemote(remoteUrl: string): Promise<boolean> {
  const access = remoteAccess(remoteUrl);
  // URLs (https:, ssh:, file:) and scp-like `host:path` are remotes someone else created.
  if (/^[^/]*:/.test(access.url) || existsSync(access.url)) return false;
  await mkdir(access.url, { recursive: true });
  await runGit(['init', '--quiet', '--bare', '--initial-branch=main', access.url]);
  return true;
}

/** Branches of a local repository, sorted (for people and smoke runs). */
export async function localBranches(path: string): Promise<string[]> {
  const r = await runGit(['--git-dir', remoteAccess(path).url, 'for-each-ref', '--format=%(refname:short)', 'refs/heads']);
  return r.stdout.toString('utf8').split('\n').filter(Boolean).sort();
}
