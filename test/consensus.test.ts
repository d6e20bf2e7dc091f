import { describe, expect, it } from 'vitest';
import { reconcile, scoreAlone, type ReconcileInput, type Reconciled } from '../src/vision/consensus.js';

const r = (price: number | null, inStock: boolean | null = true) => ({ price, inStock });
const base: ReconcileInput = { text: null, vision: null, windowMedian: 100, previousPrice: 100, pageHasPriceAndBuyButton: false };
const run = (over: Partial<ReconcileInput>): Reconciled => reconcile({ ...base, ...over });

describe('price agreement is numeric: |a - b| / min(a, b) <= agreePercent', () => {
  it.each([
    // name, text, vision, agreePercent, agreement, price, confidence
    ['identical prices', 100, 100, undefined, 'agree', 100, 99],
    ['2.9% apart', 100, 102.9, undefined, 'agree', 100, 99],
    ['exactly 3% apart (inclusive)', 100, 103, undefined, 'agree', 100, 99],
    ['exactly 3% apart, vision lower (min is the denominator)', 103, 100, undefined, 'agree', 103, 99],
    ['3.1% apart', 100, 103.1, undefined, 'disagree', 100, 70],
    ['2.95% below, by min(a, b) 3.04%', 100, 97.05, undefined, 'disagree', 100, 70],
    ['5% apart with agreePercent 5', 100, 105, 5, 'agree', 100, 99],
    ['1% apart with agreePercent 0.5', 100, 101, 0.5, 'disagree', 100, 70],
    ['equal with agreePercent 0', 38.49, 38.49, 0, 'agree', 38.49, 99],
  ] as const)('%s', (_n, tp, vp, agreePercent, agreement, price, confidence) => {
    const out = run({ text: r(tp), vision: r(vp), agreePercent });
    expect(out).toMatchObject({ agreement, price, confidence, source: 'consensus' });
    expect(out.differencePercent).toBeCloseTo((Math.abs(tp - vp) / Math.min(tp, vp)) * 100, 9);
  });

  it('publishes the text price when they agree (exact DOM reading), naming both in the reason', () => {
    const out = run({ text: r(38.49), vision: r(38.5), windowMedian: 38, previousPrice: 38.2 });
    expect(out).toMatchObject({ price: 38.49, priceFrom: 'text', confidence: 99, agreement: 'agree' });
    expect(out.reason).toContain('$38.49');
    expect(out.reason).toContain('$38.50');
  });

  it('ignores a price the models says it is sure of: only the numbers count', () => {
    // There is no "agrees" input at all; a wildly different vision price is a disagreement.
    expect(run({ text: r(2400), vision: r(651), windowMedian: 2380 })).toMatchObject({ agreement: 'disagree', price: 2400, priceFrom: 'text' });
  });
});

describe('disagreement: the price nearer the window median wins, at most 70', () => {
  it.each([
    // name, text, vision, median, previous, price, from, confidence
    ['text nearer, close to both references', 100, 120, 101, 100, 100, 'text', 70],
    ['vision nearer, close to both references', 80, 99, 100, 100, 99, 'vision', 70],
    ['vision nearer but 15% from the median', 50, 85, 100, 100, 85, 'vision', 50],
    ['text nearer but 30% from the median', 70, 200, 100, 100, 70, 'text', 30],
    ['winner far from everything', 10, 500, 100, 100, 10, 'text', 15],
    ['equal distance: the text wins', 90, 110, 100, 100, 90, 'text', 70],
    ['winner near the median, 8% from the previous price', 100, 130, 101, 108, 100, 'text', 70],
    ['winner near the median, 12% from the previous price', 100, 130, 101, 112, 100, 'text', 50],
    ['no previous price: scored on the median alone, still capped', 100, 130, 100, null, 100, 'text', 70],
  ] as const)('%s', (_n, tp, vp, median, previous, price, priceFrom, confidence) => {
    const out = run({ text: r(tp), vision: r(vp), windowMedian: median, previousPrice: previous });
    expect(out).toMatchObject({ agreement: 'disagree', source: 'consensus', price, priceFrom, confidence });
    expect(out.confidence).toBeLessThanOrEqual(70);
  });

  it.each([
    ['no median', null],
    ['a zero median', 0],
    ['a negative median', -5],
  ] as const)('with %s the text wins at 50', (_n, median) => {
    expect(run({ text: r(100), vision: r(200), windowMedian: median, previousPrice: 200 })).toMatchObject({ price: 100, priceFrom: 'text', confidence: 50, agreement: 'disagree' });
  });

  it('says which price won and why', () => {
    const out = run({ text: r(80), vision: r(99), windowMedian: 100 });
    expect(out.reason).toMatch(/disagree .*vision's price is nearer the window median \$100\.00/);
    expect(run({ text: r(90), vision: r(110) }).reason).toContain("both as far from the window median $100.00: the text's price");
  });
});

describe('one reader alone is scored against the window median and the previous price', () => {
  it.each([
    // name, price, median, previous, score
    ['within 5% of both', 104, 100, 100, 90],
    ['exactly 5% from both', 105, 100, 100, 90],
    ['within 5% of the median only (the only reference)', 104, 100, null, 80],
    ['within 5% of the previous price only', 96, null, 100, 80],
    ['within 5% of the median, 7% from the previous', 100, 101, 107.5, 70],
    ['10% off', 110, 100, 100, 70],
    ['15% off', 115, 100, 100, 50],
    ['20% off', 120, 100, 100, 50],
    ['30% off', 70, 100, 100, 30],
    ['35% off', 135, 100, 100, 30],
    ['36% off', 136, 100, 100, 15],
    ['the $651 platinum coin against $2,400', 651, 2400, 2380, 15],
    ['no context at all', 100, null, null, 50],
    ['zero and negative references count as none', 100, 0, -1, 50],
  ] as const)('%s', (_n, price, median, previous, score) => {
    expect(scoreAlone(price, median, previous).score).toBe(score);
    for (const reader of ['text', 'vision'] as const) {
      const out = run({ [reader]: r(price), windowMedian: median, previousPrice: previous });
      expect(out).toMatchObject({ price, confidence: score, agreement: 'single', priceFrom: reader, source: reader === 'text' ? 'text-only' : 'vision-only' });
    }
  });

  it.each([
    ['vision failed (null reading)', r(100), null],
    ['vision read no price', r(100), r(null, null)],
    ['vision read a zero price', r(100), r(0, null)],
    ['vision read NaN', r(100), r(Number.NaN, null)],
  ] as const)('text alone when %s', (_n, text, vision) => {
    expect(run({ text, vision })).toMatchObject({ price: 100, source: 'text-only', agreement: 'single', confidence: 90 });
  });
});

describe('no price at all', () => {
  it.each([
    ['both null', null, null],
    ['both read no price', r(null, false), r(null, null)],
    ['zero and negative prices', r(0), r(-3)],
    ['infinite price', r(Number.POSITIVE_INFINITY), null],
  ] as const)('%s: no price, confidence 0', (_n, text, vision) => {
    expect(run({ text, vision })).toMatchObject({ price: null, confidence: 0, source: 'none', agreement: 'none', priceFrom: null, differencePercent: null });
  });

  it('still reports stock when no price was read', () => {
    expect(run({ text: r(null, false), vision: null }).inStock).toBe(false);
    expect(run({ text: null, vision: r(null, false) }).inStock).toBe(false);
  });
});

describe('stock', () => {
  it.each([
    // name, text stock, vision stock (undefined: no vision reading), pageHasPriceAndBuyButton, result
    ['both in stock', true, true, false, true],
    ['both out of stock', false, false, false, false],
    ['vision out of stock wins over text in stock', true, false, true, false],
    ['vision out of stock wins over unknown text', null, false, false, false],
    ['vision in stock overrides text out of stock with price and buy button', false, true, true, true],
    ['vision in stock does not override text out of stock without them', false, true, false, false],
    ['vision in stock and text unknown', null, true, false, true],
    ['vision unknown: the text decides (in)', true, null, false, true],
    ['vision unknown: the text decides (out)', false, null, true, false],
    ['nobody can tell', null, null, true, null],
    ['no vision reading: text in stock', true, undefined, false, true],
    ['no vision reading: text out of stock', false, undefined, true, false],
  ] as const)('%s', (_n, textStock, visionStock, page, inStock) => {
    const vision = visionStock === undefined ? null : r(100, visionStock);
    expect(run({ text: r(100, textStock), vision, pageHasPriceAndBuyButton: page }).inStock).toBe(inStock);
  });

  it('keeps stock rules apart from price agreement', () => {
    // The vision price loses, its explicit out-of-stock still wins.
    const out = run({ text: r(100, true), vision: r(300, false), windowMedian: 100 });
    expect(out).toMatchObject({ price: 100, priceFrom: 'text', inStock: false });
    expect(out.reason).toContain('vision sees it out of stock');
  });

  it('with no text reading, vision alone decides', () => {
    expect(run({ text: null, vision: r(100, true) })).toMatchObject({ inStock: true, source: 'vision-only' });
  });
});

describe('input checks and purity', () => {
  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('refuses agreePercent %s', (p) => {
    expect(() => run({ text: r(1), vision: r(1), agreePercent: p })).toThrow(/agreePercent/);
  });

  it('does not change its input and gives the same answer twice', () => {
    const input: ReconcileInput = { text: r(100, false), vision: r(150, true), windowMedian: 140, previousPrice: 120, pageHasPriceAndBuyButton: true };
    const copy = structuredClone(input);
    const a = reconcile(input);
    expect(reconcile(input)).toEqual(a);
    expect(input).toEqual(copy);
    expect(a).toMatchObject({ price: 150, priceFrom: 'vision', inStock: true, agreement: 'disagree' });
    expect(Number.isInteger(a.confidence)).toBe(true);
  });
});
