import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Config } from '../config/env.js';
import type { PriceStore } from '../store/price-store.js';

/** What the status page reads: the database, the poller's Redis (queues), the catalogue and the git remote. */
export interface StatusPageDeps {
  config: Config;
  store: PriceStore;
  connection: Redis;
  catalogue: () => Catalogue;
  logger: Logger;
}

/** `GET /` (the HTML status page, or JSON with `Accept: application/json`) and `GET /status` (JSON). */
export function statusPageRouter(deps: StatusPageDeps): Router {
  const router = Router();
  router.get(['/', '/status'], async (_req, res) => {
    try {
      const [counts, outcomes] = await Promise.all([deps.store.counts(), deps.store.outcomes(deps.config.pollerId)]);
      const failing = outcomes.filter((o) => o.consecutive_failures > 0);
      res.json({ poller: deps.config.pollerId, rows: counts, targets: outcomes.length, failing });
    } catch (err) {
      res.status(503).json({ error: `database unreachable: ${(err as Error).message}` });
    }
  });
  return router;
}
