import { formatUsd, formatUsdWhole } from '../money.js';
import {
  breadcrumbs,
  carousel,
  DEFAULT_STOCK_WORDS,
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
  type StockWords,
} from './parts.js';
import type { PageModel, PageStyle, Tier, TierPrices } from './types.js';

/** How one Magento dealer dresses the shared Magento 2 product page. */
export interface MagentoOptions {
  id: string;
  brand: string;
  cssPrefix: string;
  ladder: Tier[];
  /** Column headers: check/wire, crypto, card. */
  columns: [string, string, string];
  /** The volume pricing as a `<table>` or as a grid of divs. */
  layout: 'table' | 'grid';
  /** Show an "As Low As" badge with the largest tier's price next to the title. */
  asLowAs: boolean;
  /**
   * The price the page headlines (price box, `product:price:amount`, Offer, Magento's price config): the 1-unit
   * check/wire price, or the card price with the check/wire discount only in the volume table.
   */
  headline: 'check' | 'card';
  /** JSON-LD: an Offer at the headline price, or an AggregateOffer whose lowPrice is the largest tier. */
  jsonLd: 'offer' | 'aggregate';
  /** Related sections under the product, in order. */
  related: Array<{ title: string; whole?: boolean }>;
  /** An "Add on Items" box with accessories priced in dollars. */
  addOns: boolean;
  /** "Featured Deal ... Starting at $X" teasers inside the mega-menu. */
  menuTeasers: boolean;
  words: StockWords;
  challengeStatus: 200 | 503;
}

const COLUMN_KEYS = ['check', 'crypto', 'card'] as const;

function tiersAsTable(o: MagentoOptions, rows: TierPrices[]): string {
  const head = `<tr><th>Quantity</th>${o.columns.map((c) => `<th>${c}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr><td class="qty">${r.label}</td>${COLUMN_KEYS.map((k) => `<td class="price">${formatUsd(r[k])}</td>`).join('')}</tr>`).join('');
  return `<table class="pricing-table data table"><thead>${head}</thead><tbody>${body}</tbody></table>`;
}

function tiersAsGrid(o: MagentoOptions, rows: TierPrices[]): string {
  const head = `<div class="tier-grid__row tier-grid__row--head"><div class="tier-grid__cell">Qty</div>${o.columns.map((c) => `<div class="tier-grid__cell">${c}</div>`).join('')}</div>`;
  const body = rows.map((r) => `<div class="tier-grid__row"><div class="tier-grid__cell tier-grid__qty">${r.label}</div>${COLUMN_KEYS.map((k) => `<div class="tier-grid__cell tier-grid__price" data-method="${k}">${formatUsd(r[k])}</div>`).join('')}</div>`).join('');
  return `<div class="tier-grid">${head}${body}</div>`;
}

const ADD_ONS: Array<[string, number]> = [
  ['Air-Tite Coin Capsule (10 Pack)', 9.95],
  ['Mint Tube for 1 oz Coins', 1.49],
  ['Bullion Storage Box', 24.99],
  ['Shipping Insurance Upgrade', 5],
];

/**
 * A Magento 2 dealer page: `.product-info-main` with `h1.page-title`, a `.price-box` whose `data-price-amount`
 * is the 1-unit price, `.stock.available`/`.stock.unavailable`, `#product-addtocart-button`, a
 * `text/x-magento-init` script with the price config and tier prices, and the dealer's volume-pricing block.
 */
export function magentoStyle(o: MagentoOptions): PageStyle {
  return { id: o.id, challengeStatus: o.challengeStatus, render: (m) => renderMagento(o, m) };
}

function renderMagento(o: MagentoOptions, m: PageModel): string {
  const rows = tierPrices(m, o.ladder);
  const low = rows[rows.length - 1].check;
  const id = m.product.productId;
  const shown = o.headline === 'card' ? rows[0].card : m.price;
  const label = o.headline === 'card' ? 'Price' : `${o.columns[0]} Price`;
  const offer =
    o.jsonLd === 'offer'
      ? { price: shown.toFixed(2), availability: schemaAvailability(m.availability) }
      : { '@type': 'AggregateOffer', lowPrice: low.toFixed(2), highPrice: rows[0].card.toFixed(2), availability: schemaAvailability(m.availability) };
  const init = {
    '#product_addtocart_form': {
      priceBox: { priceConfig: { productId: String(id), priceFormat: { pattern: '$%s', precision: 2 }, prices: { basePrice: { amount: shown }, finalPrice: { amount: shown } } } },
      tierPrices: rows.slice(1).map((r, i) => ({ qty: [10, 25, 100, 500][i] ?? 1000, price: r.check, percentage: Math.round((1 - r.check / shown) * 100) })),
    },
  };
  const stockClass = m.availability === 'out_of_stock' ? 'unavailable' : 'available';
  const badge = o.asLowAs ? `<div class="as-low-as"><span class="as-low-as__label">As Low As</span> <span class="as-low-as__price">${formatUsd(low)}</span></div>` : '';
  const addOns = o.addOns
    ? `<div class="block add-on-items"><strong class="block-title">Add on Items</strong><ol>${ADD_ONS.map(([n, p]) => `<li><label><input type="checkbox" name="addon[]"> ${esc(n)}</label> <span class="price">${Number.isInteger(p) ? formatUsdWhole(p) : formatUsd(p)}</span></li>`).join('')}</ol></div>`
    : '';
  const body = `<div class="page-wrapper">
<header class="page-header">
<div class="panel header">${spotTicker(m, 'spot-bar')}</div>
<div class="header content"><a class="logo" href="/${m.vendor.id}/">${esc(o.brand)}</a><div class="block block-search"><input id="search" name="q" placeholder="Search entire store here..."></div><div class="minicart-wrapper"><a class="action showcart" href="/${m.vendor.id}/checkout/cart/">My Cart</a></div></div>
</header>
<div class="sections nav-sections">${megaMenu(m, 'navigation', o.menuTeasers)}</div>
<main id="maincontent" class="page-main">
${breadcrumbs(m, 'breadcrumbs')}
<div class="columns"><div class="column main">
<div class="product media"><img class="gallery-placeholder__image" src="/static/img/p/${id}.jpg" alt="${esc(m.product.name)}" width="560" height="560"></div>
<div class="product-info-main">
<div class="page-title-wrapper product"><h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper" itemprop="name">${esc(m.product.name)}</span></h1></div>
<div class="product attribute sku"><strong class="type">SKU</strong> <div class="value" itemprop="sku">${m.product.sku}</div></div>
${badge}
<div class="product-info-price"><div class="price-box price-final_price" data-role="priceBox" data-product-id="${id}" data-price-box="product-id-${id}"><span class="price-container price-final_price tax weee"><span class="price-label">${esc(label)}</span> <span id="product-price-${id}" data-price-amount="${shown}" data-price-type="finalPrice" class="price-wrapper"><span class="price">${formatUsd(shown)}</span></span></span></div>
<div class="product-info-stock-sku"><div class="stock ${stockClass}" title="Availability"><span>${m.availability === 'out_of_stock' ? o.words.outOfStock : m.availability === 'preorder' ? o.words.preorder : o.words.inStock}</span></div></div></div>
<div class="volume-pricing"><strong class="volume-pricing__title">Volume Pricing</strong>${o.layout === 'table' ? tiersAsTable(o, rows) : tiersAsGrid(o, rows)}</div>
<div class="product-add-form" id="product_addtocart_form">${stockAndButton(m, 'box-tocart', o.words, 'id="product-addtocart-button"')}</div>
${addOns}
</div>
</div></div>
${descriptionBlock(m, 'product-info-detailed')}
${o.related.map((r) => carousel(m, { title: r.title, cls: 'block-related', whole: r.whole })).join('\n')}
${reviewsBlock(m, 'review-list')}
</main>
${siteFooter(m, 'page-footer')}
</div>
<script type="text/x-magento-init">${scriptJson(init)}</script>
${vendorScripts(m)}`;
  return htmlDocument({
    title: `${m.product.name} | ${o.brand}`,
    cssPrefix: o.cssPrefix,
    head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta property="product:price:amount" content="${shown.toFixed(2)}">\n<meta property="product:price:currency" content="USD">\n${ldJson(productLd(m, offer))}`,
    bodyAttrs: `class="catalog-product-view product-${esc(m.canonicalPath.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, ''))} page-layout-1column"`,
    body,
  });
}

export const sdbullionStyle = magentoStyle({
  id: 'sdbullion',
  brand: 'SD Bullion',
  cssPrefix: 'sd',
  ladder: [
    { label: '1 - 9', discount: 0 },
    { label: '10 - 49', discount: 0.006 },
    { label: '50 - 99', discount: 0.012 },
    { label: '100+', discount: 0.02 },
  ],
  columns: ['eCheck/Wire', 'Crypto', 'Credit Card/PayPal'],
  layout: 'table',
  asLowAs: false,
  headline: 'check',
  jsonLd: 'offer',
  related: [{ title: 'Customers Also Purchased' }, { title: 'Recently Viewed', whole: true }],
  addOns: true,
  menuTeasers: true,
  words: { ...DEFAULT_STOCK_WORDS, outOfStock: 'Out of stock', inStock: 'In stock' },
  challengeStatus: 503,
});

export const monumentmetalsStyle = magentoStyle({
  id: 'monumentmetals',
  brand: 'Monument Metals',
  cssPrefix: 'mm',
  ladder: [
    { label: '1 - 24', discount: 0 },
    { label: '25 - 99', discount: 0.01 },
    { label: '100 - 499', discount: 0.015 },
    { label: '500+', discount: 0.025 },
  ],
  columns: ['eCheck/Wire', 'Crypto', 'Card/PayPal'],
  layout: 'table',
  asLowAs: true,
  headline: 'check',
  jsonLd: 'aggregate',
  related: [{ title: 'You May Also Like' }],
  addOns: false,
  menuTeasers: true,
  words: DEFAULT_STOCK_WORDS,
  challengeStatus: 200,
});

export const providentmetalsStyle = magentoStyle({
  id: 'providentmetals',
  brand: 'Provident Metals',
  cssPrefix: 'pm',
  ladder: [
    { label: '1 - 19', discount: 0 },
    { label: '20 - 99', discount: 0.008 },
    { label: '100 - 499', discount: 0.016 },
    { label: '500+', discount: 0.024 },
  ],
  columns: ['Check/Wire (save 4%)', 'Bitcoin', 'Credit Card'],
  layout: 'grid',
  asLowAs: false,
  headline: 'card',
  jsonLd: 'offer',
  related: [{ title: 'Related Products', whole: true }],
  addOns: false,
  menuTeasers: false,
  words: { ...DEFAULT_STOCK_WORDS, outOfStock: 'Sold Out' },
  challengeStatus: 503,
});
