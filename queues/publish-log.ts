import type { Redis } from 'ioredis';
import type { PublishRecord } from '../src/publish/publish-record.js';

export type { PublishRecord };

/** Records kept per kind (the newest first). */
export const PUBLISH_LOG_LENGTH = 100;

const listKey = (prefix: string, kind: PublishRecord['kind']) => `${prefix}:staktrakr:publish-log:${kind}`;
const lastKey = (prefix: string, kind: PublishRecord['kind']) => `${prefix}:staktrakr:publish-last:${kind}`;
const failuresKey = (prefix: string) => `${prefix}:staktrakr:publish-failures`;

/** Appends a record; the last one per kind and poller is kept apart, and failures are counted (never reset). */
export async function recordPublish(redis: Redis, prefix: string, record: PublishRecord): Promise<void> {
  const json = JSON.stringify(record);
  const multi = redis.multi().lpush(listKey(prefix, record.kind), json).ltrim(listKey(prefix, record.kind), 0, PUBLISH_LOG_LENGTH - 1).hset(lastKey(prefix, record.kind), record.poller, json);
  if (!record.ok) multi.hincrby(failuresKey(prefix), `${record.kind}:${record.poller}`, 1);
  await multi.exec();
}

export interface PublishLog {
  /** The newest records of a kind, newest first. */
  recent: Record<PublishRecord['kind'], PublishRecord[]>;
  /** The last record per kind and poller. */
  last: Record<PublishRecord['kind'], Record<string, PublishRecord>>;
  /** Failures ever recorded, by `kind:poller`. */
  failures: Record<string, number>;
}

function parse(json: string): PublishRecord | null {
  try {
    return JSON.parse(json) as PublishRecord;
  } catch {
    return null;
  }
}

/** Everything the publish log holds. */
export async function readPublishLog(redis: Redis, prefix: string): Promise<PublishLog> {
  const [exports, merges, lastExports, lastMerges, failures] = await Promise.all([
    redis.lrange(listKey(prefix, 'export'), 0, -1),
    redis.lrange(listKey(prefix, 'merge'), 0, -1),
    redis.hgetall(lastKey(prefix, 'export')),
    redis.hgetall(lastKey(prefix, 'merge')),
    redis.hgetall(failuresKey(prefix)),
  ]);
  const records = (list: string[]) => list.map(parse).filter((r): r is PublishRecord => r !== null);
  const byPoller = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).flatMap(([k, v]) => (parse(v) ? [[k, parse(v)!]] : [])));
  return {
    recent: { export: records(exports), merge: records(merges) },
    last: { export: byPoller(lastExports), merge: byPoller(lastMerges) },
    failures: Object.fromEntries(Object.entries(failures).map(([k, v]) => [k, Number(v)])),
  };
}
