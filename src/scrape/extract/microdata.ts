/** Microdata (itemprop="price") and product meta tags (product:price:amount, og:price:amount). */
import { F_REVIEW, F_TRAP, isElement, type El, type Page } from './dom.js';
import { parseAvailability, type Availability, type PriceEvidence } from './evidence.js';
import { formatUsd, parseMoney, parsePriceValue } from './money.js';

function itemValue(page: Page, el: El): string {
  const a = el.attribs;
  if (a.content !== undefined) return a.content;
  if (a.value !== undefined && el.name.toLowerCase() !== 'li') return a.value;
  if (a.href !== undefined && /^(link|a)$/i.test(el.name)) return a.href;
  return page.line(el, 0, 500);
}

/** The nearest itemscope's type, lower-cased without the schema.org prefix. */
function scopeType(el: El): string {
  let n: El | null = el;
  for (let i = 0; n && i < 200; i++) {
    if (n.attribs.itemscope !== undefined && n !== el) {
      return (n.attribs.itemtype ?? '').replace(/^https?:\/\/schema\.org\//i, '').toLowerCase();
    }
    n = isElement(n.parent) ? n.parent : null;
  }
  return '';
}

function currencyNear(page: Page, el: El): string {
  // priceCurrency is a sibling property of the same scope.
  let scope: El | null = isElement(el.parent) ? el.parent : null;
  for (let i = 0; scope && i < 50 && scope.attribs.itemscope === undefined; i++) scope = isElement(scope.parent) ? scope.parent : null;
  if (!scope) return '';
  const stack = [...(scope.children ?? [])];
  let seen = 0;
  while (stack.length && seen++ < 2000) {
    const n = stack.pop()!;
    if (!isElement(n)) continue;
    if ((n.attribs.itemprop ?? '').toLowerCase() === 'pricecurrency') return itemValue(page, n).trim().toUpperCase();
    if (n.attribs.itemscope !== undefined) continue;
    stack.push(...(n.children ?? []));
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
  for (const el of page.elements) {
    const prop = (el.attribs.itemprop ?? '').toLowerCase();
    if (!prop) continue;
    if (page.has(el, F_TRAP | F_REVIEW)) continue;
    if (prop === 'availability' && availability === null) {
      availability = parseAvailability(itemValue(page, el)) ?? parseAvailability(itemValue(page, el).replace(/.*\//, ''));
      continue;
    }
    if (prop !== 'price' && prop !== 'lowprice') continue;
    const scope = scopeType(el);
    if (/review|rating/.test(scope)) continue;
    const cur = currencyNear(page, el);
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
