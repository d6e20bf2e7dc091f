import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface SchedulerWatchOptions {
  /** How often to look. 0 turns the watch off. */
  everyMs: number;
  /** Ids of the job schedulers that should exist and do not. */
  findMissing: () => Promise<string[]>;
  /** Recreates them (idempotent upserts). */
  repair: (missing: string[]) => Promise<void>;
  logger: Logger;
  /** What is watched, for the log lines ("scrape schedulers"). */
  what: string;
  /**
   * Also check the moment this connection is ready again after losing Redis: a Redis restarted without
   * persistence comes back empty, and waiting for the next tick would lose a run of every target. Default none.
   */
  connection?: Redis;
}

/**
 * Job schedulers live only in Redis: a Redis restarted without persistence, flushed or evicting
 * keys loses them, and nothing would be scheduled again until the next restart. This looks every
 * `everyMs`, and at once when the connection comes back, and recreates what is missing. Returns a
 * function that stops the watch.
 */
export function watchSchedulers(options: SchedulerWatchOptions): () => void {
  const { everyMs, logger, what } = options;
  if (everyMs <= 0) return () => undefined;
  let running = false;
  let failing = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      const missing = await options.findMissing();
      if (missing.length) {
        logger.warn({ missing: missing.length, first: missing.slice(0, 5) }, `${what} missing from Redis (restarted without persistence, flushed or evicted?); recreating them`);
        await options.repair(missing);
      }
      if (failing) logger.info(`${what} check works again`);
      failing = false;
    } catch (err) {
      // Redis down: the connection retries by itself; say it once per outage, not every tick.
      if (!failing) logger.warn({ err: (err as Error).message }, `${what} check failed; retrying every ${Math.round(everyMs / 1000)} s`);
      failing = true;
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), everyMs);
  timer.unref();
  // 'ready' follows every reconnect; the first one (at start) finds nothing missing.
  let lost = false;
  const onClose = () => (lost = true);
  const onReady = () => {
    if (!lost) return;
    lost = false;
    void check();
  };
  options.connection?.on('close', onClose);
  options.connection?.on('ready', onReady);
  return () => {
    clearInterval(timer);
    options.connection?.off('close', onClose);
    options.connection?.off('ready', onReady);
  };
}
