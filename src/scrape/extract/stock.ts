/**
 * Stock from the page itself, read IN THE PRODUCT AREA only (never menus, carousels, other
 * products, reviews or variant pickers), and from two kinds of evidence:
 *  - the buy control: a disabled purchase button, or one that reads "Sold out" / "Notify me",
 *    means out of stock (a disabled "Add to cart" only when the page states no "In stock" and structured
 *    data does not say in stock: Magento 2 renders it disabled until its script runs); an enabled
 *    "Add to cart" means purchasable; "Pre-order" means pre-order.
 *    This is the strongest evidence: themes keep hidden "Sold out" badges in the markup, but they
 *    do not leave the purchase button enabled on a product that cannot be bought.
 *  - phrases on short lines (labels, badges): "Out of stock", "Pre-order", "In stock". Only lines
 *    of at most 100 characters count, so a description saying "this coin often sells out; click
 *    notify me when available" is not a verdict, and a line about the price ("price currently
 *    unavailable, call for a quote") is not about stock.
 */
import { F_NOT_CONTENT, type El, type Page } from './dom.js';
import type { Availability } from './evidence.js';

const SKIP = F_NOT_CONTENT;
const MAX_LINE = 100;

export const OUT_OF_STOCK_RE =
  /\b(?:out[\s-]of[\s-]stock|sold[\s-]?out|currently unavailable|temporarily unavailable|no longer available|not available for (?:purchase|sale)|unavailable for purchase|notify me when (?:it(?:'s| is) )?(?:available|back in stock|in stock|restocked)|notify me when this product is (?:back )?in stock|email me when (?:available|back in stock|this product is back in stock)|notify when available|not in stock|this item is unavailable|coming soon)\b/i;
/** Orderable now, shipped later: pre-orders, pre-sales and back-orders alike (the vendor rule decides). */
export const PREORDER_RE = /\bpre-?orders?\b|\bpre-?sale\b|\bback-?order(?:ed)?\b/i;
/** The dealer has stopped selling the product for good: a "product gone" page, not a stock state. */
export const DISCONTINUED_RE = /\bdiscontinued\b|\bwill not be restocked\b|\bno longer (?:carried|offered|sold|stocked)\b|\bpermanently unavailable\b/i;
export const IN_STOCK_RE = /\bin[\s-]stock\b|\bavailable now\b|\bready to ship\b|\bships? (?:in|within) \d|\bavailable to ship\b/i;
const BUY_RE = /add (?:to )?(?:cart|bag|basket)|buy (?:it )?now|purchase/i;
const NOTIFY_RE = /notify me|email me|alert me|sold[\s-]?out|out of stock|unavailable/i;
/** A line about the price, not the stock ("price currently unavailable, call for a quote"). */
const PRICE_LINE_RE = /\bprice|\bpricing|\bquote\b/i;

export interface PageStock {
  /** What the buy control says, when there is one in the product area. */
  control: Availability | null;
  /** First stock phrase on a short line of the product area, by kind. */
  phrase: { out_of_stock: string | null; preorder: string | null; in_stock: string | null; discontinued: string | null };
  /** What the control shows, for the reason line. */
  controlDetail: string;
  /** The control reads "Add to cart" but is disabled: out of stock unless the page says otherwise. */
  disabledBuy: boolean;
}

function isDisabled(el: El): boolean {
  const a = el.attribs;
  if (a.disabled !== undefined || (a['aria-disabled'] ?? '').toLowerCase() === 'true') return true;
  return /(?:^|\s)(?:disabled|is-disabled|btn-disabled|button--disabled|btn--disabled)(?:\s|$)/i.test(a.class ?? '');
}

function shortLines(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/\s+/g, ' ').trim();
    if (l && l.length <= MAX_LINE) out.push(l);
  }
  return out;
}

/**
 * A pre-order or back-order phrase of a line, unless the line states "in stock" first: then it qualifies
 * large orders ("In stock (available on backorder beyond 5,000)"), while "Pre-order: in stock by March" stays one.
 */
function preorderOf(line: string): string | null {
  const pre = PREORDER_RE.exec(line);
  if (!pre) return null;
  const stocked = IN_STOCK_RE.exec(line);
  return stocked && stocked.index < pre.index ? null : pre[0];
}

/** Stock evidence of the product area; the caller weighs it against structured data. */
export function pageStock(page: Page): PageStock {
  const area = page.area;
  const none: PageStock = { control: null, phrase: { out_of_stock: null, preorder: null, in_stock: null, discontinued: null }, controlDetail: '', disabledBuy: false };
  if (!area) return none;
  const lines = shortLines(page.text(area, SKIP, 300_000));
  const phrase = { ...none.phrase };
  for (const l of lines) {
    if (!phrase.out_of_stock && !PRICE_LINE_RE.test(l)) phrase.out_of_stock = OUT_OF_STOCK_RE.exec(l)?.[0] ?? null;
    if (!phrase.preorder) phrase.preorder = preorderOf(l);
    if (!phrase.in_stock) phrase.in_stock = IN_STOCK_RE.exec(l)?.[0] ?? null;
    if (!phrase.discontinued) phrase.discontinued = DISCONTINUED_RE.exec(l)?.[0] ?? null;
  }
  const buy = page.buyControl && page.contains(area, page.buyControl) && !page.has(page.buyControl, SKIP) ? page.buyControl : null;
  if (!buy) return { ...none, phrase };
  const label = page.controlLabel(buy).replace(/\s+/g, ' ').trim().slice(0, 60);
  let control: Availability | null = null;
  let disabledBuy = false;
  if (NOTIFY_RE.test(label) && !BUY_RE.test(label)) control = 'out_of_stock';
  else if (isDisabled(buy) && (BUY_RE.test(label) || PREORDER_RE.test(label))) [control, disabledBuy] = ['out_of_stock', true];
  else if (PREORDER_RE.test(label)) control = 'preorder';
  else if (BUY_RE.test(label)) control = 'in_stock';
  const controlDetail = control === null ? '' : `${isDisabled(buy) ? 'disabled ' : ''}"${label}" button`;
  return { control, phrase, controlDetail, disabledBuy };
}

export interface StockVerdict {
  state: Availability | null;
  /** Why, for the reason line. */
  detail: string;
}

/**
 * Weighs the page's stock evidence against structured availability (JSON-LD, microdata, app
 * state): the buy control first, then phrases, then structured data.
 */
export function judgeStock(seen: PageStock, structured: Availability | null): StockVerdict {
  const { control, phrase } = seen;
  // Some platforms (Magento 2) ship "Add to Cart" disabled until their script runs: a stated "In stock" wins then.
  if (seen.disabledBuy && !phrase.out_of_stock) {
    if (phrase.in_stock) return { state: 'in_stock', detail: `"${phrase.in_stock}" in the product area (the ${seen.controlDetail} waits for a script)` };
    if (structured === 'in_stock') return { state: 'in_stock', detail: `structured data says in stock (the ${seen.controlDetail} waits for a script)` };
  }
  if (control === 'out_of_stock') return { state: 'out_of_stock', detail: seen.controlDetail };
  if (control === 'in_stock') {
    if (phrase.preorder) return { state: 'preorder', detail: `"${phrase.preorder}" in the product area` };
    if (structured === 'preorder') return { state: 'preorder', detail: 'structured data says pre-order' };
    return { state: 'in_stock', detail: `enabled ${seen.controlDetail}` };
  }
  if (control === 'preorder') return { state: 'preorder', detail: seen.controlDetail };
  if (phrase.out_of_stock) return { state: 'out_of_stock', detail: `"${phrase.out_of_stock}" in the product area` };
  if (phrase.preorder) return { state: 'preorder', detail: `"${phrase.preorder}" in the product area` };
  if (phrase.in_stock) return { state: 'in_stock', detail: `"${phrase.in_stock}" in the product area` };
  if (structured) return { state: structured, detail: `structured data says ${structured.replace(/_/g, ' ')}` };
  return { state: null, detail: 'no stock signal in the product area' };
}
