import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/**
 * Every queue of a poller, for the operator pages (Bull Board, /metrics): the ones it knows it has (the scrape
 * queue of each vendor of the current catalogue, its export queue, merge) and any other queue found in Redis
 * under the prefix (`{prefix}:{name}:meta`, which BullMQ writes for every queue), so that queues added later
 * (spot, sync, a vendor of a newer catalogue) appear without a restart.
 *
 * The Queue objects only read: they are made with `skipMetasUpdate`, so looking never writes a queue's settings.
 */
export interface QueueDirectoryOptions {
  /** The poller's Redis connection (shared, not closed here). */
  connection: Redis;
  /** BullMQ key prefix (REDIS_PREFIX). */
  prefix: string;
  /** Queue names the poller knows it has; read on every sync (cheap), so a catalogue change shows at once. */
  known: () => Iterable<string>;
  /** Queue names found in Redis under the prefix (queues/discover-queues.ts, injected by the API role). */
  discover: () => Promise<string[]>;
  /** How long the result of `discover` is reused, in ms. Default 5000; 0 discovers on every sync. */
  discoverEveryMs?: number;
}

export class QueueDirectory {
  private readonly open = new Map<string, Queue>();
  private discovered: string[] = [];
  private discoveredAt = -Infinity;
  private syncing: Promise<Map<string, Queue>> | null = null;
  private closed = false;

  constructor(private readonly options: QueueDirectoryOptions) {}

  /**
   * Brings the list up to date (the known names now, Redis at most every `discoverEveryMs`) and returns the
   * queues by name, sorted; one sync at a time.
   */
  sync(): Promise<Map<string, Queue>> {
    this.syncing ??= this.doSync().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async doSync(): Promise<Map<string, Queue>> {
    if (this.closed) return this.open;
    const every = this.options.discoverEveryMs ?? 5_000;
    if (Date.now() - this.discoveredAt >= every) {
      this.discovered = await this.options.discover();
      this.discoveredAt = Date.now();
    }
    const wanted = [...new Set([...this.options.known(), ...this.discovered])].sort();
    const stale = [...this.open.keys()].filter((n) => !wanted.includes(n));
    for (const name of stale) {
      const q = this.open.get(name)!;
      this.open.delete(name);
      await q.close().catch(() => undefined);
    }
    const before = new Map(this.open);
    this.open.clear();
    for (const name of wanted) {
      this.open.set(name, before.get(name) ?? new Queue(name, { connection: this.options.connection, prefix: this.options.prefix, skipMetasUpdate: true }));
    }
    return this.open;
  }

  /** Closes the Queue objects (the shared connection stays open). */
  async close(): Promise<void> {
    this.closed = true;
    await this.syncing?.catch(() => undefined);
    await Promise.all([...this.open.values()].map((q) => q.close().catch(() => undefined)));
    this.open.clear();
  }
}
