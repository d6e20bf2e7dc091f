/**
 * One account of Redis outages per process, shared by every connection it opens (ours and the ones BullMQ
 * duplicates from them): one line when an outage starts ("redis unreachable at 127.0.0.1:6379: ECONNREFUSED;
 * retrying"), one when it ends ("redis back at 127.0.0.1:6379 after 12 s"), and nothing in between, however many
 * connections retry how often. The endpoint is host:port only: a URL's password never reaches a line.
 */

export interface OutageLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

/** Until a role hands over its logger: plain lines on stderr. */
const stderrLogger: OutageLogger = {
  warn: (_f, m) => void process.stderr.write(`${m}\n`),
  info: (_f, m) => void process.stderr.write(`${m}\n`),
  debug: () => undefined,
};

/** Errors that mean "the connection is down" rather than "this command failed". */
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|ECONNABORTED|Connection is closed|connection.*(lost|closed|timeout)|max retries per request|Stream isn't writeable|enableOfflineQueue|socket (hang up|closed)/i;

export function isRedisConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string; name?: string };
  if (!e) return false;
  if (e.name === 'ConnectionClosedError' || e.name === 'MaxRetriesPerRequestError') return true;
  return CONNECTION_ERROR.test(`${e.code ?? ''} ${e.message ?? ''}`);
}

/** A short reason: the error code when there is one (ECONNREFUSED), else the first line of the message. */
export function outageReason(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code && /^E[A-Z_]+$/.test(e.code)) return e.code;
  const line = (e?.message ?? String(err)).split('\n')[0].trim();
  // Never a URL with credentials, should a message carry one.
  return line.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@') || 'unknown error';
}

export class RedisOutageTracker {
  private logger: OutageLogger = stderrLogger;
  private ownLogger = false;
  private endpoint = 'redis';
  private downSince: number | null = null;
  private reasons = new Set<string>();
  /** Lines written, for tests and metrics: outages started and ended. */
  readonly counts = { started: 0, ended: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /** Where this process's lines go; the first role to start hands its logger over (`force` replaces it). */
  useLogger(logger: OutageLogger, force = false): void {
    if (this.ownLogger && !force) return;
    this.logger = logger;
    this.ownLogger = true;
  }

  /** The endpoint named in the lines (host:port), from the connections the process opens. */
  useEndpoint(endpoint: string): void {
    if (this.downSince === null) this.endpoint = endpoint;
  }

  get down(): boolean {
    return this.downSince !== null;
  }

  /**
   * A connection failed (an ioredis 'error' event): the first failure of an outage is logged; a failure of another
   * kind within it once more (an auth error after a restart says more than the refusals before it). Refused, reset,
   * timed out and the like are one kind: a server going down usually resets connections, then refuses them.
   */
  failed(err: unknown, endpoint = this.endpoint): void {
    const reason = outageReason(err);
    const kind = isRedisConnectionError(err) ? 'network' : reason;
    if (this.downSince === null) {
      this.downSince = this.now();
      this.endpoint = endpoint;
      this.reasons = new Set([kind]);
      this.counts.started++;
      this.logger.warn({ redis: endpoint, reason }, `redis unreachable at ${endpoint}: ${reason}; retrying`);
      return;
    }
    if (this.reasons.has(kind)) return;
    this.reasons.add(kind);
    this.logger.warn({ redis: this.endpoint, reason }, `redis still unreachable at ${this.endpoint}: ${reason}; retrying`);
  }

  /** A connection is ready: ends the outage, if there was one. */
  ready(): void {
    if (this.downSince === null) return;
    const seconds = Math.max(0, Math.round((this.now() - this.downSince) / 1000));
    this.downSince = null;
    this.counts.ended++;
    this.logger.info({ redis: this.endpoint, downSeconds: seconds }, `redis back at ${this.endpoint} after ${seconds} s`);
  }

  /**
   * For 'error' events of BullMQ's Worker, Queue and QueueEvents: a connection error is part of the outage the
   * connections already report (absorbed: true); anything else is the caller's to log (false).
   */
  absorb(err: unknown): boolean {
    if (!isRedisConnectionError(err)) return false;
    this.logger.debug({ err: outageReason(err) }, 'redis command failed while the connection is down');
    return true;
  }
}

/** The process's tracker: every connection from queues/connection.ts reports here. */
export const redisOutages = new RedisOutageTracker();
