import { createClient, type Client } from '@libsql/client';
import { redactText } from '../secrets.js';
import { describeDatabaseUrl, openDatabase, type DatabaseOptions } from '../store/database.js';
import type { PriceStore } from '../store/price-store.js';
import { isRefusedToken, REFUSED_TOKEN_HINT } from '../store/refused-token.js';

/**
 * How long a role waits at start for the database (TURSO_DATABASE_URL) to answer its first statement (the
 * migration). Past it the database is reported once and a worker goes on in log-only mode; `poller status`
 * gives up with one line after the same time.
 */
export const DATABASE_ANSWER_TIMEOUT_MS = 5000;

export type DatabaseCheck<T = unknown> = { ok: true; value: T } | { ok: false; reason: string; message: string };

/** First line of an error, without secrets. */
function reasonOf(err: unknown, secrets: Array<string | undefined>): string {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const text = (e?.message ?? String(err)).split('\n')[0].trim() || e?.code || 'unknown error';
  // "fetch failed" says little: undici keeps the reason (ECONNREFUSED, ENOTFOUND...) in the cause.
  const cause = e?.cause?.code ?? e?.cause?.message?.split('\n')[0];
  return redactText(cause && !text.includes(cause) ? `${text}: ${cause}` : text, secrets);
}

/** Runs `work` with a deadline; resolves `{ok: false}` with one line naming TURSO_DATABASE_URL (never the token). */
export async function checkDatabase<T>(
  work: () => Promise<T>,
  options: { description: string; token?: string; timeoutMs?: number },
): Promise<DatabaseCheck<T>> {
  const timeoutMs = options.timeoutMs ?? DATABASE_ANSWER_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      // A synchronous throw (a file that cannot be opened) is a failure like any other.
      Promise.resolve().then(work),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${formatSeconds(timeoutMs)}`)), timeoutMs);
      }),
    ]);
    return { ok: true, value };
  } catch (err) {
    const reason = reasonOf(err, [options.token]);
    if (isRefusedToken(err)) return { ok: false, reason, message: `${REFUSED_TOKEN_HINT} (TURSO_DATABASE_URL=${options.description}; ${reason})` };
    return {
      ok: false,
      reason,
      message:
        `database TURSO_DATABASE_URL=${options.description} does not answer (${reason}): check TURSO_DATABASE_URL` +
        (options.description.startsWith('file:') ? " (the file's folder must exist or be creatable, and be writable)" : `${options.token ? ' and TURSO_AUTH_TOKEN' : ''}, and that the server runs`),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `SELECT 1` on a remote database (libsql://, http(s)://, ws(s)://) within the deadline, on a client of its own whose
 * HTTP requests are aborted at the deadline: the libSQL client never gives up on a server that accepts and never
 * answers, and its pending request would keep the process alive for minutes (close() does not end it).
 */
export async function probeRemoteDatabase(url: string, options: { token?: string; timeoutMs?: number } = {}): Promise<DatabaseCheck<void>> {
  const controller = new AbortController();
  const client = createClient({
    url,
    authToken: options.token,
    fetch: (request: Request) => globalThis.fetch(request, { signal: controller.signal }),
  });
  try {
    const check = await checkDatabase(async () => void (await client.execute('SELECT 1')), { description: describeDatabaseUrl(url), ...options });
    return check;
  } finally {
    controller.abort();
    try {
      client.close();
    } catch {
      /* never connected */
    }
  }
}

/** True for a database reached over the network (not a `file:` one). */
export function isRemoteDatabase(url: string): boolean {
  return !url.startsWith('file:');
}

/**
 * The first statements a role sends, within the deadline: a remote database is probed first (see
 * probeRemoteDatabase), then the store is migrated. Resolves with the migrations applied, or with one line for the log.
 */
export async function checkStoreAtStart(store: PriceStore, options: { url: string; token?: string; timeoutMs?: number }): Promise<DatabaseCheck<number[]>> {
  if (isRemoteDatabase(options.url)) {
    const probe = await probeRemoteDatabase(options.url, options);
    if (!probe.ok) return probe;
  }
  return checkDatabase(() => store.migrate(), { description: store.description, ...options });
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * A client opened on first use: a `file:` database whose folder cannot be created fails each use (an export, a
 * merge) with the reason, instead of the start. The roles go on and work once the database is there.
 */
export function openDatabaseLazily(options: DatabaseOptions): Client {
  let client: Client | null = null;
  return new Proxy({} as Client, {
    get(_target, prop) {
      if (prop === 'then') return undefined; // not a promise
      if (prop === 'close') return () => client?.close();
      if (prop === 'closed') return client?.closed ?? false;
      client ??= openDatabase(options);
      const value = (client as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof value === 'function' ? value.bind(client) : value;
    },
  });
}
