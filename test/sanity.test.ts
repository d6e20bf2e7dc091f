import { describe, expect, it } from 'vitest';
import type { ProductIdentity } from '../src/catalogue/target.js';
import { checkPriceRange, DEFAULT_PRICE_RANGES, DEFAULT_SANITY_LIMITS, GOLDBACK_GOLD_OZ_PER_NOTE, isPlausiblePrice, judgePrice, meltValue, spotMetalFor } from '../src/scrape/sanity.js';

const ape: ProductIdentity = { coin: 'ape', coinName: 'American Platinum Eagle 1 oz', metal: 'platinum', weightOz: 1 };
const ase: ProductIdentity = { coin: 'ase', coinName: 'American Silver Eagle 1 oz', metal: 'silver', weightOz: 1 };
const age: ProductIdentity = { coin: 'age', coinName: 'American Gold Eagle 1 oz', metal: 'gold', weightOz: 1 };
const bar10: ProductIdentity = { coin: 'generic-silver-bar-10oz', coinName: 'Generic Silver Bar 10 oz (.999)', metal: 'silver', weightOz: 10 };
const goldback: ProductIdentity = { coin: 'goldback-utah-g1', coinName: 'G1 Utah Goldback (1/1000 oz gold)', metal: 'goldback', weightOz: 1 };

describe('melt value', () => {
  it('is spot times fine weight; a G1 goldback holds 1/1000 oz of gold', () => {
    expect(meltValue(ase, 85)).toBe(85);
    expect(meltValue(bar10, 85)).toBe(850);
    expect(GOLDBACK_GOLD_OZ_PER_NOTE).toBe(0.001);
    expect(meltValue(goldback, 5000)).toBeCloseTo(5, 10);
    expect(spotMetalFor('goldback')).toBe('gold');
    expect(spotMetalFor('platinum')).toBe('platinum');
  });
});

describe('judgePrice against spot', () => {
  it('rejects the $651 platinum coin of lesson 7 (melt about $2,200)', () => {
    const j = judgePrice({ price: 651, product: ape, spotUsdPerOz: 2200 });
    expect(j.verdict).toBe('rejected');
    expect(j.reason).toMatch(/\$651\.00/);
    expect(j.reason).toMatch(/below melt/);
    expect(j.reason).toMatch(/platinum spot \$2,200\.00/);
  });

  it('accepts a normal premium and says how far over melt it is', () => {
    const j = judgePrice({ price: 2412.35, product: ape, spotUsdPerOz: 2200 });
    expect(j).toEqual({ verdict: 'ok', reason: expect.stringMatching(/\+9\.7% over melt at platinum spot/) });
  });

  it('allows a small dip under melt (spot moves, dealer prices lag) but no more', () => {
    const tolerance = DEFAULT_SANITY_LIMITS.belowMeltTolerancePct;
    expect(judgePrice({ price: 85 * (1 - (tolerance - 0.5) / 100), product: ase, spotUsdPerOz: 85 }).verdict).toBe('ok');
    expect(judgePrice({ price: 85 * (1 - (tolerance + 0.5) / 100), product: ase, spotUsdPerOz: 85 }).verdict).toBe('rejected');
  });

  it('rejects a price over the metal premium ceiling (a 2 oz price on a 1 oz page, a tube price)', () => {
    expect(judgePrice({ price: 190, product: ase, spotUsdPerOz: 85 })).toMatchObject({ verdict: 'rejected', reason: expect.stringMatching(/ceiling is \+100%/) });
    expect(judgePrice({ price: 6_600, product: age, spotUsdPerOz: 5000 })).toMatchObject({ verdict: 'rejected', reason: expect.stringMatching(/gold ceiling is \+30%/) });
    expect(judgePrice({ price: 6_400, product: age, spotUsdPerOz: 5000 }).verdict).toBe('ok');
  });

  it('judges goldbacks on their gold content with the gold spot', () => {
    expect(judgePrice({ price: 9.89, product: goldback, spotUsdPerOz: 5000 }).verdict).toBe('ok');
    expect(judgePrice({ price: 4.5, product: goldback, spotUsdPerOz: 5000 }).verdict).toBe('rejected');
    expect(judgePrice({ price: 49.1, product: goldback, spotUsdPerOz: 5000 })).toMatchObject({ verdict: 'rejected', reason: expect.stringMatching(/goldback ceiling/) });
  });

  it('scales with weight: a 10 oz bar is judged against 10 oz of silver', () => {
    expect(judgePrice({ price: 884.9, product: bar10, spotUsdPerOz: 85 }).verdict).toBe('ok');
    expect(judgePrice({ price: 88.49, product: bar10, spotUsdPerOz: 85 }).verdict).toBe('rejected');
  });

  it('takes limit overrides, per metal key by key', () => {
    expect(judgePrice({ price: 6_400, product: age, spotUsdPerOz: 5000, limits: { maxPremiumPct: { gold: 10 } } }).verdict).toBe('rejected');
    expect(judgePrice({ price: 190, product: ase, spotUsdPerOz: 85, limits: { maxPremiumPct: { gold: 10 } } }).verdict).toBe('rejected');
    expect(judgePrice({ price: 80, product: ase, spotUsdPerOz: 85, limits: { belowMeltTolerancePct: 10 } }).verdict).toBe('ok');
  });
});

describe('judgePrice without spot', () => {
  it('falls back to the per-metal range check', () => {
    expect(judgePrice({ price: 92.3, product: ase })).toMatchObject({ verdict: 'ok', reason: expect.stringMatching(/no spot price known/) });
    const j = judgePrice({ price: 9.23, product: ase, spotUsdPerOz: null });
    expect(j.verdict).toBe('rejected');
    expect(j.reason).toMatch(/^price \$9\.23 for silver 1 oz \(ase\) is below the plausible range \$25\.00-\$400\.00 .* \(no spot price known\)$/);
  });

  it('rejects amounts that are not positive numbers and products without a weight', () => {
    for (const price of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(judgePrice({ price, product: ase, spotUsdPerOz: 85 }).verdict, String(price)).toBe('rejected');
    expect(judgePrice({ price: 92, product: { ...ase, weightOz: 0 } }).verdict).toBe('rejected');
  });

  it('ignores a spot that is not a positive number', () => {
    expect(judgePrice({ price: 92.3, product: ase, spotUsdPerOz: 0 }).verdict).toBe('ok');
    expect(judgePrice({ price: 92.3, product: ase, spotUsdPerOz: Number.NaN }).verdict).toBe('ok');
  });
});

describe('judgePrice jumps', () => {
  it('flags a jump beyond the limit against the vendor previous price, in both directions', () => {
    const limit = DEFAULT_SANITY_LIMITS.maxJumpPct;
    expect(judgePrice({ price: 92.3 * (1 + (limit + 1) / 100), product: ase, spotUsdPerOz: 85, previousPrice: 92.3 })).toMatchObject({
      verdict: 'flagged',
      reason: expect.stringMatching(/previous price \$92\.30/),
    });
    expect(judgePrice({ price: 92.3 * (1 - (limit + 1) / 100), product: ase, previousPrice: 92.3 }).verdict).toBe('flagged');
    expect(judgePrice({ price: 92.3 * (1 + (limit - 1) / 100), product: ase, previousPrice: 92.3 }).verdict).toBe('ok');
  });

  it('flags a price far from the cross-vendor median of the window', () => {
    expect(judgePrice({ price: 120, product: ase, windowMedian: 93 })).toMatchObject({ verdict: 'flagged', reason: expect.stringMatching(/cross-vendor median \$93\.00/) });
    expect(judgePrice({ price: 95, product: ase, windowMedian: 93 }).verdict).toBe('ok');
    expect(judgePrice({ price: 120, product: ase, windowMedian: 93, limits: { maxMedianDeviationPct: 40 } }).verdict).toBe('ok');
  });

  it('a rejection wins over a flag', () => {
    expect(judgePrice({ price: 651, product: ape, spotUsdPerOz: 2200, previousPrice: 2400, windowMedian: 2410 }).verdict).toBe('rejected');
  });
});

describe('isPlausiblePrice (the extractor\'s cheap filter)', () => {
  it('agrees with judgePrice on every price of a sweep, with and without spot', () => {
    const cases: [ProductIdentity, number][] = [[ase, 85], [age, 5000], [ape, 2200], [bar10, 85], [goldback, 5000]];
    let rejected = 0;
    for (const [product, spot] of cases) {
      for (let price = 0.5; price < spot * product.weightOz * 4; price *= 1.07) {
        for (const s of [spot, null]) {
          const judged = judgePrice({ price, product, spotUsdPerOz: s }).verdict !== 'rejected';
          expect(isPlausiblePrice(price, product, s), `${product.coin} ${price} spot ${s}`).toBe(judged);
          if (!judged) rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(50);
  });
});

describe('defaults', () => {
  it('are exported, frozen and cover every metal', () => {
    expect(Object.isFrozen(DEFAULT_SANITY_LIMITS)).toBe(true);
    for (const metal of ['gold', 'silver', 'platinum', 'palladium', 'goldback'] as const) {
      expect(DEFAULT_SANITY_LIMITS.maxPremiumPct[metal]).toBeGreaterThan(0);
      expect(DEFAULT_SANITY_LIMITS.ranges[metal]).toEqual(DEFAULT_PRICE_RANGES[metal]);
    }
  });
});

describe('checkPriceRange (the fallback)', () => {
  it('scales the per-ounce range by weight and explains a miss', () => {
    expect(checkPriceRange(92.3, ase)).toEqual({ ok: true });
    expect(checkPriceRange(884.9, bar10)).toEqual({ ok: true });
    const miss = checkPriceRange(88.49, bar10);
    expect(miss.ok).toBe(false);
    expect(miss.ok ? '' : miss.reason).toMatch(/below the plausible range \$250\.00-\$4,000\.00/);
    expect(checkPriceRange(9.89, goldback)).toEqual({ ok: true });
    expect(checkPriceRange(Number.NaN, ase).ok).toBe(false);
  });
});
