import type { SpotPrices } from '../config/env.js';
import { CATALOGUE_METAL, SPOT_METALS } from './metals.js';
import type { SpotStore } from './spot-store.js';

export interface SpotReferenceOptions {
  /** The feed's values count while their window is younger than this. */
  freshMs: number;
  /** The configured SPOT_USD_PER_OZ: what a metal falls back to without a fresh feed value. */
  fallback: SpotPrices;
  /** How often the table is read again. Default 60,000 ms. */
  refreshMs?: number;
  /** Told once per failed read (the last good values stay). Default none. */
  onError?: (err: Error) => void;
}

/**
 * The spot the extractor's sanity check judges prices against: the spot feed's newest value per metal while it is
 * fresh, else the configured one. Read at each scrape from memory; the table is read again every `refreshMs`.
 */
export class SpotReference {
  private values: SpotPrices;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: SpotStore,
    private readonly options: SpotReferenceOptions,
  ) {
    this.values = { ...options.fallback };
  }

  /** The values to judge with now. */
  readonly current = (): SpotPrices => this.values;

  /** Reads the table once now. */
  async refresh(now: number = Date.now()): Promise<SpotPrices> {
    const fresh = await this.store.freshSpot(now, this.options.freshMs);
    const next: SpotPrices = { ...this.options.fallback };
    for (const metal of SPOT_METALS) if (fresh[metal] !== undefined) next[CATALOGUE_METAL[metal] as keyof SpotPrices] = fresh[metal];
    this.values = next;
    return next;
  }

  /** Refreshes now and then every `refreshMs`, until stop(). */
  start(): void {
    const tick = () => void this.refresh().catch((err: Error) => this.options.onError?.(err));
    tick();
    this.timer = setInterval(tick, this.options.refreshMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
