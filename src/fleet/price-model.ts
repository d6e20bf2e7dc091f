import type { Metal } from '../catalogue/target.js';
import { WINDOW_MS } from '../time/window.js';
import { between, unit } from './hash.js';
import { round2 } from './money.js';

/** Spot prices in USD per troy ounce; `goldback` is the value of one note. */
export type SpotPrices = Record<Metal, number>;

/** Default spot: round figures of the 2026 market, so prices on the pages are easy to eyeball. */
export const DEFAULT_SPOT: Readonly<SpotPrices> = { gold: 5000, silver: 85, platinum: 2200, palladium: 1700, goldback: 10 };

/** Dealer premium over melt, as a fraction, per metal: [min, max). */
export const PREMIUM_RANGE: Readonly<Record<Metal, readonly [number, number]>> = {
  silver: [0.1, 0.25],
  gold: [0.03, 0.08],
  platinum: [0.05, 0.1],
  palladium: [0.06, 0.12],
  goldback: [0, 0.1],
};

/** Share of prices that move from one 15-minute window to the next (what the publishing budget assumes). */
export const PRICE_CHANGE_SHARE = 0.3;
/** Largest move of the price level, as a fraction of melt either way. */
export const PRICE_LEVEL_SPREAD = 0.0075;
/** Share of (vendor, coin) pairs out of stock when nothing is patched. */
export const OUT_OF_STOCK_SHARE = 0.06;
/** Card/PayPal costs this much more than check/wire at every dealer. */
export const CARD_MARKUP = 0.04;

/** Everything that fixes one modelled price. */
export interface PriceInput {
  seed: number;
  vendor: string;
  coin: string;
  metal: Metal;
  weightOz: number;
  spot: SpotPrices;
  /** Index of the 15-minute window, see windowIndex(). */
  window: number;
}

/** Index of the 15-minute UTC window that holds a time. */
export function windowIndex(atMs: number): number {
  return Math.floor(atMs / WINDOW_MS);
}

/** Melt value: spot x weight (for goldbacks, note value x notes). */
export function meltValue(metal: Metal, weightOz: number, spot: SpotPrices): number {
  return spot[metal] * weightOz;
}

/** The fixed premium of a (vendor, coin) pair over melt. */
export function premiumOf(seed: number, vendor: string, coin: string, metal: Metal): number {
  const [min, max] = PREMIUM_RANGE[metal];
  return between(min, max, seed, 'premium', vendor, coin);
}

/**
 * The price level offset in a window. A window "moves" with probability PRICE_CHANGE_SHARE and then draws a
 * new level; otherwise it keeps the level of the last window that moved, found by looking back (pure, no state).
 */
export function levelAt(seed: number, vendor: string, coin: string, window: number): number {
  let anchor = window - 64; // 0.7^64 ~ 1e-10: far enough that the cap never shows
  for (let w = window; w > window - 64; w--) {
    if (unit(seed, 'moves', vendor, coin, w) < PRICE_CHANGE_SHARE) {
      anchor = w;
      break;
    }
  }
  return between(-PRICE_LEVEL_SPREAD, PRICE_LEVEL_SPREAD, seed, 'level', vendor, coin, anchor);
}

/** The modelled 1-unit check/wire price, in cents. */
export function modelPrice(p: PriceInput): number {
  const melt = meltValue(p.metal, p.weightOz, p.spot);
  return round2(melt * (1 + premiumOf(p.seed, p.vendor, p.coin, p.metal) + levelAt(p.seed, p.vendor, p.coin, p.window)));
}

/** Whether the pair is in stock when nothing is patched: mostly yes, a fixed few no. */
export function modelInStock(seed: number, vendor: string, coin: string): boolean {
  return unit(seed, 'stock', vendor, coin) >= OUT_OF_STOCK_SHARE;
}

/** A quantity tier's price: the 1-unit price less a discount fraction. */
export function tierPrice(unitPrice: number, discount: number): number {
  return round2(unitPrice * (1 - discount));
}

/** The card/PayPal price for a check/wire price. */
export function cardPrice(checkPrice: number): number {
  return round2(checkPrice * (1 + CARD_MARKUP));
}

/** A header ticker quote: spot wobbling a little per window, and its change on the day. */
export function spotQuote(seed: number, metal: Metal, spot: SpotPrices, window: number): { price: number; change: number } {
  const price = round2(spot[metal] * (1 + between(-0.004, 0.004, seed, 'ticker', metal, window)));
  const change = round2(spot[metal] * between(-0.012, 0.012, seed, 'ticker-change', metal, window));
  return { price, change };
}
