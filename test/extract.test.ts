import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { ProductIdentity } from '../src/catalogue/target.js';
import { extractPrice } from '../src/scrape/extract/extract.js';
import { findMoney, parseMoney, parsePriceValue } from '../src/scrape/extract/money.js';
import { isOneUnitLabel } from '../src/scrape/extract/pricing-table.js';
import type { ExtractInput, VendorRules } from '../src/scrape/extract/types.js';
import { findWeights } from '../src/scrape/extract/weight.js';

const dir = fileURLToPath(new URL('./fixtures/pages/', import.meta.url));

interface FixtureCase {
  name: string;
  file: string;
  product: string;
  status?: number;
  rules?: VendorRules;
  expect: { price: number | null; inStock?: boolean | null; outcome: string; matchedBy?: string | null };
}

const index = JSON.parse(readFileSync(`${dir}index.json`, 'utf8')) as { products: Record<string, ProductIdentity>; cases: FixtureCase[] };
const ase = index.products.ase;

function run(html: string, extra: Partial<ExtractInput> = {}) {
  return extractPrice({ html, vendor: 'fixture', product: ase, ...extra });
}

describe('extractPrice on fixture pages', () => {
  it('has at least 12 distinct fixture pages', () => {
    expect(new Set(index.cases.map((c) => c.file)).size).toBeGreaterThanOrEqual(12);
  });

  for (const c of index.cases) {
    it(c.name, () => {
      const html = readFileSync(`${dir}${c.file}`, 'utf8');
      const product = index.products[c.product];
      expect(product, `unknown product ${c.product}`).toBeDefined();
      const r = extractPrice({ html, status: c.status, vendor: 'fixture', product, rules: c.rules, url: `https://vendor.example/${c.file}` });
      const context = `${c.file}: ${JSON.stringify(r)}`;
      expect(r.outcome, context).toBe(c.expect.outcome);
      expect(r.price, context).toBe(c.expect.price);
      if (c.expect.inStock !== undefined) expect(r.inStock, context).toBe(c.expect.inStock);
      if (c.expect.matchedBy !== undefined) expect(r.matchedBy, context).toBe(c.expect.matchedBy);
      expect(r.reason, context).toMatch(/\S/);
      expect(r.reason, context).not.toMatch(/\n/);
    });
  }
});

describe('extractPrice rules in isolation', () => {
  const page = (body: string, head = '') => `<!doctype html><html><head><title>1 oz American Silver Eagle</title>${head}</head><body>${body}</body></html>`;

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
    const r = run(html);
    expect(r).toMatchObject({ price: 92.5, matchedBy: 'pricing-table', outcome: 'ok', inStock: true });
  });

  it('reads tier lines without cells ("1-19: $92.30 check / $95.99 card")', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><ul class="tiers"><li>1-19: <b>$92.30</b> check <b>$95.99</b> card</li><li>20+: <b>$91.30</b> check</li></ul><button>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, matchedBy: 'pricing-table' });
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

  it('does not take app state prices that are not clearly the product', () => {
    const html = page(`<div id="root"></div><script type="application/json">{"spot":{"silver":{"price":85.12}},"banner":{"title":"Summer sale","price":50}}</script>`);
    expect(run(html).outcome).toBe('no_price');
  });

  it('a disabled add-to-cart button in the product area means out of stock', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button class="add-to-cart" disabled>Add to Cart</button></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: false, outcome: 'out_of_stock' });
  });

  it('JSON-LD OutOfStock alone means out of stock', () => {
    const ld = `<script type="application/ld+json">{"@type":"Product","name":"1 oz American Silver Eagle","offers":{"@type":"Offer","price":"92.30","availability":"http://schema.org/OutOfStock"}}</script>`;
    expect(run(page('<main><h1>1 oz American Silver Eagle</h1></main>', ld))).toMatchObject({ price: 92.3, inStock: false, outcome: 'out_of_stock' });
  });

  it('an out-of-stock page without a price is out_of_stock with a null price', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><p class="stock">Sold Out</p></main>`);
    expect(run(html)).toMatchObject({ price: null, inStock: false, outcome: 'out_of_stock' });
  });

  it('stock is unknown when the page says nothing', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span></main>`);
    expect(run(html)).toMatchObject({ price: 92.3, inStock: null, outcome: 'ok' });
  });

  it('flags another metal and multi-coin packs as wrong products', () => {
    expect(run(page('<main><h1>1 oz American Gold Eagle</h1><span class="price">$5,200.00</span></main>')).outcome).toBe('wrong_product');
    expect(run(page('<main><h1>1 oz American Silver Eagle - Tube of 20</h1><span class="price">$1,840.00</span></main>')).outcome).toBe('wrong_product');
    expect(run(page('<main><h1>American Silver Eagle (1 oz, BU)</h1><span class="price">$92.00</span></main>')).outcome).toBe('ok');
  });

  it('flags a goldback of another denomination', () => {
    const gb: ProductIdentity = { coin: 'goldback-utah-g1', coinName: 'G1 Utah Goldback (1/1000 oz gold)', metal: 'goldback', weightOz: 1 };
    const r = extractPrice({ html: page('<main><h1>Utah Goldback - G5 (5/1000 oz 24K Gold)</h1><span class="price">$48.90</span></main>'), vendor: 'x', product: gb });
    expect(r.outcome).toBe('wrong_product');
  });

  it('uses vendor rules: priceSelector and ignoreSelectors', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><div class="weird-widget">Price $70.00</div><div class="odd" data-p="1">92.77</div><button>Add to Cart</button></main>`);
    expect(run(html, { rules: { priceSelector: '.odd' } })).toMatchObject({ price: 92.77, matchedBy: 'vendor-selector' });
    expect(run(html, { rules: { ignoreSelectors: ['.weird-widget', '[broken'] } })).toMatchObject({ price: null, outcome: 'no_price' });
  });

  it('status 401/429 are blocked and 410 not found', () => {
    expect(run('<html></html>', { status: 429 }).outcome).toBe('blocked');
    expect(run('<html></html>', { status: 401 }).outcome).toBe('blocked');
    expect(run('<html></html>', { status: 410 }).outcome).toBe('not_found');
  });

  it('a product page that embeds a reCAPTCHA newsletter form is not blocked', () => {
    const html = page(`<main><h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span><button>Add to Cart</button></main><footer><form class="newsletter"><div class="g-recaptcha" data-sitekey="x"></div></form></footer>`);
    expect(run(html)).toMatchObject({ outcome: 'ok', price: 92.3 });
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
    expect(parseMoney('CA$130.00')).toBeNull();
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
  const inputs: [string, () => unknown][] = [
    ['empty string', () => ''],
    ['whitespace', () => '   \n\t '],
    ['random bytes', () => randomBytes(200_000).toString('latin1')],
    ['random utf8 garbage', () => randomBytes(100_000).toString('utf8')],
    ['unclosed tags', () => '<html><body><div><table><tr><td>1 - 19<td>$<span>'.repeat(2000)],
    ['deeply nested divs', () => '<div>'.repeat(100_000) + '<h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span>' + '</div>'.repeat(100_000)],
    ['deeply nested unclosed spans', () => '<span><b><i>'.repeat(50_000)],
    ['broken JSON-LD and app state', () => '<script type="application/ld+json">{"@type":"Product","offers":{</script><script>window.__INITIAL_STATE__ = {"a": [1,2,{"b":</script><script id="__NEXT_DATA__" type="application/json">not json</script>'],
    ['self-referencing JSON nesting', () => `<script type="application/ld+json">${'['.repeat(5000)}${']'.repeat(5000)}</script><script type="application/json">${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}</script>`],
    ['not a string', () => 12345],
    ['null', () => null],
  ];
  for (const [name, make] of inputs) {
    it(`does not throw on ${name}`, () => {
      const r = extractPrice({ html: make() as string, vendor: 'x', product: ase });
      expect(['no_price', 'blocked', 'not_found', 'wrong_product', 'ok', 'out_of_stock']).toContain(r.outcome);
      expect(typeof r.reason).toBe('string');
      if (name !== 'deeply nested divs') expect(r.price).toBeNull();
    });
  }

  it('reads through deep nesting', () => {
    const html = '<div>'.repeat(100_000) + '<h1>1 oz American Silver Eagle</h1><span class="price">$92.30</span>' + '</div>'.repeat(100_000);
    expect(extractPrice({ html, vendor: 'x', product: ase }).price).toBe(92.3);
  });

  it('survives a 10 MB page without a price', () => {
    const row = '<div class="row"><span>Lorem ipsum dolor sit amet</span><a href="/x">more</a></div>\n';
    const html = `<html><head><title>Catalog</title></head><body>${row.repeat(Math.ceil((10 * 1024 * 1024) / row.length))}</body></html>`;
    expect(html.length).toBeGreaterThan(10 * 1024 * 1024);
    const started = Date.now();
    const r = extractPrice({ html, vendor: 'x', product: ase });
    expect(r.outcome).toBe('no_price');
    expect(r.price).toBeNull();
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
