/**
 * Plausibility checks for an extracted price, before it becomes a row.
 *
 * `checkPriceRange` is the coarse guard: a per-metal USD range per troy ounce (per note for
 * goldbacks), scaled by the product's weight. It catches a 1/10 oz price on a 1 oz page, a tube
 * price on a single-coin page, a spot ticker or a per-gram figure. It does not catch a price that
 * is wrong by less than the width of the range (lesson 7: a $651 platinum coin passed the old
 * check); `checkPriceAgainstSpot` is the finer guard for when a current spot price is known.
 */
import type { Metal, ProductIdentity } from '../catalogue/target.js';

export interface PriceRange {
  /** USD per troy ounce (per note for `goldback`). */
  min: number;
  max: number;
}

export type PriceRanges = Record<Metal, PriceRange>;

/**
 * Defaults for the 2026 price level (spot about gold 5,000, silver 85, platinum 2,200, palladium
 * 1,700 USD/oz; a G1 goldback about 10 USD). Generous on both sides, so that a market move of
 * about half or double passes, while fractional, multi-piece and wrong-metal prices do not.
 */
export const DEFAULT_PRICE_RANGES: Readonly<PriceRanges> = Object.freeze({
  gold: { min: 2_000, max: 15_000 },
  silver: { min: 25, max: 400 },
  platinum: { min: 800, max: 8_000 },
  palladium: { min: 600, max: 7_000 },
  goldback: { min: 3, max: 60 },
});

export type SanityVerdict = { ok: true } | { ok: false; reason: string };

function usd(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

function plain(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 4 });
}

function describeWeight(product: ProductIdentity): string {
  return product.metal === 'goldback' ? `${plain(product.weightOz)} note${product.weightOz === 1 ? '' : 's'}` : `${plain(product.weightOz)} oz`;
}

/**
 * Is `price` (USD for one unit) plausible for this product? The range is the metal's per-ounce
 * range times the product's weight in troy ounces (times the number of notes for goldbacks).
 */
export function checkPriceRange(price: number, product: ProductIdentity, ranges: Partial<PriceRanges> = DEFAULT_PRICE_RANGES): SanityVerdict {
  const metal = product?.metal;
  const range = (metal && ranges[metal]) || (metal && DEFAULT_PRICE_RANGES[metal]);
  if (!range) return { ok: false, reason: `no price range for metal "${String(metal)}"` };
  const weight = product.weightOz;
  const unit = metal === 'goldback' ? 'USD/note' : 'USD/oz';
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    return { ok: false, reason: `price ${usd(price)} cannot be checked: ${product.coin ?? 'product'} has no valid weight (${String(weight)})` };
  }
  if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
    return { ok: false, reason: `price ${String(price)} for ${metal} ${describeWeight(product)} is not a positive amount` };
  }
  const low = range.min * weight;
  const high = range.max * weight;
  if (price < low || price > high) {
    const side = price < low ? 'below' : 'above';
    return {
      ok: false,
      reason: `price ${usd(price)} for ${metal} ${describeWeight(product)} (${product.coin}) is ${side} the plausible range ${usd(low)}-${usd(high)} (${plain(range.min)}-${plain(range.max)} ${unit})`,
    };
  }
  return { ok: true };
}

export interface SpotBounds {
  /** Lowest plausible price as a multiple of the metal value (dealers do not sell far below spot). */
  minRatio: number;
  /** Highest plausible price as a multiple of the metal value (premium included). */
  maxRatio: number;
}

/** Premium bounds per metal: silver and goldback premiums are large, gold's small. */
export const DEFAULT_SPOT_BOUNDS: Readonly<Record<Metal, SpotBounds>> = Object.freeze({
  gold: { minRatio: 0.9, maxRatio: 1.5 },
  silver: { minRatio: 0.9, maxRatio: 2.5 },
  platinum: { minRatio: 0.85, maxRatio: 1.8 },
  palladium: { minRatio: 0.85, maxRatio: 1.8 },
  goldback: { minRatio: 0.8, maxRatio: 3 },
});

/**
 * Is `price` plausible against the current spot price (USD per troy ounce, or the G1 goldback rate
 * per note)? The metal value is spot times weight; the price must lie within the metal's ratio bounds.
 */
export function checkPriceAgainstSpot(
  price: number,
  product: ProductIdentity,
  spot: number,
  bounds: SpotBounds = DEFAULT_SPOT_BOUNDS[product.metal] ?? { minRatio: 0.85, maxRatio: 2 },
): SanityVerdict {
  if (!(typeof spot === 'number' && Number.isFinite(spot) && spot > 0)) return { ok: false, reason: `no usable spot price for ${product.metal} (${String(spot)})` };
  if (!(typeof price === 'number' && Number.isFinite(price) && price > 0)) return { ok: false, reason: `price ${String(price)} is not a positive amount` };
  if (!(product.weightOz > 0)) return { ok: false, reason: `${product.coin} has no valid weight (${String(product.weightOz)})` };
  const value = spot * product.weightOz;
  const ratio = price / value;
  if (ratio < bounds.minRatio || ratio > bounds.maxRatio) {
    return {
      ok: false,
      reason: `price ${usd(price)} for ${product.metal} ${describeWeight(product)} (${product.coin}) is ${ratio.toFixed(2)}x its metal value ${usd(value)} at spot ${usd(spot)}; plausible ${bounds.minRatio}-${bounds.maxRatio}x`,
    };
  }
  return { ok: true };
}
