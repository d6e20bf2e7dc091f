import { formatUsd, round2 } from '../money.js';
import { esc, htmlDocument, scriptJson, spotTicker, tierPrices, vendorScripts } from './parts.js';
import type { PageModel, PageStyle, Tier } from './types.js';

const LADDER: Tier[] = [
  { label: '1-4', discount: 0 },
  { label: '5-24', discount: 0.005 },
  { label: '25-99', discount: 0.012 },
  { label: '100+', discount: 0.02 },
];

const money = (value: number) => ({ value, currency: 'USD', formatted: formatUsd(value) });

/** Runs in a browser only: draws the pricing table from the embedded state, as the real bundle does after hydration. */
const HYDRATE = `(function(){var s=document.getElementById('__NEXT_DATA__');var p=JSON.parse(s.textContent).props.pageProps.product;var el=document.getElementById('pricing-grid');var h='<table class="pricing-grid__table"><thead><tr><th>Qty</th><th>(E)check/Wire</th><th>Crypto</th><th>Card/PayPal</th></tr></thead><tbody>';p.price_tiers.forEach(function(t){h+='<tr><td>'+t.label+'</td><td>'+t.prices.check_wire.formatted+'</td><td>'+t.prices.crypto.formatted+'</td><td>'+t.prices.card_paypal.formatted+'</td></tr>'});el.innerHTML=h+'</tbody></table>';el.removeAttribute('data-loading');})();`;

/**
 * Bullion Exchanges: a Next.js single-page app. The server sends a shell (ticker, title, "As Low As" badge,
 * stock line and button) and the state in `<script id="__NEXT_DATA__">`: `props.pageProps.product` with
 * `price_tiers[].prices.check_wire.value` (tier 0 = the 1-unit price), `stock_status`, `is_preorder`.
 * The pricing table appears only after an inline script runs (browser tier). No JSON-LD.
 * Traps: "As Low As" (largest tier) and "Over Spot" figures in the markup, `price_range.minimum_price` in the
 * state is the largest-tier price, menu and related products with prices live in the state too.
 */
export const nextSpaStyle: PageStyle = {
  id: 'next-spa',
  challengeStatus: 200,
  render(m: PageModel): string {
    const rows = tierPrices(m, LADDER);
    const low = rows[rows.length - 1].check;
    const spot = m.spot.find((s) => s.metal === m.product.metal);
    const overSpot = spot ? `<span class="as-low-as__over">${formatUsd(round2(low - spot.price * m.product.weightOz))} Over Spot</span>` : '';
    const stockStatus = m.availability === 'out_of_stock' ? 'OUT_OF_STOCK' : 'IN_STOCK';
    const state = {
      props: {
        pageProps: {
          product: {
            id: m.product.productId,
            sku: m.product.sku,
            name: m.product.name,
            url_key: m.canonicalPath.replace(/^\/|\/$/g, ''),
            metal: m.product.metal,
            weight_oz: m.product.weightOz,
            stock_status: stockStatus,
            is_preorder: m.availability === 'preorder',
            price_range: { minimum_price: { final_price: money(low) }, maximum_price: { final_price: money(rows[0].card) } },
            price_tiers: rows.map((r, i) => ({
              label: r.label,
              min_qty: [1, 5, 25, 100][i],
              prices: { check_wire: money(r.check), crypto: money(r.crypto), card_paypal: money(r.card) },
            })),
            related_products: m.related.map((r) => ({
              name: r.name,
              url: r.href,
              stock_status: r.inStock ? 'IN_STOCK' : 'OUT_OF_STOCK',
              price_range: { minimum_price: { final_price: money(r.price) } },
            })),
            reviews: m.reviews,
          },
          menu: m.menu,
          spotPrices: m.spot,
        },
      },
      page: '/[...urlKey]',
      query: { urlKey: m.canonicalPath.split('/').filter(Boolean) },
      buildId: `be${m.product.productId % 9973}`,
      isFallback: false,
      gip: true,
    };
    const stock = {
      in_stock: `<div class="stock-status stock-status--in">In Stock</div><button class="btn btn-primary add-to-cart" type="button">ADD TO CART</button>`,
      out_of_stock: `<div class="stock-status stock-status--out">Out Of Stock</div><button class="btn btn-primary add-to-cart" type="button" disabled>Out Of Stock</button><button class="btn btn-outline notify-me" type="button">NOTIFY ME</button>`,
      preorder: `<div class="stock-status stock-status--preorder">Pre-Order</div><button class="btn btn-primary add-to-cart" type="button">PRE-ORDER</button>`,
    }[m.availability];
    const body = `<div id="__next" data-reactroot="">
<header class="be-header">${spotTicker(m, 'be-spot')}<a class="be-logo" href="/${m.vendor.id}/">Bullion Exchanges</a><nav class="be-nav" data-hydrate="menu"></nav></header>
<main class="be-product">
<div class="be-product__gallery"><img src="/static/img/p/${m.product.productId}.jpg" alt="${esc(m.product.name)}" width="600" height="600"></div>
<div class="be-product__info">
<h1 class="be-product__title">${esc(m.product.name)}</h1>
<div class="as-low-as"><span class="as-low-as__label">As Low As</span> <span class="as-low-as__price">${formatUsd(low)}</span> ${overSpot}</div>
<div id="pricing-grid" class="pricing-grid" data-loading="true"><div class="skeleton skeleton--table" aria-busy="true">Loading prices…</div></div>
<div class="be-product__stock">${stock}</div>
</div>
<section class="be-related" data-hydrate="related"><h2>Related Products</h2><div class="skeleton skeleton--carousel"></div></section>
</main>
<footer class="be-footer" data-hydrate="footer"><p>&copy; 2026 Bullion Exchanges. All rights reserved.</p></footer>
</div>
<script id="__NEXT_DATA__" type="application/json">${scriptJson(state)}</script>
<script>${HYDRATE}</script>
${vendorScripts(m)}`;
    return htmlDocument({
      title: `${m.product.name} | Bullion Exchanges`,
      cssPrefix: 'be',
      head: `<link rel="canonical" href="https://${m.vendor.host}${esc(m.canonicalPath)}">\n<meta name="description" content="Buy ${esc(m.product.name)} at Bullion Exchanges.">\n<link rel="preload" href="/_next/static/chunks/main.js" as="script">`,
      body,
    });
  },
};
