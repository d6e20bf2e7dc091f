/**
 * Quantity-tier pricing tables: real <table> markup, div/list grids and text lines. The row for
 * one unit ("1", "1 - 19", "1-9", "1+", "Qty 1", "Any Qty") and, in it, the LOWEST payment-method
 * price (Check/Wire is cheaper than Card/PayPal). Transposed tables (quantities as column headers,
 * payment methods as rows) are read too.
 *
 * Linear: every element is judged in constant work plus its own children, because an element whose
 * text is longer than a row can be is rejected by its text length before any text is built.
 */
import type { ProductIdentity } from '../../catalogue/target.js';
import { F_HIDDEN, F_NOT_CONTENT, F_NOTEXT, isElement, nextElement, prevElement, type El, type Page } from './dom.js';
import type { PriceEvidence } from './evidence.js';
import { findMoney, formatUsd } from './money.js';

const UNIT_WORDS = String.raw`(?:units?|pcs?\.?|pieces?|coins?|bars?|rounds?|notes?|items?|ea\.?|each|goldbacks?)`;
const RANGE = String.raw`(?:\+|or more|and (?:up|above|over|more)|&\s*(?:up|above|over)|(?:-|to|thru|through)\s*\d[\d,]*)`;
const LEAD = String.raw`(?:(?:qty|quantity|buy|order|tier|purchase)\.?\s*:?\s*)?`;
const ONE_RE = new RegExp(String.raw`^${LEAD}(?:1|one)\s*${UNIT_WORDS}?\s*${RANGE}?\s*${UNIT_WORDS}?\s*\+?$`, 'i');
const ANY_QTY_RE = /^(?:any|all|any\s+and\s+all)\s*(?:qty|quantity|quantities|amount)$/i;
const QTY_RE = new RegExp(String.raw`^${LEAD}\d[\d,]*\s*${UNIT_WORDS}?\s*${RANGE}?\s*${UNIT_WORDS}?\s*\+?$`, 'i');
/** Columns that hold something other than a price for one unit, whatever else their label says. */
const NEVER_A_PRICE_COLUMN_RE = /premium|over spot|spot|per\s*(?:troy\s*)?oz|per\s*ounce|\/\s*oz|shipping|msrp|retail|list price|total for|sell to us|we buy|we pay|buyback|bid/i;
/** Columns of savings and differences, unless the label names a payment method ("Check/Wire (save 4%)" is a price). */
const SAVING_COLUMN_RE = /sav(?:e|ings)|discount|you save|difference|percent|%/i;

function notAPriceColumn(label: string): boolean {
  return NEVER_A_PRICE_COLUMN_RE.test(label) || (SAVING_COLUMN_RE.test(label) && !PAYMENT_WORD_RE.test(label));
}

/** What the table rules never read (struck-out was / compare-at amounts included). */
const SKIP = F_NOT_CONTENT;
/** Longest text of a 1-unit row, and of an element read as text lines. */
const MAX_ROW_CHARS = 500;
const MAX_LINE_ELEMENT_CHARS = 2_000;

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

interface Cell {
  el: El;
  text: string;
}

/** Visible child cells of a row, or null when the row has too many children to be a tier row. */
function cellsOf(page: Page, row: El, max = 12): Cell[] | null {
  const out: Cell[] = [];
  for (const c of row.children) {
    if (!isElement(c) || page.has(c, F_NOTEXT | F_HIDDEN)) continue;
    if (out.length >= max) return null;
    out.push({ el: c, text: '' });
  }
  for (const c of out) c.text = page.line(c.el, SKIP, 300);
  return out;
}

const PAYMENT_WORD_RE = /\b(?:e?-?check|wire|ach|bank|cash|crypto|bitcoin|btc|card|credit|debit|paypal)\b/i;

/**
 * The price for one unit in a cell: its first amount (not a per-ounce figure on a multi-ounce
 * product), or, when the cell lists amounts by payment method ("$99.79 Card / $95.95 Wire"), the lowest.
 */
function amountIn(text: string, product: ProductIdentity): number | null {
  const amounts: { value: number; payment: boolean }[] = [];
  const all = findMoney(text);
  for (let i = 0; i < all.length; i++) {
    const m = all[i];
    const after = text.slice(m.index + m.length, m.index + m.length + 20).toLowerCase();
    if (product.weightOz !== 1 && /^\s*(?:\/|per)\s*(?:troy\s*)?(?:oz|ounce)/.test(after)) continue;
    const between = text.slice(i > 0 ? all[i - 1].index + all[i - 1].length : 0, m.index);
    amounts.push({ value: m.value, payment: PAYMENT_WORD_RE.test(after.split('$')[0]) || PAYMENT_WORD_RE.test(between) });
  }
  if (!amounts.length) return null;
  const labelled = amounts.filter((a) => a.payment);
  if (labelled.length >= 2) return pickLowest(labelled.map((a) => ({ label: '', price: a.value })))!.price;
  return amounts[0].value;
}

function hasMoney(cells: Cell[]): boolean {
  return cells.some((c) => findMoney(c.text).length > 0);
}

/** Rows that may label the columns of `row`: nearest preceding rows first, then the previous section's rows. */
function headerCandidates(page: Page, row: El): El[] {
  const out: El[] = [];
  for (let s = prevElement(row); s && out.length < 6; s = prevElement(s)) out.push(s);
  // <thead> rows for a <tbody> row, or a header block just before a grid's rows container.
  const parent = page.parentOf(row);
  let prev = parent ? prevElement(parent) : null;
  for (let i = 0; prev && i < 2; i++, prev = prevElement(prev)) {
    if (prev.name === 'thead' || prev.name === 'tbody') {
      let r = lastElement(prev);
      for (let k = 0; r && k < 3; k++, r = prevElement(r)) out.push(r);
    } else {
      out.push(prev);
    }
  }
  return out;
}

function lastElement(el: El): El | null {
  for (let k = el.children.length - 1; k >= 0; k--) if (isElement(el.children[k])) return el.children[k] as El;
  return null;
}

/** Header labels for a row: the nearest preceding row of the same width without amounts. */
function headerFor(page: Page, row: El, width: number): string[] | null {
  for (const c of headerCandidates(page, row)) {
    if (page.has(c, SKIP) || page.textLength(c, SKIP) > MAX_ROW_CHARS) continue;
    const cells = cellsOf(page, c);
    if (!cells || cells.length !== width) continue;
    if (hasMoney(cells)) continue;
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
  if (!page.mayHoldMoney(row, SKIP)) return null;
  const cells = cellsOf(page, row, 10);
  if (!cells || cells.length < 2) return null;
  if (!isOneUnitLabel(cells[0].text)) return null;
  if (isBuyback(page, row)) return null;
  const header = headerFor(page, row, cells.length);
  const entries: { label: string; price: number }[] = [];
  for (let i = 1; i < cells.length; i++) {
    // Label/value pairs in one container (<dl><dt>1-24</dt><dd>$95.40</dd><dt>25-99</dt>...): stop at the next tier.
    if (isQtyLabel(cells[i].text)) break;
    const label = header?.[i] ?? '';
    if (notAPriceColumn(label)) continue;
    if (notAPriceColumn(cells[i].text.replace(/\$[\d,.]+/g, ''))) continue;
    const price = amountIn(cells[i].text, product);
    if (price !== null) entries.push({ label, price });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { row, label: cells[0].text, price: best.price, parts: best.parts };
}

/** Rows after a header row in the same table section or container (at most 12). */
function rowsAfter(page: Page, headerRow: El): El[] {
  const rows: El[] = [];
  for (let s = nextElement(headerRow); s && rows.length < 12; s = nextElement(s)) rows.push(s);
  const parent = page.parentOf(headerRow);
  if (headerRow.name === 'tr' && parent && parent.name === 'thead') {
    for (let section = nextElement(parent); section; section = nextElement(section)) {
      if (section.name !== 'tbody') continue;
      for (let k = 0; k < section.children.length && rows.length < 12; k++) {
        const r = section.children[k];
        if (isElement(r)) rows.push(r);
      }
      break;
    }
  }
  return rows;
}

const BUYBACK_RE = /sell (?:to|your)|we buy|we pay|buy ?back|bid price|cash offer/i;

/**
 * Is the row part of what the dealer pays (a "Sell to us" table)? Judged on the caption and the
 * heading-like element right before the row's table or container (two levels up at most).
 */
function isBuyback(page: Page, row: El): boolean {
  let box: El | null = page.parentOf(row);
  for (let level = 0; box && level < 3; level++, box = page.parentOf(box)) {
    // A caption is a table's first child: looking further would cost the width of every ancestor.
    const caption = box.name === 'table' ? box.children.find(isElement) : undefined;
    if (caption && caption.name === 'caption' && BUYBACK_RE.test(page.line(caption, F_NOT_CONTENT, 200))) return true;
    // Only a heading-like element right before counts (not a whole neighbouring block).
    const before = prevElement(box);
    if (before && (/^h[1-6]$/.test(before.name) || page.textLength(before, F_NOT_CONTENT) <= 80) && !page.mayHoldMoney(before, F_NOT_CONTENT)) {
      if (BUYBACK_RE.test(page.line(before, F_NOT_CONTENT, 200))) return true;
    }
  }
  return false;
}

/** Quantities as columns: a header row with a 1-unit label in column j, payment methods as rows. */
function readTransposed(page: Page, headerRow: El, product: ProductIdentity): TierRow | null {
  const following = nextElement(headerRow) ?? (headerRow.name === 'tr' && page.parentOf(headerRow)?.name === 'thead' ? nextElement(page.parentOf(headerRow)!) : null);
  if (!following || !page.mayHoldMoney(following, SKIP)) return null;
  let width = 0;
  for (const c of headerRow.children) if (isElement(c) && ++width > 12) return null;
  if (width < 3) return null;
  const head = cellsOf(page, headerRow, 12);
  if (!head || head.length < 3) return null;
  if (isBuyback(page, headerRow)) return null;
  const j = head.findIndex((c, i) => i > 0 && isOneUnitLabel(c.text));
  if (j < 0) return null;
  if (!head.some((c, i) => i > 0 && i !== j && isQtyLabel(c.text) && !isOneUnitLabel(c.text))) return null;
  const entries: { label: string; price: number }[] = [];
  for (const r of rowsAfter(page, headerRow)) {
    if (page.has(r, SKIP) || page.textLength(r, SKIP) > MAX_ROW_CHARS * 2) continue;
    const cells = cellsOf(page, r, 12);
    if (!cells || cells.length !== head.length) continue;
    if (notAPriceColumn(cells[0].text)) continue;
    const price = amountIn(cells[j].text, product);
    if (price !== null) entries.push({ label: cells[0].text, price });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { row: headerRow, label: head[j].text, price: best.price, parts: best.parts };
}

const INLINE_LINE_TAGS = /^(?:span|b|strong|em|i|small|sup|sub|s|del|a|label|abbr|font|mark|u|br|bdi|data|time|ins)$/;
/** A following quantity range on the same line: its amounts belong to another tier. */
const NEXT_TIER_RE = /(?:^|[\s|,;/])\d[\d,]*\s*(?:\+|-\s*\d|to\s*\d|or more)/i;

/** One text line such as "1 - 19: $92.30 (check) / $95.99 (card)". */
/** How a 1-unit label can start; lines that start otherwise are passed over before any amount is parsed. */
const ONE_UNIT_START_RE = /^\s*(?:1\b|1\s*[-+\u2013]|one\b|any\b|all\b|qty|quantity|buy|order|tier|purchase)/i;

function readTextLine(line: string, product: ProductIdentity): { label: string; price: number; parts: string[] } | null {
  if (!ONE_UNIT_START_RE.test(line)) return null;
  const text = line.replace(/\s+/g, ' ').trim();
  if (!text || text.length > 200) return null;
  const m = findMoney(text);
  if (!m.length) return null;
  const label = text.slice(0, m[0].index).replace(/[:\-\u2013\u2014|.\s]+$/, '').replace(/\s*(?:@|at|for|price|each|ea\.?)\s*$/i, '').trim();
  if (!isOneUnitLabel(label)) return null;
  const entries: { label: string; price: number }[] = [];
  for (let i = 0; i < m.length; i++) {
    const x = m[i];
    if (i > 0 && NEXT_TIER_RE.test(text.slice(m[i - 1].index + m[i - 1].length, x.index))) break;
    const after = text.slice(x.index + x.length, x.index + x.length + 30);
    const lbl = after.replace(/^[\s(]*(?:with|by|via|paying|pay)?\s*/i, '').split(/[)$/|,;]/)[0].trim();
    if (notAPriceColumn(lbl)) continue;
    if (product.weightOz !== 1 && /^(?:\/|per)\s*(?:troy\s*)?(?:oz|ounce)/i.test(after.trim())) continue;
    entries.push({ label: lbl, price: x.value });
  }
  const best = pickLowest(entries);
  if (!best) return null;
  return { label, price: best.price, parts: best.parts };
}

/** Lines of an element holding only inline markup ("<li>1-19: <b>$92.30</b> check</li>", "<pre>", "<p>..<br>..</p>"). */
function readLines(page: Page, el: El, product: ProductIdentity): TierRow | null {
  if (!page.mayHoldMoney(el, SKIP)) return null;
  for (const c of el.children) if (isElement(c) && !INLINE_LINE_TAGS.test(c.name)) return null;
  const text = page.text(el, SKIP, MAX_LINE_ELEMENT_CHARS);
  for (const line of text.split('\n')) {
    const found = readTextLine(line, product);
    if (found) return { row: el, ...found };
  }
  return null;
}

const ROW_CANDIDATE_SKIP = new Set(['html', 'body', 'head', 'table', 'thead', 'tbody', 'tfoot', 'ul', 'ol', 'select', 'option', 'script', 'style']);

/** The 1-unit row of the page's tier table; rows whose price `plausible` refuses are passed over. */
export function pricingTableEvidence(page: Page, product: ProductIdentity, plausible: (price: number) => boolean = () => true): PriceEvidence | null {
  const found: TierRow[] = [];
  const els = page.elements;
  for (let i = 0; i < els.length && found.length < 20; i++) {
    const el = els[i];
    if (page.has(el, SKIP)) continue;
    if (!el.children.length || ROW_CANDIDATE_SKIP.has(el.name)) continue;
    const len = page.textLength(el, SKIP);
    if (len === 0) continue;
    if (len <= MAX_ROW_CHARS) {
      const row = readRow(page, el, product) ?? readTransposed(page, el, product);
      if (row && plausible(row.price)) {
        found.push(row);
        continue;
      }
    }
    if (len <= MAX_LINE_ELEMENT_CHARS) {
      const line = readLines(page, el, product);
      if (line && plausible(line.price) && !found.some((f) => page.contains(f.row, el) || page.contains(el, f.row))) found.push(line);
    }
  }
  if (!found.length) return null;
  // Prefer the product area's table; otherwise the first in the page.
  const area = page.area;
  const inArea = area ? found.filter((f) => page.contains(area, f.row)) : [];
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
