/**
 * Plausibility checks for an extracted price, before it becomes a row.
 *
 * `checkPriceRange` is the coarse guard: a per-metal USD range per troy ounce (per note for
 * goldbacks), scaled by the product's weight. It catches a 1/10 oz price on a 1 oz page, a tube
 * price on a single-coin page, a spot ticker or a per-gram figure. It does not catch a price that
 * is wrong by less than the width of the range (lesson 7: a $651 platinum coin passed the old
 * check); `judgePrice` is the finer guard: against melt value when a spot price is known, and
 * against the vendor's previous price and the other vendors' median.
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
  const [whole, cents] = Math.abs(n).toFixed(2).split('.');
  return `${n < 0 ? '-' : ''}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
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

/** The metal whose spot price values a product: goldbacks hold gold. */
/** The configured or fed spot that values this metal (gold for goldbacks), or null when unknown. */
export function spotFor(metal: Metal, spot: Partial<Record<Exclude<Metal, 'goldback'>, number>> | undefined): number | null {
  const value = spot?.[spotMetalFor(metal)];
  return typeof value === 'number' && value > 0 ? value : null;
}

export function spotMetalFor(metal: Metal): Exclude<Metal, 'goldback'> {
  return metal === 'goldback' ? 'gold' : metal;
}

/** Troy ounces of gold in one G1 goldback note (the catalogue's goldback `weightOz` counts notes). */
export const GOLDBACK_GOLD_OZ_PER_NOTE = 0.001;

/**
 * Melt value of one unit in USD: spot (USD per troy ounce of the metal, gold for goldbacks) times
 * the fine metal it holds. The catalogue's weight is fine weight (a 1 oz Gold Eagle holds 1 oz of
 * gold in a 22k alloy), so no purity factor applies; a goldback holds 1/1000 oz per G1 note.
 */
export function meltValue(product: ProductIdentity, spotUsdPerOz: number): number {
  const fineOz = product.metal === 'goldback' ? product.weightOz * GOLDBACK_GOLD_OZ_PER_NOTE : product.weightOz;
  return spotUsdPerOz * fineOz;
}

export interface SanityLimits {
  /**
   * How far below melt value a price may be before it is rejected, in percent of melt. Dealers do
   * not sell under melt, but the spot value used may be minutes (or, while spot is a configured
   * value, days) older than the dealer's price.
   */
  belowMeltTolerancePct: number;
  /** Highest premium over melt value per metal, in percent of melt; above it the price is rejected. */
  maxPremiumPct: Record<Metal, number>;
  /** A change of more than this many percent against the vendor's previous price is flagged. */
  maxJumpPct: number;
  /** A distance of more than this many percent from the cross-vendor median of the window is flagged. */
  maxMedianDeviationPct: number;
  /** The per-metal range check used when no spot price is known. */
  ranges: PriceRanges;
}

/**
 * Defaults. Premium ceilings are wide enough for the dearest bullion of each kind at any vendor
 * (silver coins run 10-40 % over melt, goldbacks about 100 %), and narrow enough to reject a
 * price for the wrong weight, a tube or a card-only price of another product: a 1/2 oz price on a
 * 1 oz page falls under melt, a 2 oz price lands over the ceiling. Jumps of 15 % between two
 * scrapes 15 minutes apart, or 20 % from the other vendors' median, do not happen in bullion
 * without a reason worth a look.
 */
export const DEFAULT_SANITY_LIMITS: Readonly<SanityLimits> = Object.freeze({
  belowMeltTolerancePct: 3,
  maxPremiumPct: Object.freeze({ gold: 30, silver: 100, platinum: 50, palladium: 50, goldback: 250 }),
  maxJumpPct: 15,
  maxMedianDeviationPct: 20,
  ranges: DEFAULT_PRICE_RANGES,
});

export interface JudgePriceInput {
  /** The extracted 1-unit price in USD. */
  price: number;
  product: ProductIdentity;
  /** Spot in USD per troy ounce of `spotMetalFor(product.metal)` (gold for goldbacks), when known. */
  spotUsdPerOz?: number | null;
  /** This vendor's previous accepted price for the product, when known. */
  previousPrice?: number | null;
  /** Median of all vendors' prices for the product in the current window, when known. */
  windowMedian?: number | null;
  /** Overrides of DEFAULT_SANITY_LIMITS (per-metal maps merge key by key). */
  limits?: Partial<Omit<SanityLimits, 'maxPremiumPct' | 'ranges'>> & { maxPremiumPct?: Partial<Record<Metal, number>>; ranges?: Partial<PriceRanges> };
}

export interface PriceJudgement {
  /** `rejected`: not stored as a price. `flagged`: stored, but worth a look. */
  verdict: 'ok' | 'rejected' | 'flagged';
  /** One line: which check decided, with the numbers. */
  reason: string;
}

function positive(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

function pct(n: number): string {
  return `${n >= 0 ? '+' : ''}${n.toFixed(1)}%`;
}

/** The limits with overrides applied. */
export function resolveLimits(overrides: JudgePriceInput['limits'] = {}): SanityLimits {
  const d = DEFAULT_SANITY_LIMITS;
  return {
    belowMeltTolerancePct: overrides.belowMeltTolerancePct ?? d.belowMeltTolerancePct,
    maxPremiumPct: { ...d.maxPremiumPct, ...(overrides.maxPremiumPct ?? {}) },
    maxJumpPct: overrides.maxJumpPct ?? d.maxJumpPct,
    maxMedianDeviationPct: overrides.maxMedianDeviationPct ?? d.maxMedianDeviationPct,
    ranges: { ...d.ranges, ...(overrides.ranges ?? {}) },
  };
}

/**
 * The verdict of judgePrice's melt and range checks without building a reason: cheap enough to run
 * on every candidate amount of a page. Jumps against previous prices are not part of it.
 */
export function isPlausiblePrice(price: number, product: ProductIdentity, spotUsdPerOz?: number | null, limits: SanityLimits = DEFAULT_SANITY_LIMITS): boolean {
  if (!positive(price) || !product || !positive(product.weightOz)) return false;
  if (positive(spotUsdPerOz)) {
    const premium = (price / meltValue(product, spotUsdPerOz) - 1) * 100;
    return premium >= -limits.belowMeltTolerancePct && premium <= limits.maxPremiumPct[product.metal];
  }
  const range = limits.ranges[product.metal];
  return !!range && price >= range.min * product.weightOz && price <= range.max * product.weightOz;
}

/**
 * Is an extracted price believable? With a spot price: rejected below melt value (less the
 * tolerance) or above the metal's premium ceiling. Without one: the per-metal range check.
 * Then, for a price that passed: flagged when it jumps more than `maxJumpPct` from the vendor's
 * previous price or lies more than `maxMedianDeviationPct` from the window's cross-vendor median.
 * Pure: the caller looks up spot, previous price and median.
 */
export function judgePrice(input: JudgePriceInput): PriceJudgement {
  const { price, product } = input;
  const limits = resolveLimits(input.limits);
  const what = `${product?.metal ?? '?'} ${product ? describeWeight(product) : ''} (${product?.coin ?? '?'})`;
  if (!positive(price)) return { verdict: 'rejected', reason: `price ${String(price)} for ${what} is not a positive amount` };
  if (!product || !positive(product.weightOz)) return { verdict: 'rejected', reason: `price ${usd(price)} cannot be checked: ${product?.coin ?? 'product'} has no valid weight` };

  if (positive(input.spotUsdPerOz)) {
    const spot = input.spotUsdPerOz;
    const melt = meltValue(product, spot);
    const premium = (price / melt - 1) * 100;
    const spotName = `${spotMetalFor(product.metal)} spot ${usd(spot)}/oz`;
    if (premium < -limits.belowMeltTolerancePct) {
      return {
        verdict: 'rejected',
        reason: `price ${usd(price)} for ${what} is ${pct(premium)} against its melt value ${usd(melt)} at ${spotName}; below melt by more than ${limits.belowMeltTolerancePct}%`,
      };
    }
    const ceiling = limits.maxPremiumPct[product.metal];
    if (premium > ceiling) {
      return {
        verdict: 'rejected',
        reason: `price ${usd(price)} for ${what} is ${pct(premium)} over its melt value ${usd(melt)} at ${spotName}; the ${product.metal} ceiling is +${ceiling}%`,
      };
    }
  } else {
    const range = checkPriceRange(price, product, limits.ranges);
    if (!range.ok) return { verdict: 'rejected', reason: `${range.reason} (no spot price known)` };
  }

  const flags: string[] = [];
  if (positive(input.previousPrice)) {
    const jump = (price / input.previousPrice - 1) * 100;
    if (Math.abs(jump) > limits.maxJumpPct) flags.push(`${pct(jump)} against this vendor's previous price ${usd(input.previousPrice)} (limit ${limits.maxJumpPct}%)`);
  }
  if (positive(input.windowMedian)) {
    const dev = (price / input.windowMedian - 1) * 100;
    if (Math.abs(dev) > limits.maxMedianDeviationPct) flags.push(`${pct(dev)} against the cross-vendor median ${usd(input.windowMedian)} (limit ${limits.maxMedianDeviationPct}%)`);
  }
  if (flags.length) return { verdict: 'flagged', reason: `price ${usd(price)} for ${what} moved: ${flags.join('; ')}` };
  const basis = positive(input.spotUsdPerOz)
    ? `${pct((price / meltValue(product, input.spotUsdPerOz) - 1) * 100)} over melt at ${spotMetalFor(product.metal)} spot ${usd(input.spotUsdPerOz)}/oz`
    : 'within the per-metal range (no spot price known)';
  return { verdict: 'ok', reason: `price ${usd(price)} for ${what}: ${basis}` };
}
