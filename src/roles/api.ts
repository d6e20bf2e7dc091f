import express from 'express';
import type { Server } from 'node:http';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Config } from '../config/env.js';
import type { PriceStore } from '../store/price-store.js';
import { statusPageRouter } from '../api/status-page.js';

export interface ApiRole {
  url: string;
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

/** The poller's HTTP server: health, the status page and its JSON. */
export async function startApiRole(options: ApiRoleOptions): Promise<ApiRole> {
  const { store, config } = options;
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_req, res) => {
    try {
      await store.probe();
      res.json({ ok: true, poller: config.pollerId, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, poller: config.pollerId, database: 'unreachable' });
    }
  });
  app.use(statusPageRouter(options));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(config.apiPort, config.apiHost, () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  const url = `http://${config.apiHost}:${port}`;
  options.logger.info({ url }, 'api listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
