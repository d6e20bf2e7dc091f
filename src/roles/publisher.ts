import { Queue, Worker, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import { createRedisConnection } from '../../queues/connection.js';
import { exportQueueName, MERGE_QUEUE_NAME } from '../../queues/names.js';
import {
  exportSchedulerId,
  MERGE_SCHEDULER_ID,
  requestMerge,
  upsertExportScheduler,
  upsertMergeScheduler,
  type ExportJobData,
  type MergeJobData,
} from '../../queues/publish-jobs.js';
import type { PublishProgress } from '../publish/progress.js';
import { recordPublish, type PublishRecord } from '../../queues/publish-log.js';
import { watchSchedulers } from '../../queues/scheduler-watch.js';
import { createExportProcessor, type ExportProcessorDeps } from '../../processors/export.js';
import { createMergeProcessor, type MergeJobResult } from '../../processors/merge.js';

/** How long after an export the merge waits, so that exports of several pollers share one merge. */
export const MERGE_AFTER_EXPORT_MS = 2_000;

export interface PublisherRole {
  close(): Promise<void>;
  /** Resolves when the worker takes jobs. */
  ready(): Promise<void>;
}

interface QueueRoleOptions<D, R> {
  config: Config;
  logger: Logger;
  redisUrl: string;
  queueName: string;
  processor: Processor<D, R>;
  describe: (result: R) => Record<string, unknown>;
  /** What goes to the publish log (status page, metrics, operator commands) when a job ends. */
  kind: PublishRecord['kind'];
  pollerOf: (data: D) => string;
  committedOf: (result: R) => Pick<PublishRecord, 'committed' | 'sha' | 'newestDataAt'>;
}

/** Re-creates a safety-net scheduler that Redis lost. */
function keepScheduler(config: Config, logger: Logger, connection: Redis, queue: Queue, id: string, upsert: () => Promise<void>): () => void {
  return watchSchedulers({
    everyMs: config.schedulerCheckMs,
    findMissing: async () => ((await queue.getJobScheduler(id)) ? [] : [id]),
    repair: upsert,
    logger,
    what: `the ${id} scheduler`,
    connection,
  });
}

/** One worker, one job at a time: exports of a poller and merges must never overlap in one process. */
function startQueueRole<D, R>(options: QueueRoleOptions<D, R>): PublisherRole {
  const { config, logger } = options;
  const connection = createRedisConnection(options.redisUrl, { connectionName: `${config.pollerId}:${options.queueName}` });
  const worker = new Worker<D, R>(options.queueName, options.processor, {
    connection,
    prefix: config.redisPrefix,
    concurrency: 1,
    // Exports and merges take seconds; a long lock keeps a slow push from being taken twice.
    lockDuration: Math.max(config.workerLockMs, 120_000),
  });
  const record = (entry: Omit<PublishRecord, 'kind' | 'at'>) =>
    void recordPublish(connection, config.redisPrefix, { kind: options.kind, at: Date.now(), ...entry }).catch((err: Error) => logger.warn({ err: err.message }, 'could not record in the publish log'));
  worker.on('completed', (job, result) => {
    logger.info({ job: job.id, ...options.describe(result) }, `${options.queueName} done`);
    record({ poller: options.pollerOf(job.data), ms: (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now()), ok: true, ...options.committedOf(result) });
  });
  worker.on('failed', (job, err) => {
    logger.warn({ job: job?.id, attempt: job?.attemptsMade, err: err.message }, `${options.queueName} failed`);
    if (job) record({ poller: options.pollerOf(job.data), ms: (job.finishedOn ?? Date.now()) - (job.processedOn ?? Date.now()), ok: false, committed: false, sha: null, error: err.message });
  });
  worker.on('error', (err) => logger.error({ err: err.message }, `${options.queueName} worker error`));
  return {
    ready: () => worker.waitUntilReady().then(() => undefined),
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

/** The exporter: builds this poller's tree, publishes its branch, then asks for a merge. */
export async function startExporterRole(options: {
  config: Config;
  logger: Logger;
  redisUrl: string;
  connection: Redis;
  publish: ExportProcessorDeps['publish'];
}): Promise<PublisherRole> {
  const { config, logger, connection } = options;
  const exportQueue = new Queue<ExportJobData>(exportQueueName(config.pollerId), { connection, prefix: config.redisPrefix });
  const mergeQueue = new Queue<MergeJobData>(MERGE_QUEUE_NAME, { connection, prefix: config.redisPrefix });
  const upsert = () => upsertExportScheduler(exportQueue, config.pollerId, config.exportEveryMs);
  await upsert();
  const stopChecking = keepScheduler(config, logger, connection, exportQueue, exportSchedulerId(config.pollerId), upsert);
  const role = startQueueRole({
    config,
    logger,
    redisUrl: options.redisUrl,
    queueName: exportQueueName(config.pollerId),
    processor: createExportProcessor({
      publish: options.publish,
      afterPublish: () => requestMerge(mergeQueue, MERGE_AFTER_EXPORT_MS, { cause: 'export' }),
    }),
    describe: (r) => ({ committed: r.committed, sha: r.sha, files: r.files, ms: r.ms }),
    kind: 'export',
    pollerOf: (d) => d.pollerId,
    committedOf: (r) => ({ committed: r.committed, sha: r.sha }),
  });
  return {
    ready: role.ready,
    async close() {
      stopChecking();
      await role.close();
      await exportQueue.close();
      await mergeQueue.close();
    },
  };
}

/** The merger: unions the poller branches into main, after exports and every MERGE_EVERY_MINUTES. */
export async function startMergerRole(options: {
  config: Config;
  logger: Logger;
  redisUrl: string;
  connection: Redis;
  merge: (progress: PublishProgress) => Promise<MergeJobResult>;
}): Promise<PublisherRole> {
  const { config, logger, connection } = options;
  const mergeQueue = new Queue<MergeJobData>(MERGE_QUEUE_NAME, { connection, prefix: config.redisPrefix });
  const upsert = () => upsertMergeScheduler(mergeQueue, config.mergeEveryMs);
  await upsert();
  const stopChecking = keepScheduler(config, logger, connection, mergeQueue, MERGE_SCHEDULER_ID, upsert);
  const role = startQueueRole({
    config,
    logger,
    redisUrl: options.redisUrl,
    queueName: MERGE_QUEUE_NAME,
    processor: createMergeProcessor(options.merge),
    describe: (r) => ({ committed: r.committed, sha: r.sha, used: r.used, skipped: r.skipped, ms: r.ms }),
    kind: 'merge',
    pollerOf: () => config.pollerId,
    committedOf: (r) => ({ committed: r.committed, sha: r.sha, newestDataAt: r.newestDataAt, snapshotBytes: r.snapshotBytes }),
  });
  return {
    ready: role.ready,
    async close() {
      stopChecking();
      await role.close();
      await mergeQueue.close();
    },
  };
}
