import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { createRedisConnection } from '../queues/connection.js';
import { exportQueueName } from '../queues/names.js';
import { requestExport, requestMerge, upsertExportScheduler, upsertMergeScheduler, type ExportJobData, type MergeJobData } from '../queues/publish-jobs.js';
import { testRedis } from './support/redis.js';

describe('export fan-in through BullMQ deduplication', () => {
  const redis = testRedis('fanin');
  afterAll(async () => {
    await redis.cleanup();
  });

  it('a burst of rows asks for one export; a row written while that export runs asks for the next one', async () => {
    const prefix = `${redis.prefix}-burst`;
    const queue = new Queue<ExportJobData>(exportQueueName('api1'), { connection: redis.connection, prefix });
    const ran: number[] = [];
    let release!: () => void;
    const running = new Promise<void>((r) => (release = r));
    const connection = createRedisConnection(redis.url);
    const worker = new Worker<ExportJobData>(
      exportQueueName('api1'),
      async () => {
        ran.push(Date.now());
        if (ran.length === 1) await running;
      },
      { connection, prefix, concurrency: 1 },
    );
    try {
      const burstAt = Date.now();
      await Promise.all(Array.from({ length: 50 }, () => requestExport(queue, 'api1', 300)));
      expect(await queue.getJobCounts('delayed', 'wait', 'active')).toMatchObject({ delayed: 1 });
      // The export runs after the throttle interval, not at once, and only once for the whole burst.
      while (ran.length === 0) await new Promise((r) => setTimeout(r, 20));
      expect(ran[0] - burstAt).toBeGreaterThanOrEqual(250);
      // A row arriving while the export runs is not absorbed by it: it schedules the next export.
      await requestExport(queue, 'api1', 300);
      await requestExport(queue, 'api1', 300);
      release();
      while (ran.length < 2) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 600));
      expect(ran).toHaveLength(2);
    } finally {
      await worker.close();
      connection.disconnect();
      await queue.close();
    }
  });

  it('merges after exports share one job, and the safety nets are one scheduler each however often they are set', async () => {
    const prefix = `${redis.prefix}-nets`;
    const exports = new Queue<ExportJobData>(exportQueueName('api2'), { connection: redis.connection, prefix });
    const merges = new Queue<MergeJobData>('merge', { connection: redis.connection, prefix });
    try {
      for (const after of ['api1', 'api2', 'api3']) await requestMerge(merges, 5_000, { cause: 'export', after });
      expect(await merges.getJobCounts('delayed')).toMatchObject({ delayed: 1 });
      for (let i = 0; i < 3; i++) {
        await upsertExportScheduler(exports, 'api2', 15 * 60_000);
        await upsertMergeScheduler(merges, 5 * 60_000);
      }
      const exportNets = await exports.getJobSchedulers();
      expect(exportNets.map((s) => [s.key, s.every])).toEqual([['api2:export', 15 * 60_000]]);
      const mergeNets = await merges.getJobSchedulers();
      expect(mergeNets.map((s) => [s.key, s.every])).toEqual([['merge', 5 * 60_000]]);
    } finally {
      await exports.close();
      await merges.close();
    }
  });
});
