/**
 * Extraction speed on a realistic product page of a given size: a dealer page with a header spot
 * ticker, a mega-menu, the product block (JSON-LD, volume table, stock, buy button), description,
 * reviews, a carousel and a footer, padded with more menu entries and reviews until it weighs
 * `pageBytes`. Each iteration parses and extracts from scratch, as a worker does per job; the
 * result is checked, so a fast wrong answer cannot pass for a fast extraction.
 */
import type { ProductIdentity } from '../catalogue/target.js';
import { extractPrice } from '../scrape/extract/extract.js';
import { median, percentile, round } from './stats.js';

export interface ExtractionFigures {
  pageBytes: number;
  iterations: number;
  medianMs: number;
  p95Ms: number;
}

const PRODUCT: ProductIdentity = { coin: 'ase', coinName: 'American Silver Eagle 1 oz', metal: 'silver', weightOz: 1 };
const EXPECTED_PRICE = 96.19;

const METALS = ['Gold', 'Silver', 'Platinum', 'Palladium'];
const WEIGHTS = ['1/10 oz', '1/4 oz', '1/2 oz', '1 oz', '2 oz', '5 oz', '10 oz', '1 kilo', '100 oz'];
const KINDS = ['American Eagle', 'Maple Leaf', 'Britannia', 'Krugerrand', 'Philharmonic', 'Kangaroo', 'Buffalo', 'Round', 'Bar'];

function menuEntry(i: number): string {
  const name = `${WEIGHTS[i % WEIGHTS.length]} ${METALS[i % METALS.length]} ${KINDS[(i * 7) % KINDS.length]}`;
  const badge = i % 5 === 0 ? ' <span class="badge">Sold Out</span>' : i % 3 === 0 ? ` <span class="price">$${(40 + i * 13.37).toFixed(2)}</span>` : '';
  return `<li class="menu-item"><a href="/product/${i}/${name.toLowerCase().replace(/\W+/g, '-')}">${name}</a>${badge}</li>`;
}

function review(i: number): string {
  const bodies = [
    'Beautiful coin, arrived quickly. It was out of stock last month, so I used Notify Me When Available.',
    'Great price compared to my local shop, which is sold out. Will buy again.',
    `Paid $${(88 + (i % 9)).toFixed(2)} each for a tube last year. Packaging was excellent and the coins are flawless.`,
    'Pre-ordered the new year and it shipped in five days. Currently unavailable elsewhere.',
  ];
  return `<div class="review" itemprop="review" itemscope itemtype="https://schema.org/Review"><div class="stars">${'&#9733;'.repeat(1 + (i % 5))}</div><h4 itemprop="name">Review ${i}</h4><p class="author">by Customer ${i} on <time>2026-0${1 + (i % 9)}-1${i % 10}</time></p><div itemprop="reviewBody"><p>${bodies[i % bodies.length]}</p></div></div>`;
}

/** A realistic dealer product page of about `pageBytes` characters. */
export function buildBenchPage(pageBytes: number): string {
  const ld = JSON.stringify({
    '@context': 'https://schema.org',
    '@type': 'Product',
    name: '2026 1 oz American Silver Eagle Coin BU',
    offers: { '@type': 'AggregateOffer', lowPrice: '93.19', highPrice: '100.04', priceCurrency: 'USD', availability: 'https://schema.org/InStock' },
  });
  const head = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>2026 1 oz American Silver Eagle Coin BU | Dealer</title><script type="application/ld+json">${ld}</script><script>window.dataLayer=window.dataLayer||[];dataLayer.push({event:'view_item'});</script><style>.hide{display:none}</style></head><body>`;
  const ticker = `<div class="spot-ticker"><span>Gold $5,011.30</span><span>Silver $85.12</span><span>Platinum $2,201.40</span><span>Palladium $1,702.60</span></div>`;
  const product = `<main id="main"><div class="product-detail"><div class="gallery"><img src="/ase.jpg" alt="ASE"></div><div class="product-info">
<h1 class="product-title">2026 1 oz American Silver Eagle Coin BU</h1>
<div class="as-low-as">As Low As <span>$93.19</span></div>
<table class="volume-pricing"><thead><tr><th>Quantity</th><th>Check/Wire</th><th>Crypto</th><th>Card/PayPal</th></tr></thead><tbody>
<tr><td>1 - 19</td><td>$96.19</td><td>$96.19</td><td>$100.04</td></tr><tr><td>20 - 99</td><td>$95.19</td><td>$95.19</td><td>$99.00</td></tr>
<tr><td>100 - 499</td><td>$94.19</td><td>$94.19</td><td>$97.96</td></tr><tr><td>500+</td><td>$93.19</td><td>$93.19</td><td>$96.92</td></tr></tbody></table>
<p class="stock">In Stock</p><form action="/cart/add" method="post"><input type="number" name="qty" value="1"><button type="submit" class="btn add-to-cart">Add to Cart</button></form>
</div></div><div class="description"><p>The American Silver Eagle contains one troy ounce of .999 fine silver.</p></div>`;
  const carousel = `<section class="related-products"><h2>Customers Also Purchased</h2><div class="card">1 oz Silver Maple <span class="price">$92.49</span></div><div class="card">1/2 oz Silver Britannia <span class="price">$47.10</span> Sold Out</div></section>`;
  const footer = `</main><footer class="site-footer"><p>Gold price $5,011.30 | Silver price $85.12</p><p>&copy; 2026 Dealer</p></footer></body></html>`;
  const menuItems: string[] = [];
  const reviews: string[] = [];
  let size = head.length + ticker.length + product.length + carousel.length + footer.length + 200;
  // Half the padding in the mega-menu, half in reviews: both are where real pages carry their bulk.
  for (let i = 0; size < pageBytes; i++) {
    const piece = i % 2 === 0 ? menuEntry(i) : review(i);
    (i % 2 === 0 ? menuItems : reviews).push(piece);
    size += piece.length;
  }
  return `${head}<header class="site-header">${ticker}<nav class="mega-menu"><ul>${menuItems.join('')}</ul></nav></header>${product}<section class="reviews" id="reviews"><h2>Customer Reviews</h2>${reviews.join('')}</section>${carousel}${footer}`;
}

/** Times extractPrice on a ~`pageBytes` page: median and 95th percentile of `iterations` runs, after a warm-up. */
export async function measureExtraction(opts: { pageBytes?: number; iterations?: number } = {}): Promise<ExtractionFigures> {
  const pageBytes = Math.max(5_000, Math.floor(opts.pageBytes ?? 200_000));
  const iterations = Math.max(1, Math.floor(opts.iterations ?? 50));
  const html = buildBenchPage(pageBytes);
  const run = () => extractPrice({ html, vendor: 'bench', product: PRODUCT, url: 'https://dealer.example/ase' });
  const first = run();
  if (first.price !== EXPECTED_PRICE || first.outcome !== 'ok') {
    throw new Error(`extraction benchmark page read wrong: expected ${EXPECTED_PRICE} ok, got ${JSON.stringify(first)}`);
  }
  for (let i = 0; i < 5; i++) run(); // warm-up: let the JIT settle before timing
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = performance.now();
    run();
    times.push(performance.now() - started);
    if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // let a caller's timers and I/O run
  }
  return { pageBytes: html.length, iterations, medianMs: round(median(times)), p95Ms: round(percentile(times, 95)) };
}
