import type { Redis } from 'ioredis';
import type { VendorWallState, VendorWallStore } from '../src/scrape/retry-policy.js';
import { appKeys } from './names.js';

/** A wall nobody has seen for this long is forgotten (a vendor dropped from the catalogue leaves no key). */
const WALL_TTL_SECONDS = 2 * 24 * 3600;

/** Vendor walls in Redis, beside the poller's queues: every worker process of the poller sees the same state. */
export function redisWallStore(redis: Redis, prefix: string, pollerId: string): VendorWallStore {
  const key = (vendor: string) => appKeys.vendorWalls(prefix, pollerId, vendor);
  const stateOf = (fields: Record<string, string>): VendorWallState => {
    const times = Object.values(fields).map(Number).filter(Number.isFinite);
    return { blockedPages: times.length, since: times.length ? Math.min(...times) : null };
  };
  return {
    async recordBlocked(vendor, coin, at) {
      const replies = (await redis.multi().hsetnx(key(vendor), coin, String(at)).expire(key(vendor), WALL_TTL_SECONDS).hgetall(key(vendor)).exec()) ?? [];
      const failed = replies.find(([err]) => err);
      if (failed) throw failed[0];
      return { ...stateOf((replies[2]?.[1] ?? {}) as Record<string, string>), added: replies[0]?.[1] === 1 };
    },
    async recordServed(vendor) {
      await redis.del(key(vendor));
    },
    async get(vendor) {
      return stateOf(await redis.hgetall(key(vendor)));
    },
  };
}
