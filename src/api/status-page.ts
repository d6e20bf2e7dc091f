import { join } from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Config } from '../config/env.js';
import { readBranchHeads } from '../publish/branch-heads.js';
import { readRecoveryBacklog } from '../recovery/pending-backlog.js';
import { redactText, secretValues } from '../secrets.js';
import type { PriceStore } from '../store/price-store.js';
import { cached, gatherStatus, statusViews, type FeedProbe, type PublishLogView, type StatusSources } from './status-data.js';
import { esc, renderErrorPage, renderStatusPage } from './status-html.js';

/** What the status page reads: the database, the poller's Redis (queues), the catalogue and the git remote. */
export interface StatusPageDeps {
  config: Config;
  store: PriceStore;
  connection: Redis;
  catalogue: () => Catalogue;
  logger: Logger;
  /**
   * The publish log of this poller's Redis (last export and merge). The API is domain code and never imports
   * queues/: the composition layer passes it (src/roles/status-sources.ts); without it the page says so.
   */
  publishLog?: () => Promise<PublishLogView>;
  /** The stored screenshots (the browser tier's ScreenshotStore.list), linked from the grid's cells; default none. */
  screenshots?: StatusSources['screenshots'];
  /** URL path the screenshots are served under. Default `/screenshots`. */
  screenshotBase?: string;
  /** Feeds whose age the page shows; default DEFAULT_FEEDS (dealer scrapes, configured spot). */
  feeds?: ReadonlyArray<FeedProbe>;
  /** How long branch heads and the recovery backlog are reused between page loads, ms. Default 5000. */
  statusCacheMs?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** Seconds between the page's refreshes unless `?refresh=N` says otherwise (0: none). */
export const DEFAULT_REFRESH_SECONDS = 15;

/**
 * `GET /` (the HTML status page, or its JSON with `Accept: application/json`) and `GET /status` (JSON, for
 * scripts: the keys poller, rows, targets and failing as before, and the page's data). `?poller=apiN` shows
 * another poller's targets (the database is shared); `?refresh=N` sets the page's refresh (0: none).
 */
export function statusPageRouter(deps: StatusPageDeps): Router {
  const { config, store } = deps;
  const ttl = deps.statusCacheMs ?? 5000;
  const now = deps.now ?? Date.now;
  const branches = [...new Set([...config.publishBranches, config.pollerId, 'main'])];
  const sources: StatusSources = {
    counts: () => store.counts(),
    outcomes: () => store.outcomes(),
    failureStreaks: (pollerId) => store.failureStreaks(pollerId),
    // Git and the file system are read at most every `ttl` ms, however often the page is loaded.
    branchHeads: cached(
      () => readBranchHeads({ remoteUrl: config.publishRemote, token: config.githubToken, branches, workDir: join(config.publishDir, 'status') }),
      ttl,
    ),
    recoveryBacklog: cached(() => readRecoveryBacklog(config.recoveryLogDir), ttl),
    publishLog: deps.publishLog,
    ...(deps.screenshots ? { screenshots: cached(deps.screenshots, ttl), screenshotBase: deps.screenshotBase } : {}),
  };
  const secrets = [...secretValues(), config.githubToken, config.databaseToken, config.admin.password, config.admin.token];
  const scrub = (text: string) => redactText(text, secrets);

  async function answer(req: Request, res: Response, format: 'html' | 'json'): Promise<void> {
    res.set('Cache-Control', 'no-store');
    res.vary('Accept');
    const views = statusViews(config);
    const asked = queryValue(req.query.poller);
    const view = asked ?? config.pollerId;
    const refresh = parseRefresh(queryValue(req.query.refresh));
    if (!views.includes(view)) {
      const error = `unknown poller ${JSON.stringify(view)}: expected one of ${views.join(', ')}`;
      if (format === 'json') res.status(400).json({ error });
      else res.status(400).type('html').send(`<!doctype html><meta charset="utf-8"><title>unknown poller</title><p>${esc(error)}</p>`);
      return;
    }
    let data;
    try {
      data = scrubStrings(await gatherStatus({ config, catalogue: deps.catalogue(), view, now: now(), sources, feeds: deps.feeds }), scrub);
    } catch (err) {
      const message = scrub(`database unreachable: ${(err as Error).message}`);
      deps.logger.warn({ err: message }, 'status page: database unreachable');
      if (format === 'json') res.status(503).json({ poller: config.pollerId, error: message });
      else res.status(503).type('html').send(renderErrorPage(config.pollerId, message, refresh ?? DEFAULT_REFRESH_SECONDS));
      return;
    }
    if (format === 'json') {
      res.json(data);
      return;
    }
    res.type('html').send(renderStatusPage(data, { refreshSeconds: refresh ?? DEFAULT_REFRESH_SECONDS, refreshParam: refresh }));
  }

  const router = Router();
  router.get('/status', (req, res) => void answer(req, res, 'json'));
  // Browsers ask for HTML; `Accept: application/json` (and only JSON) gets the same JSON as /status.
  router.get('/', (req, res) => void answer(req, res, req.accepts(['html', 'json']) === 'json' ? 'json' : 'html'));
  return router;
}

function queryValue(v: unknown): string | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/** `?refresh=N`: whole seconds 0 (none) or 2..3600; anything else is ignored. */
export function parseRefresh(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d{1,4}$/.test(v)) return undefined;
  const n = Number(v);
  return n === 0 || (n >= 2 && n <= 3600) ? n : undefined;
}

/** Every string of the data with secrets removed (reasons and errors may quote a URL or a header). */
function scrubStrings<T>(value: T, scrub: (s: string) => string): T {
  if (typeof value === 'string') return scrub(value) as T;
  if (Array.isArray(value)) return value.map((v) => scrubStrings(v, scrub)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubStrings(v, scrub)])) as T;
  return value;
}
