/**
 * Judging the words around a dollar amount: does it state the rate of ONE Goldback (a G1 note), or
 * something else (another denomination, a set, a spot quote, a dealer's "as low as", an old rate)?
 * Pure text rules shared by the page text, JSON-LD and meta readers of goldback-rate.ts.
 */

/** The words around one amount. */
export interface AmountLabel {
  /** Text before the amount, back to the previous amount (at most about 120 characters). */
  before: string;
  /** Text after the amount on its own line, up to the next amount (at most about 60 characters). */
  after: string;
  /** Heading of the section the amount is in, when known. */
  heading?: string;
}

export type AmountVerdict =
  /** `score`: how plainly the words say "the rate of one Goldback" (higher is plainer). */
  | { g1: true; explicit: boolean; score: number }
  /** `why`: what the amount is instead, e.g. "another denomination"; `denomination`: which one, e.g. "G5". */
  | { g1: false; why: string; denomination?: string };

const NUMBER_WORDS: Record<string, number> = { a: 1, an: 1, one: 1, single: 1, half: 0.5, five: 5, ten: 10, 'twenty-five': 25, 'twenty five': 25, fifty: 50, hundred: 100 };

/** "G1", "G 5", "G50", "G½" (a denomination code; not the G of "Gold"). */
const CODE_RE = /(?<![\w\/.])G\s?(\d{1,3}|\u00bd|1\/2)(?![\w\/])/g;
/** "1 Goldback", "5 Goldbacks", "one Goldback", "a Goldback", "five-Goldback", "a ‘1’ Goldback". */
const COUNT_RE = /(?<![\w])[‘“'"]?(\d{1,3}|an?|one|single|half|five|ten|twenty[- ]five|fifty|hundred)[’”'"]?[\s-]+goldbacks?\b/gi;
/** "1/1000 oz", "5/1000th troy ounce": the gold in a note names its denomination. */
const GOLD_CONTENT_RE = /(?<![\w.\/])(\d{1,3})\s*\/\s*1,?000\s*(?:th\s*)?(?:of\s+an?\s+)?(?:troy\s*)?(?:oz|ounce)/gi;
/** After the amount: "per Goldback", "for a G5", "/ G1", "each". */
const AFTER_UNIT_RE = /^\s*(?:USD\s*)?(?:per|for|\/|each|a)\s*(?:(\d{1,3}|an?|one|single|five|ten|fifty)\s+)?(?:G\s?(\d{1,3})\b|goldbacks?\b)/i;

/** Prose that works an example ("if a dealer were to pay $5 for a '1' Goldback"): not a statement of the rate. */
const EXAMPLE_RE = /\bif\b|\bexample\b|\be\.g\.|\bsuppose\b|\bwould\b|\bcould\b|\bimagine\b|\bsay you\b/i;
/** Bundles of notes: their price is not the price of one note. */
const SET_RE = /\b(?:sets?|bundles?|packs?|sheets?|lots?|rolls?|collections?|bricks?)\b/i;
/** An old, changed or extreme rate rather than the current one. */
const NOT_CURRENT_RE = /\b(?:yesterday'?s?|previous|prior|last (?:week|month|year|close|update)|ago|change[ds]?|high|low|average|avg|was|opening|open)\b/i;
/** Shop words: a dealer's product price, not a published rate. */
const SHOP_RE = /\b(?:as low as|starting (?:at|from)|starts at|add to (?:cart|bag)|buy (?:it )?now|shop now|quick view|in stock|sold out|out of stock|free shipping|msrp|on sale|sale price|you save|premium|shipping|buy ?back|we (?:buy|pay)|sell to us)\b/i;
/** Words right before the amount that make it a bound or a bid/ask, not the rate. */
const BEFORE_BOUND_RE = /\b(?:from|over|under|above|below|min(?:imum)?|max(?:imum)?|bid|ask|save|off)\s*[:\-]?\s*$/i;
/** A metal spot quote ("Gold $5,012.30", "spot price: $5,012"); "Goldback" is not "gold". */
const METAL_END_RE = /\b(?:gold|silver|platinum|palladium)\b\s*(?:price|bid|ask)?\s*[:\-]?\s*$/i;
const SPOT_RE = /\bspot\b/i;
/** The gold a note holds, valued at spot: not what a Goldback is exchanged for. */
const MELT_RE = /\bmelt\b|\bintrinsic\b|\bgold value\b|\bscrap\b/i;
/** "1/1000 oz 24k gold" ends in a metal name too, but names a note's gold content, not a spot quote. */
const CONTENT_RE = /\b\d+k\b|\/\s*1,?000|\bfoil\b|\bcontent\b/i;
const PER_OUNCE_AFTER_RE = /^\s*(?:\/|per)\s*(?:troy\s*)?(?:oz|ounce)/i;
const AFTER_REJECT_RE = /^\s*(?:off\b|premium|over spot|shipping|savings|change|higher|lower|up\b|down\b|%)/i;

/** Words that say an amount is a rate or value. */
const RATE_RE = /\bexchange[\s-]*rates?\b|\brates?\b|\bvalue[ds]?\b|\bworth\b|=|\bequals?\b|\bofficial\b|\bquoted?\b/i;
const GOLDBACK_RE = /\bgoldback\b/i;

/** Denominations the published file lists. */
export const DENOMINATIONS = [1, 5, 10, 25, 50] as const;

function numberOf(word: string): number | null {
  const w = word.toLowerCase().replace(/\s+/g, ' ');
  if (w === '\u00bd' || w === '1/2') return 0.5;
  if (/^\d+$/.test(w)) return Number(w);
  return NUMBER_WORDS[w] ?? NUMBER_WORDS[w.replace('-', ' ')] ?? null;
}

/** Every Goldback denomination named in a text, with where it ends (notes of one kind: G1 = 1). */
export function denominationsIn(text: string): Array<{ notes: number; end: number; raw: string }> {
  const out: Array<{ notes: number; end: number; raw: string }> = [];
  for (const re of [CODE_RE, COUNT_RE, GOLD_CONTENT_RE]) {
    re.lastIndex = 0;
    for (const m of text.matchAll(re)) {
      const notes = numberOf(m[1]);
      if (notes !== null && notes > 0) out.push({ notes, end: (m.index ?? 0) + m[0].length, raw: m[0].trim() });
    }
  }
  return out.sort((a, b) => a.end - b.end);
}

/** The label's last stretch (its last line: a table's label cell), back to a bullet, bar, semicolon or sentence end. */
function nearPart(label: string): string {
  const before = label.replace(/\s+$/, '');
  const cut = Math.max(before.lastIndexOf('\n'), before.search(/[•|;](?=[^•|;]*$)/), before.search(/\.\s(?=[^.]*$)/));
  return before.slice(cut + 1).slice(-80);
}

function describe(notes: number, raw: string): string {
  return notes === 0.5 ? 'G\u00bd' : Number.isInteger(notes) ? `G${notes}` : raw;
}

/** Judges whether the words around an amount state the value of one Goldback. */
export function judgeAmountLabel(label: AmountLabel): AmountVerdict {
  const before = label.before.slice(-120);
  const near = nearPart(before);
  const after = label.after.split('\n', 1)[0].slice(0, 60);
  const heading = label.heading ?? '';

  if (SPOT_RE.test(near) || (METAL_END_RE.test(near) && !CONTENT_RE.test(near))) return { g1: false, why: 'a metal spot quote' };
  if (MELT_RE.test(near)) return { g1: false, why: 'a melt value, not the exchange rate' };
  if (PER_OUNCE_AFTER_RE.test(after)) return { g1: false, why: 'a price per ounce' };
  if (SHOP_RE.test(near) || SHOP_RE.test(after)) return { g1: false, why: "a dealer's product price" };
  if (BEFORE_BOUND_RE.test(near) || AFTER_REJECT_RE.test(after)) return { g1: false, why: 'a bound, change or bid, not the rate' };
  if (NOT_CURRENT_RE.test(near)) return { g1: false, why: 'an earlier or extreme rate, not the current one' };
  if (SET_RE.test(near) || SET_RE.test(after)) return { g1: false, why: 'the price of a set of notes' };
  if (EXAMPLE_RE.test(near)) return { g1: false, why: 'an example in prose' };

  // The denomination closest to the amount names it: "per Goldback" after it, else the last one before it.
  const unit = AFTER_UNIT_RE.exec(after);
  let notes: number | null = null;
  let raw = '';
  if (unit) {
    notes = unit[2] ? Number(unit[2]) : unit[1] ? numberOf(unit[1]) : 1;
    raw = unit[0].trim();
  } else {
    const named = denominationsIn(before);
    const last = named[named.length - 1];
    if (last) ({ notes, raw } = last);
  }
  if (notes !== null && notes !== 1) return { g1: false, why: 'another denomination', denomination: describe(notes, raw) };
  const explicit = notes === 1;
  // "The Goldback exchange rate" is the rate of one G1: a singular Goldback with no number counts.
  if (!explicit && !GOLDBACK_RE.test(before) && !GOLDBACK_RE.test(after) && !GOLDBACK_RE.test(heading)) return { g1: false, why: 'names no Goldback' };

  const cue = (RATE_RE.test(near) || RATE_RE.test(after) ? 2 : RATE_RE.test(before) ? 1 : 0) + (RATE_RE.test(heading) ? 1 : 0);
  // Without a number of notes, a rate word far back in the text is too little: it must label the amount.
  if (cue === 0 || (!explicit && cue < 2)) return { g1: false, why: 'not stated as a rate or value' };
  return { g1: true, explicit, score: cue + (explicit ? 2 : 0) };
}
