/** JSON-LD: schema.org Product / Offer / AggregateOffer, including @graph, arrays and nesting. */
import type { ProductIdentity } from '../../catalogue/target.js';
import { type Page } from './dom.js';
import { parseAvailability, type Availability, type PriceEvidence } from './evidence.js';
import { formatUsd, parsePriceValue } from './money.js';
import { judgeName } from './page-kind.js';

const PRODUCT_TYPES = new Set(['product', 'individualproduct', 'productmodel', 'someproducts', 'productgroup']);
/** Keys under which other products live (related products, lists, carousels). */
const SKIP_KEYS = new Set([
  'isrelatedto', 'issimilarto', 'isaccessoryorsparepartfor', 'isconsumablefor', 'itemlistelement', 'relatedlink',
  'mentions', 'review', 'reviews', 'isvariantof', 'subjectof', 'hasmerchantreturnpolicy', 'potentialaction',
]);

type Json = unknown;

function types(node: Record<string, unknown>): string[] {
  const t = node['@type'];
  const list = Array.isArray(t) ? t : [t];
  return list.filter((x): x is string => typeof x === 'string').map((x) => x.replace(/^https?:\/\/schema\.org\//i, '').toLowerCase());
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** JSON.parse, then a second try after fixing what pages commonly get wrong in JSON-LD. */
export function parseJsonLoose(text: string): Json | undefined {
  const t = text.trim().replace(/^<!--/, '').replace(/-->$/, '').replace(/^\s*\/\/\s*<!\[CDATA\[/, '').replace(/\/\/\s*\]\]>\s*$/, '').trim();
  if (!t) return undefined;
  try {
    return JSON.parse(t);
  } catch {
    /* try to repair */
  }
  try {
    // Raw newlines/tabs inside strings, trailing commas.
    const fixed = t.replace(/[\u0000-\u001f]+/g, ' ').replace(/,\s*([}\]])/g, '$1');
    return JSON.parse(fixed);
  } catch {
    return undefined;
  }
}

interface OfferPrice {
  price: number;
  kind: 'offer' | 'aggregate-low';
  availability: Availability | null;
  label: string;
}

interface JsonLdProduct {
  name: string;
  url: string;
  offers: OfferPrice[];
  availability: Availability | null;
}

function firstString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return firstString(v[0]);
  if (isObj(v) && typeof v['@value'] === 'string') return v['@value'] as string;
  return '';
}

function currencyOk(node: Record<string, unknown>): boolean {
  const c = firstString(node.priceCurrency).trim().toUpperCase();
  return c === '' || c === 'USD' || c === 'US$' || c === '$';
}

function coversOneUnit(offer: Record<string, unknown>): boolean {
  const q = offer.eligibleQuantity;
  if (!isObj(q)) return true;
  const min = Number(q.minValue ?? q.value ?? 1);
  return !Number.isFinite(min) || min <= 1;
}

/** Offers of a Product; an offer whose own name names another product (a variant such as a tube) is `otherProduct`. */
function offerPrices(offers: unknown, out: OfferPrice[], otherProduct: (name: string) => boolean, depth = 0): void {
  if (depth > 4 || offers === null || offers === undefined) return;
  if (Array.isArray(offers)) {
    for (const o of offers.slice(0, 200)) offerPrices(o, out, otherProduct, depth + 1);
    return;
  }
  if (!isObj(offers)) return;
  const offerName = firstString(offers.name).trim();
  if (offerName && otherProduct(offerName)) return;
  const t = types(offers);
  const availability = parseAvailability(firstString(offers.availability));
  if (!currencyOk(offers)) return;
  if (t.includes('aggregateoffer')) {
    const nested: OfferPrice[] = [];
    offerPrices(offers.offers, nested, otherProduct, depth + 1);
    const exact = nested.filter((o) => o.kind === 'offer');
    if (exact.length) {
      out.push(...exact.map((o) => ({ ...o, availability: o.availability ?? availability })));
      return;
    }
    const price = parsePriceValue(offers.price);
    if (price !== null) {
      out.push({ price, kind: 'offer', availability, label: `AggregateOffer price ${formatUsd(price)}` });
      return;
    }
    const low = parsePriceValue(offers.lowPrice);
    if (low !== null) {
      const high = parsePriceValue(offers.highPrice);
      out.push({ price: low, kind: 'aggregate-low', availability, label: `AggregateOffer lowPrice ${formatUsd(low)}${high ? ` (highPrice ${formatUsd(high)})` : ''}` });
    }
    return;
  }
  if (!coversOneUnit(offers)) return;
  let price = parsePriceValue(offers.price);
  if (price === null) {
    // priceSpecification: the lowest non-list price.
    const specs = Array.isArray(offers.priceSpecification) ? offers.priceSpecification : [offers.priceSpecification];
    for (const s of specs) {
      if (!isObj(s) || !currencyOk(s)) continue;
      const pt = firstString(s.priceType).toLowerCase();
      if (/list|strikethrough|msrp|srp|invoice/.test(pt)) continue;
      if (isObj(s.eligibleQuantity) && Number(s.eligibleQuantity.minValue ?? 1) > 1) continue;
      const p = parsePriceValue(s.price);
      if (p !== null && (price === null || p < price)) price = p;
    }
  }
  if (price === null) {
    const low = parsePriceValue(offers.lowPrice);
    if (low !== null) out.push({ price: low, kind: 'aggregate-low', availability, label: `Offer lowPrice ${formatUsd(low)}` });
    return;
  }
  out.push({ price, kind: 'offer', availability, label: `Offer price ${formatUsd(price)}` });
}

/** Every Product node of every JSON-LD block, outside related-product lists. */
export function readJsonLdProducts(page: Page, otherProduct: (name: string) => boolean = () => false): JsonLdProduct[] {
  const products: JsonLdProduct[] = [];
  const seen = new Set<unknown>();
  for (const el of page.elements) {
    if (el.name.toLowerCase() !== 'script') continue;
    if (!/ld\+json/i.test(el.attribs.type ?? '')) continue;
    const text = (el.children ?? []).map((c) => c.data ?? '').join('');
    if (text.length > 3_000_000) continue;
    const data = parseJsonLoose(text);
    if (data === undefined) continue;
    const stack: { v: unknown; depth: number }[] = [{ v: data, depth: 0 }];
    let visited = 0;
    while (stack.length && visited++ < 50_000) {
      const { v, depth } = stack.pop()!;
      if (depth > 12 || v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], depth: depth + 1 });
        continue;
      }
      const node = v as Record<string, unknown>;
      const t = types(node);
      if (t.includes('itemlist') || t.includes('breadcrumblist')) continue;
      if (t.some((x) => PRODUCT_TYPES.has(x))) {
        const offers: OfferPrice[] = [];
        offerPrices(node.offers, offers, otherProduct);
        const availability = offers.find((o) => o.availability)?.availability ?? null;
        products.push({ name: firstString(node.name).trim(), url: firstString(node.url), offers, availability });
      }
      const keys = Object.keys(node);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i];
        if (SKIP_KEYS.has(k.toLowerCase()) || k === 'offers') continue;
        stack.push({ v: node[k], depth: depth + 1 });
      }
    }
  }
  return products;
}

function tokens(s: string): Set<string> {
  return new Set(s.toLowerCase().split(/[^a-z0-9\/.]+/).filter((w) => w.length > 1));
}

function similarity(a: string, b: string): number {
  const ta = tokens(a);
  const tb = tokens(b);
  if (!ta.size || !tb.size) return 0;
  let common = 0;
  for (const w of ta) if (tb.has(w)) common++;
  return common / Math.min(ta.size, tb.size);
}

function samePath(a: string, b: string | undefined): boolean {
  if (!a || !b) return false;
  try {
    const pa = new URL(a, b).pathname.replace(/\/+$/, '');
    const pb = new URL(b).pathname.replace(/\/+$/, '');
    return pa !== '' && pa === pb;
  } catch {
    return false;
  }
}

export interface StructuredFinding {
  evidence: PriceEvidence | null;
  availability: Availability | null;
  /** Names of the products the structured data describes, for the wrong-product check. */
  names: string[];
}

/**
 * The page's own product among the JSON-LD products (by URL, then by name against the heading
 * and the catalogue name; products whose name gives another weight are dropped) and its 1-unit
 * price: the lowest Offer price for one unit, else an AggregateOffer lowPrice.
 */
export function jsonLdEvidence(page: Page, product: ProductIdentity, url?: string): StructuredFinding {
  const otherProduct = (name: string): boolean => {
    const v = judgeName(name, product);
    return v !== null && v !== 'ok';
  };
  const all = readJsonLdProducts(page, otherProduct);
  if (!all.length) return { evidence: null, availability: null, names: [] };
  const eligible = all.filter((p) => !p.name || judgeName(p.name, product) === 'ok' || judgeName(p.name, product) === null);
  const heading = page.h1Text || page.title;
  const scored = eligible
    .map((p, i) => ({
      p,
      score: (samePath(p.url, url) ? 10 : 0) + similarity(p.name, heading) * 3 + similarity(p.name, product.coinName) + (p.offers.length ? 1 : 0) - i * 0.01,
    }))
    .sort((a, b) => b.score - a.score);
  const best = scored.find((s) => s.p.offers.length)?.p ?? scored[0]?.p;
  const names = all.map((p) => p.name).filter(Boolean);
  if (!best) return { evidence: null, availability: null, names };
  const exact = best.offers.filter((o) => o.kind === 'offer');
  let chosen: OfferPrice | undefined;
  if (exact.length) chosen = exact.reduce((a, b) => (b.price < a.price ? b : a));
  else chosen = best.offers.find((o) => o.kind === 'aggregate-low');
  const availability = chosen?.availability ?? best.availability;
  if (!chosen) return { evidence: null, availability, names };
  const many = exact.length > 1 ? ` (lowest of ${exact.length} offers)` : '';
  return {
    evidence: {
      rule: 'jsonld',
      price: chosen.price,
      kind: chosen.kind,
      detail: `JSON-LD ${chosen.label}${many}`,
      ...(availability ? { availability } : {}),
    },
    availability,
    names,
  };
}
