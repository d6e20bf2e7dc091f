import { afterAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { createRedisConnection } from '../queues/connection.js';
import { exportQueueName } from '../queues/names.js';
import { requestExport, requestMerge, upsertExportScheduler, upsertMergeScheduler, type ExportJobData, type MergeJobData } from '../queues/publish-jobs.js';
import { createExportProcessor } from '../processors/export.js';
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
    const processor = createExportProcessor({
      publish: async () => {
        ran.push(Date.now());
        if (ran.length === 1) await running;
        return { committed: false, sha: null, files: 0, ms: 0 };
      },
      afterPublish: async () => undefined,
    });
    const worker = new Worker<ExportJobData>(exportQueueName('api1'), processor, { connection, prefix, concurrency: 1 });
    try {
      // A long interval, and the test promotes each export by hand: the export runs while its deduplication key still lives.
      await Promise.all(Array.from({ length: 50 }, () => requestExport(queue, 'api1', 5_000)));
      const delayed = await queue.getDelayed();
      expect(delayed).toHaveLength(1);
      expect(delayed[0].opts.delay).toBe(5_000);
      await delayed[0].promote();
      while (ran.length === 0) await new Promise((r) => setTimeout(r, 20));
      // Rows written while the export runs are not absorbed by it: they schedule exactly one next export.
      await requestExport(queue, 'api1', 5_000);
      await requestExport(queue, 'api1', 5_000);
      expect(await queue.getDelayedCount()).toBe(1);
      release();
      await (await queue.getDelayed())[0].promote();
      for (const deadline = Date.now() + 10_000; ran.length < 2 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      expect(ran).toHaveLength(2);
    } finally {
      release();
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
