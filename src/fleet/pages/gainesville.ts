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
  siteFooter,
  spotTicker,
  stockAndButton,
  tierPrices,
  vendorScripts,
} from './parts.js';
import type { PageModel, PageStyle, Tier } from './types.js';

const LADDER: Tier[] = [
  { label: '1-9', discount: 0 },
  { label: '10-49', discount: 0.008 },
  { label: '50-99', discount: 0.015 },
  { label: '100+', discount: 0.022 },
];

/**
 * Gainesville Coins: pricing as a grid of divs (Qty | Crypto / Check / Wire | Credit Card / PayPal), no table.
 * JSON-LD Offer at the 1-unit price. Traps: a "premium over spot" dollar figure, "price per oz" on bars,
 * "Customers Also Viewed" with prices, the header ticker.
 */
export const gainesvilleStyle: PageStyle = {
  id: 'gainesville',
  challengeStatus: 503,
  render(m: PageModel): string {
    const rows = tierPrices(m, LADDER);
    const grid = rows
      .map((r) => `<div class="pricing-grid__row" role="row"><div class="pricing-grid__qty" role="cell">${r.label}</div><div class="pricing-grid__price pricing-grid__price--cash" role="cell">${formatUsd(r.check)}</div><div class="pricing-grid__price pricing-grid__price--card" role="cell">${formatUsd(r.card)}</div></div>`)
      .join('');
    const spot = m.spot.find((s) => s.metal === m.product.metal);
    const premium = spot ? `<div class="product-premium">Premium: <strong>${formatUsd(round2(m.price - spot.price * m.product.weightOz))}</strong> over spot</div>` : '';
    const perOz = m.product.weightOz > 1 ? `<div class="product-per-oz">${formatUsd(round2(m.price / m.product.weightOz))}/oz</div>` : '';
    const ld = productLd(m, { price: m.price, availability: schemaAvailability(m.availability), seller: { '@type': 'Organization', name: 'Gainesville Coins' } });
    const body = `<div class="gc-app">
<div class="gc-topbar">${spotTicker(m, 'gc-spot')}</div>
<header class="gc-header"><a class="gc-header__logo" href="/${m.vendor.id}/">Gainesville Coins</a><input class="gc-header__search" placeholder="What are you looking for?"><a class="gc-header__cart" href="/${m.vendor.id}/cart">Cart</a></header>
${megaMenu(m, 'gc-menu')}
<main class="gc-product" data-sku="${m.product.sku}">
${breadcrumbs(m, 'gc-crumbs')}
<div class="gc-product__layout">
<div class="gc-product__media"><img src="/static/img/p/${m.product.productId}.jpg" alt="${esc(m.product.name)}" width="540" height="540"></div>
<div class="gc-product__details">
<h1 class="gc-product__name">${esc(m.product.name)}</h1>
<div class="gc-product__sku">Item #${m.product.productId}</div>
<div class="pricing-grid" role="table" aria-label="Volume pricing"><div class="pricing-grid__row pricing-grid__row--head" role="row"><div role="columnheader">Qty</div><div role="columnheader">Crypto / Check / Wire</div><div role="columnheader">Credit Card / PayPal</div></div>${grid}</div>
${premium}
${perOz}
${stockAndButton(m, 'gc-buy')}
</div>
</div>
${descriptionBlock(m, 'gc-description')}
${carousel(m, { title: 'Customers Also Viewed', cls: 'gc-carousel' })}
${reviewsBlock(m, 'gc-reviews')}
</main>
${siteFooter(m, 'gc-footer')}
</div>
${vendorScripts(m)}`;
    return htmlDocument({
      title: `Buy ${m.product.name} | Gainesville Coins®`,
      cssPrefix: 'gc',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n${ldJson(ld)}`,
      body,
    });
  },
};
