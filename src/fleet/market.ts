import { modelInStock, modelPrice, type SpotPrices } from './price-model.js';
import type { FleetTarget } from './routes.js';
import type { Settings } from './state.js';

/** What the fleet's pricing depends on besides the patches. */
export interface MarketContext {
  seed: number;
  spot: SpotPrices;
  /** 15-minute window index (see windowIndex()). */
  window: number;
}

/**
 * What a product page currently advertises for its catalogue product.
 * - `price`: the 1-unit check/wire price, shown even when out of stock.
 * - `inStock`: can be bought now; false on an out-of-stock page and on a pre-order page.
 * - `preorder`: the page offers a pre-order (purchasable later; vendor rules decide whether that counts).
 */
export interface Truth {
  price: number;
  inStock: boolean;
  preorder: boolean;
}

export function truthOf(t: FleetTarget, s: Settings, ctx: MarketContext): Truth {
  const price = s.price ?? modelPrice({ ...ctx, vendor: t.vendor, coin: t.coin, metal: t.metal, weightOz: t.weightOz });
  const preorder = s.preorder ?? false;
  const stocked = s.inStock ?? modelInStock(ctx.seed, t.vendor, t.coin);
  return { price, inStock: stocked && !preorder, preorder };
}
