/**
 * Quantity-tier pricing tables: real <table> markup or div/list grids. The row for one unit
 * ("1", "1 - 19", "1-9", "1+", "Qty 1", "Any Qty") and, in it, the LOWEST payment-method price
 * (Check/Wire is cheaper than Card/PayPal). Transposed tables (quantities as column headers,
 * payment methods as rows) are read too.
 */
import type { ProductIdentity } from '../../catalogue/target.js';
import { F_HIDDEN, F_NOTEXT, F_STRUCK, F_TRAP, isElement, type El, type Page } from './dom.js';
import type { PriceEvidence } from './evidence.js';
import { findMoney, formatUsd } from './money.js';

const UNIT_WORDS = String.raw`(?:units?|pcs?\.?|pieces?|coins?|bars?|rounds?|notes?|items?|ea\.?|each)`;
const RANGE = String.raw`(?:\+|or more|and (?:up|above|over|more)|&\s*(?:up|above|over)|(?:-|to|thru|through)\s*\d[\d,]*)`;
const ONE_RE = new RegExp(String.raw`^(?:(?:qty|quantity|buy|order|tier)\.?\s*:?\s*)?(?:1|one)\s*${UNIT_WORDS}?\s*${RANGE}?\s*${UNIT_WORDS}?\s*\+?$`, 'i');
const ANY_QTY_RE = /^(?:any|all|any\s+and\s+all)\s*(?:qty|quantity|quantities|amount)$/i;
const QTY_RE = new RegExp(String.raw`^(?:(?:qty|quantity|buy|order|tier)\.?\s*:?\s*)?\d[\d,]*\s*${UNIT_WORDS}?\s*${RANGE}?\s*${UNIT_WORDS}?\s*\+?$`, 'i');
/** Columns that hold something other than a price for one unit. */
const NOT_A_PRICE_COLUMN_RE = /premium|over spot|spot|per\s*(?:troy\s*)?oz|per\s*ounce|\/\s*oz|sav(?:e|ings)|discount|shipping|msrp|retail|list price|you save|difference|percent|%/i;

function clean(s: string): string {
  return s.toLowerCase().replace(/[\u2010-\u2015\u2212]/g, '-').replace(/\s+/g, ' ').replace(/[:.]$/, '').trim();
}

/** "1", "1 - 19", "1-9", "1+", "Qty 1", "1 to 19 coins", "Any Qty". */
export function isOneUnitLabel(text: string): boolean {
  const s = clean(text);
  if (!s || s.length > 40) return false;
  return ONE_RE.test(s) || ANY_QTY_RE.test(s);
}

/** Any quantity label ("20 - 99", "100+", "500 or more"). */
export function isQtyLabel(text: string): boolean {
  const s = clean(text);
  return !!s && s.length <= 40 && (QTY_RE.test(s) || ANY_QTY_RE.test(s));
}

const SKIP = F_NOTEXT | F_HIDDEN | F_TRAP;

interface Cell {
  el: El;
  text: string;
}

function cellsOf(page: Page, row: El): Cell[] {
  return page
    .childElements(row)
    .filter((c) => !page.has(c, F_NOTEXT | F_HIDDEN))
    .map((el) => ({ el, text: page.line(el, SKIP | F_STRUCK, 2000) }));
}

function amountIn(text: string, product: ProductIdentity): number | null {
  for (const m of findMoney(text)) {
    const after = text.slice(m.index + m.length, m.index + m.length + 12).toLowerCase();
    if (product.weightOz !== 1 && /^\s*(?:\/|per)\s*(?:troy\s*)?(?:oz|ounce)/.test(after)) continue;
    return m.value;
  }
  return null;
}

/** Header labels for a row: the table's header row, or the preceding sibling without amounts. */
function headerFor(page: Page, row: El, width: number): string[] | null {
  const candidates: El[] = [];
  const name = row.name.toLowerCase();
  if (name === 'tr') {
    let table: El | null = isElement(row.parent) ? row.parent : null;
    for (let i = 0; table && i < 3 && table.name.toLowerCase() !== 'table'; i++) table = isElement(table.parent) ? table.parent : null;
    if (table) {
      for (const e of page.elements.slice(page.order.get(table) ?? 0, (page.order.get(row) ?? 0))) {
        if (e.name.toLowerCase() === 'tr' && page.contains(table, e)) candidates.push(e);
      }
    }
  } else {
    const sibs = page.childElements(row.parent ?? row);
    const at = sibs.indexOf(row);
    for (let i = at - 1; i >= 0 && i >= at - 4; i--) candidates.push(sibs[i]);
    const parent = row.parent;
    if (isElement(parent) && parent.parent) {
      const up = page.childElements(parent.parent);
      const pi = up.indexOf(parent);
      if (pi > 0) candidates.push(up[pi - 1]);
    }
  }
  for (const c of candidates) {
    const cells = cellsOf(page, c);
    if (cells.length !== width) continue;
    if (cells.some((x) => findMoney(x.text).length)) continue;
    return cells.map((x) => x.text);
  }
  return null;
}

interface TierRow {
  row: El;
  label: string;
  price: number;
  parts: string[];
}

function pickLowest(entries: { label: string; price: number }[]): { price: number; parts: string[] } | null {
  if (!entries.length) return null;
  const max = Math.max(...entries.map((e) => e.price));
  // An amount under half of the row's largest is a premium, a saving or a per-oz figure, not a price.
  const plausible = entries.filter((e) => e.price >= 0.5 * max);
  const best = plausible.reduce((a, b) => (b.price < a.price ? b : a));
  return { price: best.price, parts: plausible.map((e) => `${e.label || 'price'} ${formatUsd(e.price)}`) };
}

function readRow(page: Page, row: El, product: ProductIdentity): TierRow | null {
  const cells = cellsOf(page, row);
  if (cells.length < 2 || cells.length > 10) return null;
  if (!isOneUnitLabel(cells[0].text)) return null;
  const total = cells.reduce((n, c) => n + c.text.length, 0);
  if (total > 400) return null;
  const header = headerFor(page, row, cells.length);
  const entries: { label: string; price: number }[] = [];
  for (let i = 1; i < cells.length; i++) {
    const label = header?.[i] ?? '';
    if (NOT_A_PRICE_COLUMN_RE.test(label)) continue;
    if (NOT_A_PRICE_COLUMN_RE.test(cells[i].text.replace(/\$[\d,.]+/g, ''))) continue;
    const price = amountIn(cells[i].text, product);
    if (price !== null) entries.push({ label, price });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { row, label: cells[0].text, price: best.price, parts: best.parts };
}

/** Quantities as columns: a header row with a 1-unit label in column j, payment methods as rows. */
function readTransposed(page: Page, headerRow: El, product: ProductIdentity): TierRow | null {
  const head = cellsOf(page, headerRow);
  if (head.length < 3 || head.length > 12) return null;
  const j = head.findIndex((c, i) => i > 0 && isOneUnitLabel(c.text));
  if (j < 0) return null;
  if (!head.some((c, i) => i > 0 && i !== j && isQtyLabel(c.text) && !isOneUnitLabel(c.text))) return null;
  // Following rows of the same table / container.
  const rows: El[] = [];
  if (headerRow.name.toLowerCase() === 'tr') {
    let table: El | null = isElement(headerRow.parent) ? headerRow.parent : null;
    for (let i = 0; table && i < 3 && table.name.toLowerCase() !== 'table'; i++) table = isElement(table.parent) ? table.parent : null;
    const from = page.order.get(headerRow) ?? 0;
    if (table) for (const e of page.elements.slice(from + 1)) {
      if (!page.contains(table, e)) break;
      if (e.name.toLowerCase() === 'tr') rows.push(e);
    }
  } else {
    const sibs = page.childElements(headerRow.parent ?? headerRow);
    rows.push(...sibs.slice(sibs.indexOf(headerRow) + 1));
  }
  const entries: { label: string; price: number }[] = [];
  for (const r of rows.slice(0, 12)) {
    if (page.has(r, SKIP)) continue;
    const cells = cellsOf(page, r);
    if (cells.length !== head.length) continue;
    if (NOT_A_PRICE_COLUMN_RE.test(cells[0].text)) continue;
    const price = amountIn(cells[j].text, product);
    if (price !== null) entries.push({ label: cells[0].text, price });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { row: headerRow, label: head[j].text, price: best.price, parts: best.parts };
}

/** A list item or line such as "1 - 19: $92.30 (check) / $95.99 (card)" without cells. */
function readLine(page: Page, el: El, product: ProductIdentity): TierRow | null {
  // Only leaf-like lines: an element whose children are all inline.
  if (page.childElements(el).some((c) => !/^(?:span|b|strong|em|i|small|sup|sub|s|del|a|label|abbr|font|mark|u)$/i.test(c.name))) return null;
  const text = page.line(el, SKIP | F_STRUCK, 600);
  if (text.length > 200) return null;
  const m = findMoney(text);
  if (!m.length) return null;
  const label = text.slice(0, m[0].index).replace(/[:\-\s]+$/, '');
  if (!isOneUnitLabel(label)) return null;
  const entries: { label: string; price: number }[] = [];
  for (let i = 0; i < m.length; i++) {
    const x = m[i];
    // Stop at the next quantity range: its amounts belong to another tier.
    if (i > 0 && /(?:^|\s)\d[\d,]*\s*(?:\+|-\s*\d|to\s*\d)/.test(text.slice(m[i - 1].index + m[i - 1].length, x.index))) break;
    const after = text.slice(x.index + x.length, x.index + x.length + 30);
    const lbl = after.replace(/^[\s(]*/, '').split(/[)$/|]/)[0].trim();
    if (NOT_A_PRICE_COLUMN_RE.test(lbl)) continue;
    if (product.weightOz !== 1 && /^(?:\/|per)\s*oz/i.test(lbl)) continue;
    entries.push({ label: lbl, price: x.value });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { row: el, label, price: best.price, parts: best.parts };
}

export function pricingTableEvidence(page: Page, product: ProductIdentity): PriceEvidence | null {
  const found: TierRow[] = [];
  for (const el of page.elements) {
    if (page.has(el, SKIP)) continue;
    const kids = el.children?.length ?? 0;
    if (kids === 0) continue;
    const name = el.name.toLowerCase();
    if (name === 'html' || name === 'body' || name === 'head') continue;
    const row = readRow(page, el, product) ?? readTransposed(page, el, product);
    if (row) {
      found.push(row);
      continue;
    }
    if ((name === 'li' || name === 'p' || name === 'div' || name === 'dd') && page.childElements(el).length <= 6) {
      const line = readLine(page, el, product);
      if (line && !found.some((f) => page.contains(f.row, el) || page.contains(el, f.row))) found.push(line);
    }
    if (found.length >= 20) break;
  }
  if (!found.length) return null;
  // Prefer the product area's table; otherwise the first in the page.
  const inArea = page.area ? found.filter((f) => page.contains(page.area!, f.row)) : [];
  const pick = (inArea.length ? inArea : found)[0];
  const others = new Set(found.map((f) => f.price));
  const note = others.size > 1 ? `; ${others.size} different 1-unit rows on the page, the first in the product area was used` : '';
  return {
    rule: 'pricing-table',
    price: pick.price,
    kind: 'tier',
    detail: `pricing table 1-unit row "${pick.label}": lowest of ${pick.parts.join(', ')}${note}`,
  };
}
