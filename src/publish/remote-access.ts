import { isAbsolute, resolve } from 'node:path';
import { PublishConfigError } from './errors.js';

/** How to reach one remote for one command: the URL, per-command config carrying the token, and what to scrub. */
export interface RemoteAccess {
  /** What git is given: an http(s)/ssh URL, or an absolute local path. Never carries credentials. */
  url: string;
  /** The URL as shown in logs and errors. */
  display: string;
  /** `http.<origin>/.extraHeader` when a token is set for an http(s) remote; empty otherwise. */
  config: ReadonlyArray<readonly [string, string]>;
  /** The token and its encodings, to scrub from anything we surface. */
  secrets: ReadonlyArray<string>;
}

const URL_WITH_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCP_LIKE = /^[^/]*:/; // git@github.com:owner/repo.git

/**
 * Checks the remote and prepares the token. A token goes only into an `Authorization: Basic` header
 * scoped to the remote's origin (the form GitHub accepts for GITHUB_TOKEN); local remotes ignore it.
 */
export function remoteAccess(remoteUrl: string, token?: string): RemoteAccess {
  if (typeof remoteUrl !== 'string' || remoteUrl.trim() === '') {
    throw new PublishConfigError('remoteUrl is empty: give the repository URL (https://github.com/owner/repo.git) or a local bare repository path');
  }
  const raw = remoteUrl.trim();
  if (raw.startsWith('-')) throw new PublishConfigError('remoteUrl must not start with "-"');
  const secret = token?.trim() || undefined;
  if (secret && /[\r\n]/.test(secret)) throw new PublishConfigError('the token holds a line break; set GITHUB_TOKEN to the token alone');
  const secrets = secret ? [secret, basicCredential(secret), `Authorization: Basic ${basicCredential(secret)}`] : [];

  if (URL_WITH_SCHEME.test(raw)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new PublishConfigError('remoteUrl is not a valid URL: give https://host/owner/repo.git or a local path');
    }
    if (u.username || u.password) {
      throw new PublishConfigError(
        `remoteUrl ${u.protocol}//***@${u.host}${u.pathname} carries credentials: remove them from the URL and set GITHUB_TOKEN (or the token option) instead`,
      );
    }
    const display = `${u.protocol}//${u.host}${u.pathname}`;
    if (u.protocol === 'file:') return { url: raw, display, config: [], secrets };
    const config: Array<readonly [string, string]> =
      secret && (u.protocol === 'https:' || u.protocol === 'http:')
        ? [[`http.${u.protocol}//${u.host}/.extraHeader`, `Authorization: Basic ${basicCredential(secret)}`]]
        : [];
    return { url: raw, display, config, secrets };
  }
  if (SCP_LIKE.test(raw) && !isAbsolute(raw)) {
    if (/^[^/@:]+:[^/@]*@/.test(raw)) throw new PublishConfigError('remoteUrl carries a password: use an ssh key or an https URL with GITHUB_TOKEN');
    return { url: raw, display: raw, config: [], secrets };
  }
  const path = resolve(raw); // git runs from another folder, so a relative path would point elsewhere
  return { url: path, display: path, config: [], secrets };
}

/** `x-access-token:<token>` in base64: GitHub's basic-auth form for app and Actions tokens. */
function basicCredential(token: string): string {
  return Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
}
