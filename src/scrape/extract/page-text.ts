/**
 * Last resort: an amount in the page text near the product title and the buy button, outside
 * traps, struck-out prices and reviews, and not introduced by "as low as", "was", "regular price",
 * "save", "spot", "shipping over" and the like.
 */
import type { ProductIdentity } from '../../catalogue/target.js';
import { F_NOT_CONTENT, type El, type Page } from './dom.js';
import type { PriceEvidence } from './evidence.js';
import { findMoney, formatUsd } from './money.js';

const SKIP = F_NOT_CONTENT;

/** Words right before an amount that make it something other than the price of one unit. */
const SKIP_BEFORE_RE =
  /(?:^|[^a-z])(?:as low as|low as|starting (?:at|from)|starts at|priced from|from|was|msrp|list(?: price)?|retail(?: price)?|compare(?: at)?(?: price)?|original(?: price)?|save|you save|savings|spot(?: price)?|premium|shipping|over|orders?(?: of)?|earn|rewards?|credit|off|discount|under|above|below|minimum|min\.?|max\.?|total|subtotal|cart|face(?: value)?|denomination|buyback|we buy|sell to us|bid)\s*(?:price)?\s*[:\-]?\s*(?:only\s*)?$/;
/**
 * "Regular price": on a sale it is the old price, otherwise the only one. Such amounts are used only
 * when nothing else is left (Shopify themes print "Regular price" before both the old and, when
 * not on sale, the current price, and always print "Sale price" before the current one).
 */
const SOFT_BEFORE_RE = /(?:^|[^a-z])reg(?:ular)?\.?(?: price)?\s*[:\-]?\s*$/;
/** Metal names right before an amount on the same line: a spot quote. */
const SPOT_SAME_LINE_RE = /(?:^|[^a-z])(?:gold|silver|platinum|palladium|spot|bid|ask)\s*(?:spot|price|bid|ask)?\s*[:\-]?\s*$/;
const SKIP_AFTER_RE = /^\s*(?:off\b|over spot|premium|savings|in savings|shipping|\+ shipping|or more|back\b|rebate|credit|face\b|usd face|legal tender|denomination|minimum|min\.|per (?:gram|g\b)|\/\s*g\b)/;
const PER_OZ_AFTER_RE = /^\s*(?:\/|per)\s*(?:troy\s*)?(?:oz|ounce)/;
const PRICE_CLASS_RE = /price|amount|cost/;
/** Payment-method words next to an amount. */
const PAYMENT_RE = /\b(?:e?-?check|wire|ach|bank|cash|crypto|bitcoin|btc|card|credit|debit|paypal)\b/;
const NOT_PRICE_CLASS_RE = /regular|compare|was|old|msrp|list|retail|strike|low-?as|aslowas|spot|premium|save|saving/;

function priceClassed(page: Page, el: El, box: El): number {
  let n: El | null = el;
  for (let i = 0; n && i < 4; i++) {
    const cls = `${n.attribs.class ?? ''} ${n.attribs.id ?? ''} ${n.attribs.itemprop ?? ''} ${Object.keys(n.attribs).filter((k) => k.startsWith('data-')).join(' ')}`.toLowerCase();
    if (PRICE_CLASS_RE.test(cls)) return NOT_PRICE_CLASS_RE.test(cls) ? 1 : 2;
    if (n === box) break;
    n = page.parentOf(n);
  }
  return 0;
}

/** The best-placed amount near the title and buy button; amounts `plausible` refuses are passed over. */
export function pageTextEvidence(page: Page, product: ProductIdentity, plausible: (price: number) => boolean = () => true): PriceEvidence | null {
  if (!page.area || (!page.h1 && !page.buyControl)) return null;
  let box: El | null = page.area;
  for (let level = 0; box && level < 6; level++) {
    const found = readBox(page, box, product, plausible);
    if (found) return found;
    if (page.isBody(box)) break;
    box = page.parentOf(box);
  }
  return null;
}

function readBox(page: Page, box: El, product: ProductIdentity, plausible: (price: number) => boolean): PriceEvidence | null {
  const { text, spans } = page.segments(box, SKIP, 500_000);
  const lower = text.toLowerCase();
  const h1Start = page.h1 ? spans.find((s) => s.el === page.h1 || page.contains(page.h1!, s.el))?.start ?? 0 : 0;
  type Hit = { value: number; index: number; el: El | null; rank: number; payment: boolean; soft: boolean };
  let hits: Hit[] = [];
  let spanAt = 0;
  for (const m of findMoney(text)) {
    const before = lower.slice(Math.max(0, m.index - 40), m.index);
    const lineBefore = before.slice(before.lastIndexOf('\n') + 1);
    const after = lower.slice(m.index + m.length, m.index + m.length + 30);
    if (SKIP_BEFORE_RE.test(before.replace(/\s+/g, ' ').trimEnd())) continue;
    if (SPOT_SAME_LINE_RE.test(lineBefore)) continue;
    // What follows on the next line ("Credit Card $100.67") says nothing about this amount.
    if (SKIP_AFTER_RE.test(after.split('\n', 1)[0])) continue;
    if (product.weightOz !== 1 && PER_OZ_AFTER_RE.test(after)) continue;
    if (!plausible(m.value)) continue;
    while (spanAt < spans.length && spans[spanAt].end <= m.index) spanAt++;
    const el = spanAt < spans.length && spans[spanAt].start <= m.index ? spans[spanAt].el : null;
    const rank = (el ? priceClassed(page, el, box) : 0) * 2 + (m.index >= h1Start ? 1 : 0);
    const payment = PAYMENT_RE.test(lineBefore.slice(-40)) || PAYMENT_RE.test(after);
    const soft = SOFT_BEFORE_RE.test(before.replace(/\s+/g, ' ').trimEnd());
    hits.push({ value: m.value, index: m.index, el, rank, payment, soft });
  }
  if (hits.some((h) => !h.soft)) hits = hits.filter((h) => !h.soft);
  if (!hits.length) return null;
  let best = hits.reduce((a, b) => (b.rank > a.rank ? b : a));
  if (best.payment) {
    // Prices labelled by payment method ("Credit Card Price", "Wire/Check Price"): the lowest is the price.
    for (const h of hits) if (h.payment && h.rank >= best.rank - 2 && h.value < best.value && h.value >= 0.85 * best.value) best = h;
  }
  const where = best.rank >= 4 ? 'a price element' : best.rank >= 1 ? 'the text after the product title' : 'the product area text';
  return {
    rule: 'page-text',
    price: best.value,
    kind: 'text',
    detail: `page text ${formatUsd(best.value)} from ${where}${hits.length > 1 ? ` (${hits.length} candidate amounts)` : ''}`,
  };
}
