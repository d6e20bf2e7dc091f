/**
 * The extractor's rules one at a time, its parser and page model, and its robustness (time and
 * memory on pathological input). The realistic dealer pages are in extract-corpus.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { ProductIdentity } from '../src/catalogue/target.js';
import { F_NOT_CONTENT, F_NOTEXT, F_TRAP, Page } from '../src/scrape/extract/dom.js';
import { extractPrice } from '../src/scrape/extract/extract.js';
import { decodeEntities, MAX_DEPTH, parseHtml, type DomNode } from '../src/scrape/extract/html-parser.js';
import { findMoney, parseMoney, parsePriceValue } from '../src/scrape/extract/money.js';
import { isOneUnitLabel } from '../src/scrape/extract/pricing-table.js';
import type { ExtractInput } from '../src/scrape/extract/types.js';
import { findWeights } from '../src/scrape/extract/weight.js';

const ase: ProductIdentity = { coin: 'ase', coinName: 'American Silver Eagle 1 oz', metal: 'silver', weightOz: 1 };
const age: ProductIdentity = { coin: 'age', coinName: 'American Gold Eagle 1 oz', metal: 'gold', weightOz: 1 };

function run(html: string, extra: Partial<ExtractInput> = {}) {
  return extractPrice({ html, vendor: 'fixture', product: ase, ...extra });
}

const page = (body: string, head = '') => `<!doctype html><html><head><title>1 oz American Silver Eagle</title>${head}</head><body>${body}</body></html>`;

/** CPU time of a call in ms: robust to other test suites loading the machine at the same time. */
function cpuMs(fn: () => void): number {
  const before = process.cpuUsage();
  fn();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

function depthOf(root: DomNode): number {
  let max = 0;
  const stack: [DomNode, number][] = [[root, 0]];
  while (stack.length) {
    const [n, d] = stack.pop()!;
    if (d > max) max = d;
    for (const c of n.children ?? []) stack.push([c, d + 1]);
  }
  return max;
}

describe('HTML parser', () => {
  it('reads attributes: quoted, unquoted, valueless, duplicates (first wins), entities', () => {
    const { elements } = parseHtml(`<div id=a class="x y" data-v='1 > 0' hidden id="b" title="&quot;$&#36;&#x24;&amp;&nbsp;&bogus;"></div>`);
    expect(elements[0].attribs).toEqual({ id: 'a', class: 'x y', 'data-v': '1 > 0', hidden: '', title: '"$$$&\u00a0&bogus;' });
  });

  it('ignores a __proto__ attribute instead of replacing the prototype', () => {
    const { elements } = parseHtml('<a __proto__="x" href="/y">z</a>');
    expect(Object.getPrototypeOf(elements[0].attribs)).toBe(Object.prototype);
    expect(elements[0].attribs.href).toBe('/y');
  });

  it('keeps script and style content as raw text and decodes title and textarea', () => {
    const { elements } = parseHtml('<title>A &amp; B</title><script>if (a < b && c > d) { x = "<div>"; }</script><p>after</p>');
    expect(elements.map((e) => e.name)).toEqual(['title', 'script', 'p']);
    expect(elements[0].children[0].data).toBe('A & B');
    expect(elements[1].children[0].data).toBe('if (a < b && c > d) { x = "<div>"; }');
  });

  it('closes elements the way htmlparser2 does (td closes td, li closes li, div closes p) and ignores stray end tags', () => {
    const { root } = parseHtml('<table><tr><td>1<td>2</tr></table><ul><li>a<li>b</ul><p>para<div>block</div></td></span>');
    const table = root.children![0];
    const tr = table.children![0];
    expect(tr.children!.map((c) => c.name)).toEqual(['td', 'td']);
    expect(root.children![1].children!.map((c) => c.name)).toEqual(['li', 'li']);
    expect(root.children!.map((c) => c.name)).toEqual(['table', 'ul', 'p', 'div']);
  });

  it('decodes numeric and common named entities, leaves unknown ones', () => {
    expect(decodeEntities('1&ndash;19 &frac12; oz &#36;92&period;30 &unknown; &#0;')).toBe('1\u201319 \u00bd oz $92.30 &unknown; \ufffd');
  });

  it('caps nesting depth and keeps the text of what is flattened', () => {
    const html = '<div>'.repeat(5000) + '<h1>deep</h1>' + '</div>'.repeat(5000);
    const parsed = parseHtml(html);
    expect(parsed.flattened).toBe(true);
    expect(depthOf(parsed.root)).toBeLessThanOrEqual(MAX_DEPTH + 2);
    const h1 = parsed.elements.find((e) => e.name === 'h1')!;
    expect(h1.children[0].data).toBe('deep');
    expect(parseHtml('<div><div>x</div></div>').flattened).toBe(false);
  });

  it('keeps the spaces that show (between inline elements, inside <pre>) and drops indentation between blocks', () => {
    const { root } = parseHtml('<div>\n  <div>a</div>\n  <span>b</span> <span>c</span>\n</div><pre><b>1</b>\n<b>2</b></pre>');
    const texts: string[] = [];
    const stack = [root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.type === 'text') texts.push(JSON.stringify(n.data));
      for (const c of [...(n.children ?? [])].reverse()) stack.push(c);
    }
    expect(texts).toEqual(['"a"', '"b"', '" "', '"c"', '"\\n"', '"1"', '"\\n"', '"2"']);
    const p = new Page('<main><h1>x</h1>\n  <p>a</p>\n  <p><span>b</span> <span>c</span></p></main>');
    expect(p.line(p.area!)).toBe('x a b c');
  });

  it('numbers elements in document order with parent links', () => {
    const { elements, parents } = parseHtml('<main><h1>t</h1><div><span>a</span></div></main><footer></footer>');
    expect(elements.map((e) => `${e.idx}:${e.name}`)).toEqual(['0:main', '1:h1', '2:div', '3:span', '4:footer']);
    expect([...parents]).toEqual([-1, 0, 0, 2, -1]);
  });

  it('lets cheerio select over the same nodes (vendor selector rules)', () => {
    const p = new Page('<main><h1>x</h1><div class="odd" content="92.77">a</div></main>');
    expect(p.$('.odd').attr('content')).toBe('92.77');
    expect(p.$('main h1').text()).toBe('x');
  });
});

describe('Page model', () => {
  const html = `<body><header><div class="ticker">Silver $85.12</div></header><main><h1>1 oz Silver Eagle</h1><p>Price <s>$99.00</s> <b>$92.30</b></p><div hidden>Sold out</div><button>Add to Cart</button></main></body>`;

  it('renders text per skip mask from one base rendering', () => {
    const p = new Page(html);
    const body = p.elements.find((e) => e.name === 'body')!;
    expect(p.line(body, F_NOTEXT)).toBe('Silver $85.12 1 oz Silver Eagle Price $99.00 $92.30 Sold out Add to Cart');
    expect(p.line(body, F_NOT_CONTENT)).toBe('1 oz Silver Eagle Price $92.30 Add to Cart');
    const para = p.elements.find((e) => e.name === 'p')!;
    expect(p.line(para, F_NOT_CONTENT)).toBe('Price $92.30');
    expect(p.textLength(para, F_NOT_CONTENT)).toBe(p.text(para, F_NOT_CONTENT).length);
    expect(p.mayHoldMoney(para, F_NOT_CONTENT)).toBe(true);
    expect(p.mayHoldMoney(p.h1!, F_NOT_CONTENT)).toBe(false);
  });

  it('maps text back to the element it came from', () => {
    const p = new Page(html);
    const para = p.elements.find((e) => e.name === 'p')!;
    const { text, spans } = p.segments(para, F_NOT_CONTENT);
    const at = text.indexOf('$92.30');
    expect(spans.find((s) => s.start <= at && at < s.end)!.el.name).toBe('b');
  });

  it('finds title, buy control and product area, and answers containment', () => {
    const p = new Page(html);
    expect(p.h1Text).toBe('1 oz Silver Eagle');
    expect(p.buyControl!.name).toBe('button');
    expect(p.area!.name).toBe('main');
    expect(p.contains(p.area!, p.buyControl!)).toBe(true);
    expect(p.contains(p.buyControl!, p.area!)).toBe(false);
    expect(p.has(p.elements.find((e) => e.attribs.class === 'ticker')!, F_TRAP)).toBe(true);
  });

  it('marking a subtree updates the content rendering', () => {
    const p = new Page(html);
    const para = p.elements.find((e) => e.name === 'p')!;
    expect(p.line(p.area!, F_NOT_CONTENT)).toContain('$92.30');
    p.markSubtree(para, F_TRAP);
    expect(p.line(p.area!, F_NOT_CONTENT)).not.toContain('$92.30');
    expect(p.line(p.area!, F_NOTEXT)).toContain('$92.30');
  });
});

describe('extractPrice rules in isolation', () => {
  it('reads 1-unit tier labels', () => {
    for (const label of ['1', '1 - 19', '1-9', '1+', 'Qty 1', '1 to 19', '1 – 19 coins', 'Any Qty', '1 or more', 'Quantity: 1']) {
      expect(isOneUnitLabel(label), label).toBe(true);
    }
    for (const label of ['10 - 19', '20+', '100 - 499', '1/2 oz', '1 oz', '1,000+', 'Check/Wire', '']) {
      expect(isOneUnitLabel(label), label).toBe(false);
    }
  });

  it('prefers the 1-unit row whatever its position and skips premium and per-oz columns', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1>
      <table><tr><th>Qty</th><th>Premium</th><th>Card</th><th>Wire</th></tr>
      <tr><td>500+</td><td>$4.00</td><td>$93.00</td><td>$90.00</td></tr>
      <tr><td>1 - 19</td><td>$7.00</td><td>$96.00</td><td>$92.50</td></tr></table>
      <button>Add to cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.5, matchedBy: 'pricing-table', outcome: 'ok', inStock: true });
  });

  it('takes the 1-unit row over structured data a few dollars lower: prices agree only to the cent', () => {
    const gold = (ld: string, row: string) =>
      extractPrice({
        vendor: 'fixture',
        product: age,
        html: `<!doctype html><html><head><title>1 oz American Gold Eagle</title><script type="application/ld+json">${ld}</script></head><body><main><h1>1 oz American Gold Eagle</h1>
        <table><tr><th>Qty</th><th>Check/Wire</th><th>Card</th></tr><tr><td>1-9</td><td>${row}</td><td>$5,450.55</td></tr><tr><td>500+</td><td>$5,231.30</td><td>$5,440.55</td></tr></table><button>Add to cart</button></main></body></html>`,
      });
    const aggregate = (low: string) => `{"@context":"https://schema.org","@type":"Product","name":"1 oz American Gold Eagle","offers":{"@type":"AggregateOffer","lowPrice":"${low}","highPrice":"5450.55","priceCurrency":"USD"}}`;
    // $20 (0.4%) and $1 below the 1-unit row: both the largest tier's price, neither the price.
    expect(gold(aggregate('5231.30'), '$5,251.30')).toMatchObject({ price: 5251.3, matchedBy: 'pricing-table' });
    expect(gold(aggregate('5250.30'), '$5,251.30')).toMatchObject({ price: 5251.3, matchedBy: 'pricing-table' });
    // The same amount to the cent is agreement: the structured source is named.
    expect(gold(aggregate('5251.30'), '$5,251.30')).toMatchObject({ price: 5251.3, matchedBy: 'jsonld' });
  });

  it('a card price in the headline and meta tags loses to the check/wire column, whatever that column\'s label adds', () => {
    for (const label of ['Check/Wire (save 4%)', 'Cash Discount Price', 'Bank Wire - 4% off']) {
      const html = page(`<main><h1>1 oz American Silver Eagle</h1><p class="price">$96.20</p>
        <table><tr><th>Quantity</th><th>${label}</th><th>Credit Card</th></tr><tr><td>1 - 19</td><td>$92.50</td><td>$96.20</td></tr><tr><td>20+</td><td>$91.50</td><td>$95.16</td></tr></table>
        <button>Add to cart</button></main>`, '<meta property="product:price:amount" content="96.20"><meta property="product:price:currency" content="USD">');
      expect(run(html), label).toMatchObject({ price: 92.5, matchedBy: 'pricing-table' });
    }
  });

  it('reads tier lines without cells ("1-19: $92.30 check / $95.99 card")', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><ul class="tiers"><li>1-19: <b>$92.30</b> check <b>$95.99</b> card</li><li>20+: <b>$91.30</b> check</li></ul><button>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, matchedBy: 'pricing-table' });
  });

  it('reads <dl> tiers and stops at the next quantity; takes the lowest payment method in a cell', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><dl><dt>1 - 24</dt><dd>$96.79 Card / $92.95 Wire</dd><dt>25+</dt><dd>$95.00 Card / $91.10 Wire</dd></dl><button>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.95, matchedBy: 'pricing-table' });
  });

  it('skips a "Sell to us" buyback table with its own 1-unit row', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><h3>Sell your Silver Eagles to us</h3><table><tr><th>Qty</th><th>Price</th></tr><tr><td>1-19</td><td>$86.10</td></tr></table>
      <table><tr><th>Qty</th><th>Price</th></tr><tr><td>1-19</td><td>$93.40</td></tr></table><button>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 93.4, matchedBy: 'pricing-table' });
  });

  it('takes the lowest of payment-method prices written as text, whichever comes first', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div class="price-box"><p>Credit Card Price: <span class="price">$96.99</span></p><p>Check/Wire Price: <span class="price">$93.26</span></p></div><button>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 93.26, matchedBy: 'page-text' });
  });

  it('reads a sale price that touches its label ("Sale price$92.30") and skips the regular one', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div class="price"><span class="visually-hidden">Regular price</span><s>$99.00</s><span class="visually-hidden">Sale price</span><span class="price-item--sale">$92.30</span></div><button>Add to cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, matchedBy: 'page-text' });
  });

  it('uses a "Regular price" when it is the only price on the page', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><p>Regular price: <span>$94.10</span></p><button>Add to cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 94.1, matchedBy: 'page-text' });
  });

  it('does not join "$" and a number from different blocks', () => {
    expect(findMoney('$\n1 - 19')).toEqual([]);
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div>$</div><div>92</div></main>`);
    expect(run(html).price).toBeNull();
  });

  it('does not take structured data from related products', () => {
    const ld = `<script type="application/ld+json">{"@context":"https://schema.org","@type":"ItemList","itemListElement":[{"@type":"ListItem","item":{"@type":"Product","name":"1 oz Silver Maple","offers":{"@type":"Offer","price":"88.00"}}}]}</script>`;
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div class="price">$92.99</div><button>Add to Cart</button></main>`, ld);
    expect(run(html)).toMatchObject({ price: 92.99, matchedBy: 'page-text' });
  });

  it('ignores structured products of another weight and picks the page product', () => {
    const ld = `<script type="application/ld+json">[{"@type":"Product","name":"1/2 oz Silver Eagle Proof","offers":{"@type":"Offer","price":"60.00"}},{"@type":"Product","name":"1 oz American Silver Eagle","offers":{"@type":"Offer","price":"92.10","availability":"InStock"}}]</script>`;
    expect(run(page(`<main><h1>1 oz American Silver Eagle</h1></main>`, ld))).toMatchObject({ price: 92.1, matchedBy: 'jsonld', inStock: true });
  });

  it('ignores JSON-LD offers whose own name is another product (a tube variant)', () => {
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"1 oz American Silver Eagle","offers":[{"@type":"Offer","name":"Tube of 20","price":"90.10"},{"@type":"Offer","name":"Single coin","price":"92.40"}]}</script>`;
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1></main>', ld))).toMatchObject({ price: 92.4, matchedBy: 'jsonld' });
  });

  it('repairs sloppy JSON-LD (trailing commas, raw newlines)', () => {
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"1 oz American Silver Eagle","description":"line one
line two","offers":{"@type":"Offer","price":"92.40",},}</script>`;
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1></main>', ld))).toMatchObject({ price: 92.4, matchedBy: 'jsonld' });
  });

  it('ignores non-USD offers', () => {
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"1 oz American Silver Eagle","offers":{"@type":"Offer","price":"130.00","priceCurrency":"CAD"}}</script>`;
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.60</span><button>Add to Cart</button></main>', ld))).toMatchObject({ price: 92.6, matchedBy: 'page-text' });
  });

  it('reads Shopify meta tags', () => {
    const head = '<meta property="og:price:amount" content="92.35"><meta property="og:price:currency" content="USD">';
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1></main>', head))).toMatchObject({ price: 92.35, matchedBy: 'meta' });
  });

  it('takes app state prices in cents when that is the only plausible reading', () => {
    const html = page(`<div id="root"></div><script type="application/json" data-product-json>{"title":"1 oz American Silver Eagle","price":9230,"compare_at_price":9900,"available":true}</script>`);
    expect(run(html)).toMatchObject({ price: 92.3, matchedBy: 'app-state', inStock: true });
  });

  it('reads Magento priceBox configuration and BigCommerce BCData', () => {
    const magento = page(`<main><h1>1 oz American Silver Eagle</h1></main><script type="text/x-magento-init">{"[data-role=priceBox][data-price-box=product-id-7]":{"priceBox":{"priceConfig":{"productId":"7","prices":{"oldPrice":{"amount":99},"finalPrice":{"amount":93.15}}}}}}</script>`);
    expect(run(magento)).toMatchObject({ price: 93.15, matchedBy: 'app-state' });
    const bc = page(`<main><h1>1 oz American Silver Eagle</h1></main><script>var BCData = {"product_attributes":{"price":{"without_tax":{"formatted":"$93.55","value":93.55}},"instock":true}};</script>`);
    expect(run(bc)).toMatchObject({ price: 93.55, matchedBy: 'app-state', inStock: true });
  });

  it('does not take app state prices that are not clearly the product', () => {
    const html = page(`<div id="root"></div><script type="application/json">{"spot":{"silver":{"price":85.12}},"banner":{"title":"Summer sale","price":50}}</script>`);
    expect(run(html).outcome).toBe('no_price');
  });

  it('with a spot price, skips a candidate under melt value and reads the next evidence', () => {
    // $47.10 is a plausible silver amount by range alone, but half a 1 oz coin's melt value at $85.
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"American Silver Eagle","offers":{"@type":"Offer","price":"47.10"}}</script>`;
    const html = page('<main><h1>American Silver Eagle</h1><span class="price">$92.80</span><button>Add to cart</button></main>', ld);
    expect(run(html)).toMatchObject({ price: 47.1, matchedBy: 'jsonld' });
    const r = run(html, { spotUsdPerOz: 85 });
    expect(r).toMatchObject({ price: 92.8, matchedBy: 'page-text' });
    expect(run('<main><h1>American Silver Eagle</h1><span class="price">$47.10</span></main>', { spotUsdPerOz: 85 })).toMatchObject({
      price: null,
      outcome: 'no_price',
      reason: expect.stringMatching(/below melt/),
    });
  });

  it('uses vendor rules: priceSelector and ignoreSelectors', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div class="weird-widget">Price $70.00</div><div class="odd" data-p="1">92.77</div><button>Add to Cart</button></main>`);
    expect(run(html, { rules: { priceSelector: '.odd' } })).toMatchObject({ price: 92.77, matchedBy: 'vendor-selector' });
    expect(run(html, { rules: { ignoreSelectors: ['.weird-widget', '[broken'] } })).toMatchObject({ price: null, outcome: 'no_price' });
  });

  it('reads a page whose <body> classes name a menu or header setting (WordPress themes list them there)', () => {
    const html = `<!doctype html><html><head><title>1 oz American Silver Eagle</title></head><body class="single-product ast-woocommerce-cart-menu ast-full-width-primary-header"><main><h1>1 oz American Silver Eagle</h1>
      <table><tr><th>Qty</th><th>Check/Wire</th><th>Card</th></tr><tr><td>1 - 9</td><td>$92.50</td><td>$96.20</td></tr><tr><td>10+</td><td>$91.50</td><td>$95.16</td></tr></table><button>Add to cart</button></main></body></html>`;
    expect(run(html)).toMatchObject({ price: 92.5, matchedBy: 'pricing-table', inStock: true });
  });
});

describe('stock', () => {
  it('"In stock" stated before a back-order for large quantities is in stock; a pre-order stated first stays one', () => {
    const stocked = page(`<main><h1>1 oz American Silver Eagle</h1><p class="price">$92.50</p><p class="stock">In stock (available on backorder beyond 5,000)</p><button>Add to cart</button></main>`);
    expect(run(stocked)).toMatchObject({ price: 92.5, inStock: true, outcome: 'ok' });
    const preorder = page(`<main><h1>1 oz American Silver Eagle</h1><p class="price">$92.50</p><p class="stock">Pre-order: expected in stock March 15</p><button>Add to cart</button></main>`);
    expect(run(preorder)).toMatchObject({ price: 92.5, inStock: false });
  });

  it('a disabled add-to-cart button in the product area means out of stock', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button class="add-to-cart" disabled>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: false, outcome: 'out_of_stock' });
  });

  it('an enabled add-to-cart button beats a "Sold out" badge left in the theme markup', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><span class="price__badge--sold-out">Sold out</span><button class="add-to-cart">Add to cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: true, outcome: 'ok' });
  });

  it('a buy control reading "Notify me" or "Sold out" means out of stock', () => {
    for (const label of ['Notify Me', 'Sold Out', 'Email me when available']) {
      const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button class="btn">${label}</button></main>`);
      expect(run(html), label).toMatchObject({ inStock: false, outcome: 'out_of_stock', price: 92.3 });
    }
  });

  it('pre-order on the page is in stock only for vendors configured so', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><p>Pre-Order: ships January 12</p><span class="price">$92.30</span><button>Add to cart</button></main>`);
    expect(run(html)).toMatchObject({ inStock: false, outcome: 'out_of_stock', price: 92.3 });
    expect(run(html, { rules: { preorderInStock: true } })).toMatchObject({ inStock: true, outcome: 'ok', price: 92.3 });
  });

  it('"Coming soon" without a buy button is out of stock; a back-order counts like a pre-order', () => {
    const soon = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><p>Coming Soon</p></main>`);
    expect(run(soon)).toMatchObject({ inStock: false, outcome: 'out_of_stock', price: 92.3 });
    const back = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><p>Backordered: ships in 3 weeks</p><button>Add to cart</button></main>`);
    expect(run(back)).toMatchObject({ inStock: false, outcome: 'out_of_stock' });
    expect(run(back, { rules: { preorderInStock: true } })).toMatchObject({ inStock: true, outcome: 'ok' });
  });

  it('JSON-LD OutOfStock decides when the page shows no stock evidence', () => {
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"1 oz American Silver Eagle","offers":{"@type":"Offer","price":"92.30","availability":"http://schema.org/OutOfStock"}}</script>`;
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1></main>', ld))).toMatchObject({ price: 92.3, inStock: false, outcome: 'out_of_stock' });
  });

  it('an out-of-stock page without a price is out_of_stock with a null price', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><p class="stock">Sold Out</p></main>`);
    expect(run(html)).toMatchObject({ price: null, inStock: false, outcome: 'out_of_stock' });
  });

  it('"price currently unavailable" is about the price, not the stock', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><p>Price currently unavailable, call for a quote.</p></main>`);
    expect(run(html)).toMatchObject({ price: null, inStock: null, outcome: 'no_price' });
  });

  it('stock words in reviews, menus, variant options and other products are not read', () => {
    const html = page(`<header><nav><a>1/10 oz Silver Eagle</a> <span>Sold Out</span></nav></header><main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span>
      <select><option>2025 - Sold out</option></select><p class="stock">In Stock</p>
      <section class="reviews"><p>It was out of stock, I clicked notify me when available.</p></section>
      <section><h2>Customers also purchased</h2><div>1 oz Silver Maple <span>Out of stock</span></div></section></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: true, outcome: 'ok' });
  });

  it('stock is unknown when the page says nothing', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: null, outcome: 'ok' });
  });
});

describe('plain page text (a browser tier\'s innerText)', () => {
  it('reads the price near the named product, skips "as low as" and the section under "Customers also purchased"', () => {
    const text = ['Silver $85.12', '2026 1 oz American Silver Eagle', 'As Low As $91.00', 'Price: $93.45', 'In Stock', 'Add to Cart', 'Customers Also Purchased', '1 oz Silver Maple', '$88.10'].join('\n');
    expect(run(text)).toMatchObject({ price: 93.45, inStock: true, outcome: 'ok', matchedBy: 'page-text' });
  });

  it('tells a page of another weight apart and text without a product from a product', () => {
    expect(run('1/2 oz American Silver Eagle\n$47.10\nAdd to Cart').outcome).toBe('wrong_product');
    expect(run('Lorem ipsum\nNothing to buy here')).toMatchObject({ price: null, outcome: 'no_price' });
  });
});

describe('failures told apart', () => {
  it('flags another metal and multi-coin packs as wrong products', () => {
    expect(run(page('<main><h1>1 oz American Gold Eagle</h1><span class="price">$5,200.00</span></main>')).outcome).toBe('wrong_product');
    expect(run(page('<main><h1>1 oz American Silver Eagle - Tube of 20</h1><span class="price">$1,840.00</span></main>')).outcome).toBe('wrong_product');
    expect(run(page('<main><h1>American Silver Eagle 5-Pack</h1><span class="price">$460.00</span></main>')).outcome).toBe('wrong_product');
    expect(run(page('<main><h1>American Silver Eagle (1 oz, BU)</h1><span class="price">$92.00</span></main>')).outcome).toBe('ok');
  });

  it('flags a goldback of another denomination', () => {
    const gb: ProductIdentity = { coin: 'goldback-utah-g1', coinName: 'G1 Utah Goldback (1/1000 oz gold)', metal: 'goldback', weightOz: 1 };
    const r = extractPrice({ html: page('<main><h1>Utah Goldback - G5 (5/1000 oz 24K Gold)</h1><span class="price">$48.90</span></main>'), vendor: 'x', product: gb });
    expect(r.outcome).toBe('wrong_product');
  });

  it('status 401/403/429 are blocked, 404/410 not found', () => {
    expect(run('<html></html>', { status: 429 }).outcome).toBe('blocked');
    expect(run('<html></html>', { status: 401 }).outcome).toBe('blocked');
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span></main>'), { status: 403 }).outcome).toBe('blocked');
    expect(run('<html></html>', { status: 404 }).outcome).toBe('not_found');
    expect(run('<html></html>', { status: 410 }).outcome).toBe('not_found');
  });

  it('a challenge page whose heading is the site name is blocked, even with HTTP 200', () => {
    const html = '<html><head><title>dealer.example</title></head><body><h1>dealer.example</h1><p>Verify you are human by completing the action below.</p></body></html>';
    expect(run(html, { status: 200 })).toMatchObject({ outcome: 'blocked', price: null });
  });

  it('a product page that embeds a reCAPTCHA newsletter form is not blocked', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button>Add to Cart</button></main><footer><form class="newsletter"><div class="g-recaptcha" data-sitekey="x"></div></form></footer>`);
    expect(run(html)).toMatchObject({ outcome: 'ok', price: 92.3 });
  });

  it('a soft 404 is not found', () => {
    expect(run(page('<main><h1>Product not found</h1><div class="related"><span>$92.30</span></div></main>'), { status: 200 }).outcome).toBe('not_found');
  });
});

describe('money and weight parsing', () => {
  it('parses dollar amounts', () => {
    expect(parseMoney('$1,234.56')).toBe(1234.56);
    expect(parseMoney('$1,234')).toBe(1234);
    expect(parseMoney('USD 92.30')).toBe(92.3);
    expect(parseMoney('92.30 USD')).toBe(92.3);
    expect(parseMoney('Price: $ 92.3')).toBe(92.3);
    expect(parseMoney('US$92.30')).toBe(92.3);
    expect(parseMoney('Sale price$92.30')).toBe(92.3);
    expect(parseMoney('CA$130.00')).toBeNull();
    expect(parseMoney('A$130.00')).toBeNull();
    expect(parseMoney('-$5.00')).toBeNull();
    expect(parseMoney('no money here 92.30')).toBeNull();
    expect(findMoney('Check $92.30 Card $95.99').map((m) => m.value)).toEqual([92.3, 95.99]);
    expect(parsePriceValue('1,234.56')).toBe(1234.56);
    expect(parsePriceValue(92.3)).toBe(92.3);
    expect(parsePriceValue('0.00')).toBeNull();
    expect(parsePriceValue('call')).toBeNull();
  });

  it('parses weights', () => {
    expect(findWeights('1/10 oz American Gold Eagle').map((w) => w.oz)).toEqual([0.1]);
    expect(findWeights('2026 1 oz Silver Eagle').map((w) => w.oz)).toEqual([1]);
    expect(findWeights('10 oz Silver Bar').map((w) => w.oz)).toEqual([10]);
    expect(findWeights('1 Kilo Silver Bar')[0].oz).toBeCloseTo(32.15, 2);
    expect(findWeights('5 gram Gold Bar')[0].oz).toBeCloseTo(0.1608, 3);
    expect(findWeights('\u00bd oz Gold Buffalo').map((w) => w.oz)).toEqual([0.5]);
    expect(findWeights('1/2-oz Gold').map((w) => w.oz)).toEqual([0.5]);
    expect(findWeights('2024 1/4 Troy Ounce').map((w) => w.oz)).toEqual([0.25]);
    expect(findWeights('G1 Goldback')).toEqual([]);
  });
});

describe('extractPrice robustness', () => {
  // Guards against super-linear walks (they took 2.7 s, 36 s, or never finished), not speed goals (those are in
  // the benchmark): each budget is ten times what the input takes here, so a loaded CI machine passes too.
  const SLACK = 10;
  const inputs: [string, () => unknown, number][] = [
    ['empty string', () => '', 50],
    ['whitespace', () => '   \n\t ', 50],
    ['random bytes', () => randomBytes(200_000).toString('latin1'), 500],
    ['random utf8 garbage', () => randomBytes(100_000).toString('utf8'), 500],
    ['unclosed table cells', () => '<html><body><div><table><tr><td>1 - 19<td>$<span>'.repeat(2000), 500],
    ['deeply nested divs', () => '<div>'.repeat(100_000) + '<h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span>' + '</div>'.repeat(100_000), 1500],
    ['deeply nested unclosed spans', () => '<span><b><i>'.repeat(50_000), 1500],
    ['many stray end tags', () => '<div>' + '</td></span></p>'.repeat(100_000), 1000],
    ['unterminated attribute quotes', () => '<div class="a'.repeat(50_000), 1000],
    ['unterminated comments and tags', () => '<!--'.repeat(50_000) + '<a href="'.repeat(50_000) + '</'.repeat(50_000), 1000],
    ['many 1-unit rows', () => `<main><h1>1 oz American Silver Eagle</h1>${'<div><span>1 - 19</span><span>$92.30</span></div>'.repeat(20_000)}</main>`, 2000],
    ['many implausible 1-unit rows', () => `<main><h1>1 oz American Silver Eagle</h1>${'<div><span>1 - 19</span><span>$1.00</span></div>'.repeat(20_000)}</main>`, 2000],
    ['many trap headings', () => `<main><h1>1 oz American Silver Eagle</h1>${'<section><h2>Customers also purchased</h2><p>$90.00</p></section>'.repeat(20_000)}</main>`, 2000],
    ['10 MB of plain text lines', () => 'Lorem ipsum 1 oz silver $12.00 dolor sit amet\n'.repeat(230_000), 2500],
    ['broken JSON-LD and app state', () => '<script type="application/ld+json">{"@type":"Product","offers":{</script><script>window.__INITIAL_STATE__ = {"a": [1,2,{"b":</script><script id="__NEXT_DATA__" type="application/json">not json</script>', 200],
    ['self-referencing JSON nesting', () => `<script type="application/ld+json">${'['.repeat(5000)}${']'.repeat(5000)}</script><script type="application/json">${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}</script>`, 500],
    ['not a string', () => 12345, 50],
    ['null', () => null, 50],
  ];
  for (const [name, make, baseMs] of inputs) {
    const budgetMs = baseMs * SLACK;
    it(`does not throw on ${name}, within ${budgetMs} ms of CPU`, () => {
      const html = make() as string;
      let r: ReturnType<typeof extractPrice> | undefined;
      const ms = cpuMs(() => {
        r = extractPrice({ html, vendor: 'x', product: ase });
      });
      expect(['no_price', 'blocked', 'not_found', 'wrong_product', 'ok', 'out_of_stock']).toContain(r!.outcome);
      expect(r!.reason).toMatch(/\S/);
      expect(r!.reason).not.toMatch(/extractor could not read this page/);
      if (name === 'deeply nested divs') expect(r!.price).toBe(92.3);
      else if (name === 'many 1-unit rows') expect(r!.price).toBe(92.3);
      else expect(r!.price).toBeNull();
      expect(ms).toBeLessThan(budgetMs);
    });
  }

  it('reads a price through nesting deeper than the parser cap', () => {
    const html = '<main>' + '<div>'.repeat(3 * MAX_DEPTH) + '<h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button>Add to cart</button>' + '</div>'.repeat(3 * MAX_DEPTH) + '</main>';
    expect(extractPrice({ html, vendor: 'x', product: ase })).toMatchObject({ price: 92.3, inStock: true, outcome: 'ok' });
  });

  it('reads a 10 MB page in linear time (a guard of 20 s of CPU; about 1 s here), and its product when it has one', () => {
    const row = '<div class="row"><span>Lorem ipsum dolor sit amet</span><a href="/x">more</a></div>\n';
    const filler = row.repeat(Math.ceil((10 * 1024 * 1024) / row.length));
    const empty = `<html><head><title>Catalog</title></head><body>${filler}</body></html>`;
    expect(empty.length).toBeGreaterThan(10 * 1024 * 1024);
    let r: ReturnType<typeof extractPrice> | undefined;
    const ms = cpuMs(() => {
      r = extractPrice({ html: empty, vendor: 'x', product: ase });
    });
    expect(r).toMatchObject({ outcome: 'no_price', price: null });
    expect(ms).toBeLessThan(20_000);
    const product = `<html><body><main><h1>1 oz American Gold Eagle</h1><table><tr><th>Qty</th><th>Wire</th><th>Card</th></tr><tr><td>1 - 19</td><td>$5,245.60</td><td>$5,455.42</td></tr></table><button>Add to cart</button></main>${filler}</body></html>`;
    expect(extractPrice({ html: product, vendor: 'x', product: age })).toMatchObject({ price: 5245.6, outcome: 'ok', inStock: true });
  });
});
