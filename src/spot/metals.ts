import type { Metal as CatalogueMetal } from '../catalogue/target.js';

/** The four metals of the spot feed, spelled as the published spot files spell them. */
export const SPOT_METALS = ['Gold', 'Silver', 'Platinum', 'Palladium'] as const;
export type SpotMetal = (typeof SPOT_METALS)[number];

/** MetalPriceAPI currency code of each metal. */
export const METAL_CODES: Readonly<Record<SpotMetal, string>> = { Gold: 'XAU', Silver: 'XAG', Platinum: 'XPT', Palladium: 'XPD' };

/** The catalogue's name of each spot metal (the extractor's sanity check is keyed by these). */
export const CATALOGUE_METAL: Readonly<Record<SpotMetal, CatalogueMetal>> = { Gold: 'gold', Silver: 'silver', Platinum: 'platinum', Palladium: 'palladium' };

/** Lowest spot accepted, USD per troy oz: below it a value is a unit or format mistake, not a market. */
export const SPOT_MIN_USD = 5;
/** Highest spot accepted, USD per troy oz. */
export const SPOT_MAX_USD = 50_000;

export function isSpotMetal(value: unknown): value is SpotMetal {
  return typeof value === 'string' && (SPOT_METALS as readonly string[]).includes(value);
}

/** The spot metal of a MetalPriceAPI code (`XAU` -> `Gold`), or null. */
export function metalOfCode(code: string): SpotMetal | null {
  return SPOT_METALS.find((m) => METAL_CODES[m] === code) ?? null;
}

/** Why a spot value is refused (`$1.00 is outside $5..$50,000 per oz`), or null when it is a plausible price. */
export function spotValueProblem(value: number): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${String(value)} is not a finite number`;
  if (value < SPOT_MIN_USD || value > SPOT_MAX_USD) return `$${value} is outside $${SPOT_MIN_USD}..$${SPOT_MAX_USD.toLocaleString('en-US')} per oz`;
  return null;
}
