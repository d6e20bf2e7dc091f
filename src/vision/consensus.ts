/** What one reader (the text scrape or the vision model) saw on the page. */
export interface Reading {
  /** USD per unit; null, zero, negative or non-finite all mean "no price read". */
  price: number | null;
  inStock: boolean | null;
}

export interface ReconcileInput {
  /** The text scrape (HTTP or browser tier), or null when it read nothing. */
  text: Reading | null;
  /** The vision model's reading, or null when vision was off, failed or was over budget. */
  vision: Reading | null;
  /** Median price of this coin across vendors in the current window, or null when unknown. */
  windowMedian: number | null;
  /** This vendor's previous published price, or null when unknown. */
  previousPrice: number | null;
  /** Two prices agree when |a - b| / min(a, b) is at most this percent. Default 3. */
  agreePercent?: number;
  /** The rendered page shows a price and an enabled buy button (lets a vision in-stock beat a text out-of-stock). */
  pageHasPriceAndBuyButton: boolean;
}

/** `consensus`: both read a price (agreeing or not); otherwise the reader that did, or `none`. */
export type ConsensusSource = 'consensus' | 'text-only' | 'vision-only' | 'none';
export type Agreement = 'agree' | 'disagree' | 'single' | 'none';

export interface Reconciled {
  price: number | null;
  inStock: boolean | null;
  /** 0..100, an integer; 0 when there is no price. */
  confidence: number;
  source: ConsensusSource;
  agreement: Agreement;
  /** Whose price was published. */
  priceFrom: 'text' | 'vision' | null;
  /** |text - vision| / min(text, vision) in percent, when both read a price. */
  differencePercent: number | null;
  /** One line a person can read: why this price, stock and confidence. */
  reason: string;
}

/** Confidence when both readers agree. */
export const AGREE_CONFIDENCE = 99;
/** Ceiling when they disagree, and the score when they disagree with no window median to judge by. */
export const DISAGREE_MAX_CONFIDENCE = 70;
export const DISAGREE_NO_MEDIAN_CONFIDENCE = 50;
/** A single reader with neither a window median nor a previous price to compare with. */
export const SINGLE_NO_CONTEXT_CONFIDENCE = 50;

/**
 * A single reader's score by its largest distance from the references it has (window median, previous price):
 *   within  5%: 90 with both references, 80 with one
 *   within 10%: 70
 *   within 20%: 50
 *   within 35%: 30
 *   further:    15
 */
export const SINGLE_READER_TABLE: ReadonlyArray<{ withinPercent: number; score: number }> = [
  { withinPercent: 5, score: 90 },
  { withinPercent: 10, score: 70 },
  { withinPercent: 20, score: 50 },
  { withinPercent: 35, score: 30 },
  { withinPercent: Infinity, score: 15 },
];
const ONE_REFERENCE_TOP = 80;
/** Float noise must not turn an exact 3.00% into a disagreement. */
const EPSILON = 1e-9;

const usablePrice = (p: number | null | undefined): number | null => (typeof p === 'number' && Number.isFinite(p) && p > 0 ? p : null);
const usd = (n: number): string => `$${n.toFixed(2)}`;
const pct = (n: number): string => `${Math.round(n * 10) / 10}%`;

/** The single-reader score of `price` against the references it has, and the words for it. */
export function scoreAlone(price: number, windowMedian: number | null, previousPrice: number | null): { score: number; why: string } {
  const refs = [
    { name: 'the window median', value: usablePrice(windowMedian) },
    { name: 'the previous price', value: usablePrice(previousPrice) },
  ].filter((r): r is { name: string; value: number } => r.value !== null);
  if (refs.length === 0) return { score: SINGLE_NO_CONTEXT_CONFIDENCE, why: 'no window median or previous price to compare with' };
  const deviations = refs.map((r) => ({ ...r, off: (Math.abs(price - r.value) / r.value) * 100 }));
  const worst = deviations.reduce((a, b) => (b.off > a.off ? b : a));
  const row = SINGLE_READER_TABLE.find((r) => worst.off <= r.withinPercent + EPSILON)!;
  const score = row.withinPercent === SINGLE_READER_TABLE[0]!.withinPercent && refs.length === 1 ? ONE_REFERENCE_TOP : row.score;
  return { score, why: `${pct(worst.off)} from ${worst.name} (${usd(worst.value)})${refs.length === 1 ? ', the only reference' : ''}` };
}

/**
 * Stock from both readers: an explicit vision out-of-stock wins; a vision in-stock overrides a text out-of-stock
 * only when the page shows a price and an enabled buy button; otherwise whichever reader could tell.
 */
function reconcileStock(text: boolean | null, vision: boolean | null, pageHasPriceAndBuyButton: boolean): { inStock: boolean | null; why: string } {
  if (vision === false) return { inStock: false, why: text === false ? 'both see it out of stock' : 'vision sees it out of stock' };
  if (vision === true) {
    if (text === false) {
      return pageHasPriceAndBuyButton
        ? { inStock: true, why: 'vision sees it in stock and the page shows a price and an enabled buy button (text said out of stock)' }
        : { inStock: false, why: 'text says out of stock; vision in-stock not trusted without a price and an enabled buy button' };
    }
    return { inStock: true, why: text === true ? 'both see it in stock' : 'vision sees it in stock' };
  }
  if (text === null) return { inStock: null, why: 'stock unknown' };
  return { inStock: text, why: text ? 'text sees it in stock' : 'text sees it out of stock' };
}

/**
 * Reconciles the text scrape and the vision reading into the published price, stock and confidence.
 * Pure. Agreement is numeric (never the model's opinion of itself). Agreeing prices publish the text's price
 * (read exactly from the DOM) at 99. Disagreeing prices publish the one nearer the window median (a tie or no
 * median: the text's), at most 70 (50 with no median). A single price is scored by scoreAlone.
 */
export function reconcile(input: ReconcileInput): Reconciled {
  const { text, vision, windowMedian, previousPrice, pageHasPriceAndBuyButton } = input;
  const agreePercent = input.agreePercent ?? 3;
  if (!(Number.isFinite(agreePercent) && agreePercent >= 0)) throw new RangeError(`agreePercent must be a number >= 0, got ${String(agreePercent)}`);

  const tp = usablePrice(text?.price);
  const vp = usablePrice(vision?.price);
  const stock = reconcileStock(text?.inStock ?? null, vision?.inStock ?? null, pageHasPriceAndBuyButton);
  const base = { inStock: stock.inStock, differencePercent: null };

  if (tp !== null && vp !== null) {
    const diff = (Math.abs(tp - vp) / Math.min(tp, vp)) * 100;
    if (diff <= agreePercent + EPSILON) {
      return {
        ...base,
        price: tp,
        confidence: AGREE_CONFIDENCE,
        source: 'consensus',
        agreement: 'agree',
        priceFrom: 'text',
        differencePercent: diff,
        reason: `text ${usd(tp)} and vision ${usd(vp)} agree (${pct(diff)} <= ${agreePercent}%); ${stock.why}`,
      };
    }
    const median = usablePrice(windowMedian);
    if (median === null) {
      return {
        ...base,
        price: tp,
        confidence: DISAGREE_NO_MEDIAN_CONFIDENCE,
        source: 'consensus',
        agreement: 'disagree',
        priceFrom: 'text',
        differencePercent: diff,
        reason: `text ${usd(tp)} and vision ${usd(vp)} disagree (${pct(diff)} > ${agreePercent}%), no window median: the text's price; ${stock.why}`,
      };
    }
    const dv = Math.abs(vp - median);
    const dt = Math.abs(tp - median);
    const visionNearer = dv < dt - EPSILON;
    const tie = Math.abs(dt - dv) <= EPSILON;
    const price = visionNearer ? vp : tp;
    const alone = scoreAlone(price, median, previousPrice);
    return {
      ...base,
      price,
      confidence: Math.min(DISAGREE_MAX_CONFIDENCE, alone.score),
      source: 'consensus',
      agreement: 'disagree',
      priceFrom: visionNearer ? 'vision' : 'text',
      differencePercent: diff,
      reason: `text ${usd(tp)} and vision ${usd(vp)} disagree (${pct(diff)} > ${agreePercent}%): ${tie ? "both as far from" : visionNearer ? "the vision's price is nearer" : "the text's price is nearer"} the window median ${usd(median)}${tie ? ": the text's price" : ''}, ${alone.why}; ${stock.why}`,
    };
  }

  if (tp !== null || vp !== null) {
    const price = (tp ?? vp)!;
    const from = tp !== null ? 'text' : 'vision';
    const alone = scoreAlone(price, windowMedian, previousPrice);
    return {
      ...base,
      price,
      confidence: alone.score,
      source: from === 'text' ? 'text-only' : 'vision-only',
      agreement: 'single',
      priceFrom: from,
      reason: `only ${from} read a price (${usd(price)}): ${alone.why}; ${stock.why}`,
    };
  }

  return { ...base, price: null, confidence: 0, source: 'none', agreement: 'none', priceFrom: null, reason: `no reader found a price; ${stock.why}` };
}
