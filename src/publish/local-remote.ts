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
