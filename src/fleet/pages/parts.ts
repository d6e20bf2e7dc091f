import { hash32 } from '../hash.js';
import { formatChange, formatUsd, formatUsdWhole } from '../money.js';
import { cardPrice, tierPrice } from '../price-model.js';
import type { Availability, PageModel, Tier, TierPrices } from './types.js';

/** Shared pieces of every dealer page: the chrome around the product, which is where the traps live. */

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

export function ldJson(value: unknown): string {
  return `<script type="application/ld+json">${scriptJson(value)}</script>`;
}

export function schemaAvailability(a: Availability, scheme: 'https' | 'http' = 'https'): string {
  const name = { in_stock: 'InStock', out_of_stock: 'OutOfStock', preorder: 'PreOrder' }[a];
  return `${scheme}://schema.org/${name}`;
}

/** From this 1-unit price up, dealers step their quantity tiers by a few dollars, not by percent. */
const DOLLAR_STEP_FROM_USD = 1000;
/** Share of the ladder's percent discount that an expensive product's tiers get: the 1% tier becomes 0.15%. */
const DOLLAR_STEP_SHARE = 0.15;

/**
 * Prices of a quantity ladder: check/wire and crypto at the tier price, card/PayPal a few percent above.
 * On expensive goods the tiers sit within half a percent of the 1-unit price (a 1 oz gold coin's largest
 * tier is $20 to $25 below it), which is where an "as low as" price is easiest to take for the price.
 */
export function tierPrices(m: PageModel, ladder: readonly Tier[]): TierPrices[] {
  const share = m.price >= DOLLAR_STEP_FROM_USD ? DOLLAR_STEP_SHARE : 1;
  return ladder.map((t) => {
    const check = tierPrice(m.price, t.discount * share);
    return { label: t.label, check, crypto: check, card: cardPrice(check) };
  });
}

/** schema.org Product without offers; styles add the offer they publish. */
export function productLd(m: PageModel, offers: Record<string, unknown>): Record<string, unknown> {
  return {
    '@context': 'https://schema.org/',
    '@type': 'Product',
    name: m.product.name,
    sku: m.product.sku,
    mpn: String(m.product.productId),
    image: `https://${m.vendor.host}/media/catalog/product/${m.product.productId}.jpg`,
    description: `Buy ${m.product.name} from ${m.vendor.name}. ${specsSentence(m)}`,
    brand: { '@type': 'Brand', name: mintOf(m.product.name) },
    aggregateRating: { '@type': 'AggregateRating', ratingValue: '4.9', reviewCount: String(120 + Math.floor(m.pick('reviews') * 3000)) },
    offers: { '@type': 'Offer', priceCurrency: 'USD', url: `https://${m.vendor.host}${m.canonicalPath}`, ...offers },
  };
}

const TICKER_ORDER = ['gold', 'silver', 'platinum', 'palladium'] as const;

/** Header spot ticker: `Gold $5,012.40 +12.30` for each metal, dollar figures a naive reader takes for prices. */
export function spotTicker(m: Pick<PageModel, 'spot' | 'vendor'>, cls: string): string {
  const items = TICKER_ORDER.map((metal) => m.spot.find((s) => s.metal === metal))
    .filter((s) => s !== undefined)
    .map(
      (s) =>
        `<li class="${cls}__item ${cls}__item--${s.metal}"><a href="/${m.vendor.id}/${s.metal}-price"><span class="${cls}__metal">${s.label}</span> <span class="${cls}__price">${formatUsd(s.price)}</span> <span class="${cls}__change ${s.change < 0 ? 'down' : 'up'}">${formatChange(s.change)}</span></a></li>`,
    );
  return `<div class="${cls}" data-role="spot-ticker"><span class="${cls}__label">Live Spot Prices</span><ul class="${cls}__list">${items.join('')}</ul></div>`;
}

/** Mega-menu: every section lists full-size and fractional products; teasers carry whole-dollar prices. */
export function megaMenu(m: PageModel, cls: string, teaser = true): string {
  const sections = m.menu.map((sec, i) => {
    const links = sec.items.map((it) => `<li class="${cls}__item"><a class="${cls}__link" href="${esc(it.href)}">${esc(it.name)}</a></li>`).join('');
    const featured = teaser && m.related[i]
      ? `<div class="${cls}__featured"><span class="${cls}__featured-label">Featured Deal</span><a href="${esc(m.related[i].href)}">${esc(m.related[i].name)}</a><span class="${cls}__featured-price">Starting at ${formatUsdWhole(m.related[i].price)}</span></div>`
      : '';
    return `<li class="${cls}__section"><button class="${cls}__toggle" aria-expanded="false">${esc(sec.title)}</button><div class="${cls}__panel"><ul class="${cls}__items">${links}</ul>${featured}</div></li>`;
  });
  return `<nav class="${cls}" aria-label="Main menu"><ul class="${cls}__sections">${sections.join('')}</ul></nav>`;
}

export interface CarouselOptions {
  title: string;
  cls: string;
  /** Print prices without cents, as some carousels do. */
  whole?: boolean;
  /** Words on the badge of an item that cannot be bought. */
  soldOutText?: string;
}

/** Related products with their own prices and, for some, their own "sold out" badges. */
export function carousel(m: PageModel, o: CarouselOptions): string {
  const items = m.related.map((r) => {
    const price = o.whole ? formatUsdWhole(r.price) : formatUsd(r.price);
    const badge = r.inStock ? '' : `<span class="${o.cls}__badge ${o.cls}__badge--oos">${o.soldOutText ?? 'Out of Stock'}</span>`;
    return `<li class="${o.cls}__slide"><a class="${o.cls}__link" href="${esc(r.href)}"><img loading="lazy" src="/static/img/p/${hash32(r.name) % 99999}.jpg" alt="${esc(r.name)}" width="180" height="180"><span class="${o.cls}__name">${esc(r.name)}</span></a><span class="${o.cls}__price">As Low As <span class="price">${price}</span></span>${badge}<button type="button" class="${o.cls}__quick"${r.inStock ? '' : ' disabled'}>Quick View</button></li>`;
  });
  return `<section class="${o.cls}" aria-label="${esc(o.title)}"><h2 class="${o.cls}__title">${esc(o.title)}</h2><button class="${o.cls}__prev" aria-label="Previous">&#8249;</button><ul class="${o.cls}__track">${items.join('')}</ul><button class="${o.cls}__next" aria-label="Next">&#8250;</button></section>`;
}

/** Customer reviews; their prose mentions "notify me", "sold out" and "out of stock" as customers do. */
export function reviewsBlock(m: PageModel, cls: string): string {
  const items = m.reviews.map(
    (r) =>
      `<li class="${cls}__review" itemprop="review" itemscope itemtype="https://schema.org/Review"><div class="${cls}__stars" aria-label="${r.rating} out of 5 stars">${'&#9733;'.repeat(r.rating)}</div><h4 class="${cls}__title" itemprop="name">${esc(r.title)}</h4><p class="${cls}__body" itemprop="reviewBody">${esc(r.body)}</p><p class="${cls}__meta"><span itemprop="author">${esc(r.author)}</span> &middot; <time>${r.date}</time> &middot; Verified Buyer</p></li>`,
  );
  return `<section class="${cls}" id="reviews"><h2>Customer Reviews</h2><p class="${cls}__summary">4.9 out of 5 &middot; Would recommend: 98%</p><ul class="${cls}__list">${items.join('')}</ul><a class="${cls}__more" href="#reviews">Read all reviews</a></section>`;
}

const FACE_VALUES: Array<[RegExp, string]> = [
  [/Gold Eagle 1 oz|Gold Buffalo 1 oz/, '$50'],
  [/Platinum Eagle 1 oz/, '$100'],
  [/Silver Eagle/, '$1'],
  [/Gold Maple Leaf 1 oz/, '$50 CAD'],
  [/Silver Maple Leaf/, '$5 CAD'],
  [/Britannia/, '£2'],
  [/Kangaroo|Koala|Kookaburra/, '$1 AUD'],
];

function mintOf(name: string): string {
  if (/American|Washington/.test(name)) return 'United States Mint';
  if (/Canadian/.test(name)) return 'Royal Canadian Mint';
  if (/British/.test(name)) return 'The Royal Mint';
  if (/Australian/.test(name)) return 'The Perth Mint';
  if (/South African/.test(name)) return 'South African Mint';
  if (/Goldback/.test(name)) return 'Goldback Inc.';
  return 'Various Mints';
}

function weightText(m: PageModel): string {
  return m.product.metal === 'goldback' ? `${m.product.weightOz} note(s)` : `${m.product.weightOz} troy oz`;
}

function specsSentence(m: PageModel): string {
  return `Contains ${weightText(m)} of ${m.product.metal === 'goldback' ? '24k gold foil' : `pure ${m.product.metal}`}.`;
}

/** Description and specification table of the product shown. */
export function descriptionBlock(m: PageModel, cls: string): string {
  const p = m.product;
  const face = FACE_VALUES.find(([re]) => re.test(p.name))?.[1];
  const rows: Array<[string, string]> = [
    ['Product Name', p.name],
    ['SKU', p.sku],
    ['Metal', p.metal === 'goldback' ? 'Gold (24k foil)' : p.metal[0].toUpperCase() + p.metal.slice(1)],
    ['Metal Content', weightText(m)],
    ['Purity', p.metal === 'silver' ? '.999 Fine' : '.9999 Fine'],
    ['Mint', mintOf(p.name)],
    ...(face ? ([['Face Value', face]] as Array<[string, string]>) : []),
    ['Packaging', 'Individual flip or mint tube'],
  ];
  const table = rows.map(([k, v]) => `<tr><th scope="row">${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
  return `<section class="${cls}" id="description"><h2>Product Details</h2><div class="${cls}__text"><p>The ${esc(p.name)} is one of the most popular bullion products among investors and collectors. ${esc(specsSentence(m))} Each one is guaranteed for weight and purity by ${esc(mintOf(p.name))}.</p><p>Quantities ship in original mint packaging where available. Orders paid by check or bank wire receive our lowest price; card and PayPal orders carry a small processing fee. Prices are locked in for 15 minutes once your order is placed.</p><p>Not sure about the right size? Compare the full range of sizes from our menu, or set a price alert and we will email you when the ${esc(p.name)} falls below your target.</p></div><table class="${cls}__specs"><caption>Specifications</caption><tbody>${table}</tbody></table></section>`;
}

/** Site footer: links, trust badges, legal text. */
export function siteFooter(m: PageModel, cls: string): string {
  const cols: Record<string, string[]> = {
    'Customer Service': ['Contact Us', 'Shipping & Insurance', 'Payment Methods', 'Returns Policy', 'Track My Order', 'FAQ'],
    'About Us': ['Our Story', 'Careers', 'Press', 'Reviews', 'Affiliate Program', 'Price Match'],
    Resources: ['Gold Price Chart', 'Silver Price Chart', 'Melt Value Calculator', 'Learning Center', 'Blog', 'Sitemap'],
    'Sell to Us': ['Sell Gold', 'Sell Silver', 'Bulk Buyback', 'IRA Services', 'Storage', 'Wholesale'],
  };
  const html = Object.entries(cols)
    .map(([title, links]) => `<div class="${cls}__col"><h3>${esc(title)}</h3><ul>${links.map((l) => `<li><a href="/${m.vendor.id}/${l.toLowerCase().replace(/[^a-z]+/g, '-')}">${esc(l)}</a></li>`).join('')}</ul></div>`)
    .join('');
  return `<footer class="${cls}"><div class="${cls}__cols">${html}</div><div class="${cls}__newsletter"><h3>Get Deals First</h3><p>Join 500,000+ investors. Notify me about weekly specials and restocks.</p><form action="/${m.vendor.id}/newsletter" method="post"><input type="email" name="email" placeholder="Email address"><button type="submit">Subscribe</button></form></div><p class="${cls}__legal">&copy; 2026 ${esc(m.vendor.name)}. All rights reserved. Prices and availability are subject to change without notice. Free shipping on orders over $199.</p></footer>`;
}

const COMPONENTS = ['header', 'topbar', 'ticker', 'menu', 'panel', 'breadcrumbs', 'gallery', 'thumb', 'summary', 'pricing', 'qty', 'cart', 'badge', 'tabs', 'specs', 'reviews', 'carousel', 'slide', 'footer', 'newsletter', 'modal', 'toast', 'search', 'account', 'chip'];
const STATES = ['', '--active', '--disabled', '--lg', '--sm', ':hover', ':focus-visible', '__inner', '__title', '__icon'];
const cssCache = new Map<string, string>();

/** A theme stylesheet of plausible rules, as real pages inline a critical-CSS block (makes page sizes realistic). */
export function themeCss(prefix: string): string {
  let css = cssCache.get(prefix);
  if (css) return css;
  const rules: string[] = [':root{--brand:#0b3d6e;--accent:#c8102e;--text:#1f2933;--muted:#6b7785;--radius:4px}', '*,*::before,*::after{box-sizing:border-box}', 'body{margin:0;font:14px/1.5 "Helvetica Neue",Arial,sans-serif;color:var(--text)}'];
  for (const c of COMPONENTS) {
    for (const s of STATES) {
      const h = hash32(prefix + c + s);
      rules.push(`.${prefix}-${c}${s}{display:${['block', 'flex', 'grid', 'inline-flex'][h % 4]};margin:0 0 ${h % 24}px;padding:${(h >> 3) % 16}px ${(h >> 5) % 24}px;color:#${(h & 0xffffff).toString(16).padStart(6, '0')};border-radius:var(--radius);transition:all .${(h >> 7) % 4}s ease}`);
    }
    rules.push(`@media (max-width:${768 + (hash32(c) % 256)}px){.${prefix}-${c}{display:block;padding:8px}}`);
  }
  css = rules.join('\n');
  cssCache.set(prefix, css);
  return css;
}

/** Inline scripts every shop carries: tag manager, consent, chat widget config. */
export function vendorScripts(m: PageModel, extra = ''): string {
  return `<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());gtag('config','G-${(hash32(m.vendor.id) % 1e8).toString(36).toUpperCase()}');${extra}</script><script>(function(w,d){w.__consent={necessary:true,analytics:"pending",marketing:"pending"};var s=d.createElement('script');s.async=true;s.src='/static/js/chat-widget.js';w.chatConfig={brand:${scriptJson(m.vendor.name)},greeting:"Questions about an order? We're here to help.",offHours:"Leave us a message and we will notify you."};})(window,document);</script>`;
}

export interface DocumentParts {
  title: string;
  /** Prefix of the theme's CSS classes. */
  cssPrefix: string;
  head?: string;
  bodyAttrs?: string;
  body: string;
}

export function htmlDocument(d: DocumentParts): string {
  return `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title>
${d.head ?? ''}
<style>${themeCss(d.cssPrefix)}</style>
</head>
<body ${d.bodyAttrs ?? ''}>
${d.body}
</body>
</html>
`;
}

/** Availability words and the buy button, in one dealer's vocabulary. */
export interface StockWords {
  inStock: string;
  outOfStock: string;
  preorder: string;
  addToCart: string;
  notify: string;
  preorderButton: string;
}

export const DEFAULT_STOCK_WORDS: StockWords = {
  inStock: 'In Stock',
  outOfStock: 'Out of Stock',
  preorder: 'Pre-Order',
  addToCart: 'Add to Cart',
  notify: 'Notify Me When Available',
  preorderButton: 'Pre-Order Now',
};

/** The availability line and buy button: enabled Add to Cart, disabled Notify Me, or Pre-Order. */
export function stockAndButton(m: PageModel, cls: string, w: StockWords = DEFAULT_STOCK_WORDS, buttonAttrs = ''): string {
  const attrs = buttonAttrs ? ` ${buttonAttrs}` : '';
  const line = {
    in_stock: `<p class="${cls}__stock ${cls}__stock--in"><span class="dot"></span>${w.inStock}</p>`,
    out_of_stock: `<p class="${cls}__stock ${cls}__stock--out">${w.outOfStock}</p>`,
    preorder: `<p class="${cls}__stock ${cls}__stock--preorder">${w.preorder} &middot; Expected to ship within 4-6 weeks</p>`,
  }[m.availability];
  const button = {
    in_stock: `<button type="submit" class="${cls}__add"${attrs} name="add-to-cart" value="${m.product.productId}">${w.addToCart}</button>`,
    out_of_stock: `<button type="button" class="${cls}__add ${cls}__add--disabled"${attrs} disabled aria-disabled="true">${w.outOfStock}</button><button type="button" class="${cls}__notify">${w.notify}</button>`,
    preorder: `<button type="submit" class="${cls}__add ${cls}__add--preorder"${attrs} name="add-to-cart" value="${m.product.productId}">${w.preorderButton}</button>`,
  }[m.availability];
  const qty = m.availability === 'out_of_stock' ? '' : `<label class="${cls}__qty">Qty <input type="number" name="quantity" value="1" min="1" max="9999"></label>`;
  return `<div class="${cls}__buy">${line}<form class="${cls}__form" action="/${m.vendor.id}/cart/add" method="post">${qty}${button}</form></div>`;
}

/** Breadcrumb trail, always naming the metal and the product. */
export function breadcrumbs(m: PageModel, cls: string): string {
  const metal = m.product.metal === 'goldback' ? 'Goldbacks' : m.product.metal[0].toUpperCase() + m.product.metal.slice(1);
  return `<ol class="${cls}" itemscope itemtype="https://schema.org/BreadcrumbList"><li><a href="/${m.vendor.id}/">Home</a></li><li><a href="/${m.vendor.id}/${metal.toLowerCase()}">${metal}</a></li><li aria-current="page">${esc(m.product.name)}</li></ol>`;
}
