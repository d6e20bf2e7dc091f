/**
 * Reading the official Goldback exchange rate (USD for one G1 note) from a page, with the extractor's
 * machinery: the same HTML parser and trap marking (header spot tickers, menus, carousels, footers and
 * hidden text are never read), the same money parsing and JSON-LD reader. The rule is generic: an
 * amount counts only when the words around it state the rate or value of ONE Goldback (rate-label.ts),
 * so G5..G50 values, sets, spot quotes, old rates and dealers' product prices are passed over.
 */
import { F_NOT_CONTENT, F_NOTEXT, F_TRAP, Page, isElement, type El } from '../scrape/extract/dom.js';
import { parseJsonLoose } from '../scrape/extract/jsonld.js';
import { findMoney, formatUsd, parsePriceValue, pricesAgree } from '../scrape/extract/money.js';
import { detectBlocked, detectNotFound } from '../scrape/extract/page-kind.js';
import { isPlainText } from '../scrape/extract/plain-text.js';
import { GOLDBACK_GOLD_OZ_PER_NOTE } from '../scrape/sanity.js';
import { judgeAmountLabel, type AmountLabel } from './rate-label.js';

/** Lowest plausible rate of one G1 note in USD. */
export const MIN_G1_USD = 0.5;
/** Highest plausible rate of one G1 note in USD. */
export const MAX_G1_USD = 1000;
/** With gold spot known, the rate must lie within these multiples of a G1's gold value (spot / 1000). */
export const G1_SPOT_RATIO: readonly [number, number] = [0.5, 5];

export interface ReadGoldbackRateOptions {
  /** Gold spot in USD per troy ounce, when known: the rate must then be 0.5x..5x a G1's melt value. Default unknown. */
  goldSpotUsdPerOz?: number | null;
  /** HTTP status of the page, when known: a 403/404 page is refused as such. */
  status?: number;
}

export type GoldbackRateReading =
  | {
      ok: true;
      /** USD for one G1 note, rounded to cents. */
      g1Usd: number;
      /** Where it was read: JSON-LD, a meta tag or the page text. */
      rule: 'jsonld' | 'meta' | 'text';
      /** One line a person can check against the page, e.g. `page text "1 Goldback = $10.06 USD"`. */
      evidence: string;
    }
  | { ok: false; reason: string };

interface Candidate {
  value: number;
  rule: 'jsonld' | 'meta' | 'text';
  score: number;
  evidence: string;
}

interface Refusal {
  value: number;
  why: string;
  /** What the amount was for, when the page said (e.g. "G5"). */
  what?: string;
}

/** The plausible range of a G1 rate: $0.50..$1,000, narrowed to 0.5x..5x of melt when gold spot is known. */
export function g1RateBounds(goldSpotUsdPerOz?: number | null): { min: number; max: number } {
  if (typeof goldSpotUsdPerOz === 'number' && goldSpotUsdPerOz > 0) {
    const melt = goldSpotUsdPerOz * GOLDBACK_GOLD_OZ_PER_NOTE;
    return { min: Math.max(MIN_G1_USD, melt * G1_SPOT_RATIO[0]), max: Math.min(MAX_G1_USD, melt * G1_SPOT_RATIO[1]) };
  }
  return { min: MIN_G1_USD, max: MAX_G1_USD };
}

/** Reads the USD rate of one Goldback (G1) from a page's HTML. Never throws. */
export function readGoldbackRate(html: string, options: ReadGoldbackRateOptions = {}): GoldbackRateReading {
  try {
    return read(html, options);
  } catch (err) {
    return { ok: false, reason: `could not read the page (${String((err as Error)?.message ?? err).slice(0, 200)})` };
  }
}

function read(html: string, options: ReadGoldbackRateOptions): GoldbackRateReading {
  if (typeof html !== 'string' || !html.trim()) return { ok: false, reason: 'the page is empty' };
  const page = new Page(isPlainText(html) ? textToHtml(html) : html);
  const blocked = detectBlocked(page, options.status, html.slice(0, 8192));
  if (blocked) return { ok: false, reason: `blocked: ${blocked.reason}` };
  const missing = detectNotFound(page, options.status);
  if (missing) return { ok: false, reason: `not found: ${missing.reason}` };

  const bounds = g1RateBounds(options.goldSpotUsdPerOz);
  const refusals: Refusal[] = [];
  const found: Candidate[] = [];
  const consider = (c: Candidate) => {
    if (c.value < bounds.min || c.value > bounds.max) refusals.push({ value: c.value, why: `outside the plausible ${formatUsd(bounds.min)}..${formatUsd(bounds.max)} for one G1` });
    else found.push(c);
  };
  for (const c of jsonLdCandidates(page, refusals)) consider(c);
  for (const c of metaCandidates(page, refusals)) consider(c);
  for (const c of textCandidates(page, F_NOT_CONTENT, refusals)) consider(c);
  if (!found.length) {
    // Some sites state the rate only in their header bar: read the page chrome too, but only the plainest statements.
    for (const c of textCandidates(page, F_NOT_CONTENT & ~F_TRAP, [])) if (c.score >= PLAIN_STATEMENT) consider(c);
  }

  if (!found.length) return { ok: false, reason: refusalReason(refusals) };
  const top = Math.max(...found.map((c) => c.score));
  const best = found.filter((c) => c.score === top);
  const values = [...new Set(best.map((c) => c.value))];
  if (values.some((v) => !pricesAgree(v, values[0]))) {
    return { ok: false, reason: `the page states different rates for one Goldback (${values.map(formatUsd).join(', ')}): cannot tell which is current` };
  }
  const chosen = best[0];
  const agree = found.filter((c) => pricesAgree(c.value, chosen.value)).length;
  const others = found.length - agree;
  const note = agree > 1 || others ? ` (${agree} statement${agree === 1 ? '' : 's'} of this rate${others ? `; ${others} less plain statement${others === 1 ? '' : 's'} of other amounts passed over` : ''})` : '';
  return { ok: true, g1Usd: chosen.value, rule: chosen.rule, evidence: `${chosen.evidence}${note}` };
}

/** What was seen instead of a G1 rate, grouped by kind: the reason says what was missing and what was there. */
function refusalReason(refusals: Refusal[]): string {
  if (!refusals.length) return 'no rate for one Goldback (G1) on the page: no USD amount outside tickers, menus, carousels and footers';
  const groups = new Map<string, string[]>();
  for (const r of refusals) groups.set(r.why, [...(groups.get(r.why) ?? []), `${r.what ? `${r.what} ` : ''}${formatUsd(r.value)}`]);
  const parts = [...groups].map(([why, values]) => `${why}: ${values.slice(0, 3).join(', ')}${values.length > 3 ? ` and ${values.length - 3} more` : ''}`);
  return `no rate for one Goldback (G1) on the page: ${refusals.length} USD amount${refusals.length === 1 ? '' : 's'} seen, none stated as the rate of one Goldback (${parts.join('; ')})`;
}

function clip(s: string, max: number): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `...${line.slice(line.length - max)}` : line;
}

// ---- page text ----------------------------------------------------------------------------------

/** Section headings that introduce a shop (a "Buy Goldbacks" carousel): amounts under them are product prices. */
const SHOP_HEADING_RE = /\b(?:buy|shop|for sale|dealers?|stores?|products?|deals?|related|featured|bestsellers?)\b/i;
/** Section headings over past rates ("Exchange rate history"): their amounts are not today's rate. */
const HISTORY_HEADING_RE = /\bhistory\b|\bhistorical\b|\bpast\b|\bprevious\b|\barchive\b|\brecent rates\b|\bchart\b/i;
/** Words of a product card: its amount is a product price. */
const CARD_RE = /\b(?:add to (?:cart|bag)|buy (?:it )?now|shop now|quick view|view (?:product|details)|sold out|out of stock|in stock)\b/i;
const CARD_TAGS = new Set(['li', 'article', 'tr', 'div', 'section', 'figure']);
/** A card is small; a bigger box is a page section. */
const CARD_MAX_CHARS = 400;

/** Score of "1 Goldback = $10.06" or "Exchange rate: $10.06 per Goldback": an explicit G1 and a rate word beside the amount. */
const PLAIN_STATEMENT = 4;

/** Amounts of the page text outside the regions `skip` flags, judged by the words around them. */
function textCandidates(page: Page, skip: number, refusals: Refusal[]): Candidate[] {
  const { text, spans } = page.segments(page.root, skip);
  const money = findMoney(text);
  const headings = headingIndex(page);
  const out: Candidate[] = [];
  let spanAt = 0;
  for (let k = 0; k < money.length; k++) {
    const m = money[k];
    const prevEnd = k > 0 ? money[k - 1].index + money[k - 1].length : 0;
    const end = m.index + m.length;
    const nextStart = k + 1 < money.length ? money[k + 1].index : text.length;
    while (spanAt < spans.length && spans[spanAt].end <= m.index) spanAt++;
    const el = spanAt < spans.length && spans[spanAt].start <= m.index ? spans[spanAt].el : null;
    const heading = el ? [headings(el), tableLabel(page, el)].filter(Boolean).join(' \u00b7 ') : '';
    const label: AmountLabel = {
      before: text.slice(Math.max(prevEnd, m.index - 120), m.index),
      after: text.slice(end, Math.min(nextStart, end + 60)),
      heading,
    };
    const card = el ? productCard(page, el) : null;
    if (card) {
      refusals.push({ value: m.value, why: card });
      continue;
    }
    if (heading && SHOP_HEADING_RE.test(heading)) {
      refusals.push({ value: m.value, why: `under a shop heading ("${clip(heading, 40)}")` });
      continue;
    }
    if (heading && HISTORY_HEADING_RE.test(heading)) {
      refusals.push({ value: m.value, why: `a past rate ("${clip(heading, 40)}")` });
      continue;
    }
    const verdict = judgeAmountLabel(label);
    if (!verdict.g1) {
      refusals.push({ value: m.value, why: verdict.why, what: verdict.denomination });
      continue;
    }
    const tail = clip(label.after.split('\n', 1)[0], 20);
    out.push({ value: m.value, rule: 'text', score: verdict.score, evidence: `page text "${clip(label.before, 60)} ${m.raw}${tail ? ` ${tail}` : ''}"` });
  }
  return out;
}

/** For an element, the text of the last heading (h1..h6) at or before it, outside traps. */
function headingIndex(page: Page): (el: El) => string {
  const list: Array<{ idx: number; text: string }> = [];
  for (const e of page.elements) {
    if (!/^h[1-6]$/.test(e.name) || page.has(e, F_NOT_CONTENT)) continue;
    const text = page.line(e, F_NOTEXT, 200);
    if (text) list.push({ idx: page.idx(e), text });
  }
  return (el) => {
    const at = page.idx(el);
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].idx <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? list[lo - 1].text : '';
  };
}

const childElements = (el: El): El[] => el.children.filter(isElement);

/**
 * For an amount in a table cell: the table's caption and its column's header ("Value (USD)"), which label the
 * cell as a heading labels a section. Empty outside tables.
 */
function tableLabel(page: Page, el: El): string {
  let cell: El | null = el;
  for (let i = 0; cell && i < 4 && cell.name !== 'td' && cell.name !== 'th'; i++) cell = page.parentOf(cell);
  if (!cell || (cell.name !== 'td' && cell.name !== 'th')) return '';
  const row = page.parentOf(cell);
  let table: El | null = row;
  for (let i = 0; table && i < 3 && table.name !== 'table'; i++) table = page.parentOf(table);
  if (!row || row.name !== 'tr' || !table || table.name !== 'table') return '';
  const column = childElements(row).filter((c) => c.name === 'td' || c.name === 'th').indexOf(cell);
  const parts: string[] = [];
  let header: El | null = null;
  for (const e of page.descendants(table)) {
    if (e.name === 'caption' && !parts.length) parts.push(page.line(e, F_NOTEXT, 120));
    if (!header && e.name === 'tr' && e !== row && childElements(e).every((c) => c.name === 'th' || (c.name !== 'td' && c.name !== 'th'))) header = e;
    if (header && e === row) break;
  }
  const head = header ? childElements(header).filter((c) => c.name === 'td' || c.name === 'th')[column] : undefined;
  if (head) parts.push(page.line(head, F_NOTEXT, 120));
  return parts.filter(Boolean).join(' \u00b7 ');
}

/** Why an amount sits in a product card (a link to a product, or a small box with a buy button), or null. */
function productCard(page: Page, el: El): string | null {
  let n: El | null = el;
  for (let level = 0; n && level < 6 && !page.isBody(n) && n.name !== 'main'; level++) {
    if (n.name === 'a' && n.attribs.href) return 'inside a link (a product tile)';
    if (CARD_TAGS.has(n.name)) {
      if (page.textLength(n) > CARD_MAX_CHARS) break;
      if (CARD_RE.test(page.line(n, F_NOTEXT, CARD_MAX_CHARS))) return "a dealer's product card (buy button or stock badge)";
    }
    n = page.parentOf(n);
  }
  return null;
}

// ---- structured data ----------------------------------------------------------------------------

const USD_RE = /^(?:USD|US\$|\$)$/i;

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return str(v[0]);
  if (v && typeof v === 'object' && typeof (v as Record<string, unknown>)['@value'] === 'string') return (v as Record<string, string>)['@value'];
  return '';
}

/** "ExchangeRateSpecification" -> "exchange rate specification": type names carry the "rate" cue. */
function words(typeName: string): string {
  return typeName.replace(/^https?:\/\/schema\.org\//i, '').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** The USD amounts a JSON-LD node states: price, value (MonetaryAmount), currentExchangeRate.price. */
function nodeAmounts(node: Record<string, unknown>): number[] {
  const out: number[] = [];
  const currency = str(node.priceCurrency || node.currency || node.unitText || node.unitCode).trim();
  const usd = currency === '' || USD_RE.test(currency);
  const rate = node.currentExchangeRate;
  if (rate && typeof rate === 'object' && !Array.isArray(rate)) {
    const r = rate as Record<string, unknown>;
    const rc = str(r.priceCurrency || r.currency).trim();
    const v = parsePriceValue(r.price ?? r.value);
    if (v !== null && (rc === '' || USD_RE.test(rc))) out.push(v);
  }
  // An ExchangeRateSpecification's own `currency` is the foreign one (the Goldback), never the amount's.
  const isRateSpec = /exchangeratespecification/i.test(str(node['@type']));
  if (usd && !isRateSpec) {
    for (const key of ['price', 'value', 'exchangeRate']) {
      const v = parsePriceValue(node[key]);
      if (v !== null) out.push(v);
    }
  }
  return out;
}

function jsonLdCandidates(page: Page, refusals: Refusal[]): Candidate[] {
  const out: Candidate[] = [];
  for (const el of page.elements) {
    if (el.name !== 'script' || !/ld\+json/i.test(el.attribs.type ?? '')) continue;
    const raw = (el.children ?? []).map((c) => c.data ?? '').join('');
    if (raw.length > 3_000_000) continue;
    const data = parseJsonLoose(raw);
    if (data === undefined) continue;
    const stack: Array<{ v: unknown; context: string; depth: number }> = [{ v: data, context: '', depth: 0 }];
    for (let visited = 0; stack.length && visited < 20_000; visited++) {
      const { v, context, depth } = stack.pop()!;
      if (depth > 12 || !v || typeof v !== 'object') continue;
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], context, depth: depth + 1 });
        continue;
      }
      const node = v as Record<string, unknown>;
      const types = (Array.isArray(node['@type']) ? node['@type'] : [node['@type']]).map(str).filter(Boolean).map(words);
      const own = [types.join(' '), str(node.name), str(node.alternateName), str(node.currency), str(node.sku), str(node.identifier)].filter(Boolean).join(' ');
      const label = `${context} ${own}`.trim().slice(-200);
      for (const value of nodeAmounts(node)) {
        const verdict = judgeAmountLabel({ before: `${label} `, after: '' });
        if (verdict.g1) out.push({ value, rule: 'jsonld', score: verdict.score + 1, evidence: `JSON-LD "${clip(label, 80)}" ${formatUsd(value)}` });
        else refusals.push({ value, why: `JSON-LD: ${verdict.why}`, what: verdict.denomination });
      }
      for (const [k, child] of Object.entries(node)) {
        if (k === 'currentExchangeRate') continue;
        if (child && typeof child === 'object') stack.push({ v: child, context: label, depth: depth + 1 });
      }
    }
  }
  return out;
}

/** Meta tags named after the Goldback rate, e.g. `goldback:exchange_rate`, `g1-usd`. */
const META_KEY_RE = /goldback|(?:^|[^a-z0-9])g1(?:[^a-z0-9]|$)|exchange[-_: ]?rate/;

function metaCandidates(page: Page, refusals: Refusal[]): Candidate[] {
  const out: Candidate[] = [];
  for (const [key, content] of page.meta) {
    if (!META_KEY_RE.test(key)) continue;
    const value = parsePriceValue(content);
    if (value === null) continue;
    const named = key.replace(/[-_:.]+/g, ' ');
    // A meta value named after the Goldback states its value: the key stands for the "rate" cue.
    const verdict = judgeAmountLabel({ before: `${named} `, after: '', heading: 'value' });
    if (verdict.g1) out.push({ value, rule: 'meta', score: verdict.score, evidence: `meta ${key}="${clip(content, 40)}"` });
    else refusals.push({ value, why: `meta ${key}: ${verdict.why}`, what: verdict.denomination });
  }
  return out;
}

// ---- plain text (a browser tier's innerText): one paragraph per line, so that the same rules read it ----

function textToHtml(text: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return `<html><body><main>${lines.map((l) => `<p>${esc(l)}</p>`).join('\n')}</main></body></html>`;
}
