import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { deleteKeys } from '../../src/redis/delete-keys.js';

/** The test run's Redis and a key prefix of this test's own, so runs never touch each other's keys. */
export function testRedis(label: string): { url: string; prefix: string; connection: Redis; cleanup: () => Promise<void> } {
  const url = inject('redisUrl');
  const prefix = `test-${label}-${randomBytes(4).toString('hex')}`;
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  return {
    url,
    prefix,
    connection,
    async cleanup() {
      await deleteByPrefix(connection, prefix);
      connection.disconnect();
    },
  };
}

/** Deletes only keys under our own prefix. */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeys(redis, `${prefix}:*`);
}
