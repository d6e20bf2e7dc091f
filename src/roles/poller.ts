import { Queue } from 'bullmq';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import { loadCatalogue, type Catalogue } from '../catalogue/load.js';
import { checkShrink } from '../catalogue/shrink-guard.js';
import { checkStoreAtStart, isRemoteDatabase, openDatabaseLazily, probeRemoteDatabase } from '../config/check-database.js';
import { databaseFilePath } from '../store/database.js';
import { checkFolders } from '../config/check-folders.js';
import { checkApiHost } from '../config/check-host.js';
import { watchCatalogue } from '../catalogue/watch.js';
import type { Config } from '../config/env.js';
import { GOLDBACK_RATE_VENDOR, httpFetchOptionsOf, loadVendorDirectory, type VendorDirectory } from '../config/vendors.js';
import { RecoveryLog } from '../recovery/recovery-log.js';
import { RowSink } from '../recovery/row-sink.js';
import { publishPollerBranch } from '../export/publish-branch.js';
import { publishMain } from '../merge/publish-main.js';
import { existsSync } from 'node:fs';
import { localRemotePath } from '../publish/local-remote.js';
import { windowStart } from '../time/window.js';
import { PriceStore } from '../store/price-store.js';
import { startExporterRole, startMergerRole, type PublisherRole } from './publisher.js';
import { checkMemoryPolicy, createRedisConnection, onRedisErrors } from '../../queues/connection.js';
import { redisOutages } from '../../queues/redis-outage.js';
import { exportQueueName } from '../../queues/names.js';
import { requestExport, type ExportJobData } from '../../queues/publish-jobs.js';
import { recordScrapeAttempt } from '../../queues/scrape-metrics.js';
import { assertSafeBinding } from '../api/admin-auth.js';
import { startApiRole, type ApiRole } from './api.js';
import { startSchedulerRole, type SchedulerRole } from './scheduler.js';
import { startWorkerRole, type WorkerRole, type WorkerRoleOptions } from './worker.js';
import { startFeedsRole, type FeedsRole } from './feeds.js';
import { startReaderTiers } from './reader-tiers.js';
import type { BrowserPool } from '../browser/browser-pool.js';
import { SpotReference } from '../spot/spot-reference.js';
import { SpotStore } from '../spot/spot-store.js';

export const ROLES = ['scheduler', 'worker', 'exporter', 'merger', 'api'] as const;
export type Role = (typeof ROLES)[number];

export interface PollerOptions {
  config: Config;
  logger: Logger;
  roles: Role[];
  redisUrl: string;
  /** Share one store between pollers of one process (the demo): one writer per process. */
  store?: PriceStore;
  /** Catalogue already loaded (else read from config.cataloguePath). */
  catalogue?: Catalogue;
  vendors?: VendorDirectory;
  fetch?: WorkerRoleOptions['fetch'];
  /** One browser pool shared by the pollers of one process (the demo). Default: each worker its own. */
  browserPool?: BrowserPool;
}

export interface Poller {
  config: Config;
  store: PriceStore;
  sink: RowSink | null;
  scheduler: SchedulerRole | null;
  worker: WorkerRole | null;
  api: ApiRole | null;
  exporter: PublisherRole | null;
  merger: PublisherRole | null;
  connection: Redis;
  close(): Promise<void>;
}

/** Starts the chosen roles of one poller over shared pieces: Redis connection, store, recovery log, catalogue. */
export async function startPoller(options: PollerOptions): Promise<Poller> {
  const { config, logger, roles } = options;
  // Refused before anything starts: an API on a public address without credentials would expose the board, a
  // host name that does not resolve, a folder that cannot be written (each names its variable and the fix).
  if (roles.includes('api')) {
    await checkApiHost(config.apiHost);
    assertSafeBinding(config.apiHost, config.admin);
  }
  await checkFolders({
    ...(roles.includes('worker') ? { RECOVERY_LOG_DIR: config.recoveryLogDir } : {}),
    ...(roles.includes('exporter') || roles.includes('merger') ? { PUBLISH_DIR: config.publishDir } : {}),
  });
  // One line when Redis goes away and one when it is back, for every connection of this process.
  redisOutages.useLogger(logger);
  const catalogue = options.catalogue ?? (await loadCatalogue(config.cataloguePath));
  /** The catalogue as last accepted: the scheduler's when it runs here, else the file as last watched. */
  let watched = catalogue;
  const currentCatalogue = (): Catalogue => scheduler?.catalogue ?? watched;
  const vendors = options.vendors ?? (await loadVendorDirectory(config.vendorsPath, config.workerConcurrency));
  const connection = createRedisConnection(options.redisUrl, { blocking: false, connectionName: `${config.pollerId}:control` });
  const policy = await checkMemoryPolicy(connection);
  if (policy && policy !== 'noeviction') {
    logger.warn({ policy }, 'Redis maxmemory-policy is not noeviction: under memory pressure Redis may delete queue state. Set maxmemory-policy noeviction.');
  }

  // The scheduler alone never touches the database.
  const needsStore = roles.some((r) => r !== 'scheduler');
  const ownStore = !options.store;
  const store = options.store ?? new PriceStore({ url: config.databaseUrl, authToken: config.databaseToken });
  let databaseDown = false;
  if (needsStore) {
    // A deadline (DATABASE_ANSWER_TIMEOUT_MS): a database that hangs must not hold the start. Scraping goes on:
    // the worker's rows wait in the recovery log until the database answers.
    const check = await checkStoreAtStart(store, { url: config.databaseUrl, token: config.databaseToken });
    if (!check.ok) logger.error({ database: store.description }, check.message);
    else if (check.value.length) logger.info({ applied: check.value, database: store.description }, 'database migrated');
    databaseDown = !check.ok;
  }

  let sink: RowSink | null = null;
  let worker: WorkerRole | null = null;
  let scheduler: SchedulerRole | null = null;
  let api: ApiRole | null = null;
  let exporter: PublisherRole | null = null;
  let merger: PublisherRole | null = null;
  let feeds: FeedsRole | null = null;
  let stopWatching = () => {};
  const closers: Array<() => Promise<void>> = [];
  try {
    if (roles.includes('worker')) {
      // A remote database is asked within a deadline before each replay: one that hangs never holds the shutdown.
      const probe = isRemoteDatabase(config.databaseUrl)
        ? async () => {
            const answer = await probeRemoteDatabase(config.databaseUrl, { token: config.databaseToken });
            if (!answer.ok) throw new Error(answer.reason);
          }
        : undefined;
      sink = new RowSink(new RecoveryLog(config.recoveryLogDir), store, { logger, probe });
      await sink.start({ databaseDown });
      const exportQueues = new Map<string, Queue<ExportJobData>>();
      const exportQueue = (pollerId: string) => {
        let q = exportQueues.get(pollerId);
        if (!q) {
          q = onRedisErrors(new Queue<ExportJobData>(exportQueueName(pollerId), { connection, prefix: config.redisPrefix }), (err) => logger.warn({ err: err.message }, 'export queue error'));
          exportQueues.set(pollerId, q);
        }
        return q;
      };
      closers.push(async () => {
        await Promise.all([...exportQueues.values()].map((q) => q.close()));
      });
      // The feeds' own client: spot and Goldback rows never wait behind the price rows' writer.
      const openFeedClient = () => openDatabaseLazily({ url: config.databaseUrl, authToken: config.databaseToken });
      const feedClient = openFeedClient();
      closers.push(async () => feedClient.close());
      // Prices are judged against the spot feed while it is fresh, else against SPOT_USD_PER_OZ.
      const spotReference = new SpotReference(new SpotStore(feedClient), {
        freshMs: config.spotFeed.freshMs,
        fallback: config.spotUsdPerOz,
        onError: (err) => logger.debug({ err: err.message }, 'spot feed not readable; judging prices with SPOT_USD_PER_OZ'),
      });
      if (config.spotFeed.mode !== 'off') spotReference.start();
      closers.push(async () => spotReference.stop());
      feeds = await startFeedsRole({
        config,
        logger,
        redisUrl: options.redisUrl,
        openClient: openFeedClient,
        catalogue: currentCatalogue,
        spot: spotReference.current,
        afterFeed: (pollerId) => requestExport(exportQueue(pollerId), pollerId, config.exportMinIntervalMs),
        goldbackFetch: httpFetchOptionsOf(vendors.get(GOLDBACK_RATE_VENDOR)),
      });
      closers.unshift(async () => feeds?.close());
      const tiers = startReaderTiers({ config, logger, catalogue, vendors, connection, client: feedClient, pool: options.browserPool });
      closers.unshift(() => tiers.close());
      worker = startWorkerRole({
        config,
        spot: spotReference.current,
        tiers,
        logger,
        redisUrl: options.redisUrl,
        catalogue,
        vendors,
        sink,
        fetch: options.fetch,
        // In log-only mode the database is known not to answer: judge without history rather than wait on it.
        priceContext: (t) => (sink?.degraded ? Promise.resolve({ previousPrice: null, windowMedian: null }) : store.priceContext(t.coin, t.vendor, windowStart(new Date()))),
        afterScrape: async (attempt) => {
          // Counted in Redis, where every worker process adds up (the API server's /metrics reads them); both run, whatever the other does.
          await Promise.all([
            recordScrapeAttempt(connection, config.redisPrefix, attempt),
            attempt.priced ? requestExport(exportQueue(attempt.pollerId), attempt.pollerId, config.exportMinIntervalMs) : undefined,
          ]);
        },
      });
      await worker.ready();
    }
    if (roles.includes('scheduler')) {
      // One watcher, the scheduler's: workers follow the catalogue it accepts.
      scheduler = await startSchedulerRole({ config, logger, connection, catalogue, onAccepted: (c) => worker?.addVendors(c) });
    }
    // Without a scheduler (whose watcher the others follow), the workers and the API server watch the file themselves.
    if (!roles.includes('scheduler') && config.catalogueWatchMs > 0 && (roles.includes('worker') || roles.includes('api') || roles.includes('exporter'))) {
      stopWatching = watchCatalogue(config.cataloguePath, {
        intervalMs: config.catalogueWatchMs,
        onChange: (c) => {
          const shrink = checkShrink(watched, c);
          if (shrink.problem) return logger.warn({ before: shrink.before, gone: shrink.gone, after: shrink.after }, shrink.problem);
          watched = c;
          worker?.addVendors(c);
        },
        onError: (err) => logger.error({ err: err.message }, 'catalogue edit refused; keeping the last good catalogue'),
      });
    }
    if (roles.includes('exporter') || roles.includes('merger')) {
      // A missing remote is never created here: it would take the place of the real history during an outage.
      const local = localRemotePath(config.publishRemote);
      if (local && !existsSync(local)) {
        logger.error({ remote: config.publishRemote }, 'the publishing remote (API_DATA_REPO) does not exist: exports and merges fail until it does; create a new one with `poller init-remote`, or bring back the real one');
      }
      // Readers of their own: exports and snapshots never wait behind the row writer.
      // Opened on first use: a database that is not there yet fails exports, not the start.
      const reader = openDatabaseLazily({ url: config.databaseUrl, authToken: config.databaseToken });
      closers.push(async () => reader.close());
      if (roles.includes('exporter')) {
        exporter = await startExporterRole({
          config,
          logger,
          redisUrl: options.redisUrl,
          connection,
          publish: async (pollerId, progress) => {
            const r = await publishPollerBranch({
              client: reader,
              catalogue: currentCatalogue(),
              pollerId,
              remoteUrl: config.publishRemote,
              token: config.githubToken,
              workDir: join(config.publishDir, pollerId),
              logger,
              progress,
              // The backfill may fill hours further back than the default 48: those files are rendered too.
              feedHours: Math.max(48, config.spotFeed.backfillHours + 2),
              history: config.pollerBranchHistory,
              splitPacks: config.publishSplitPacks,
            });
            return { committed: r.committed, sha: r.sha, files: r.files, ms: r.ms };
          },
        });
      }
      if (roles.includes('merger')) {
        merger = await startMergerRole({
          config,
          logger,
          redisUrl: options.redisUrl,
          connection,
          merge: (progress) =>
            publishMain({
              remoteUrl: config.publishRemote,
              token: config.githubToken,
              branches: config.publishBranches,
              workDir: join(config.publishDir, `merge-${config.pollerId}`),
              client: reader,
              databaseFile: databaseFilePath(config.databaseUrl),
              snapshotDays: config.snapshotDays,
              snapshotEveryMs: config.snapshotEveryMs,
              splitPacks: config.publishSplitPacks,
              logger,
              progress,
            }),
        });
      }
    }
    if (roles.includes('api')) {
      api = await startApiRole({ config, store, logger, connection, catalogue: currentCatalogue });
    }
  } catch (err) {
    // A start that fails half-way closes what it opened: nothing may keep the process alive.
    stopWatching();
    await scheduler?.close().catch(() => undefined);
    await api?.close().catch(() => undefined);
    await worker?.close(0).catch(() => undefined);
    await exporter?.close().catch(() => undefined);
    await merger?.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
    for (const close of closers) await close().catch(() => undefined);
    if (ownStore) await store.close().catch(() => undefined);
    connection.disconnect();
    throw err;
  }

  return {
    config,
    store,
    sink,
    scheduler,
    worker,
    api,
    exporter,
    merger,
    connection,
    async close() {
      stopWatching();
      await scheduler?.close();
      await api?.close();
      await worker?.close();
      await exporter?.close();
      await merger?.close();
      await sink?.close();
      for (const close of closers) await close();
      if (ownStore) await store.close();
      connection.disconnect();
    },
  };
}

/** Recovery-log folder of a poller when several share a work folder. */
export function pollerLogDir(base: string, pollerId: string): string {
  return join(base, pollerId);
}
