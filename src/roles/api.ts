import express from 'express';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { PriceStore } from '../store/price-store.js';

export interface ApiRole {
  url: string;
  close(): Promise<void>;
}

/** Health and status over HTTP (the published-file endpoints come with the export role). */
export async function startApiRole(options: { port: number; host: string; pollerId: string; store: PriceStore; logger: Logger }): Promise<ApiRole> {
  const { store, pollerId } = options;
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', async (_req, res) => {
    try {
      await store.probe();
      res.json({ ok: true, poller: pollerId, database: 'up' });
    } catch {
      res.status(503).json({ ok: false, poller: pollerId, database: 'unreachable' });
    }
  });
  app.get('/status', async (_req, res) => {
    try {
      const [counts, outcomes] = await Promise.all([store.counts(), store.outcomes(pollerId)]);
      const failing = outcomes.filter((o) => o.consecutive_failures > 0);
      res.json({ poller: pollerId, rows: counts, targets: outcomes.length, failing });
    } catch (err) {
      res.status(503).json({ error: `database unreachable: ${(err as Error).message}` });
    }
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(options.port, options.host, () => resolve(s));
  });
  const { port } = server.address() as { port: number };
  const url = `http://${options.host}:${port}`;
  options.logger.info({ url }, 'api listening');
  return {
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
