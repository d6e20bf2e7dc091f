/** Metals the catalogue knows. `goldback` is priced per note, not per troy ounce of metal. */
export const METALS = ['gold', 'silver', 'platinum', 'palladium', 'goldback'] as const;
export type Metal = (typeof METALS)[number];

/** What the extractor and the sanity check need to know about the product a page should show. */
export interface ProductIdentity {
  /** Catalogue slug, e.g. `ase`. */
  coin: string;
  /** Human name from the catalogue, e.g. `American Silver Eagle 1 oz`. */
  coinName: string;
  metal: Metal;
  /** Troy ounces of metal per unit (for `goldback`: notes per unit, normally 1). */
  weightOz: number;
}

/** One enabled coin x vendor entry of the catalogue: the unit the scheduler and the workers deal in. */
export interface Target extends ProductIdentity {
  /** Vendor id as in the catalogue, e.g. `apmex`. Also names the scrape queue (`scrape.apmex`). */
  vendor: string;
  vendorName: string;
  /** Product URLs, tried in order; the first one that yields a price wins. */
  urls: string[];
  /** Scrape interval for this target in minutes, when the catalogue overrides the poller's default. */
  intervalMinutes?: number;
}

/** `coin:vendor`, the stable key of a target across pollers. */
export function targetKey(t: Pick<Target, 'coin' | 'vendor'>): string {
  return `${t.coin}:${t.vendor}`;
}
