import express from 'express';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import { ConfigError, type Config } from '../config/env.js';
import type { PriceStore } from '../store/price-store.js';
import { statusPageRouter } from '../api/status-page.js';
import { dealerFeed, publishedFeedProbes, spotFeed, visionFeed } from '../api/status-data.js';
import { visionSummary } from '../vision/vision-store.js';
import { openDatabaseLazily } from '../config/check-database.js';
import { redisVisionBudget } from '../../queues/vision-budget.js';
import { adminAuth, assertSafeBinding } from '../api/admin-auth.js';
import { adminBoard, BOARD_PATH } from '../api/board.js';
import { createMetricsRegistry, metricsHandler } from '../api/metrics.js';
import { QueueDirectory } from '../api/queue-directory.js';
import { readRecoveryBacklog } from '../recovery/pending-backlog.js';
import { exportQueueName, MERGE_QUEUE_NAME, scrapeQueueName } from '../../queues/names.js';
import { discoverQueues } from '../../queues/discover-queues.js';
import { SPOT_QUEUE_NAME, SYNC_QUEUE_NAME } from '../../queues/feed-jobs.js';
import { readPublishLog } from '../../queues/publish-log.js';
import { readPublishMetrics } from '../../queues/publish-metrics.js';
import { judgeHealth } from '../api/health.js';
import { describeWriteError } from '../store/write-error.js';
import { isRefusedToken } from '../store/refused-token.js';
import { readScrapeMetrics } from '../../queues/scrape-metrics.js';
import { statusPageSources } from './status-sources.js';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { dataRouter } from '../api/serve-data.js';
import { readFeedHealth, type FeedName } from '../api/feed-health.js';
import { ServedBranch } from '../api/served-branch.js';
import { ScreenshotStore } from '../browser/screenshot-store.js';

/** Where Prometheus scrapes. */
export const METRICS_PATH = '/metrics';

/** Where the latest screenshot of each target is served: `{SCREENSHOTS_PATH}/{vendor}/{coin}.jpg`. */
export const SCREENSHOTS_PATH = '/screenshots';

/** The platform's health check: 503 only when this process cannot write (see /healthz for the feeds too). */
export const LIVENESS_PATH = '/livez';

export interface ApiRole {
  url: string;
  /** Bull Board: `{url}/admin/queues`. */
  boardUrl: string;
  /** Prometheus metrics: `{url}/metrics`. */
  metricsUrl: string;
  /**
   * How the board and /metrics are guarded: `basic` (ADMIN_USER/ADMIN_PASSWORD), `bearer` (ADMIN_TOKEN), both,
   * or `none` (no credentials configured: the server listens on loopback only).
   */
  adminAuth: 'basic' | 'bearer' | 'basic+bearer' | 'none';
  /** The board refuses retry, promote, clean and delete (ADMIN_READ_ONLY). */
  boardReadOnly: boolean;
  close(): Promise<void>;
}

export interface ApiRoleOptions {
  config: Config;
  store: PriceStore;
  logger: Logger;
  /** The poller's Redis connection (queues, schedulers). */
  connection: Redis;
  /** The catalogue as last accepted (it may change while the server runs). */
  catalogue: () => Catalogue;
}

/**
 * The poller's HTTP server: health, the status page and its JSON, and behind admin credentials Bull Board
 * (/admin/queues) and Prometheus metrics (/metrics). Refuses to start (ConfigError naming API_HOST) when it
 * would serve those without credentials on an address that is not loopback.
 */
export async function startApiRole(options: ApiRoleOptions): Promise<ApiRole> {
  const { store, config, connection, logger } = options;
  const admin = config.admin;
  assertSafeBinding(config.apiHost, admin);

  // /data: the published tree, from a working copy of the served branch or this poller's export tree.
  const served =
    config.serve.from === 'branch'
      ? new ServedBranch({ remoteUrl: config.publishRemote, token: config.githubToken, branch: config.serve.branch, dir: servedBranchDir(config), refreshMs: config.serve.refreshMs, logger })
      : null;
  // The first round within 5 s, else in the background: a remote that hangs must not hold the API's start.
  if (served) await Promise.race([served.start(), new Promise((r) => setTimeout(r, 5_000).unref())]);
  const servedRoot = (): string | null => {
    if (served) return served.current();
    const tree = exportTreeDataDir(config);
    return config.serve.from === 'export' && existsSync(tree) ? tree : null;
  };
  const judged = judgedFeeds(config);

  const directory = new QueueDirectory({
    connection,
    prefix: config.redisPrefix,
    discover: async () => (await discoverQueues(connection, config.redisPrefix)).queues,
    known: () => [...new Set(options.catalogue().targets.map((t) => scrapeQueueName(t.vendor)))].concat(exportQueueName(config.pollerId), MERGE_QUEUE_NAME, SPOT_QUEUE_NAME, ...(config.sync.fallbackRepo ? [SYNC_QUEUE_NAME] : [])),
  });
  const board = adminBoard({ directory, basePath: BOARD_PATH, readOnly: admin.readOnly, logger });
  const registry = createMetricsRegistry({
    logger,
    sources: {
      queues: async () => Promise.all([...(await directory.sync())].map(async ([queue, q]) => ({ queue, counts: await q.getJobCounts() }))),
      scrapes: () => readScrapeMetrics(connection, config.redisPrefix),
      publish: () => readPublishMetrics(connection, config.redisPrefix),
      recovery: async () => {
        const b = await readRecoveryBacklog(config.recoveryLogDir);
        return { markers: b.markers.length, lines: b.rows };
      },
      database: async () => (await store.counts()).byPoller,
      feeds: async () => {
        const root = servedRoot();
        if (!root) return [];
        return (await readFeedHealth(root, Date.now())).feeds
          .filter((f) => judged.has(f.feed))
          .map((f) => ({ feed: f.feed, ageSeconds: f.at ? Math.max(0, Math.round((Date.now() - Date.parse(f.at)) / 1000)) : null, fresh: f.ok }));
      },
    },
  });
  const guard = adminAuth({ user: admin.user, password: admin.password, token: admin.token, logger });

  const app = express();
  app.disable('x-powered-by');
  /** The write path: database, recovery log, publishing (health.ts). */
  const writePathHealth = async () => {
    let tokenRefused = false;
    let databaseError: string | null = null;
    const [databaseUp, backlog, log] = await Promise.all([
      // The write path: a database that answers reads but refuses writes is down for us.
      store.probeWrite().then(
        () => true,
        (err: unknown) => {
          tokenRefused = isRefusedToken(err);
          databaseError = describeWriteError(err);
          return false;
        },
      ),
      readRecoveryBacklog(config.recoveryLogDir).catch(() => null),
      readPublishLog(connection, config.redisPrefix).catch(() => null),
    ]);
    const lastPublish = log ? [...Object.values(log.last.export), ...Object.values(log.last.merge)] : [];
    return judgeHealth({ databaseUp, tokenRefused, databaseError, backlog, lastPublish, now: Date.now() });
  };
  app.get('/healthz', async (_req, res) => {
    const root = servedRoot();
    const health = await writePathHealth();
    // Feeds are judged in the tree this server serves, as the frontend judges them; none served yet: not judged.
    const feeds = root ? await readFeedHealth(root, Date.now()) : null;
    const staleFeeds = feeds ? feeds.feeds.filter((f) => judged.has(f.feed) && !f.ok) : [];
    const status = health.status === 'down' || staleFeeds.length ? 503 : 200;
    res.status(status).json({
      ok: health.status === 'ok' && !staleFeeds.length,
      poller: config.pollerId,
      ...health,
      staleFeeds: staleFeeds.map((f) => f.feed),
      feeds: feeds?.feeds.filter((f) => judged.has(f.feed)) ?? null,
      served: { from: config.serve.from, ...(served ? served.status() : { root: root ? 'export tree' : null }) },
    });
  });
  // The platform's check (Fly, compose): this process and its write path only. A stale feed is the feeds' problem
  // (/healthz, metrics); taking this server out of rotation for it would take /data away from every user too.
  app.get(LIVENESS_PATH, async (_req, res) => {
    const health = await writePathHealth();
    res.status(health.status === 'down' ? 503 : 200).json({ ok: health.status !== 'down', poller: config.pollerId, ...health });
  });
  if (config.serve.from !== 'off') app.use('/data', dataRouter({ root: servedRoot, logger }));
  // The latest screenshot of each target (browser tier, vision): /screenshots/{vendor}/{coin}.jpg, for the status page.
  app.use(SCREENSHOTS_PATH, dataRouter({ root: () => (existsSync(config.browser.screenshotDir) ? resolve(config.browser.screenshotDir) : null), cacheSeconds: 60, logger }));
  app.use(BOARD_PATH, guard, board.router);
  app.get(METRICS_PATH, guard, metricsHandler(registry));
  // Vision's budget (Redis) and its reads of the last hour (their own table, read on a client of their own).
  const visionReads = config.vision.key ? openDatabaseLazily({ url: config.databaseUrl, authToken: config.databaseToken }) : null;
  const visionBudget = redisVisionBudget(connection, config.redisPrefix, config.pollerId, { perMinute: config.vision.perMinute, perDay: config.vision.perDay });
  const vision = visionReads
    ? async () => {
        const lastHour = await visionSummary(visionReads, new Date(Date.now() - 3_600_000).toISOString()).catch(() => ({ reads: 0, byOutcome: {}, byAgreement: {} }));
        return { model: config.vision.model, used: await visionBudget.used(), lastHour };
      }
    : null;
  const feeds = [dealerFeed, spotFeed, visionFeed(vision), ...(config.serve.from === 'off' ? [] : publishedFeedProbes(servedRoot, [...judged]))];
  // The grid links each target's latest screenshot (the same store the browser tier writes, read without following links).
  const screenshots = new ScreenshotStore({ dir: config.browser.screenshotDir, maxFiles: config.browser.screenshotMaxFiles, maxBytes: config.browser.screenshotMaxBytes });
  app.use(statusPageRouter({ ...options, ...statusPageSources(options), feeds, screenshots: () => screenshots.list(), screenshotBase: SCREENSHOTS_PATH }));
  let server: Server;
  try {
    server = await new Promise((resolve, reject) => {
      // Express 5 hands a listen error (EADDRINUSE, ...) to the callback.
      const s = app.listen(config.apiPort, config.apiHost, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
  } catch (err) {
    await served?.stop();
    await directory.close();
    throw listenProblem(err, config.apiHost, config.apiPort);
  }
  const { port } = server.address() as { port: number };
  const url = `http://${config.apiHost.includes(':') ? `[${config.apiHost}]` : config.apiHost}:${port}`;
  const basic = !!(admin.user && admin.password);
  const mode: ApiRole['adminAuth'] = basic && admin.token ? 'basic+bearer' : basic ? 'basic' : admin.token ? 'bearer' : 'none';
  const role: ApiRole = {
    url,
    boardUrl: `${url}${BOARD_PATH}`,
    metricsUrl: `${url}${METRICS_PATH}`,
    adminAuth: mode,
    boardReadOnly: admin.readOnly,
    close: async () => {
      await served?.stop();
      visionReads?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A status page that refreshes itself keeps a connection alive: close them, or shutdown waits for it.
      server.closeAllConnections();
      await closed;
      await directory.close();
    },
  };
  logger.info({ url, board: role.boardUrl, metrics: role.metricsUrl, adminAuth: mode, boardReadOnly: admin.readOnly }, 'api listening');
  return role;
}

/** A listen error a person fixes (address not here, port taken, port not allowed) as a ConfigError naming the variables. */
function listenProblem(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRNOTAVAIL') return new ConfigError([`API_HOST: cannot listen on ${where} (EADDRNOTAVAIL: not an address of this machine); set API_HOST to an address of this machine, e.g. 127.0.0.1 or 0.0.0.0`]);
  if (code === 'EADDRINUSE') return new ConfigError([`API_PORT: cannot listen on ${where} (EADDRINUSE: another process listens there); set API_PORT to a free port, or stop the other process`]);
  if (code === 'EACCES') return new ConfigError([`API_PORT: cannot listen on ${where} (EACCES: ports below 1024 need privileges); set API_PORT to 1024 or above, e.g. 8080`]);
  return err;
}

/** The working copy of the served branch: its own folder under PUBLISH_DIR, never a published tree. */
export function servedBranchDir(config: Config): string {
  return join(config.publishDir, `served-${config.serve.branch}`);
}

/** This poller's export tree (its `data/` folder), as the exporter keeps it between exports. */
export function exportTreeDataDir(config: Config): string {
  return join(config.publishDir, config.pollerId, 'tree', 'data');
}

/** The feeds /healthz judges: the retail manifest always, spot and Goldback when their feeds are on. */
function judgedFeeds(config: Config): Set<FeedName> {
  const feeds = new Set<FeedName>(['manifest']);
  if (config.spotFeed.mode !== 'off') for (const f of ['hourly', '15min', 'daily-seed'] as const) feeds.add(f);
  if (config.goldback.url) feeds.add('goldback');
  return feeds;
}
