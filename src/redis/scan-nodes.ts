import type { Cluster, Redis } from 'ioredis';

/**
 * The nodes a key SCAN must visit: the connection itself for one Redis; every master for a Redis Cluster (SCAN sees
 * the keys of the node it runs on only). A cluster is asked one command first: before it answers, its layout (and
 * so `nodes()`) may still be empty.
 */
export async function scanNodes(redis: Redis | Cluster): Promise<Redis[]> {
  if (!redis.isCluster) return [redis as Redis];
  const cluster = redis as Cluster;
  await cluster.ping();
  return cluster.nodes('master');
}
