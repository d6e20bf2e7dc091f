import type { RedisConnection } from './connection.js';
import { scanNodes } from '../src/redis/scan-nodes.js';

/**
 * Every queue under the prefix (`{prefix}:{name}:meta`, found with SCAN), and the deeper prefixes seen (`demo:api1`).
 * On a Redis Cluster every master is scanned: SCAN sees the keys of the node it runs on only.
 */
export async function discoverQueues(redis: RedisConnection, prefix: string): Promise<{ queues: string[]; nestedPrefixes: string[] }> {
  const queues = new Set<string>();
  const nested = new Set<string>();
  for (const node of await scanNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${escapeGlob(prefix)}:*:meta`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const name = key.slice(prefix.length + 1, -':meta'.length);
        if (!name) continue;
        // A name with ':' is a queue under a longer prefix (the demo's `demo:api1`), not one of ours.
        if (name.includes(':')) nested.add(`${prefix}:${name.slice(0, name.lastIndexOf(':'))}`);
        else queues.add(name);
      }
    } while (cursor !== '0');
  }
  return { queues: [...queues].sort(), nestedPrefixes: [...nested].sort() };
}

/** Glob specials of SCAN MATCH escaped: the prefix is matched as written. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
