/** Reading US dollar amounts from page text and structured data. */

export interface MoneyMatch {
  value: number;
  /** Offset of the match in the text. */
  index: number;
  /** Length of the matched text. */
  length: number;
  raw: string;
}

/** Amounts above this are not prices of one bullion product (a 400 oz gold bar is about 2 M). */
export const MAX_PRICE = 10_000_000;

// `$1,234.56`, `$ 92.30`, `US$92.30`, `USD 92.30`, `USD $92.30`, `92.30 USD`, `$1,234`.
// A space between sign and number may not be a line break: "$" and "1" in different blocks are not an amount.
const NUMBER = String.raw`(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?![\d,]*\d)`;
const GAP = String.raw`[ \t\u00a0]?`;
const PREFIXED = String.raw`(?:US${GAP}\$|USD${GAP}\$?|usd${GAP}\$?|\$)` + GAP + NUMBER;
const SUFFIXED = String.raw`(?<![\d.,$])` + NUMBER + GAP + String.raw`(?:USD|usd|US\$)(?![A-Za-z])`;
// Not after a capital letter or digit: "CA$130", "A$", "NZ$", "HK$" are other dollars. A lower-case
// letter may touch the sign: "Sale price$92.30" is how adjacent inline elements read.
const MONEY_RE = new RegExp(`(?<![A-Z0-9.$])(?:${PREFIXED})|${SUFFIXED}`, 'g');

function toNumber(intPart: string, frac: string | undefined): number | null {
  const n = Number(intPart.replace(/,/g, '') + (frac ? `.${frac}` : ''));
  if (!Number.isFinite(n) || n <= 0 || n > MAX_PRICE) return null;
  return Math.round(n * 100) / 100;
}

/** Every dollar amount in a text, in order. Negative amounts (`-$5.00`) are skipped. */
export function findMoney(text: string): MoneyMatch[] {
  const out: MoneyMatch[] = [];
  if (typeof text !== 'string' || text === '') return out;
  MONEY_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let guard = 0;
  while ((m = MONEY_RE.exec(text)) !== null && guard++ < 100_000) {
    const intPart = m[1] ?? m[3];
    const frac = m[1] !== undefined ? m[2] : m[4];
    if (intPart === undefined) continue;
    const before = text.slice(Math.max(0, m.index - 1), m.index);
    if (before === '-' || before === '\u2212') continue;
    const value = toNumber(intPart, frac);
    if (value === null) continue;
    out.push({ value, index: m.index, length: m[0].length, raw: m[0] });
  }
  return out;
}

/** The first dollar amount in a text ("$1,234.56", "$1,234", "USD 92.30", "92.30 USD"), or null. */
export function parseMoney(text: string): number | null {
  const all = findMoney(text);
  return all.length ? all[0].value : null;
}

/**
 * A price value from structured data: a number, or a string such as "92.30", "1,234.56",
 * "$92.30" or "92.30 USD". Returns null for anything else, zero or negative.
 */
export function parsePriceValue(value: unknown): number | null {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0 || value > MAX_PRICE) return null;
    return Math.round(value * 100) / 100;
  }
  if (typeof value !== 'string') return null;
  const s = value.trim();
  if (s === '' || s.length > 40) return null;
  const plain = /^(?:US\s?\$|USD\s?\$?|\$)?\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s?(?:USD)?$/i.exec(s);
  if (plain) {
    const n = Number(plain[1].replace(/,/g, '') + (plain[2] ? `.${plain[2]}` : ''));
    if (!Number.isFinite(n) || n <= 0 || n > MAX_PRICE) return null;
    return Math.round(n * 100) / 100;
  }
  return null;
}

/** One cent, and a hair for binary floating point. */
const PRICE_ROUNDING_USD = 0.0100001;

/**
 * Two prices of one page agree when they are the same to the cent (one cent of rounding allowed).
 * A dealer's prices are exact: any relative tolerance would let a $5,000 coin's volume tier, a few
 * dollars lower, pass for its 1-unit price.
 */
export function pricesAgree(a: number, b: number): boolean {
  return Math.abs(a - b) <= PRICE_ROUNDING_USD;
}


/** "$1,234.56" (toLocaleString is correct too, but slow enough to show in the extraction profile). */
export function formatUsd(n: number): string {
  if (!Number.isFinite(n)) return `$${String(n)}`;
  const [whole, cents] = Math.abs(n).toFixed(2).split('.');
  return `${n < 0 ? '-' : ''}$${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}
