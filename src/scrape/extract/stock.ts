/**
 * Stock from the page itself: out-of-stock / pre-order / in-stock phrases and the state of the
 * buy button, read IN THE PRODUCT AREA only (never menus, carousels, other products, reviews or
 * variant pickers). Phrases count only on short lines (labels, badges, buttons), not inside
 * descriptions ("this coin often sells out; click notify me when available" is not a verdict).
 */
import { F_NOT_CONTENT, F_NOTEXT, type El, type Page } from './dom.js';
import type { Availability } from './evidence.js';

const SKIP = F_NOT_CONTENT;
const MAX_LINE = 100;

export const OUT_OF_STOCK_RE =
  /\b(?:out[\s-]of[\s-]stock|sold[\s-]?out|currently unavailable|temporarily unavailable|no longer available|not available for (?:purchase|sale)|unavailable for purchase|notify me when (?:it(?:'s| is) )?(?:available|back in stock|in stock|restocked)|email me when (?:available|back in stock)|notify when available|not in stock|this item is unavailable|backordered? unavailable)\b/i;
export const PREORDER_RE = /\bpre-?orders?\b|\bpre-?sale\b/i;
export const IN_STOCK_RE = /\bin[\s-]stock\b|\bavailable now\b|\bready to ship\b|\bships? (?:in|within) \d|\bavailable to ship\b/i;
const BUY_RE = /add (?:to )?(?:cart|bag|basket)|buy (?:it )?now|purchase/i;
const NOTIFY_RE = /notify me|email me|alert me/i;

export interface PageStock {
  state: Availability | null;
  /** What was seen, for the reason line. */
  detail: string;
}

function isDisabled(el: El): boolean {
  const a = el.attribs;
  if (a.disabled !== undefined || (a['aria-disabled'] ?? '').toLowerCase() === 'true') return true;
  return /(?:^|\s)(?:disabled|is-disabled|btn-disabled|button--disabled|btn--disabled)(?:\s|$)/i.test(a.class ?? '');
}

function shortLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .filter((l) => l && l.length <= MAX_LINE);
}

/** Out-of-stock beats pre-order beats in-stock; null when the page says nothing. */
export function pageStock(page: Page): PageStock {
  const area = page.area;
  if (!area) return { state: null, detail: 'no product area' };
  const lines = shortLines(page.text(area, SKIP, 300_000));
  const buy = page.buyControl && page.contains(area, page.buyControl) && !page.has(page.buyControl, SKIP) ? page.buyControl : null;
  const buyLabel = buy ? (buy.name.toLowerCase() === 'input' ? buy.attribs.value ?? '' : page.line(buy, F_NOTEXT, 200)) : '';

  const oos = lines.find((l) => OUT_OF_STOCK_RE.test(l));
  if (oos) return { state: 'out_of_stock', detail: `"${OUT_OF_STOCK_RE.exec(oos)![0]}" in the product area` };
  if (buy && NOTIFY_RE.test(buyLabel) && !BUY_RE.test(buyLabel)) return { state: 'out_of_stock', detail: `buy button reads "${buyLabel.slice(0, 40)}"` };
  if (buy && BUY_RE.test(buyLabel) && isDisabled(buy)) return { state: 'out_of_stock', detail: `"${buyLabel.slice(0, 40)}" button is disabled` };
  const pre = lines.find((l) => PREORDER_RE.test(l));
  if (pre || (buy && PREORDER_RE.test(buyLabel))) return { state: 'preorder', detail: `"${(pre ?? buyLabel).slice(0, 40)}" in the product area` };
  const inStock = lines.find((l) => IN_STOCK_RE.test(l));
  if (inStock) return { state: 'in_stock', detail: `"${IN_STOCK_RE.exec(inStock)![0]}" in the product area` };
  if (buy && BUY_RE.test(buyLabel)) return { state: 'in_stock', detail: `"${buyLabel.slice(0, 40)}" button is enabled` };
  return { state: null, detail: 'no stock signal in the product area' };
}
