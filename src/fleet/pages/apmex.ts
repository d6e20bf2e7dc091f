import { formatUsd, round2 } from '../money.js';
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
import type { PageModel, PageStyle, Tier } from './types.js';

/** APMEX's quantity ladder. */
const LADDER: Tier[] = [
  { label: '1 - 19', discount: 0 },
  { label: '20 - 99', discount: 0.01 },
  { label: '100 - 499', discount: 0.02 },
  { label: '500+', discount: 0.03 },
];

/**
 * APMEX: server-rendered page with a volume-pricing table (Quantity | Check/Wire | Crypto | Credit Card/PayPal).
 * Traps: "As Low As" with the 500+ price, a "Sell to APMEX" buyback price, JSON-LD AggregateOffer whose
 * lowPrice is the 500+ price and highPrice the 1-unit card price, analytics event valued at the card price.
 */
export const apmexStyle: PageStyle = {
  id: 'apmex',
  challengeStatus: 503,
  render(m: PageModel): string {
    const rows = tierPrices(m, LADDER);
    const low = rows[rows.length - 1].check;
    const table = rows
      .map((r) => `<tr><td class="qty">${r.label}</td><td class="price check-wire">${formatUsd(r.check)}</td><td class="price crypto">${formatUsd(r.crypto)}</td><td class="price card">${formatUsd(r.card)}</td></tr>`)
      .join('');
    const perOz = m.product.weightOz > 1 ? `<p class="product-price-per-oz">${formatUsd(round2(m.price / m.product.weightOz))} per oz</p>` : '';
    const ld = productLd(m, {
      '@type': 'AggregateOffer',
      lowPrice: low.toFixed(2),
      highPrice: rows[0].card.toFixed(2),
      offerCount: String(rows.length),
      availability: schemaAvailability(m.availability),
    });
    const body = `<header class="site-header">
${spotTicker(m, 'spotprices')}
<div class="header-main"><a class="logo" href="/${m.vendor.id}/">APMEX</a><form class="site-search" action="/${m.vendor.id}/search"><input name="q" placeholder="Search products"></form><a href="/${m.vendor.id}/account">My Account</a><a href="/${m.vendor.id}/cart" class="mini-cart">Cart (0)</a></div>
${megaMenu(m, 'mega-menu')}
</header>
<main id="main" class="product-detail" data-product-id="${m.product.productId}">
${breadcrumbs(m, 'breadcrumbs')}
<section class="product-summary">
<div class="product-gallery"><img src="/static/img/p/${m.product.productId}-obv.jpg" alt="${esc(m.product.name)} obverse" width="480" height="480"><img src="/static/img/p/${m.product.productId}-rev.jpg" alt="${esc(m.product.name)} reverse" width="480" height="480"></div>
<div class="product-info">
<h1 class="product-title" itemprop="name">${esc(m.product.name)}</h1>
<div class="product-rating"><span class="stars">&#9733;&#9733;&#9733;&#9733;&#9733;</span> <a href="#reviews">${m.reviews.length} reviews</a></div>
<div class="product-price-as-low-as"><span class="label">As Low As:</span> <span class="price">${formatUsd(low)}</span></div>
<div class="product-volume-pricing">
<table class="table-volume-pricing"><thead><tr><th>Quantity</th><th>Check/Wire</th><th>Crypto</th><th>Credit Card/PayPal</th></tr></thead><tbody>${table}</tbody></table>
<p class="pricing-note">Prices shown per unit. Check/Wire prices reflect a 4% discount for cash payment.</p>
</div>
${perOz}
${stockAndButton(m, 'product-buy')}
<div class="sell-to-apmex"><span class="label">Sell to APMEX:</span> <span class="price">${formatUsd(round2(m.price * 0.9))}</span> <a href="/${m.vendor.id}/sell-to-us">Learn more</a></div>
</div>
</section>
${descriptionBlock(m, 'product-description')}
${carousel(m, { title: 'Customers Also Purchased', cls: 'product-carousel' })}
${reviewsBlock(m, 'product-reviews')}
</main>
${siteFooter(m, 'site-footer')}
${vendorScripts(m, `gtag('event','view_item',{currency:'USD',value:${rows[0].card},items:[{item_id:'${m.product.productId}',item_name:${scriptJson(m.product.name)}}]});`)}`;
    return htmlDocument({
      title: `${m.product.name} | APMEX`,
      cssPrefix: 'ax',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta property="og:title" content="${esc(m.product.name)}">\n${ldJson(ld)}`,
      bodyAttrs: 'class="page-product"',
      body,
    });
  },
};
