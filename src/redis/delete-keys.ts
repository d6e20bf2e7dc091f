import type { Cluster, Redis } from 'ioredis';
import { scanNodes } from './scan-nodes.js';

/**
 * Deletes the keys matching `pattern` (SCAN, never KEYS): a run removes what it created and nothing else.
 * On a Redis Cluster every master is scanned (SCAN sees one node's keys only), and keys are deleted one per command:
 * a DEL of several keys is refused (CROSSSLOT) unless they share a hash slot.
 */
export async function deleteKeys(redis: Redis | Cluster, pattern: string): Promise<number> {
  // Through the connection, not the node: on a cluster a key that moved meanwhile (resharding) follows its slot.
  const del = redis.isCluster ? async (keys: string[]) => (await Promise.all(keys.map((k) => redis.del(k)))).reduce((a, b) => a + b, 0) : (keys: string[]) => redis.del(...keys);
  let deleted = 0;
  for (const node of await scanNodes(redis)) deleted += await deleteOnNode(node, pattern, del);
  return deleted;
}

async function deleteOnNode(node: Redis, pattern: string, del: (keys: string[]) => Promise<number>): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length) deleted += await del(keys);
  } while (cursor !== '0');
  return deleted;
}
