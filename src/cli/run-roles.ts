import { checkFolders } from '../config/check-folders.js';
import { loadConfig } from '../config/env.js';
import { createLogger } from '../log.js';
import { ensureRedis } from '../redis/redis-server.js';
import { startPoller, type Role } from '../roles/poller.js';
import { untilSignal } from './signals.js';

/** Runs roles of one poller until SIGTERM/SIGINT, then shuts down cleanly (exit 0). */
export async function runRoles(roles: Role[], name: string): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name, pollerId: config.pollerId });
  // Listen before starting: a SIGTERM during start-up must still end in a clean shutdown.
  const stopped = untilSignal();
  // Without REDIS_URL a private redis-server may keep its data under DATA_DIR: it must be a folder we can write.
  if (!config.redisUrl) await checkFolders({ DATA_DIR: config.dataDir });
  const redis = await ensureRedis({ url: config.redisUrl, dataDir: config.dataDir });
  logger.info(redis.note);
  try {
    const poller = await startPoller({ config, logger, roles, redisUrl: redis.url });
    logger.info({ roles, database: poller.store.description, staggerMinutes: config.staggerMs / 60_000 }, `poller ${config.pollerId} running; Ctrl-C or SIGTERM stops it`);
    const signal = await stopped;
    logger.info({ signal }, 'shutting down: no new jobs; running jobs finish or are handed back');
    await poller.close();
    logger.info('stopped');
    return 0;
  } finally {
    await redis.stop?.();
  }
}
