import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { redisOutages, type RedisOutageTracker } from './redis-outage.js';
import { clusterNodeOptions, describeSeeds, isClusterUrl, parseRedisTarget } from '../src/redis/redis-target.js';

/** What `createRedisConnection` returns: one Redis, or a Redis Cluster when REDIS_URL is `redis-cluster://...`. BullMQ takes both. */
export type RedisConnection = Redis | Cluster;

export interface ConnectionOptions {
  /** Workers and blocking readers need `maxRetriesPerRequest: null` (BullMQ requirement). Default true. */
  blocking?: boolean;
  /** Name shown in `CLIENT LIST`, e.g. `api1:worker`. */
  connectionName?: string;
  /** Who hears of outages. Default: the process's tracker (queues/redis-outage.ts). */
  outages?: RedisOutageTracker;
}

/** host:port of a connection, never its password. */
export function redisEndpoint(options: Pick<RedisOptions, 'host' | 'port' | 'path'>): string {
  if (options.path) return options.path;
  const host = options.host ?? '127.0.0.1';
  return `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 6379}`;
}

/**
 * An ioredis connection whose connection errors go to the outage tracker instead of its listeners: one line per
 * outage, never "[ioredis] Unhandled error event", and BullMQ's Worker/Queue/QueueEvents built on it (which re-emit
 * their connection's errors) stay quiet too. Its duplicates (BullMQ's blocking connections) are tracked alike.
 */
export class TrackedRedis extends Redis {
  private readonly outages: RedisOutageTracker;
  private readonly endpoint: string;

  constructor(target: string | RedisOptions, options: RedisOptions = {}, outages: RedisOutageTracker = redisOutages) {
    if (typeof target === 'string') super(target, options);
    else super(target);
    this.outages = outages;
    this.endpoint = redisEndpoint(this.options);
    outages.useEndpoint(this.endpoint);
    // ioredis prints "Unhandled error event" when 'error' has no listener: there always is one (emit routes it).
    this.on('error', () => undefined);
    this.on('ready', () => this.outages.ready());
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      // (Fields are unset only if ioredis ever emitted from inside its own constructor.)
      (this.outages ?? redisOutages).failed(args[0], this.endpoint ?? redisEndpoint(this.options ?? {}));
      return true;
    }
    return super.emit(event, ...args);
  }

  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new TrackedRedis({ ...this.options, ...override }, {}, this.outages);
  }
}

/**
 * A Redis Cluster client tracked like TrackedRedis: its connection errors, and those of its node connections, go
 * to the outage tracker; `ready` ends an outage; its duplicates (BullMQ's blocking connections) are tracked alike.
 */
export class TrackedCluster extends Cluster {
  private readonly outages: RedisOutageTracker;
  private readonly seeds: ClusterNode[];
  /** The seeds, host:port comma-separated, never the password. */
  readonly endpoint: string;

  constructor(seeds: ClusterNode[], options: ClusterOptions, outages: RedisOutageTracker = redisOutages, endpoint = describeNodes(seeds)) {
    super(seeds, options);
    this.seeds = seeds;
    this.outages = outages;
    this.endpoint = endpoint;
    outages.useEndpoint(endpoint);
    this.on('error', () => undefined);
    // A node's connection failing (refused, reset) is the same outage: one line for all of them.
    this.on('node error', (err: unknown, node?: string) => this.outages.failed(err, node ?? this.endpoint));
    this.on('ready', () => this.outages.ready());
    // A node that comes back (a master restarted) ends the outage its errors started; the cluster stays 'ready'.
    this.on('+node', (node: Redis) => node.on('ready', () => this.outages.ready()));
  }

  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      // "Failed to refresh slots cache" says less than the last node's error it carries (ECONNREFUSED...).
      const err = args[0] as { lastNodeError?: unknown } | undefined;
      (this.outages ?? redisOutages).failed(err?.lastNodeError ?? err, this.endpoint ?? 'redis cluster');
      return true;
    }
    return super.emit(event, ...args);
  }

  override duplicate(overrideStartupNodes?: ClusterNode[], overrideOptions?: ClusterOptions): Cluster {
    const seeds = overrideStartupNodes?.length ? overrideStartupNodes : this.seeds.slice(0);
    const options = { ...this.options, ...overrideOptions };
    return new TrackedCluster(seeds, options, this.outages, overrideStartupNodes?.length ? describeNodes(seeds) : this.endpoint);
  }
}

function describeNodes(nodes: ClusterNode[]): string {
  return describeSeeds(
    nodes.map((n) => (typeof n === 'object' ? { host: n.host ?? '127.0.0.1', port: n.port ?? 6379 } : typeof n === 'number' ? { host: '127.0.0.1', port: n } : { host: String(n), port: 6379 })),
  );
}

/** Keep reconnecting with a capped backoff: Redis restarts must not kill the process. */
const reconnectDelay = (times: number) => Math.min(200 * times, 5000);

/**
 * An ioredis connection for BullMQ: a `Redis` for `redis://` and `rediss://` URLs, a `Cluster` (TrackedCluster) for
 * `redis-cluster://host1:port1,host2:port2,...` (see src/redis/redis-target.ts). The URL may carry a password; it is never logged.
 *
 * Typed `Redis` so that every caller keeps compiling; what it returns is a `RedisConnection`, and a cluster offers
 * what the callers use (commands, Lua scripts and MULTI on one hash slot, BullMQ, duplicate, quit/disconnect).
 * What must scan keys checks `isCluster` (src/redis/delete-keys.ts, queues/discover-queues.ts). Use
 * `openRedisConnection` where the honest type is wanted.
 */
export function createRedisConnection(url: string, options: ConnectionOptions = {}): Redis {
  return openRedisConnection(url, options) as Redis;
}

/** `createRedisConnection`, typed as what it is: one Redis or a Cluster. */
export function openRedisConnection(url: string, options: ConnectionOptions = {}): RedisConnection {
  const maxRetriesPerRequest = options.blocking === false ? 3 : null;
  // A single Redis's URL goes to ioredis as before (REDIS_URL is checked in src/config/env.ts).
  const target = isClusterUrl(url) ? parseRedisTarget(url) : null;
  if (target?.kind === 'cluster') {
    return new TrackedCluster(
      target.seeds,
      {
        // Every node connection gets these; BullMQ reads maxRetriesPerRequest here on a cluster (null for blocking use).
        redisOptions: {
          maxRetriesPerRequest,
          enableReadyCheck: true,
          connectionName: options.connectionName,
          ...clusterNodeOptions(target),
        },
        // Ready only when CLUSTER INFO says cluster_state:ok.
        enableReadyCheck: true,
        clusterRetryStrategy: reconnectDelay,
        // A master that restarts without slot changes is reconnected to, not only found again after a MOVED.
        clusterNodeRetryStrategy: reconnectDelay,
      },
      options.outages,
    );
  }
  const opts: RedisOptions = {
    maxRetriesPerRequest,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    retryStrategy: reconnectDelay,
  };
  return new TrackedRedis(url, opts, options.outages);
}

/**
 * For BullMQ objects (Worker, Queue, QueueEvents): an 'error' listener, so that none is ever unhandled. Connection
 * errors are part of the outage the tracker reports; anything else goes to `onOther` (default: dropped).
 */
export function onRedisErrors<T extends { on(event: 'error', listener: (err: Error) => void): unknown }>(
  emitter: T,
  onOther: (err: Error) => void = () => undefined,
  outages: RedisOutageTracker = redisOutages,
): T {
  emitter.on('error', (err) => {
    if (!outages.absorb(err)) onOther(err);
  });
  return emitter;
}

/** Redis memory policy; anything but `noeviction` can silently drop queue state. */
export async function checkMemoryPolicy(redis: RedisConnection): Promise<string | null> {
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return res?.[1] ?? null;
  } catch {
    return null; // CONFIG may be disabled (managed Redis): nothing to check.
  }
}
