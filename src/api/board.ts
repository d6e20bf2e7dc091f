import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router } from 'express';
import type { Logger } from 'pino';
import type { QueueDirectory } from './queue-directory.js';

/** Where the board is mounted by default. */
export const BOARD_PATH = '/admin/queues';

export interface AdminBoardOptions {
  /** The poller's queues (src/api/queue-directory.ts); synced on every request to the board. */
  directory: QueueDirectory;
  /** Path the router is mounted at (the UI builds its links from it). Default `/admin/queues`. */
  basePath?: string;
  /** No retry, promote, clean, remove, pause or add: the board only shows (bull-board answers 405). Default false. */
  readOnly?: boolean;
  /** Title shown in the UI. Default `StakTrakr queues`. */
  title?: string;
  logger?: Logger;
}

export interface AdminBoard {
  /** Mount at `basePath`, behind adminAuth. */
  router: Router;
  /** Brings the board's queue list up to date now; returns the queue names. */
  sync(): Promise<string[]>;
}

/**
 * Bull Board over every queue of the poller. The queue list is re-synced on each request to the board (pages
 * and its API alike, not its static files), so a vendor added to the catalogue, or a queue that appeared in Redis,
 * shows without a restart; queues that are gone disappear.
 */
export function adminBoard(options: AdminBoardOptions): AdminBoard {
  const basePath = options.basePath ?? BOARD_PATH;
  const readOnly = options.readOnly ?? false;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: options.title ?? 'StakTrakr queues' } },
  });
  // One adapter per Queue object: the directory keeps a queue's object while the queue is listed.
  const adapters = new Map<string, { queue: unknown; adapter: BullMQAdapter }>();

  const sync = async (): Promise<string[]> => {
    const queues = await options.directory.sync();
    for (const name of [...adapters.keys()]) if (!queues.has(name)) adapters.delete(name);
    for (const [name, queue] of queues) {
      if (adapters.get(name)?.queue !== queue) adapters.set(name, { queue, adapter: new BullMQAdapter(queue, { readOnlyMode: readOnly, allowRetries: !readOnly }) });
    }
    board.replaceQueues([...adapters.values()].map((a) => a.adapter));
    return [...adapters.keys()];
  };

  const router = Router();
  router.use(async (req, res, next) => {
    if (req.path.startsWith('/static/')) return next();
    try {
      await sync();
      next();
    } catch (err) {
      options.logger?.warn({ err: (err as Error).message }, 'could not list the queues for the board');
      res.status(503).type('text/plain').send(`could not list the queues (is Redis reachable?): ${(err as Error).message}\n`);
    }
  });
  router.use(serverAdapter.getRouter());
  return { router, sync };
}
