import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { runGit } from './git-command.js';
import { remoteAccess } from './remote-access.js';

/**
 * A remote given as a local path that does not exist yet becomes a new bare repository (embedded default,
 * demo, tests), with `main` as its default branch. URLs are left alone. Returns true when one was created.
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
