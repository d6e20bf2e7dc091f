import { Redis, type RedisOptions } from 'ioredis';
import { redisOutages, type RedisOutageTracker } from './redis-outage.js';

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

/** An ioredis connection for BullMQ. The URL may carry a password; it is never logged. */
export function createRedisConnection(url: string, options: ConnectionOptions = {}): Redis {
  const opts: RedisOptions = {
    maxRetriesPerRequest: options.blocking === false ? 3 : null,
    enableReadyCheck: true,
    connectionName: options.connectionName,
    // Keep reconnecting with a capped backoff: Redis restarts must not kill the process.
    retryStrategy: (times) => Math.min(200 * times, 5000),
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
export async function checkMemoryPolicy(redis: Redis): Promise<string | null> {
  try {
    const res = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return res?.[1] ?? null;
  } catch {
    return null; // CONFIG may be disabled (managed Redis): nothing to check.
  }
}
