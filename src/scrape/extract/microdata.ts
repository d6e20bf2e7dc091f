/** Microdata (itemprop="price") and product meta tags (product:price:amount, og:price:amount). */
import { F_REVIEW, F_TRAP, type El, type Page } from './dom.js';
import { parseAvailability, type Availability, type PriceEvidence } from './evidence.js';
import { formatUsd, parseMoney, parsePriceValue } from './money.js';

function itemValue(page: Page, el: El): string {
  const a = el.attribs;
  if (a.content !== undefined) return a.content;
  if (a.value !== undefined && el.name.toLowerCase() !== 'li') return a.value;
  if (a.href !== undefined && /^(link|a)$/i.test(el.name)) return a.href;
  return page.line(el, 0, 500);
}

function scopeTypeOf(el: El | undefined): string {
  return el ? (el.attribs.itemtype ?? '').replace(/^https?:\/\/schema\.org\//i, '').toLowerCase() : '';
}

/** priceCurrency of a scope: a property of the scope itself, not of nested scopes (bounded search). */
function currencyOf(page: Page, scope: El): string {
  let seen = 0;
  for (const n of page.descendants(scope, (e) => e.attribs.itemscope === undefined)) {
    if (seen++ > 2000) break;
    if ((n.attribs.itemprop ?? '').toLowerCase() === 'pricecurrency') return itemValue(page, n).trim().toUpperCase();
  }
  return '';
}

export interface MicrodataFinding {
  evidence: PriceEvidence | null;
  availability: Availability | null;
}

/** First itemprop="price" outside traps and reviews (lowPrice of an AggregateOffer as a fallback). */
export function microdataEvidence(page: Page): MicrodataFinding {
  let availability: Availability | null = null;
  let exact: PriceEvidence | null = null;
  let low: PriceEvidence | null = null;
  let scopes: Int32Array | null = null;
  const currencies = new Map<number, string>();
  let examined = 0;
  for (const el of page.elements) {
    if (!el.attribs.itemprop) continue;
    const prop = el.attribs.itemprop.toLowerCase();
    if (page.has(el, F_TRAP | F_REVIEW)) continue;
    if (prop === 'availability' && availability === null) {
      availability = parseAvailability(itemValue(page, el)) ?? parseAvailability(itemValue(page, el).replace(/.*\//, ''));
      continue;
    }
    if (prop !== 'price' && prop !== 'lowprice') continue;
    if (exact || examined++ > 200) continue;
    scopes ??= page.nearestAncestorWhere((e) => e.attribs.itemscope !== undefined);
    const scopeIdx = scopes[page.idx(el)];
    const scopeEl = scopeIdx >= 0 ? page.elements[scopeIdx] : undefined;
    const scope = scopeTypeOf(scopeEl);
    if (/review|rating/.test(scope)) continue;
    let cur = currencies.get(scopeIdx);
    if (cur === undefined) {
      cur = scopeEl ? currencyOf(page, scopeEl) : '';
      currencies.set(scopeIdx, cur);
    }
    if (cur && cur !== 'USD') continue;
    const raw = itemValue(page, el);
    const price = parsePriceValue(raw) ?? parseMoney(raw);
    if (price === null) continue;
    if (prop === 'price' && !/aggregateoffer/.test(scope)) {
      exact ??= { rule: 'microdata', price, kind: 'offer', detail: `microdata itemprop=price ${formatUsd(price)}` };
    } else {
      low ??= { rule: 'microdata', price, kind: 'aggregate-low', detail: `microdata AggregateOffer ${prop} ${formatUsd(price)}` };
    }
  }
  const evidence = exact ?? low;
  if (evidence && availability) evidence.availability = availability;
  return { evidence, availability };
}

/** `product:price:amount` / `og:price:amount` meta tags (Shopify and others), USD only. */
export function metaEvidence(page: Page): MicrodataFinding {
  const amount = page.meta.get('product:price:amount') ?? page.meta.get('og:price:amount');
  const currency = (page.meta.get('product:price:currency') ?? page.meta.get('og:price:currency') ?? '').trim().toUpperCase();
  const availability = parseAvailability(page.meta.get('product:availability') ?? page.meta.get('og:availability') ?? '');
  if (amount === undefined || (currency && currency !== 'USD')) return { evidence: null, availability };
  const price = parsePriceValue(amount);
  if (price === null) return { evidence: null, availability };
  return {
    evidence: { rule: 'meta', price, kind: 'offer', detail: `meta product:price:amount ${formatUsd(price)}`, ...(availability ? { availability } : {}) },
    availability,
  };
}
