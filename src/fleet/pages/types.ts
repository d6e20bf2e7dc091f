import type { Metal } from '../../catalogue/target.js';
import type { ProductInfo } from '../products.js';
import type { FleetVendor } from '../routes.js';

export type Availability = 'in_stock' | 'out_of_stock' | 'preorder';

/** One header ticker entry: `Gold $5,012.40 +12.30`. */
export interface SpotTick {
  metal: Exclude<Metal, 'goldback'>;
  label: string;
  price: number;
  change: number;
}

/** Another product shown around the main one (carousel, "customers also purchased"), with its own price. */
export interface RelatedItem {
  name: string;
  href: string;
  price: number;
  inStock: boolean;
}

export interface MenuSection {
  title: string;
  items: Array<{ name: string; href: string }>;
}

export interface Review {
  author: string;
  rating: number;
  title: string;
  body: string;
  date: string;
}

/** Everything a page style needs to render one product page. */
export interface PageModel {
  vendor: FleetVendor;
  /** The product the page shows: the catalogue coin, or its fractional sibling under the wrong-product fault. */
  product: ProductInfo & { coin: string; sku: string; productId: number };
  /** The 1-unit check/wire price the page advertises for that product. */
  price: number;
  availability: Availability;
  /** Path of the page on the dealer's own site (canonical links). */
  canonicalPath: string;
  spot: SpotTick[];
  related: RelatedItem[];
  menu: MenuSection[];
  reviews: Review[];
  /** A draw in [0, 1) fixed by the seed, the vendor, the product and the key: the page's deterministic variety. */
  pick(key: string): number;
}

/** One quantity tier of a pricing table. */
export interface Tier {
  label: string;
  /** Fraction off the 1-unit price. */
  discount: number;
}

export interface TierPrices {
  label: string;
  check: number;
  crypto: number;
  card: number;
}

/** How one dealer builds its pages. */
export interface PageStyle {
  id: string;
  /** Status of this dealer's Cloudflare challenge page (some dealers answer 200, others 503). */
  challengeStatus: 200 | 503;
  render(model: PageModel): string;
}
