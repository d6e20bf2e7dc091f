import { formatUsd } from '../money.js';
import {
  breadcrumbs,
  carousel,
  descriptionBlock,
  esc,
  htmlDocument,
  ldJson,
  megaMenu,
  productLd,
  reviewsBlock,
  schemaAvailability,
  scriptJson,
  siteFooter,
  spotTicker,
  stockAndButton,
  tierPrices,
  vendorScripts,
} from './parts.js';
import type { PageModel, PageStyle, Tier, TierPrices } from './types.js';

/** JM Bullion's ladders: coarser for gold and platinum, finer for silver and goldbacks. */
const LADDERS: Record<'bullion' | 'bulk', Tier[]> = {
  bullion: [
    { label: '1 - 9', discount: 0 },
    { label: '10 - 19', discount: 0.005 },
    { label: '20 - 49', discount: 0.01 },
    { label: '50+', discount: 0.015 },
  ],
  bulk: [
    { label: '1 - 19', discount: 0 },
    { label: '20 - 99', discount: 0.01 },
    { label: '100 - 499', discount: 0.02 },
    { label: '500+', discount: 0.03 },
  ],
};

const COLUMNS: Array<[keyof Omit<TierPrices, 'label'>, string]> = [
  ['check', '(e)Check/Wire'],
  ['crypto', 'Crypto'],
  ['card', 'Card/PayPal'],
];

/** Silver pages carry a real table. */
function pricingTable(rows: TierPrices[]): string {
  const head = `<tr><th>Quantity</th>${COLUMNS.map(([, h]) => `<th>${h}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr><td>${r.label}</td>${COLUMNS.map(([k]) => `<td>${formatUsd(r[k])}</td>`).join('')}</tr>`).join('');
  return `<table class="payment-table"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

/** Gold and platinum pages lay the same numbers out as columns of divs: header, then one cell per tier. */
function pricingColumns(rows: TierPrices[]): string {
  const qty = `<div class="price-col price-col--qty"><div class="price-col__head">Quantity</div>${rows.map((r) => `<div class="price-col__cell">${r.label}</div>`).join('')}</div>`;
  const cols = COLUMNS.map(([k, h]) => `<div class="price-col price-col--${k}"><div class="price-col__head">${h}</div>${rows.map((r) => `<div class="price-col__cell">${formatUsd(r[k])}</div>`).join('')}</div>`).join('');
  return `<div class="price-columns" role="table" aria-label="Pricing">${qty}${cols}</div>`;
}

/**
 * JM Bullion: a Next.js page. Pricing table (Quantity | (e)Check/Wire | Crypto | Card/PayPal) for silver and
 * goldbacks, the same as div columns for gold and platinum. Traps: "As Low As" with the largest tier, JSON-LD
 * Offer whose price is that "as low as" figure, mega-menu of fractional eagles, "Sold Out"/"Pre-Order" words.
 */
export const jmbullionStyle: PageStyle = {
  id: 'jmbullion',
  challengeStatus: 503,
  render(m: PageModel): string {
    const coarse = m.product.metal === 'gold' || m.product.metal === 'platinum';
    const rows = tierPrices(m, LADDERS[coarse ? 'bullion' : 'bulk']);
    const low = rows[rows.length - 1].check;
    const ld = productLd(m, { price: low.toFixed(2), availability: schemaAvailability(m.availability), itemCondition: 'https://schema.org/NewCondition' });
    const nextData = {
      props: { pageProps: { productId: m.product.productId, slug: m.canonicalPath.replace(/\//g, ''), title: m.product.name, category: m.product.metal, reviewsCount: m.reviews.length } },
      page: '/[...slug]',
      query: {},
      buildId: `jm-${m.product.productId % 997}`,
      isFallback: false,
      gssp: true,
    };
    const body = `<div id="__next">
<div class="top-bar">${spotTicker(m, 'header-spot')}<a class="top-bar__phone" href="tel:18005765297">1-800-276-6508</a></div>
<header class="header"><a class="header__logo" href="/${m.vendor.id}/">JM Bullion</a><input class="header__search" placeholder="Search JM Bullion"><a class="header__cart" href="/${m.vendor.id}/cart">Cart</a></header>
${megaMenu(m, 'mm')}
<main class="product-page">
${breadcrumbs(m, 'crumbs')}
<div class="product-page__top">
<div class="product-page__images"><img src="/static/img/p/${m.product.productId}.jpg" alt="${esc(m.product.name)}" width="520" height="520"></div>
<div class="product-page__summary">
<h1 class="product-title">${esc(m.product.name)}</h1>
<div class="as-low-as"><span>As Low As</span> <span class="as-low-as__price">${formatUsd(low)}</span></div>
<div class="pricing-wrapper">${coarse ? pricingColumns(rows) : pricingTable(rows)}</div>
${stockAndButton(m, 'pdp', { inStock: 'In Stock', outOfStock: 'Sold Out', preorder: 'Pre-Order', addToCart: 'Add to Cart', notify: 'Notify Me When Available', preorderButton: 'Pre-Order Now' })}
<p class="pdp__ships">Free shipping on orders over $199 &middot; Ships within 1-2 business days of payment clearing</p>
</div>
</div>
${descriptionBlock(m, 'pdp-description')}
${carousel(m, { title: 'Customers Also Bought', cls: 'also-bought', soldOutText: 'Sold Out' })}
${reviewsBlock(m, 'pdp-reviews')}
</main>
${siteFooter(m, 'footer')}
</div>
<script id="__NEXT_DATA__" type="application/json">${scriptJson(nextData)}</script>
${vendorScripts(m, `gtag('event','view_item',{currency:'USD',value:${rows[0].card}});`)}`;
    return htmlDocument({
      title: `${m.product.name} | JM Bullion`,
      cssPrefix: 'jm',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta name="next-head-count" content="6">\n${ldJson(ld)}`,
      body,
    });
  },
};
