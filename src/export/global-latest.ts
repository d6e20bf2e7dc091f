import type { CoinLatestFile } from '../contract/coin-latest-schema.js';
import type { GlobalLatestFile } from '../contract/global-latest-schema.js';
import { NO_DATA_GENERATED_AT } from './manifest.js';

export interface GlobalLatestInput {
  coins: readonly CoinLatestFile[];
  anchorWindow: string | null;
  /** Same as the manifest's generated_at. */
  generatedAt: string | null;
}

/** `api/latest.json`: per coin with data, its window, median, lowest and the number of fresh vendors behind them. */
export function buildGlobalLatest(input: GlobalLatestInput): GlobalLatestFile {
  const coins: GlobalLatestFile['coins'] = {};
  for (const c of input.coins) {
    if (c.window_start === null) continue;
    coins[c.slug] = {
      window_start: c.window_start,
      median_price: c.median_price,
      lowest_price: c.lowest_price,
      vendor_count: Object.values(c.vendors).filter((v) => !v.stale).length,
    };
  }
  return { window_start: input.anchorWindow, generated_at: input.generatedAt ?? NO_DATA_GENERATED_AT, coin_count: Object.keys(coins).length, coins };
}
