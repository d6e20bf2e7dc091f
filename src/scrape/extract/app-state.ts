/**
 * Embedded JSON state of single-page apps: `<script id="__NEXT_DATA__">`, `<script type="application/json">`
 * blocks and `window.__INITIAL_STATE__ = {...}` style assignments. Used only when the state clearly
 * holds this product's price: a product-like object (a name matching the page, or living under a
 * `product` key) with a price or a quantity-tier list.
 */
import type { ProductIdentity } from '../../catalogue/target.js';
import { checkPriceRange } from '../sanity.js';
import { F_REVIEW, F_TRAP, type El, type Page } from './dom.js';
import { parseAvailability, type Availability, type PriceEvidence } from './evidence.js';
import { parseJsonLoose } from './jsonld.js';
import { formatUsd, parseMoney, parsePriceValue } from './money.js';
import { judgeName } from './page-kind.js';
import { isOneUnitLabel } from './pricing-table.js';

const NAME_KEYS = ['name', 'title', 'productName', 'product_name', 'displayName', 'display_name', 'productTitle'];
const PRICE_KEY_RE = /^(?:price|saleprice|sale_price|finalprice|final_price|currentprice|current_price|sellingprice|selling_price|specialprice|special_price|offerprice|offer_price|unitprice|unit_price|yourprice|ourprice|priceamount|price_amount|pricevalue|amount|priceincents|price_cents|pricecents|checkprice|check_price|wireprice|cashprice)$/i;
const EXCLUDED_KEY_RE = /compare|regular|list|msrp|retail|old|was|original|spot|premium|aslowas|as_low_as|lowest|min_?price|from_?price|starting|saving|discount|percent|pct|per_?oz|perounce|fee|shipping|tax|total|subtotal|cart/i;
const TIER_KEY_RE = /tier|pricing|prices|volume|quantity_?price|qty_?price|price_?breaks|breaks|ladder|table/i;
const MIN_QTY_KEY_RE = /^(?:min(?:imum)?_?(?:qty|quantity)|(?:qty|quantity)_?(?:min|from|start|low)|from_?(?:qty|quantity)?|start_?(?:qty|quantity)|min|low|quantity|qty)$/i;
const QTY_LABEL_KEY_RE = /^(?:label|range|quantity_?range|qty_?range|qty_?label|quantity_?label|tier|name|quantity|qty|title)$/i;
const TIER_PRICE_KEY_RE = /price|amount|cost|check|wire|ach|card|credit|debit|crypto|bitcoin|btc|paypal|cash|bank|echeck/i;
const TIER_PRICE_EXCLUDED_RE = /premium|spot|saving|discount|percent|pct|per_?oz|perounce|fee|shipping|qty|quantity|min|max|^id$|_id$|compare|msrp|list/i;

interface Candidate {
  name: string;
  path: string;
  price: number;
  detail: string;
  availability: Availability | null;
  productPath: boolean;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Finds the end of a JS/JSON object or array literal starting at `start` (which holds `{` or `[`). */
function literalEnd(text: string, start: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = start; i < text.length && i < start + 5_000_000; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** JSON state blobs found in the page. */
export function readAppStates(page: Page): { source: string; data: unknown }[] {
  const out: { source: string; data: unknown }[] = [];
  for (const el of page.elements) {
    if (el.name.toLowerCase() !== 'script') {
      readDataAttributes(page, el, out);
      continue;
    }
    const type = (el.attribs.type ?? '').toLowerCase();
    if (type.includes('ld+json')) continue;
    const text = (el.children ?? []).map((c) => c.data ?? '').join('');
    if (!text.trim() || text.length > 8_000_000) continue;
    // Magento 2 keeps its widget configuration (priceBox prices included) in text/x-magento-init JSON.
    if (type.includes('json') || type.includes('magento-init')) {
      const data = parseJsonLoose(text);
      if (data !== undefined && typeof data === 'object') out.push({ source: el.attribs.id ? `#${el.attribs.id}` : type, data });
      continue;
    }
    if (type && !/javascript|ecmascript|module/.test(type)) continue;
    // window.__INITIAL_STATE__ = {...};  window.__PRELOADED_STATE__ = JSON.parse("...");
    const re = /(?:window\.|var\s+|let\s+|const\s+|self\.)?(__[A-Za-z0-9_]+__|[A-Za-z_$][\w$]*(?:State|STATE|Data|DATA|Product|PRODUCT))\s*=\s*/g;
    let m: RegExpExecArray | null;
    let count = 0;
    while ((m = re.exec(text)) !== null && count++ < 20) {
      const at = m.index + m[0].length;
      const c = text[at];
      if (c === '{' || c === '[') {
        const end = literalEnd(text, at);
        if (end < 0) continue;
        const data = parseJsonLoose(text.slice(at, end));
        if (data !== undefined && typeof data === 'object') out.push({ source: m[1], data });
        re.lastIndex = end;
      } else if (text.startsWith('JSON.parse(', at)) {
        const q = text[at + 'JSON.parse('.length];
        if (q !== '"' && q !== "'") continue;
        const s = at + 'JSON.parse('.length;
        let i = s + 1;
        for (; i < text.length; i++) {
          if (text[i] === '\\') i++;
          else if (text[i] === q) break;
        }
        let inner = text.slice(s + 1, i);
        if (q === "'") inner = inner.replace(/\\'/g, "'").replace(/(?<!\\)"/g, '\\"');
        try {
          const str = JSON.parse(`"${inner}"`) as string;
          const data = parseJsonLoose(str);
          if (data !== undefined && typeof data === 'object') out.push({ source: m[1], data });
        } catch {
          /* not a string literal we can read */
        }
      }
    }
  }
  return out;
}

/**
 * JSON in a data attribute (`<div data-product='{"price": 9415, ...}'>`) that a script renders
 * later. Product cards of carousels and menus carry such JSON too: their regions are never read.
 */
function readDataAttributes(page: Page, el: El, out: { source: string; data: unknown }[]): void {
  for (const [name, value] of Object.entries(el.attribs)) {
    if (!name.startsWith('data-') || value.length < 10 || value.length > 1_000_000 || !/price/i.test(value)) continue;
    const first = value.trimStart()[0];
    if (first !== '{' && first !== '[') continue;
    if (page.has(el, F_TRAP | F_REVIEW)) return;
    const data = parseJsonLoose(value);
    if (data !== undefined && typeof data === 'object') out.push({ source: `[${name}]`, data: name.includes('product') ? { product: data } : data });
  }
}

function nameOf(o: Record<string, unknown>): string {
  for (const k of NAME_KEYS) {
    const v = o[k];
    if (typeof v === 'string' && v.trim() && v.length < 300) return v.trim();
  }
  return '';
}

/** A price-looking value: numbers, numeric strings, money strings, or {amount|value|price}. */
function priceValue(key: string, v: unknown, product: ProductIdentity): number | null {
  if (isObj(v)) {
    const cur = typeof v.currencyCode === 'string' ? v.currencyCode : typeof v.currency === 'string' ? v.currency : '';
    if (cur && cur.toUpperCase() !== 'USD') return null;
    // BigCommerce nests the amount one level down ({without_tax: {value, formatted}}).
    for (const k of ['amount', 'value', 'price', 'raw', 'formatted', 'formattedValue', 'without_tax', 'withoutTax']) {
      if (k in v) {
        const p = priceValue(k, v[k], product);
        if (p !== null) return p;
      }
    }
    return null;
  }
  let p = parsePriceValue(v);
  if (p === null && typeof v === 'string') p = parseMoney(v);
  if (p === null) return null;
  if (/cents/i.test(key)) return Math.round(p) / 100;
  // Integer amounts that only make sense as cents (Shopify's product JSON: "price": 9230).
  if (Number.isInteger(p) && typeof v === 'number' && !checkPriceRange(p, product).ok && checkPriceRange(p / 100, product).ok) return p / 100;
  return p;
}

function directPrice(o: Record<string, unknown>, product: ProductIdentity): { price: number; key: string } | null {
  for (const [k, v] of Object.entries(o)) {
    if (!PRICE_KEY_RE.test(k) || EXCLUDED_KEY_RE.test(k)) continue;
    const p = priceValue(k, v, product);
    if (p !== null) return { price: p, key: k };
  }
  return null;
}

function flattenPrices(o: Record<string, unknown>, product: ProductIdentity, prefix = '', depth = 0): { key: string; price: number }[] {
  const out: { key: string; price: number }[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (TIER_PRICE_EXCLUDED_RE.test(k)) continue;
    if (isObj(v) && depth < 2) {
      const direct = priceValue(k, v, product);
      if (direct !== null && TIER_PRICE_KEY_RE.test(k)) out.push({ key: prefix + k, price: direct });
      else out.push(...flattenPrices(v, product, `${prefix}${k}.`, depth + 1));
      continue;
    }
    if (!TIER_PRICE_KEY_RE.test(k) && !TIER_PRICE_KEY_RE.test(prefix)) continue;
    if (typeof v !== 'number' && typeof v !== 'string') continue;
    const p = priceValue(k, v, product);
    if (p !== null) out.push({ key: prefix + k, price: p });
  }
  return out;
}

function isOneUnitTier(t: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(t)) {
    if (MIN_QTY_KEY_RE.test(k) && (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v)))) {
      if (Number(v) === 1 || Number(v) === 0) return true;
    }
    if (QTY_LABEL_KEY_RE.test(k) && typeof v === 'string' && isOneUnitLabel(v)) return true;
  }
  return false;
}

/** Quantity-tier lists of an object: arrays under tier-like keys, directly or one object down. */
function tierLists(o: Record<string, unknown>): { key: string; tiers: Record<string, unknown>[] }[] {
  const out: { key: string; tiers: Record<string, unknown>[] }[] = [];
  for (const [k, v] of Object.entries(o)) {
    if (Array.isArray(v)) {
      if (TIER_KEY_RE.test(k) && v.length > 0 && v.length <= 50) out.push({ key: k, tiers: v.filter(isObj) });
    } else if (isObj(v) && TIER_KEY_RE.test(k)) {
      for (const [k2, v2] of Object.entries(v)) {
        if (Array.isArray(v2) && v2.length > 0 && v2.length <= 50) out.push({ key: `${k}.${k2}`, tiers: v2.filter(isObj) });
      }
    }
  }
  return out;
}

/** The 1-unit tier of a quantity-tier list and its lowest payment-method price. */
function tierPrice(o: Record<string, unknown>, product: ProductIdentity): { price: number; detail: string } | null {
  for (const { key, tiers } of tierLists(o)) {
    const one = tiers.find(isOneUnitTier);
    if (!one) continue;
    const prices = flattenPrices(one, product);
    if (!prices.length) continue;
    const max = Math.max(...prices.map((p) => p.price));
    const plausible = prices.filter((p) => p.price >= 0.5 * max);
    const best = plausible.reduce((a, b) => (b.price < a.price ? b : a));
    const others = plausible.filter((p) => p !== best).map((p) => `${p.key} ${formatUsd(p.price)}`);
    return { price: best.price, detail: `${key}[1-unit].${best.key} ${formatUsd(best.price)}${others.length ? ` (lowest; also ${others.join(', ')})` : ''}` };
  }
  return null;
}

function availabilityOf(o: Record<string, unknown>): Availability | null {
  for (const [k, v] of Object.entries(o)) {
    const key = k.toLowerCase();
    if (/^(?:is)?_?(?:pre_?order|preorderable|presale)$/.test(key) && v === true) return 'preorder';
  }
  for (const [k, v] of Object.entries(o)) {
    const key = k.toLowerCase().replace(/_/g, '');
    if (['soldout', 'issoldout', 'outofstock', 'isoutofstock'].includes(key) && typeof v === 'boolean') return v ? 'out_of_stock' : 'in_stock';
    if (['instock', 'isinstock', 'available', 'isavailable', 'availableforsale', 'purchasable', 'ispurchasable', 'canbuy', 'canpurchase'].includes(key) && typeof v === 'boolean') {
      return v ? 'in_stock' : 'out_of_stock';
    }
    if (['availability', 'stockstatus', 'inventorystatus', 'availabilitystatus', 'stock', 'status'].includes(key) && typeof v === 'string') {
      const a = parseAvailability(v);
      if (a) return a;
    }
  }
  // Stock grouped one level down: `inventory: {status: 'IN_STOCK'}`, `stock: {inStock: true, qty: 57}`.
  for (const [k, v] of Object.entries(o)) {
    if (!isObj(v) || !/stock|inventor|availab/i.test(k)) continue;
    const nested = availabilityOf(v) ?? labelAvailability(v) ?? quantityAvailability(v);
    if (nested) return nested;
  }
  return null;
}

/** A stock object's human label (`label: 'In stock'`). */
function labelAvailability(o: Record<string, unknown>): Availability | null {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string' && /^(?:label|text|message|display|description)$/i.test(k)) {
      const a = parseAvailability(v);
      if (a) return a;
    }
  }
  return null;
}

/** A stock object's count on hand: more than zero is purchasable, zero is not. */
function quantityAvailability(o: Record<string, unknown>): Availability | null {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'number' && Number.isFinite(v) && /^(?:qty|quantity|available|availableqty|availablequantity|onhand|count|level|stocklevel)$/i.test(k.replace(/_/g, ''))) {
      return v > 0 ? 'in_stock' : 'out_of_stock';
    }
  }
  return null;
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

export interface AppStateFinding {
  evidence: PriceEvidence | null;
  availability: Availability | null;
  /** Why the state was not used, when it held prices but not clearly this product's. */
  note?: string;
}

export function appStateEvidence(page: Page, product: ProductIdentity): AppStateFinding {
  const states = readAppStates(page);
  if (!states.length) return { evidence: null, availability: null };
  const heading = page.h1Text || page.title;
  const candidates: Candidate[] = [];
  for (const { source, data } of states) {
    const stack: { v: unknown; path: string; depth: number }[] = [{ v: data, path: source, depth: 0 }];
    let visited = 0;
    while (stack.length && visited++ < 100_000) {
      const { v, path, depth } = stack.pop()!;
      if (depth > 30 || v === null || typeof v !== 'object') continue;
      if (Array.isArray(v)) {
        for (let i = Math.min(v.length, 1000) - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
        continue;
      }
      const o = v as Record<string, unknown>;
      const lastKey = path.replace(/\[\d+\]$/, '').split('.').pop() ?? '';
      // Magento's priceBox.priceConfig describes the product of the page's own price box.
      const productPath =
        (/product|pdp|item(?:detail)?$/i.test(lastKey) && !/products$|items$|related|recommend|similar|also|recent|carousel|list/i.test(lastKey)) ||
        /pricebox\.priceconfig\.prices$/i.test(path);
      const name = nameOf(o);
      const related = /related|recommend|similar|also|recent|carousel|upsell|crosssell|cross_sell/i.test(path);
      if (!related && (name || productPath)) {
        const tier = tierPrice(o, product);
        const direct = tier ? null : directPrice(o, product);
        if (tier || direct) {
          candidates.push({
            name,
            path,
            price: tier ? tier.price : direct!.price,
            detail: tier ? `app state ${path}.${tier.detail}` : `app state ${path}.${direct!.key} ${formatUsd(direct!.price)}`,
            availability: availabilityOf(o),
            productPath,
          });
        }
      }
      for (const [k, child] of Object.entries(o)) {
        if (child && typeof child === 'object') stack.push({ v: child, path: `${path}.${k}`, depth: depth + 1 });
      }
    }
  }
  if (!candidates.length) return { evidence: null, availability: null };
  const scored = candidates
    .filter((c) => !c.name || judgeName(c.name, product) === 'ok' || judgeName(c.name, product) === null)
    .map((c) => ({ c, score: (c.name ? similarity(c.name, heading) * 3 + similarity(c.name, product.coinName) : 0) + (c.productPath ? 1.5 : 0) }))
    .filter((s) => s.score >= 1.5)
    .sort((a, b) => b.score - a.score);
  if (!scored.length) return { evidence: null, availability: null, note: `app state holds ${candidates.length} price(s) but none clearly for this product` };
  const top = scored.filter((s) => s.score >= scored[0].score - 0.01);
  const distinct = new Set(top.map((s) => s.c.price));
  if (distinct.size > 1) {
    return { evidence: null, availability: null, note: `app state is ambiguous: ${[...distinct].map(formatUsd).join(', ')}` };
  }
  const best = top[0].c;
  const availability = best.availability ?? top.find((s) => s.c.availability)?.c.availability ?? null;
  return {
    evidence: { rule: 'app-state', price: best.price, kind: 'offer', detail: best.detail, ...(availability ? { availability } : {}) },
    availability,
  };
}
