import { formatAmount, formatUsd, round2 } from '../money.js';
import { cardPrice } from '../price-model.js';
import { carousel, descriptionBlock, esc, htmlDocument, ldJson, megaMenu, reviewsBlock, scriptJson, siteFooter, spotTicker, tierPrices, vendorScripts } from './parts.js';
import type { PageModel, PageStyle, Tier } from './types.js';

const LADDER: Tier[] = [
  { label: '1-9', discount: 0 },
  { label: '10-24', discount: 0.005 },
  { label: '25-99', discount: 0.01 },
  { label: '100+', discount: 0.015 },
];

const cents = (n: number) => Math.round(n * 100);

/**
 * Summit Metals: a Shopify (Dawn) theme. The price block always holds "Regular price $X"; on half the products a
 * compare-at price is struck through ("Regular price <s>$higher</s> Sale price $X"), X being the 1-unit price.
 * Both badges "Sale" and "Sold out" are always in the markup (CSS shows the right one, from the classes of
 * `.price`); the truth is the submit button (`disabled` + "Sold out"), `ShopifyAnalytics.meta` and the product
 * JSON (prices in cents), and JSON-LD (http://schema.org, price in dollars). A volume-discount table follows.
 */
export const shopifyStyle: PageStyle = {
  id: 'shopify',
  challengeStatus: 503,
  render(m: PageModel): string {
    const rows = tierPrices(m, LADDER);
    const compareAt = m.pick('compare-at') < 0.5 ? round2(m.price * 1.03) : null;
    const soldOut = m.availability === 'out_of_stock';
    const priceClasses = ['price', 'price--large', compareAt ? 'price--on-sale' : '', soldOut ? 'price--sold-out' : '', 'price--show-badge'].filter(Boolean).join(' ');
    const variantId = 40_000_000_000 + m.product.productId;
    const productJson = {
      id: 7_000_000_000 + m.product.productId,
      title: m.product.name,
      handle: m.canonicalPath.split('/').pop(),
      price: cents(m.price),
      compare_at_price: compareAt ? cents(compareAt) : null,
      available: !soldOut,
      variants: [{ id: variantId, title: 'Default Title', sku: m.product.sku, price: cents(m.price), compare_at_price: compareAt ? cents(compareAt) : null, available: !soldOut, inventory_policy: m.availability === 'preorder' ? 'continue' : 'deny' }],
    };
    const meta = { product: { id: productJson.id, vendor: 'Summit Metals', type: `${m.product.metal} bullion`, variants: [{ id: variantId, price: cents(m.price), name: m.product.name, public_title: null, sku: m.product.sku }] }, page: { pageType: 'product', resourceType: 'product', resourceId: productJson.id } };
    const ld = {
      '@context': 'http://schema.org/',
      '@type': 'Product',
      name: m.product.name,
      url: `https://${m.vendor.host}${m.canonicalPath}`,
      sku: m.product.sku,
      brand: { '@type': 'Brand', name: 'Summit Metals' },
      offers: [{ '@type': 'Offer', availability: { in_stock: 'http://schema.org/InStock', out_of_stock: 'http://schema.org/OutOfStock', preorder: 'http://schema.org/PreOrder' }[m.availability], price: m.price, priceCurrency: 'USD', url: `https://${m.vendor.host}${m.canonicalPath}?variant=${variantId}` }],
    };
    const button = { in_stock: 'Add to cart', out_of_stock: 'Sold out', preorder: 'Pre-order' }[m.availability];
    const volume = rows.map((r) => `<tr><td>${r.label}</td><td>${formatUsd(r.check)}</td></tr>`).join('');
    const body = `<div class="announcement-bar" role="region"><p class="announcement-bar__message">Free insured shipping on orders over $199 &middot; Notify me about new arrivals: join our list</p></div>
<div class="spot-bar">${spotTicker(m, 'spot-bar')}</div>
<header class="header"><a href="/${m.vendor.id}/" class="header__heading-link"><span class="h2">Summit Metals</span></a>${megaMenu(m, 'mega-menu', false)}</header>
<main id="MainContent" class="content-for-layout" role="main">
<section id="shopify-section-main-product" class="shopify-section section">
<div class="product product--large grid grid--2-col-tablet">
<div class="product__media-wrapper"><img src="/static/img/p/${m.product.productId}.jpg" alt="${esc(m.product.name)}" width="600" height="600"></div>
<div class="product__info-wrapper"><div id="ProductInfo-main-product" class="product__info-container">
<p class="product__text caption-with-letter-spacing">Summit Metals</p>
<div class="product__title"><h1>${esc(m.product.name)}</h1></div>
<div class="no-js-hidden" id="price-main-product" role="status"><div class="${priceClasses}"><div class="price__container">
<div class="price__regular"><span class="visually-hidden visually-hidden--inline">Regular price</span><span class="price-item price-item--regular">${formatUsd(m.price)} USD</span></div>
<div class="price__sale"><span class="visually-hidden visually-hidden--inline">Regular price</span><span><s class="price-item price-item--regular">${compareAt ? `${formatUsd(compareAt)} USD` : ''}</s></span><span class="visually-hidden visually-hidden--inline">Sale price</span><span class="price-item price-item--sale price-item--last">${formatUsd(m.price)} USD</span></div>
<small class="unit-price caption hidden"><span class="visually-hidden">Unit price</span><span class="price-item price-item--last"></span></small>
</div><span class="badge price__badge-sale color-accent-2">Sale</span><span class="badge price__badge-sold-out color-inverse">Sold out</span></div></div>
<p class="product__card-price caption">Price shown for ACH/Wire. Card/PayPal: ${formatUsd(cardPrice(m.price))}</p>
<div class="product__volume"><table class="volume-discount"><caption>Volume Discounts</caption><thead><tr><th>Quantity</th><th>Price each</th></tr></thead><tbody>${volume}</tbody></table></div>
<form method="post" action="/${m.vendor.id}/cart/add" id="product-form-main-product" class="form" data-type="add-to-cart-form"><input type="hidden" name="id" value="${variantId}"><div class="product-form__buttons"><button id="ProductSubmitButton-main-product" type="submit" name="add" class="product-form__submit button button--full-width button--secondary"${soldOut ? ' disabled="disabled"' : ''}><span>${button}</span></button></div></form>
${m.availability === 'preorder' ? '<p class="product__preorder">Pre-order: this item ships when stock arrives from the mint.</p>' : ''}
</div></div></div>
</section>
${descriptionBlock(m, 'product__description')}
${carousel(m, { title: 'You may also like', cls: 'related-products', soldOutText: 'Sold out' })}
${reviewsBlock(m, 'spr-reviews')}
</main>
${siteFooter(m, 'footer')}
<script type="application/json" id="ProductJson-main-product">${scriptJson(productJson)}</script>
<script>window.ShopifyAnalytics = window.ShopifyAnalytics || {};window.ShopifyAnalytics.meta = window.ShopifyAnalytics.meta || {};var meta = ${scriptJson(meta)};for (var attr in meta) {window.ShopifyAnalytics.meta[attr] = meta[attr];}</script>
${vendorScripts(m)}`;
    return htmlDocument({
      title: `${m.product.name} – Summit Metals`,
      cssPrefix: 'sm',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta property="og:price:amount" content="${formatAmount(m.price)}">\n<meta property="og:price:currency" content="USD">\n${ldJson(ld)}`,
      bodyAttrs: 'class="gradient template-product"',
      body,
    });
  },
};
