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
  tierPrices,
  vendorScripts,
} from './parts.js';
import type { PageModel, PageStyle, Tier } from './types.js';

const LADDER: Tier[] = [
  { label: '1-9', discount: 0 },
  { label: '10-49', discount: 0.007 },
  { label: '50-99', discount: 0.014 },
  { label: '100+', discount: 0.021 },
];

/** The Stencil add-to-cart form: an `<input type=submit>` whose value and disabled state carry the availability. */
function addToCart(m: PageModel): string {
  const value = { in_stock: 'Add to Cart', out_of_stock: 'Sold Out', preorder: 'Pre-Order' }[m.availability];
  const alert = m.availability === 'out_of_stock' ? `<div class="alertBox productAttributes-message"><p class="alertBox-message">Sold Out</p></div><a class="button button--secondary notify-me" href="/${m.vendor.id}/back-in-stock?product=${m.product.productId}">Notify me when available</a>` : '';
  const pre = m.availability === 'preorder' ? `<p class="productView-preorder">Pre-Order: ships on or before the release date.</p>` : '';
  return `<form class="form" method="post" action="/${m.vendor.id}/cart.php" data-cart-item-add><input type="hidden" name="product_id" value="${m.product.productId}">${pre}${alert}<div class="form-field form-field--increments"><label class="form-label" for="qty[]">Quantity:</label><input class="form-input form-input--incrementTotal" id="qty[]" name="qty[]" type="tel" value="1"${m.availability === 'out_of_stock' ? ' disabled' : ''}></div><div class="form-action"><input id="form-action-addToCart" data-wait-message="Adding to cart…" class="button button--primary" type="submit" value="${value}"${m.availability === 'out_of_stock' ? ' disabled' : ''}></div></form>`;
}

/**
 * Hero Bullion: a BigCommerce Stencil theme. `h1.productView-title`, `[data-product-price-without-tax]` with the
 * 1-unit price, a volume-pricing table (Quantity | Check/Wire | Card/PayPal), `var BCData` with the price and
 * `instock`/`purchasable`, JSON-LD Offer at the 1-unit price. Traps: related cards with "Sold Out" badges.
 */
export const bigcommerceStyle: PageStyle = {
  id: 'bigcommerce',
  challengeStatus: 503,
  render(m: PageModel): string {
    const rows = tierPrices(m, LADDER);
    const table = rows.map((r) => `<tr><td>${r.label}</td><td>${formatUsd(r.check)}</td><td>${formatUsd(r.card)}</td></tr>`).join('');
    const bcData = {
      csrf_token: `${m.product.productId.toString(16)}a0f3c9e2`,
      product_attributes: {
        sku: m.product.sku,
        price: { without_tax: { formatted: formatUsd(m.price), value: m.price, currency: 'USD' }, tax_label: 'Tax' },
        stock: null,
        instock: m.availability !== 'out_of_stock',
        purchasable: m.availability !== 'out_of_stock',
        availability: m.availability === 'preorder' ? 'Pre-Order' : '',
        stock_message: null,
      },
    };
    const ld = productLd(m, { price: m.price.toFixed(2), availability: schemaAvailability(m.availability), itemCondition: 'https://schema.org/NewCondition' });
    const body = `<header class="header" role="banner">
<div class="header-spot">${spotTicker(m, 'spot-strip')}</div>
<h2 class="header-logo"><a href="/${m.vendor.id}/" class="header-logo__link">Hero Bullion</a></h2>
${megaMenu(m, 'navPages')}
</header>
<main class="body" id="main-content" role="main">
<div class="container">
${breadcrumbs(m, 'breadcrumbs')}
<div class="productView" data-entity-id="${m.product.productId}" data-event-type="product">
<section class="productView-images"><figure class="productView-image"><img src="/static/img/p/${m.product.productId}.jpg" alt="${esc(m.product.name)}" width="500" height="500"></figure></section>
<section class="productView-details product-data">
<div class="productView-product">
<h1 class="productView-title">${esc(m.product.name)}</h1>
<h2 class="productView-brand"><a href="/${m.vendor.id}/brands"><span>Hero Bullion</span></a></h2>
<div class="productView-price"><div class="price-section price-section--withoutTax"><span class="price-label">Check/Wire Price:</span> <span data-product-price-without-tax class="price price--withoutTax">${formatUsd(m.price)}</span></div></div>
<div class="productView-rating"><span class="productView-reviewLink"><a href="#reviews">${m.reviews.length} reviews</a></span></div>
<dl class="productView-info"><dt class="productView-info-name">SKU:</dt><dd class="productView-info-value" data-product-sku>${m.product.sku}</dd><dt class="productView-info-name">Availability:</dt><dd class="productView-info-value">${{ in_stock: 'In Stock - Ships in 1-2 business days', out_of_stock: 'Sold Out', preorder: 'Pre-Order' }[m.availability]}</dd></dl>
</div>
<div class="productView-bulkPricing"><h3>Volume Pricing</h3><table class="bulk-pricing-table"><thead><tr><th>Quantity</th><th>Check/Wire</th><th>Card/PayPal</th></tr></thead><tbody>${table}</tbody></table></div>
</section>
<section class="productView-details product-options">${addToCart(m)}</section>
</div>
${descriptionBlock(m, 'productView-description')}
${carousel(m, { title: 'Related Products', cls: 'productCarousel', soldOutText: 'Sold Out' })}
${reviewsBlock(m, 'productReviews')}
</div>
</main>
${siteFooter(m, 'footer')}
<script>var BCData = ${scriptJson(bcData)};</script>
${vendorScripts(m)}`;
    return htmlDocument({
      title: `${m.product.name} - Hero Bullion`,
      cssPrefix: 'hb',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta property="og:price:amount" content="${m.price.toFixed(2)}">\n${ldJson(ld)}`,
      bodyAttrs: 'class="page-type-product"',
      body,
    });
  },
};
