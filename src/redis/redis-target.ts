/**
 * What REDIS_URL names: one Redis (`redis://`, `rediss://`, handed to ioredis as written) or a Redis Cluster, given
 * as a comma-separated list of seed nodes:
 *
 *   redis-cluster://[[user]:password@]host1:port1,host2:port2,...     (rediss-cluster:// for TLS)
 *
 * One reachable seed is enough: ioredis asks it for the cluster's layout (CLUSTER SLOTS) and connects to every master.
 * With a cluster, BullMQ needs every key of a queue in one hash slot, so REDIS_PREFIX must carry a hash tag (`{...}`).
 */

export interface ClusterSeed {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; seeds: ClusterSeed[]; username: string | undefined; password: string | undefined; tls: boolean };

export class RedisTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisTargetError';
  }
}

const DEFAULT_PORT = 6379;

/** True when the URL names a cluster (its scheme is redis-cluster: or rediss-cluster:). */
export function isClusterUrl(url: string): boolean {
  return /^rediss?-cluster:\/\//.test(url.trim());
}

/**
 * Parses REDIS_URL. Throws RedisTargetError saying what is wrong; the message never carries the password.
 * A single Redis is checked only for its syntax (ioredis reads it).
 */
export function parseRedisTarget(text: string): RedisTarget {
  const url = text.trim();
  if (!isClusterUrl(url)) {
    if (!/^rediss?:\/\//.test(url) || !URL.canParse(url)) {
      throw new RedisTargetError('expected redis://host:port[/db], rediss://..., or redis-cluster://host1:port1,host2:port2,... for a Redis Cluster');
    }
    return { kind: 'single', url };
  }
  const tls = url.startsWith('rediss-cluster:');
  let rest = url.slice(url.indexOf('//') + 2);
  let username: string | undefined;
  let password: string | undefined;
  // The credentials first (up to the last @): a password may hold / ? # or , and must never reach a message.
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    // As ioredis reads redis://: `user@`, `user:password@` or `:password@`.
    const colon = auth.indexOf(':');
    try {
      username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
      password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) || undefined : undefined;
    } catch {
      throw new RedisTargetError('the user or password of REDIS_URL is not valid percent-encoding (write % as %25)');
    }
  }
  // A trailing `/` or `/0` is allowed (a cluster has database 0 only); a query string is not.
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const path = rest.slice(slash);
    rest = rest.slice(0, slash);
    if (/[?#]/.test(path)) throw new RedisTargetError('expected redis-cluster://[user:password@]host1:port1,host2:port2,... without ?options');
    if (path !== '/' && path !== '/0') throw new RedisTargetError(`a Redis Cluster has database 0 only: remove "${path}" from REDIS_URL`);
  }
  if (/[?#]/.test(rest)) throw new RedisTargetError('expected redis-cluster://[user:password@]host1:port1,host2:port2,... without ?options');
  if (!rest) throw new RedisTargetError('expected at least one seed node: redis-cluster://host1:port1,host2:port2,...');
  const seeds = rest.split(',').map((part, i) => parseSeed(part.trim(), i + 1));
  return { kind: 'cluster', seeds, username, password, tls };
}

function parseSeed(part: string, n: number): ClusterSeed {
  if (!part) throw new RedisTargetError(`seed node ${n} is empty: expected host:port, e.g. 10.0.0.1:7000`);
  let host: string;
  let port: string | undefined;
  if (part.startsWith('[')) {
    const close = part.indexOf(']');
    if (close < 0) throw new RedisTargetError(`seed node ${n} ("${part}"): expected [IPv6]:port`);
    host = part.slice(1, close);
    const after = part.slice(close + 1);
    if (after && !after.startsWith(':')) throw new RedisTargetError(`seed node ${n} ("${part}"): expected [IPv6]:port`);
    port = after ? after.slice(1) : undefined;
  } else {
    const colon = part.lastIndexOf(':');
    host = colon >= 0 ? part.slice(0, colon) : part;
    port = colon >= 0 ? part.slice(colon + 1) : undefined;
    if (host.includes(':')) throw new RedisTargetError(`seed node ${n} ("${part}"): write an IPv6 address in brackets, [::1]:7000`);
  }
  if (!host || !/^[A-Za-z0-9._:%-]+$/.test(host)) throw new RedisTargetError(`seed node ${n} ("${part}"): expected host:port, e.g. 10.0.0.1:7000`);
  const portNumber = port === undefined ? DEFAULT_PORT : /^\d{1,5}$/.test(port) ? Number(port) : NaN;
  if (!(portNumber >= 1 && portNumber <= 65535)) throw new RedisTargetError(`seed node ${n} ("${part}"): expected a port from 1 to 65535`);
  return { host, port: portNumber };
}

/** What every node connection of a cluster needs from REDIS_URL: its user, password and TLS (ioredis `redisOptions`). */
export function clusterNodeOptions(target: Extract<RedisTarget, { kind: 'cluster' }>): { username?: string; password?: string; tls?: object } {
  return {
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
}

/** host:port of each seed, comma-separated: how messages name a cluster (never with its password). */
export function describeSeeds(seeds: ClusterSeed[]): string {
  return seeds.map((s) => `${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}`).join(',');
}

/**
 * The hash tag of a key prefix as Redis Cluster reads it: the text between the first `{` and the first `}` after
 * it, when that is not empty; else null (the whole key is hashed, and a queue's keys land on different nodes).
 */
export function hashTagOf(prefix: string): string | null {
  const open = prefix.indexOf('{');
  if (open < 0) return null;
  const close = prefix.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return null;
  return prefix.slice(open + 1, close);
}

/**
 * Why a prefix cannot be used with a cluster, naming REDIS_PREFIX and the fix; null when it can. BullMQ's scripts
 * touch several keys of a queue (and of a flow's parent) at once, which a cluster allows only within one hash slot.
 */
export function clusterPrefixProblem(prefix: string): string | null {
  if (hashTagOf(prefix) !== null) return null;
  const tagged = prefix.replace(/[{}]/g, '') || 'staktrakr';
  return `with a Redis Cluster (REDIS_URL redis-cluster://...) the key prefix must carry a hash tag in braces, so that every key of a queue lands in one hash slot (BullMQ requires it); set REDIS_PREFIX={${tagged}} (got "${prefix}")`;
}
