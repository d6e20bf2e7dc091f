import type { ProductIdentity } from '../../catalogue/target.js';

/**
 * How a scrape of one page ended.
 * - `ok`: a price was found and the product can be bought.
 * - `out_of_stock`: a price was found (the advertised one) but the product cannot be bought now.
 * - `blocked`: a challenge page, a 403 or a bot wall.
 * - `not_found`: a 404 or a "product not found" page.
 * - `wrong_product`: the page is for another product or weight than the catalogue entry.
 * - `no_price`: the page is the product but no price could be read.
 */
export type ExtractOutcome = 'ok' | 'out_of_stock' | 'blocked' | 'not_found' | 'wrong_product' | 'no_price';

/** Per-vendor extraction hints. They live in data (config/vendors.json), never in code branches by vendor. */
export interface VendorRules {
  /** Pre-order counts as purchasable at this vendor. Default false. */
  preorderInStock?: boolean;
  /**
   * CSS selector of the element holding this vendor's 1-unit price (its `content` attribute or text).
   * When it yields an amount it wins over every generic rule (matchedBy `vendor-selector`). Default none.
   */
  priceSelector?: string;
  /** CSS selectors of extra regions never to read prices or stock from (vendor-specific tickers, widgets). Default none. */
  ignoreSelectors?: string[];
}

export interface ExtractInput {
  /** The page: raw HTML (HTTP tier), the rendered DOM serialised, or the rendered page text (browser tier). */
  html: string;
  /** HTTP status of the response, when known. */
  status?: number;
  /** Final URL of the page, when known. */
  url?: string;
  /** Vendor id, for messages and rules. */
  vendor: string;
  product: ProductIdentity;
  rules?: VendorRules;
  /**
   * Spot in USD per troy ounce of the product's metal (gold for goldbacks), when known: candidate
   * prices under melt value or over the metal's premium ceiling are then skipped (sanity.ts judgePrice).
   * Without it, the per-metal range check decides what is plausible.
   */
  spotUsdPerOz?: number | null;
}

export interface ExtractResult {
  /** The 1-unit price in USD, or null. Present for `out_of_stock` when the page advertises one. */
  price: number | null;
  /** Whether the product can be bought now; null when it could not be told. */
  inStock: boolean | null;
  outcome: ExtractOutcome;
  /** The rule that found the price (e.g. `jsonld-offer`, `pricing-table`), or null. */
  matchedBy: string | null;
  /** One line a person can read: why this outcome. */
  reason: string;
  /**
   * With `no_price` only: the strongest candidate that was found but failed the sanity check (below melt,
   * over the premium ceiling, outside the metal's range). Stored as a rejected row, never published.
   */
  rejected?: { price: number; matchedBy: string; reason: string };
}
