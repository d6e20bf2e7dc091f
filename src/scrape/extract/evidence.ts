/** What each rule reports back to extract.ts. */

export type Availability = 'in_stock' | 'out_of_stock' | 'preorder';

export type PriceRule = 'jsonld' | 'microdata' | 'meta' | 'app-state' | 'pricing-table' | 'page-text' | 'vendor-selector';

export interface PriceEvidence {
  rule: PriceRule;
  price: number;
  /**
   * `offer`: the price of an offer for one unit. `aggregate-low`: the low end of a price range
   * (an AggregateOffer's lowPrice, often the largest-tier "as low as" price). `tier`: a 1-unit row
   * of a pricing table. `text`: an amount read from the page text.
   */
  kind: 'offer' | 'aggregate-low' | 'tier' | 'text';
  /** Short human description for the reason line, e.g. `JSON-LD Offer price $92.30`. */
  detail: string;
  /** Availability stated next to this price, when any. */
  availability?: Availability;
}

/** Maps schema.org availability URLs and common stock words to an Availability, or null. */
export function parseAvailability(value: unknown): Availability | null {
  if (typeof value === 'boolean') return value ? 'in_stock' : 'out_of_stock';
  if (typeof value !== 'string') return null;
  const v = value
    .trim()
    .toLowerCase()
    .replace(/^https?:\/\/schema\.org\//, '')
    .replace(/[\s_-]+/g, '');
  if (!v) return null;
  if (['instock', 'limitedavailability', 'onlineonly', 'available', 'instockonly', 'true', 'yes', 'forsale', 'purchasable'].includes(v)) return 'in_stock';
  if (['outofstock', 'soldout', 'discontinued', 'unavailable', 'notavailable', 'instoreonly', 'false', 'no', 'oos'].includes(v)) return 'out_of_stock';
  if (['preorder', 'presale', 'backorder', 'backordered', 'comingsoon'].includes(v)) return 'preorder';
  return null;
}
