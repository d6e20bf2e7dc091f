import type { Redis } from 'ioredis';
import type { Config } from '../config/env.js';
import type { StatusPageDeps } from '../api/status-page.js';
import { readPublishLog } from '../../queues/publish-log.js';

/**
 * The status page's Redis readers, wired here in the composition layer (src/api never imports queues/).
 * The API role spreads them into the router's dependencies: `statusPageRouter({ ...options, ...statusPageSources(options) })`.
 */
export function statusPageSources(options: { connection: Redis; config: Config }): Pick<StatusPageDeps, 'publishLog'> {
  return { publishLog: () => readPublishLog(options.connection, options.config.redisPrefix) };
}
