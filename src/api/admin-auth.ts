import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ConfigError } from '../config/env.js';

/**
 * Who may use the operator pages (Bull Board, /metrics): HTTP basic auth and/or a bearer token, compared in
 * constant time, with failed attempts rate limited per client address. With no credentials configured the
 * pages are open, and the server must listen on loopback only (assertSafeBinding refuses anything else).
 */

export interface AdminCredentials {
  /** Basic auth user (ADMIN_USER); used only together with `password`. */
  user?: string;
  /** Basic auth password (ADMIN_PASSWORD). Secret. */
  password?: string;
  /** Bearer token (ADMIN_TOKEN): `Authorization: Bearer <token>`. Secret. */
  token?: string;
}

export interface AdminAuthOptions extends AdminCredentials {
  /** Wrong credentials allowed per client address within `windowMs`; the next request gets 429. Default 5. */
  maxFailures?: number;
  /** Window of the failure count, in ms. Default 60000. */
  windowMs?: number;
  /** Client addresses tracked at most; the oldest are forgotten first. Default 10000. */
  maxClients?: number;
  /** Realm in the WWW-Authenticate challenge. Default `staktrakr admin`. */
  realm?: string;
  /** Failed attempts are logged with the client address only, never what was sent. Default: not logged. */
  logger?: Logger;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/** True when basic auth (user and password) or a bearer token is configured. */
export function hasAdminCredentials(c: AdminCredentials): boolean {
  return (!!c.user && !!c.password) || !!c.token;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (also IPv4-mapped or in brackets) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h === 'localhost') return true;
  if (h.startsWith('::ffff:') && isIP(h.slice(7)) === 4) h = h.slice(7);
  const family = isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Refuses to serve the operator pages without credentials on an address other machines can reach.
 * Throws ConfigError naming API_HOST and the variables that fix it.
 */
export function assertSafeBinding(apiHost: string, credentials: AdminCredentials): void {
  if (hasAdminCredentials(credentials) || isLoopbackHost(apiHost)) return;
  throw new ConfigError([
    `API_HOST: ${JSON.stringify(apiHost)} is not a loopback address, and no admin credentials are set: Bull Board (/admin/queues) and /metrics would be open to the network. ` +
      'Set ADMIN_USER and ADMIN_PASSWORD (basic auth) and/or ADMIN_TOKEN (bearer token), or listen on loopback only with API_HOST=127.0.0.1',
  ]);
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time comparison of two strings of any length (equal-length SHA-256 digests). */
export function safeEqual(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** What an Authorization header proves against the configured credentials. */
export function checkAuthorization(header: string | undefined, c: AdminCredentials): 'ok' | 'wrong' | 'missing' {
  if (!header) return 'missing';
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') {
    return c.token && value && safeEqual(value, c.token) ? 'ok' : 'wrong';
  }
  if (scheme === 'basic') {
    if (!c.user || !c.password) return 'wrong';
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'wrong';
    // Both compared whatever the first says: the time taken does not tell which one was wrong.
    const userOk = safeEqual(decoded.slice(0, colon), c.user);
    const passwordOk = safeEqual(decoded.slice(colon + 1), c.password);
    return userOk && passwordOk ? 'ok' : 'wrong';
  }
  return 'wrong';
}

/** Failed attempts per client address in a sliding window. */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxClients: number,
    private readonly now: () => number,
  ) {}

  private recent(client: string): number[] {
    const since = this.now() - this.windowMs;
    const list = (this.failures.get(client) ?? []).filter((t) => t > since);
    if (list.length) this.failures.set(client, list);
    else this.failures.delete(client);
    return list;
  }

  /** Ms until the client may try again (0: it may now). */
  retryAfterMs(client: string): number {
    const list = this.recent(client);
    if (list.length < this.maxFailures) return 0;
    // Free again when enough failures have left the window.
    return Math.max(1, list[list.length - this.maxFailures] + this.windowMs - this.now());
  }

  fail(client: string): void {
    const list = this.recent(client);
    list.push(this.now());
    // Only the newest `maxFailures` matter for the verdict.
    this.failures.delete(client);
    this.failures.set(client, list.slice(-this.maxFailures));
    while (this.failures.size > this.maxClients) this.failures.delete(this.failures.keys().next().value!);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }
}

/**
 * Express middleware guarding what follows it. Without credentials configured it lets every request through
 * (the server is then on loopback only: see assertSafeBinding). A client that sent wrong credentials
 * `maxFailures` times within `windowMs` gets 429 with Retry-After on every request until the window frees,
 * right credentials included, so that guessing gains nothing. A request without credentials gets 401 with the
 * challenge (a browser then asks for them) and does not count as a failure.
 */
export function adminAuth(options: AdminAuthOptions): RequestHandler {
  const credentials: AdminCredentials = { user: options.user, password: options.password, token: options.token };
  if (!hasAdminCredentials(credentials)) return (_req, _res, next) => next();
  const realm = (options.realm ?? 'staktrakr admin').replace(/"/g, '');
  const challenges = [credentials.user && credentials.password ? `Basic realm="${realm}", charset="UTF-8"` : null, credentials.token ? `Bearer realm="${realm}"` : null].filter((c): c is string => c !== null);
  const limiter = new FailureLimiter(options.maxFailures ?? 5, options.windowMs ?? 60_000, options.maxClients ?? 10_000, options.now ?? Date.now);
  return (req, res, next) => {
    const client = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const waitMs = limiter.retryAfterMs(client);
    if (waitMs > 0) {
      res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
      res.status(429).type('text/plain').send(`too many failed logins from this address: try again in ${Math.ceil(waitMs / 1000)} s\n`);
      return;
    }
    const verdict = checkAuthorization(req.headers.authorization, credentials);
    if (verdict === 'ok') {
      limiter.succeed(client);
      next();
      return;
    }
    if (verdict === 'wrong') {
      limiter.fail(client);
      options.logger?.warn({ client, path: req.path }, 'admin login failed');
    }
    res.setHeader('WWW-Authenticate', challenges);
    res.status(401).type('text/plain').send(verdict === 'missing' ? 'authentication required (basic auth or a bearer token)\n' : 'wrong credentials\n');
  };
}
