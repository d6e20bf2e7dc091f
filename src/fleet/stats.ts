import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { RETRY_AFTER_SECONDS } from './faults.js';

export interface FleetStats {
  /** Requests to dealer pages (admin requests are not counted). */
  requests: number;
  byVendor: Record<string, number>;
  /** Sum of the configured latency drawn per vendor (slow faults, hangs and rendering excluded: see servedMsByVendor). */
  latencyMsByVendor: Record<string, number>;
  /**
   * Per vendor, the sum over its requests of the time each occupied the server: from arrival until the response
   * finished or the connection closed (a hung request counts until the client gives up; one still open counts
   * up to now). With one request at a time per vendor, the busiest vendor's figure is the floor of a cycle.
   */
  servedMsByVendor: Record<string, number>;
  /** Sum of the Retry-After times each vendor asked for with its 429s. */
  retryAfterMsByVendor: Record<string, number>;
  /** Per 429 sent: the time from that response finishing to the vendor's next request (recorded when it arrives). */
  rateLimitWaits: Array<{ vendor: string; askedMs: number; waitedMs: number }>;
  /** Faults sent per vendor and kind: chaos ('wall', '429', '500', 'hang') and patched ones under their fault names. */
  faultsByVendor: Record<string, Record<string, number>>;
}

interface Visit {
  vendor: string;
  arrived: number;
}

/** Keeps FleetStats, including the timings only the server can see: how long requests held it, waits after a 429. */
export class StatsRecorder {
  private stats = emptyStats();
  /** Start of the stats window: time a request held the server before a reset is not counted after it. */
  private since = performance.now();
  private readonly open = new Set<Visit>();
  /** Finished 429s per vendor, waiting for that vendor's next request. */
  private readonly unanswered = new Map<string, Array<{ askedMs: number; finishedAt: number }>>();

  /** A dealer request arrived; `vendor` undefined for paths outside every vendor. Call it before any await. */
  arrive(vendor: string | undefined, res: ServerResponse): void {
    this.stats.requests += 1;
    if (vendor === undefined) return;
    const visit: Visit = { vendor, arrived: performance.now() };
    add(this.stats.byVendor, vendor, 1);
    for (const w of this.unanswered.get(vendor) ?? []) this.stats.rateLimitWaits.push({ vendor, askedMs: w.askedMs, waitedMs: visit.arrived - w.finishedAt });
    this.unanswered.delete(vendor);
    this.open.add(visit);
    // 'finish' when the last byte is handed to the OS; 'close' when the client hangs up first (or the fleet closes).
    const done = () => {
      if (this.open.delete(visit)) add(this.stats.servedMsByVendor, vendor, this.heldMs(visit, performance.now()));
    };
    res.once('finish', done);
    res.once('close', done);
  }

  latency(vendor: string, ms: number): void {
    add(this.stats.latencyMsByVendor, vendor, ms);
  }

  /** A fault is being sent on `res`; a 429 starts the clock of the vendor's wait once it has finished. */
  fault(vendor: string, kind: string, res: ServerResponse): void {
    add((this.stats.faultsByVendor[vendor] ??= {}), kind, 1);
    if (kind !== '429') return;
    const askedMs = RETRY_AFTER_SECONDS * 1000;
    add(this.stats.retryAfterMsByVendor, vendor, askedMs);
    res.once('finish', () => {
      const list = this.unanswered.get(vendor) ?? [];
      list.push({ askedMs, finishedAt: performance.now() });
      this.unanswered.set(vendor, list);
    });
  }

  /** A copy, with requests still open counted up to now. */
  snapshot(): FleetStats {
    const s = this.stats;
    const served = { ...s.servedMsByVendor };
    const now = performance.now();
    for (const v of this.open) add(served, v.vendor, this.heldMs(v, now));
    return {
      requests: s.requests,
      byVendor: { ...s.byVendor },
      latencyMsByVendor: { ...s.latencyMsByVendor },
      servedMsByVendor: served,
      retryAfterMsByVendor: { ...s.retryAfterMsByVendor },
      rateLimitWaits: s.rateLimitWaits.map((w) => ({ ...w })),
      faultsByVendor: Object.fromEntries(Object.entries(s.faultsByVendor).map(([v, kinds]) => [v, { ...kinds }])),
    };
  }

  reset(): void {
    this.stats = emptyStats();
    this.since = performance.now();
    this.unanswered.clear();
  }

  private heldMs(visit: Visit, end: number): number {
    return end - Math.max(visit.arrived, this.since);
  }
}

function emptyStats(): FleetStats {
  return { requests: 0, byVendor: {}, latencyMsByVendor: {}, servedMsByVendor: {}, retryAfterMsByVendor: {}, rateLimitWaits: [], faultsByVendor: {} };
}

function add(map: Record<string, number>, key: string, n: number): void {
  map[key] = (map[key] ?? 0) + n;
}
