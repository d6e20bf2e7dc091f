import type { PublishRecord } from '../publish/publish-record.js';
import { newestFailedWrite, type RecoveryBacklog } from '../recovery/pending-backlog.js';
import { REFUSED_TOKEN_HINT } from '../store/refused-token.js';

/**
 * How a poller is, judged on its write path as well as on its reads:
 * - `down` (HTTP 503): the database does not answer, or rows are going to the recovery log only (a process
 *   of this host is in log-only mode: a read-only or unreachable database still answers a probe).
 * - `degraded` (HTTP 200): rows wait in the recovery log for a process that stopped (the next start replays
 *   them), or the last export or merge failed (a remote gone, a push refused).
 * - `ok` (HTTP 200).
 */
export type HealthStatus = 'ok' | 'degraded' | 'down';

export interface HealthInput {
  /** The database answered a probe. */
  databaseUp: boolean;
  /** It answered and refused the token (HTTP 401/403): said as such, not as an outage. */
  tokenRefused?: boolean;
  /** Why the write probe failed (one line, no secret), when it did. */
  databaseError?: string | null;
  /** The recovery log's pending markers, or null when it could not be read. */
  backlog: RecoveryBacklog | null;
  /** The last export per poller and merge per merger. */
  lastPublish: PublishRecord[];
  now: number;
}

export interface Health {
  status: HealthStatus;
  /** Why it is not `ok`, one line each. */
  problems: string[];
  database: 'up' | 'unreachable';
  writes: {
    logOnly: boolean;
    backlogRows: number;
    backlogSince: string | null;
    backlogAgeMs: number | null;
    /** The newest write that failed: this probe's, or the one that sent a process to log-only mode. */
    lastFailedWrite: { at: string; error: string } | null;
  };
  publish: { failing: Array<{ kind: string; poller: string; at: string; error: string | null }> };
}

export function judgeHealth(input: HealthInput): Health {
  const problems: string[] = [];
  let status: HealthStatus = 'ok';
  const worsen = (to: HealthStatus, why: string) => {
    problems.push(why);
    if (to === 'down' || status === 'ok') status = to;
  };
  const probeError = input.databaseError ? `: ${input.databaseError}` : '';
  if (!input.databaseUp) worsen('down', input.tokenRefused ? REFUSED_TOKEN_HINT : `the database refuses writes or does not answer (TURSO_DATABASE_URL)${probeError}`);
  const markers = input.backlog?.markers ?? [];
  const markerFailure = newestFailedWrite(markers);
  const lastFailedWrite = !input.databaseUp ? { at: new Date(input.now).toISOString(), error: input.tokenRefused ? REFUSED_TOKEN_HINT : input.databaseError ?? 'no answer' } : markerFailure;
  const logOnly = markers.some((m) => m.alive === true);
  const since = input.backlog?.since ?? null;
  const ageMs = since ? Math.max(0, input.now - Date.parse(since)) : null;
  const why = markerFailure ? `: ${markerFailure.error}` : '';
  if (logOnly) worsen('down', `rows go to the recovery log only, the database refused a write${why} (${input.backlog!.rows} rows waiting since ${since})`);
  else if (markers.length) worsen('degraded', `${input.backlog!.rows} rows of a stopped process wait in the recovery log since ${since}; the next start replays them`);
  const failing = input.lastPublish.filter((r) => !r.ok);
  for (const r of failing) worsen('degraded', `the last ${r.kind} of ${r.poller} failed: ${r.error ?? 'no reason given'}`);
  return {
    status,
    problems,
    database: input.databaseUp ? 'up' : 'unreachable',
    writes: { logOnly, backlogRows: input.backlog?.rows ?? 0, backlogSince: since, backlogAgeMs: ageMs, lastFailedWrite },
    publish: { failing: failing.map((r) => ({ kind: r.kind, poller: r.poller, at: new Date(r.at).toISOString(), error: r.error ?? null })) },
  };
}
