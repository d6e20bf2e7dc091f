/** Reading product weights ("1 oz", "1/10 oz", "10 oz", "1 kilo", "5 gram") from titles. */

export interface WeightMention {
  /** Troy ounces. */
  oz: number;
  raw: string;
}

const GRAMS_PER_OZ = 31.1034768;
const UNICODE_FRACTIONS: Record<string, number> = {
  '\u00bd': 1 / 2,
  '\u00bc': 1 / 4,
  '\u00be': 3 / 4,
  '\u2152': 1 / 10,
  '\u2155': 1 / 5,
  '\u215b': 1 / 8,
  '\u2153': 1 / 3,
};

// amount: mixed number "1 1/2", fraction "1/10" (optionally "1/10th"), unicode fraction, decimal.
const AMOUNT = String.raw`(\d{1,2}\s+\d{1,2}\s*\/\s*\d{1,4}|\d{1,3}\s*\/\s*\d{1,4}(?:th)?|[\u00bd\u00bc\u00be\u2152\u2155\u215b\u2153]|\d{1,4}(?:,\d{3})?(?:\.\d+)?)`;
const UNIT = String.raw`(troy\s*ounces?|troy\s*oz|ounces?|ozt|t\.?oz|oz|grams?|gr|g|kilograms?|kilos?|kg)`;
const WEIGHT_RE = new RegExp(String.raw`(?<![\d.\/\w])` + AMOUNT + String.raw`\s*-?\s*(?:troy\s+)?` + UNIT + String.raw`(?![a-z])`, 'gi');

function parseAmount(raw: string): number | null {
  const s = raw.trim().toLowerCase().replace(/th$/, '');
  if (s in UNICODE_FRACTIONS) return UNICODE_FRACTIONS[s];
  const mixed = /^(\d{1,2})\s+(\d{1,2})\s*\/\s*(\d{1,4})$/.exec(s);
  if (mixed) return Number(mixed[1]) + Number(mixed[2]) / Number(mixed[3]);
  const frac = /^(\d{1,3})\s*\/\s*(\d{1,4})$/.exec(s);
  if (frac) return Number(frac[2]) === 0 ? null : Number(frac[1]) / Number(frac[2]);
  const n = Number(s.replace(/,/g, ''));
  return Number.isFinite(n) && n > 0 ? n : null;
}

function toOz(amount: number, unit: string): number {
  const u = unit.toLowerCase().replace(/\s+/g, '');
  if (u.startsWith('kilo') || u === 'kg') return (amount * 1000) / GRAMS_PER_OZ;
  if (u.startsWith('gram') || u === 'g' || u === 'gr') return amount / GRAMS_PER_OZ;
  return amount;
}

/** Every weight mentioned in a text, in troy ounces. */
export function findWeights(text: string): WeightMention[] {
  const out: WeightMention[] = [];
  if (typeof text !== 'string' || !text) return out;
  const s = text.slice(0, 2000);
  WEIGHT_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = WEIGHT_RE.exec(s)) !== null) {
    const amount = parseAmount(m[1]);
    if (amount === null) continue;
    const oz = toOz(amount, m[2]);
    if (oz > 0 && oz < 100_000) out.push({ oz, raw: m[0].trim() });
  }
  return out;
}

/** Same weight within 2 % (a 1 kilo bar is 32.15 oz; catalogue values are rounded). */
export function sameWeight(a: number, b: number): boolean {
  return Math.abs(a - b) <= 0.02 * Math.max(a, b);
}

/** Goldback denominations named in a text ("G1", "G5", "1/1000 oz" -> 1). */
export function findGoldbackDenominations(text: string): number[] {
  const out = new Set<number>();
  if (typeof text !== 'string') return [];
  const s = text.slice(0, 2000);
  for (const m of s.matchAll(/(?<![\w\/])G\s?(\d{1,3}|\u00bd|1\/2)(?![\w\/])/g)) {
    out.add(m[1] === '\u00bd' || m[1] === '1/2' ? 0.5 : Number(m[1]));
  }
  for (const m of s.matchAll(/(?<![\w.\/])(\d{1,3})\s*\/\s*(1,?000|2,?000)\s*(?:th\s*)?(?:troy\s*)?(?:oz|ounce)/gi)) {
    const per = Number(m[2].replace(',', ''));
    out.add((Number(m[1]) * 1000) / per);
  }
  return [...out];
}
