import { formatUsd } from '../money.js';
import { breadcrumbs, carousel, descriptionBlock, esc, htmlDocument, ldJson, megaMenu, productLd, reviewsBlock, schemaAvailability, siteFooter, spotTicker, stockAndButton, vendorScripts } from './parts.js';
import type { PageModel, PageStyle } from './types.js';

/**
 * Any dealer the style table does not know: a plain shop page with `h1`, `.product-price .price` at the 1-unit
 * price, JSON-LD Offer at the same price, the stock line and button. Traps: ticker, menu, related prices.
 */
export const genericStyle: PageStyle = {
  id: 'generic',
  challengeStatus: 503,
  render(m: PageModel): string {
    const ld = productLd(m, { price: m.price.toFixed(2), availability: schemaAvailability(m.availability) });
    const body = `<header class="site-header">${spotTicker(m, 'ticker')}<a class="logo" href="/${m.vendor.id}/">${esc(m.vendor.name)}</a>${megaMenu(m, 'menu')}</header>
<main class="product">
${breadcrumbs(m, 'crumbs')}
<h1 class="product-title">${esc(m.product.name)}</h1>
<div class="product-price"><span class="price">${formatUsd(m.price)}</span> <span class="price-note">per unit, check/wire</span></div>
${stockAndButton(m, 'product')}
${descriptionBlock(m, 'product-details')}
${carousel(m, { title: 'Related Products', cls: 'related' })}
${reviewsBlock(m, 'reviews')}
</main>
${siteFooter(m, 'footer')}
${vendorScripts(m)}`;
    return htmlDocument({ title: `${m.product.name} | ${m.vendor.name}`, cssPrefix: 'gn', head: ldJson(ld), body });
  },
};
