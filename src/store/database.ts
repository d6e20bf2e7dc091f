import { dirname, resolve } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { makeFolderSync } from '../config/check-folders.js';

export interface DatabaseOptions {
  /** `file:var/prices.db` (embedded), `libsql://...`, `http(s)://...` (Turso / sqld). */
  url: string;
  /** Turso token; sent as a bearer token, never logged. */
  authToken?: string;
  /** Busy timeout for `file:` databases, in ms. Default 5000. */
  busyTimeoutMs?: number;
}

/** Opens a libSQL client. For `file:` URLs the folder is created; the busy timeout covers every pooled connection. */
export function openDatabase(options: DatabaseOptions): Client {
  const { url, authToken, busyTimeoutMs = 5000 } = options;
  if (url.startsWith('file:')) {
    const path = url.slice('file:'.length).split('?')[0];
    // Not mkdirSync({recursive}): on some paths (/proc/nope/...) node 20 retries it for ever, blocking the process.
    if (path && path !== ':memory:') makeFolderSync(dirname(path));
  }
  return createClient({ url, authToken, timeout: busyTimeoutMs });
}

/** SQLITE_BUSY / locked: the libSQL client may then report later writes as done and drop them (libsql-client-ts#352). */
export function isBusyError(err: unknown): boolean {
  const e = err as { code?: string; rawCode?: number; message?: string };
  return e?.code === 'SQLITE_BUSY' || e?.code === 'SQLITE_LOCKED' || e?.rawCode === 5 || /SQLITE_BUSY|database is locked/i.test(e?.message ?? '');
}

/**
 * SQLITE_READONLY: a `file:` database opened while its volume was read-only keeps a read-only connection even once
 * the volume is read-write again: the client must be opened anew.
 */
export function isReadonlyError(err: unknown): boolean {
  const e = err as { code?: string; rawCode?: number; message?: string };
  return e?.code === 'SQLITE_READONLY' || (typeof e?.rawCode === 'number' && (e.rawCode & 0xff) === 8) || /SQLITE_READONLY|readonly database/i.test(e?.message ?? '');
}

/** The database URL without credentials or query string, for messages. */
export function describeDatabaseUrl(url: string): string {
  if (url.startsWith('file:')) return url.split('?')[0];
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(unparseable database URL)';
  }
}

/** A `file:` database's absolute path, or null for a remote one (or `:memory:`). */
export function databaseFilePath(url: string): string | null {
  if (!url.startsWith('file:')) return null;
  let path = url.slice('file:'.length).split('?')[0];
  if (path.startsWith('//')) path = path.replace(/^\/\/[^/]*/, ''); // file://host/path or file:///path
  return path && path !== ':memory:' ? resolve(path) : null;
}
