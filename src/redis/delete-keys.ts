import type { Cluster, Redis } from 'ioredis';

/**
 * Deletes the keys matching `pattern` (SCAN, never KEYS): a run removes what it created and nothing else.
 * On a Redis Cluster every master is scanned (SCAN sees one node's keys only), and keys are deleted one per command:
 * a DEL of several keys is refused (CROSSSLOT) unless they share a hash slot.
 */
export async function deleteKeys(redis: Redis | Cluster, pattern: string): Promise<number> {
  if (!redis.isCluster) return deleteOnNode(redis as Redis, pattern, (keys) => (redis as Redis).del(...keys));
  const cluster = redis as Cluster;
  // A command waits for the cluster's layout: before it, nodes() may still be empty.
  await cluster.ping();
  let deleted = 0;
  for (const node of cluster.nodes('master')) {
    // Through the cluster, not the node: a key that moved meanwhile (resharding) follows its slot.
    deleted += await deleteOnNode(node, pattern, async (keys) => (await Promise.all(keys.map((k) => cluster.del(k)))).reduce((a, b) => a + b, 0));
  }
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
