import type { Metal } from '../../catalogue/target.js';
import { hash32, unit } from '../hash.js';
import type { Truth } from '../market.js';
import { spotQuote, type SpotPrices } from '../price-model.js';
import { fractionalPrice, fractionalVariant, MENU_EXTRAS, slugify, type ProductInfo } from '../products.js';
import type { FleetTarget, RouteTable } from '../routes.js';
import type { MenuSection, PageModel, RelatedItem, Review, SpotTick } from './types.js';

export interface PageModelInput {
  target: FleetTarget;
  truth: Truth;
  /** Show the fractional sibling instead of the catalogue product. */
  wrongProduct: boolean;
  routes: RouteTable;
  /** What another target of the same vendor advertises (carousel prices). */
  truthOf(t: FleetTarget): Truth;
  seed: number;
  spot: SpotPrices;
  window: number;
}

/** How many other catalogue products the carousel shows. */
const RELATED_COUNT = 6;

export function buildPageModel(i: PageModelInput): PageModel {
  const t = i.target;
  const full: ProductInfo = { name: t.coinName, metal: t.metal, weightOz: t.weightOz };
  const shown = i.wrongProduct ? fractionalVariant(full) : full;
  const productId = 1000 + (hash32(`${t.vendor}|${shown.name}`) % 900_000);
  return {
    vendor: i.routes.vendors.get(t.vendor) ?? { id: t.vendor, name: t.vendorName, host: `www.${t.vendor}.com` },
    product: { ...shown, coin: t.coin, sku: `${t.coin.toUpperCase().replace(/-/g, '')}-${productId}`, productId },
    price: i.wrongProduct ? fractionalPrice(i.truth.price, full, shown) : i.truth.price,
    availability: i.truth.preorder ? 'preorder' : i.truth.inStock ? 'in_stock' : 'out_of_stock',
    canonicalPath: i.wrongProduct ? `/${slugify(shown.name)}` : t.originalPath,
    spot: spotTicks(i.seed, i.spot, i.window),
    related: relatedItems(i, full),
    menu: menuFor(i.routes, t.vendor),
    reviews: reviewsFor(i.seed, t),
    pick: (key) => unit(i.seed, 'page', t.vendor, t.coin, key),
  };
}

const TICKER_METALS: Array<[SpotTick['metal'], string]> = [
  ['gold', 'Gold'],
  ['silver', 'Silver'],
  ['platinum', 'Platinum'],
  ['palladium', 'Palladium'],
];

export function spotTicks(seed: number, spot: SpotPrices, window: number): SpotTick[] {
  return TICKER_METALS.map(([metal, label]) => ({ metal, label, ...spotQuote(seed, metal, spot, window) }));
}

/** Smaller sizes of the product first (the last one sold out), then other catalogue products of the vendor. */
function relatedItems(i: PageModelInput, full: ProductInfo): RelatedItem[] {
  const t = i.target;
  const fractions = t.metal === 'goldback' ? [fractionalVariant(full)] : [fractionalVariant(full, '1/2'), fractionalVariant(full, '1/4')];
  const siblings = fractions.map((part, n) => ({
    name: part.name,
    href: `/${t.vendor}/${slugify(part.name)}`,
    price: fractionalPrice(i.truth.price, full, part),
    inStock: n < fractions.length - 1, // every page shows at least one sold-out badge that is not its own
  }));
  const others = i.routes
    .ofVendor(t.vendor)
    .filter((o) => o.coin !== t.coin)
    .sort((a, b) => Number(b.metal === t.metal) - Number(a.metal === t.metal) || hash32(a.coin + t.coin) - hash32(b.coin + t.coin))
    .slice(0, RELATED_COUNT)
    .map((o) => {
      const truth = i.truthOf(o);
      return { name: o.coinName, href: o.paths[0], price: truth.price, inStock: truth.inStock };
    });
  return [...siblings, ...others];
}

const SECTION_TITLES: Record<Metal, string> = { gold: 'Gold', silver: 'Silver', platinum: 'Platinum', palladium: 'Palladium', goldback: 'Goldbacks' };
const menuCache = new WeakMap<RouteTable, Map<string, MenuSection[]>>();

/** The vendor's mega-menu: its catalogue products, their fractional sizes, and the usual extras. */
function menuFor(routes: RouteTable, vendor: string): MenuSection[] {
  let perVendor = menuCache.get(routes);
  if (!perVendor) menuCache.set(routes, (perVendor = new Map()));
  const cached = perVendor.get(vendor);
  if (cached) return cached;
  const sections = (Object.keys(SECTION_TITLES) as Metal[]).map((metal) => {
    const items: MenuSection['items'] = [];
    for (const t of routes.ofVendor(vendor).filter((x) => x.metal === metal)) {
      items.push({ name: t.coinName, href: t.paths[0] });
      const full = { name: t.coinName, metal, weightOz: t.weightOz };
      const sizes = metal === 'gold' || metal === 'platinum' ? (['1/2', '1/4', '1/10'] as const) : metal === 'goldback' ? (['1/2'] as const) : [];
      for (const f of sizes) {
        const part = fractionalVariant(full, f);
        items.push({ name: part.name, href: `/${vendor}/${slugify(part.name)}` });
      }
    }
    for (const name of MENU_EXTRAS[metal]) items.push({ name, href: `/${vendor}/${slugify(name)}` });
    return { title: SECTION_TITLES[metal], items };
  });
  perVendor.set(vendor, sections);
  return sections;
}

const REVIEW_POOL: Array<Omit<Review, 'date'>> = [
  { author: 'Mike R.', rating: 5, title: 'Fast shipping', body: 'Ordered on Monday, arrived Thursday. Coins were in perfect condition in a sealed tube.' },
  { author: 'Dana K.', rating: 5, title: 'Back in stock at last', body: 'These were sold out for weeks. I signed up so they would notify me when available again and I jumped on it the day they came back.' },
  { author: 'Tom W.', rating: 4, title: 'Good price', body: 'A few dollars better than the other big dealers, and I paid $31.50 each for these back in 2019. Packaging could be better.' },
  { author: 'Luis G.', rating: 5, title: 'Will buy again', body: 'I asked customer service to notify me when my order shipped and they did within the hour.' },
  { author: 'Karen P.', rating: 5, title: 'Beautiful', body: 'Out of stock at two other dealers, so glad I found them here. Mint condition.' },
  { author: 'Steve B.', rating: 3, title: 'Slow to ship', body: 'Took 9 days to ship. The product itself is great, and the check/wire discount saved me about $40 on a $1,200 order.' },
  { author: 'Jen A.', rating: 5, title: 'Great for stacking', body: 'Third order this year. Prices beat the local coin shop by a mile.' },
  { author: 'Ray M.', rating: 5, title: 'Smooth transaction', body: 'Wire transfer was easy and the order shipped the next business day. Pre-order items arrived on the promised date too.' },
];

/** Five reviews per page, always including one whose prose says "notify me". */
function reviewsFor(seed: number, t: FleetTarget): Review[] {
  const start = Math.floor(unit(seed, 'reviews', t.vendor, t.coin) * REVIEW_POOL.length);
  const picked = Array.from({ length: 5 }, (_, k) => REVIEW_POOL[(start + k) % REVIEW_POOL.length]);
  if (!picked.some((r) => /notify me/i.test(r.body))) picked[4] = REVIEW_POOL[3];
  return picked.map((r, k) => ({ ...r, date: `2026-0${1 + ((start + k) % 9)}-${String(10 + k * 3).padStart(2, '0')}` }));
}
