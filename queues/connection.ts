import { Redis, type RedisOptions } from 'ioredis';

export interface ConnectionOptions {
  /** Workers and blocking readers need `maxRetriesPerRequest: null` (BullMQ requirement). Default true. */
  blocking?: boolean;
  /** Name shown in `CLIENT LIST`, e.g. `api1:worker`. */
  connectionName?: string;
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
  return new Redis(url, opts);
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
