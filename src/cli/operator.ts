import { existsSync } from 'node:fs';
import { createClient, type Client } from '@libsql/client';
import { Queue, type Job } from 'bullmq';
import { Cluster, Redis } from 'ioredis';
import { clusterNodeOptions, describeSeeds, isClusterUrl, parseRedisTarget } from '../redis/redis-target.js';
import { loadCatalogue, type Catalogue } from '../catalogue/load.js';
import type { Config } from '../config/env.js';
import { databaseFilePath, describeDatabaseUrl } from '../store/database.js';
import { OperatorError, UsageError } from './errors.js';
import { discoverQueues } from '../../queues/discover-queues.js';
import { scrapeQueueName } from '../../queues/names.js';

export { discoverQueues, OperatorError };

// Pieces shared by the operator's commands (queues, trigger, pause, resume, export-now, merge-now, retry-failed,
// doctor, status): the Redis they talk to, the database they read without creating it, job waiting, tables.

/** The Redis a poller uses when REDIS_URL is not set and one answers there. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** REDIS_URL, else 127.0.0.1:6379 (never a private redis-server: the operator's commands look at the poller's Redis). */
export function redisUrlOf(config: Config): string {
  return config.redisUrl ?? DEFAULT_REDIS_URL;
}

/** The Redis URL without its password, for messages. */
export function describeRedisUrl(url: string): string {
  try {
    if (isClusterUrl(url)) {
      const target = parseRedisTarget(url);
      if (target.kind === 'cluster') return `${target.tls ? 'rediss' : 'redis'}-cluster://${describeSeeds(target.seeds)}`;
    }
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/** How to point the commands at the poller's Redis, for the end of an error line. */
export function redisHint(config: Config): string {
  return config.redisUrl
    ? 'check REDIS_URL: it must point at the Redis of the running poller'
    : "REDIS_URL is not set: point it at the poller's Redis, e.g. REDIS_URL=redis://127.0.0.1:6379 (a poller started without REDIS_URL and without a Redis on 6379 runs a private redis-server: its start-up log names the port)";
}

/** One connection for a short command: gives up after a few seconds instead of retrying for ever. */
function shortLivedRedis(url: string, timeoutMs: number): Redis {
  const target = isClusterUrl(url) ? parseRedisTarget(url) : null;
  if (target?.kind === 'cluster') {
    // A cluster answers the same commands (queue discovery and key deletion scan every master); typed as one Redis like createRedisConnection's.
    const cluster = new Cluster(target.seeds, {
      lazyConnect: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: (times) => (times > 3 ? null : 200 * times),
      redisOptions: { connectTimeout: timeoutMs, maxRetriesPerRequest: 2, ...clusterNodeOptions(target) },
    });
    cluster.on('error', () => undefined);
    return cluster as unknown as Redis;
  }
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  redis.on('error', () => undefined); // reported by the calls that fail
  return redis;
}

/** Connects and PINGs; on failure the reason (refused, NOAUTH, timeout...) in a few words. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<{ redis: Redis } | { reason: string }> {
  const redis = shortLivedRedis(url, timeoutMs);
  try {
    await withTimeout(
      (async () => {
        await redis.connect();
        await redis.ping();
      })(),
      timeoutMs + 500,
      `no answer within ${timeoutMs} ms`,
    );
    return { redis };
  } catch (err) {
    redis.disconnect();
    return { reason: shortReason(err) };
  }
}

/** The poller's Redis, answering, or an OperatorError saying how to point REDIS_URL at it. */
export async function connectRedis(config: Config): Promise<{ redis: Redis; url: string; display: string }> {
  const url = redisUrlOf(config);
  const display = describeRedisUrl(url);
  const probe = await probeRedis(url);
  if ('reason' in probe) throw new OperatorError(`no Redis answers at ${display} (${probe.reason}); ${redisHint(config)}`);
  return { redis: probe.redis, url, display };
}

/** First line of an error message, without ioredis' or node's noise. */
export function shortReason(err: unknown): string {
  const e = err as { message?: string; code?: string };
  const text = (e?.message ?? String(err)).split('\n')[0].trim();
  return text || e?.code || 'unknown error';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A queue to look at, without writing its meta hash (a queue nobody used stays absent from Redis). */
export function inspectQueue(redis: Redis, prefix: string, name: string): Queue {
  return new Queue(name, { connection: redis, prefix, skipMetasUpdate: true });
}

/** Scrape queues first (by vendor), then exports, merge, the rest. */
export function sortQueueNames(names: Iterable<string>): string[] {
  const rank = (n: string) => (n.startsWith('scrape.') ? 0 : n.startsWith('export.') ? 1 : n === 'merge' ? 2 : 3);
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The catalogue, or the reason it cannot be read (commands that only need it for names carry on without it). */
export async function tryCatalogue(config: Config): Promise<{ catalogue: Catalogue | null; problem: string | null }> {
  try {
    return { catalogue: await loadCatalogue(config.cataloguePath), problem: null };
  } catch (err) {
    return { catalogue: null, problem: shortReason(err) };
  }
}

/** Vendors of the catalogue with at least one enabled target, sorted. */
export function catalogueVendors(catalogue: Catalogue | null): string[] {
  return catalogue ? [...new Set(catalogue.targets.map((t) => t.vendor))].sort() : [];
}

/** Scrape queues of the poller: the catalogue's vendors plus any `scrape.*` queue Redis holds. */
export async function scrapeQueues(redis: Redis, config: Config, catalogue: Catalogue | null): Promise<string[]> {
  const { queues } = await discoverQueues(redis, config.redisPrefix);
  return sortQueueNames([...catalogueVendors(catalogue).map(scrapeQueueName), ...queues.filter((q) => q.startsWith('scrape.'))]);
}

/** Workers connected to a queue (CLIENT LIST); null when the server refuses CLIENT (some managed Redis). */
export async function workersOf(queue: Queue): Promise<number | null> {
  try {
    return await queue.getWorkersCount();
  } catch {
    return null;
  }
}

/** Polls until a worker is connected to the queue or `waitMs` passed. Returns the count (null: cannot tell). */
export async function waitForWorkers(queue: Queue, waitMs: number): Promise<number | null> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const n = await workersOf(queue);
    if (n === null || n > 0 || Date.now() >= deadline) return n;
    await sleep(250);
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** Candidates close to `word` (edit distance, prefix or substring), best first, at most `limit`. */
export function closeMatches(word: string, candidates: Iterable<string>, limit = 5): string[] {
  const w = word.toLowerCase();
  const scored: Array<[string, number]> = [];
  for (const c of new Set(candidates)) {
    const l = c.toLowerCase();
    const d = distance(w, l);
    const related = l.startsWith(w) || w.startsWith(l) || (w.length >= 3 && l.includes(w)) || (l.length >= 3 && w.includes(l));
    if (d <= Math.max(2, Math.floor(w.length / 3)) || related) scored.push([c, related ? Math.min(d, 1) : d]);
  }
  return scored.sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0])).slice(0, limit).map(([c]) => c);
}

/** `did you mean: a, b?` or the list of known names when nothing is close. */
export function suggest(word: string, known: string[], what: string): string {
  const close = closeMatches(word, known);
  if (close.length) return `did you mean: ${close.join(', ')}?`;
  if (!known.length) return `no ${what} known`;
  const shown = known.slice(0, 12);
  return `known ${what}: ${shown.join(', ')}${known.length > shown.length ? `, ... (${known.length} in all)` : ''}`;
}

/** The error for a `file:` database that does not exist: commands that read never create one. */
export function missingDatabaseMessage(path: string): string {
  return `database file ${path} does not exist (TURSO_DATABASE_URL); point TURSO_DATABASE_URL at the poller's database, e.g. TURSO_DATABASE_URL=file:/tmp/demo/prices.db (a poller creates its file at its first start)`;
}

/**
 * A client on the configured database, which must already exist: a `file:` path that is missing is an
 * OperatorError naming it and TURSO_DATABASE_URL (nothing is created: no file, no folder, no table).
 */
export function openExistingDatabase(config: Config): { client: Client; description: string } {
  const path = databaseFilePath(config.databaseUrl);
  if (path !== null && !existsSync(path)) throw new OperatorError(missingDatabaseMessage(path));
  return { client: createClient({ url: config.databaseUrl, authToken: config.databaseToken, timeout: 5000 }), description: describeDatabaseUrl(config.databaseUrl) };
}

/** A database error as one line, with what to do about it. */
export function databaseProblem(err: unknown, description: string): string {
  const reason = shortReason(err);
  if (/no such table/i.test(reason)) return `database ${description} has no poller tables (${reason}): it was never migrated; start a poller role once (it migrates at start)`;
  if (/401|unauthori[sz]ed|token/i.test(reason)) return `database ${description} refused the token (${reason}): set TURSO_AUTH_TOKEN to a valid token`;
  if (/fetch failed|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timed? ?out/i.test(reason)) return `database ${description} does not answer (${reason}): check TURSO_DATABASE_URL and that the server runs`;
  if (/not a database|file is encrypted/i.test(reason)) return `database ${description} is not a libSQL/SQLite file (${reason}): check TURSO_DATABASE_URL`;
  return `database ${description}: ${reason} (check TURSO_DATABASE_URL and TURSO_AUTH_TOKEN)`;
}

/** Plain text table: columns padded, numbers right-aligned. */
export function formatTable(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === '-' || r[i] === '?'));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/**
 * What a long wait is doing, on stderr: one rewritten line on a terminal, else a line on each change and
 * every 15 s (so a log shows the command is alive).
 */
export function activity(stream: NodeJS.WriteStream = process.stderr): { update(text: string): void; done(): void } {
  const started = Date.now();
  let last = '';
  let lastAt = 0;
  let drawn = false;
  return {
    update(text) {
      const secs = Math.round((Date.now() - started) / 1000);
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${text} (${secs} s)`);
        drawn = true;
        return;
      }
      if (text !== last || Date.now() - lastAt >= 15_000) {
        stream.write(`${text} (${secs} s)\n`);
        last = text;
        lastAt = Date.now();
      }
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

export interface SettledJob<R> {
  job: Job<unknown, R>;
  state: 'completed' | 'failed';
  ms: number;
}

/**
 * Polls a job until it completed or failed for good, telling `onState` what it is doing (waiting, paused,
 * active, a failed attempt waiting for its retry). Throws OperatorError after `timeoutMs`; the job stays queued.
 */
export async function waitForJob<R>(
  queue: Queue,
  jobId: string,
  options: { timeoutMs: number; onState?: (text: string) => void; pollMs?: number },
): Promise<SettledJob<R>> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let state = 'unknown';
  for (;;) {
    const job = (await queue.getJob(jobId)) as Job<unknown, R> | undefined;
    if (!job) throw new OperatorError(`job ${jobId} of ${queue.name} is gone (removed from Redis while we waited)`);
    state = await job.getState();
    if (state === 'completed' || state === 'failed') return { job, state, ms: Date.now() - started };
    const paused = state === 'waiting' && (await queue.isPaused());
    const retry = job.attemptsMade > 0 && job.failedReason ? `attempt ${job.attemptsMade} failed (${job.failedReason.split('\n')[0]}), ` : '';
    options.onState?.(`${queue.name} job ${jobId}: ${retry}${paused ? `waiting: ${queue.name} is paused` : state}`);
    if (Date.now() >= deadline) {
      const why = paused ? ` (${queue.name} is paused)` : state === 'waiting' || state === 'prioritized' ? ' (is a worker taking jobs from it?)' : '';
      throw new OperatorError(
        `job ${jobId} of ${queue.name} had not finished after ${Math.round(options.timeoutMs / 1000)} s: it is ${state}${why}; it stays queued and runs when a worker takes it (raise --timeout to wait longer)`,
      );
    }
    await sleep(options.pollMs ?? 250);
  }
}

/** Prints a result: JSON for scripts, or the human lines. */
export function printResult(json: boolean, data: unknown, lines: string[]): void {
  process.stdout.write(json ? JSON.stringify(data, null, 2) + '\n' : lines.join('\n') + '\n');
}
