import { existsSync } from 'node:fs';
import { loadConfig } from '../config/env.js';
import { ensureLocalRemote, localRemotePath } from '../publish/local-remote.js';
import { UsageError } from './errors.js';

/**
 * `poller init-remote [PATH]`: creates the bare repository the exporter and merger publish to (API_DATA_REPO, or
 * PATH). Deliberate: no role creates a remote as it starts, so a remote that went away stays a publish failure.
 */
export async function initRemoteCommand(path: string | undefined): Promise<number> {
  const remote = path ?? loadConfig().publishRemote;
  const local = localRemotePath(remote);
  if (!local) throw new UsageError(`${remote} is a URL: create that repository on its host (e.g. an empty GitHub repository); init-remote only creates local paths`);
  if (existsSync(local)) {
    process.stdout.write(`${local} exists already: nothing done\n`);
    return 0;
  }
  await ensureLocalRemote(local);
  process.stdout.write(`created a bare repository at ${local} (default branch main); set API_DATA_REPO=${local} for the exporter and merger\n`);
  return 0;
}
