/**
 * When a failed scrape is tried again. Retry timing serves the cycle: a retry never makes another target
 * wait and never leaves the vendor's host idle while its other pages are waiting; a host that walls every
 * page is not retried page by page.
 */

export interface RetryTiming {
  /** Delay of a retry when nothing else of the vendor is waiting; doubles per attempt. Default 1000 ms. */
  gapMs?: number;
  /** Share of the delay drawn at random, so that retries of many targets spread. Default 0.5. */
  jitter?: number;
}

/**
 * Delay before attempt `attemptsMade + 1` of a job whose vendor queue has `waiting` jobs ready.
 * With pages waiting, the retry joins the back of the queue at once (0): it costs the host nothing
 * and delays no other target. With none, the host would sit idle anyway: a short gap, doubling.
 */
export function retryDelayMs(attemptsMade: number, waiting: number, timing: RetryTiming = {}, random: () => number = Math.random): number {
  if (waiting > 0) return 0;
  const gap = Math.max(0, timing.gapMs ?? 1000) * 2 ** Math.max(0, attemptsMade - 1);
  const jitter = Math.min(1, Math.max(0, timing.jitter ?? 0.5));
  return Math.round(gap * (1 - jitter * random()));
}

/** How the reason of every row of a vendor that walls every page starts (status reports such a vendor once). */
export const BLOCKED_VENDOR_REASON = 'vendor blocked:';

/** Distinct pages of a vendor answered with a bot wall, and none served since, after which retries stop. */
export const WALL_SUSPECT_PAGES = 3;

/**
 * What the bot walls seen at a vendor say about it, from the number of its distinct pages answered with a
 * wall since it last served a page, out of the pages it has in the catalogue.
 * - `open`: a page here and there; retrying a walled page may get through.
 * - `suspected`: several pages in a row and none served: another attempt rarely helps, so none is made.
 * - `walled`: every page of the vendor: the vendor is blocked (reported; each target still tried once a run).
 */
export type WallVerdict = 'open' | 'suspected' | 'walled';

export function judgeWall(blockedPages: number, vendorPages: number): WallVerdict {
  if (vendorPages > 0 && blockedPages >= vendorPages) return 'walled';
  if (blockedPages >= Math.min(WALL_SUSPECT_PAGES, Math.max(1, vendorPages))) return 'suspected';
  return 'open';
}

/** The state of one vendor's bot walls, shared by the poller's worker processes. */
export interface VendorWallState {
  /** Distinct pages walled since the vendor last served a page. */
  blockedPages: number;
  /** When the first of them was walled (epoch ms), or null. */
  since: number | null;
}

/** Where the poller keeps what each vendor's walls have shown (Redis in production, memory in tests). */
export interface VendorWallStore {
  /** Records a page answered with a wall; returns the vendor's state including it, and whether the page is new to it. */
  recordBlocked(vendor: string, coin: string, at: number): Promise<VendorWallState & { added: boolean }>;
  /** Records a page the vendor served (whatever it said): the wall, if any, is gone. */
  recordServed(vendor: string): Promise<void>;
  /** The vendor's current state. */
  get(vendor: string): Promise<VendorWallState>;
}

/** A store in memory, for one process (tests, tools). */
export function memoryWallStore(): VendorWallStore {
  const walls = new Map<string, { coins: Set<string>; since: number }>();
  const stateOf = (vendor: string): VendorWallState => {
    const w = walls.get(vendor);
    return { blockedPages: w?.coins.size ?? 0, since: w?.since ?? null };
  };
  return {
    async recordBlocked(vendor, coin, at) {
      let w = walls.get(vendor);
      if (!w) walls.set(vendor, (w = { coins: new Set(), since: at }));
      const added = !w.coins.has(coin);
      w.coins.add(coin);
      return { ...stateOf(vendor), added };
    },
    async recordServed(vendor) {
      walls.delete(vendor);
    },
    async get(vendor) {
      return stateOf(vendor);
    },
  };
}
