import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTargets, loadCatalogue } from '../src/catalogue/load.js';
import type { Target } from '../src/catalogue/target.js';
import { loadVendorDirectory } from '../src/config/vendors.js';
import { DEFAULT_SPOT, rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { rowFromReport } from '../src/scrape/scrape-row.js';
import { scrapeTarget } from '../src/scrape/scrape-target.js';

// The whole HTTP tier (fetch, extraction, sanity) against every page of the fleet: the price read must be the true one.
describe('scraping every fleet target', () => {
  let fleet: FleetHandle;
  let targets: Target[];
  beforeAll(async () => {
    const catalogue = await loadCatalogue('config/providers.json');
    fleet = await startFleet({ catalogue: catalogue.file, seed: 11 });
    targets = listTargets(rewriteCatalogueForFleet(catalogue.file, fleet.url));
  });
  afterAll(async () => {
    await fleet?.close();
  });

  it('reads the true 1-unit price and stock of all 166 targets', async () => {
    const vendors = await loadVendorDirectory('config/vendors.json', 1, {});
    const wrong: string[] = [];
    const queue = [...targets];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let t = queue.shift(); t; t = queue.shift()) {
        const report = await scrapeTarget(t, { vendor: vendors.get(t.vendor) });
        const truth = fleet.truth(t.vendor, t.coin);
        const got = report.kind === 'result' ? report.result : null;
        const preorderBuyable = vendors.get(t.vendor).rules.preorderInStock === true;
        const expectedStock = truth.inStock || (truth.preorder && preorderBuyable);
        if (!got || got.price !== truth.price || got.inStock !== expectedStock || report.kind !== 'result' || report.rejected) {
          wrong.push(`${t.coin}@${t.vendor}: got ${JSON.stringify(report)} want ${JSON.stringify(truth)}`);
        }
      }
    }));
    expect(targets).toHaveLength(166);
    expect(wrong, wrong.join('\n')).toEqual([]);
  });

  it('against spot: a platinum coin at $651 becomes a rejected row with its price and reason; a 30% jump is flagged', async () => {
    const vendors = await loadVendorDirectory('config/vendors.json', 1, {});
    const spot = { gold: DEFAULT_SPOT.gold, silver: DEFAULT_SPOT.silver, platinum: DEFAULT_SPOT.platinum, palladium: DEFAULT_SPOT.palladium };
    const ape = targets.find((t) => t.coin === 'ape' && t.vendor === 'apmex')!;
    const ctx = { key: 'api1/test-1', pollerId: 'api1', target: ape, at: new Date('2026-11-23T12:00:00Z') };
    try {
      fleet.setTarget('apmex', 'ape', { price: 651 });
      const low = await scrapeTarget(ape, { vendor: vendors.get('apmex'), spot });
      expect(low.kind).toBe('result');
      const row = rowFromReport(ctx, low as Extract<typeof low, { kind: 'result' }>);
      // The rejected value is one the page shows for the coin (its 1-unit or its "as low as" price), far below melt.
      expect(row).toMatchObject({ outcome: 'rejected', is_failed: true, in_stock: null, confidence: null });
      expect(row.price).toBeGreaterThan(600);
      expect(row.price).toBeLessThanOrEqual(651);
      expect(row.reason).toMatch(/melt/);

      fleet.setTarget('apmex', 'ape', { price: 2900 });
      const jump = await scrapeTarget(ape, { vendor: vendors.get('apmex'), spot, priceContext: async () => ({ previousPrice: 2230, windowMedian: 2240 }) });
      const flagged = rowFromReport(ctx, jump as Extract<typeof jump, { kind: 'result' }>);
      expect(flagged).toMatchObject({ outcome: 'ok', price: 2900, is_failed: false });
      expect(flagged.reason).toMatch(/^flagged: /);
      expect(flagged.confidence!).toBeLessThan(60);

      const calm = await scrapeTarget(ape, { vendor: vendors.get('apmex'), spot, priceContext: async () => ({ previousPrice: 2890, windowMedian: 2880 }) });
      expect(rowFromReport(ctx, calm as Extract<typeof calm, { kind: 'result' }>)).toMatchObject({ outcome: 'ok', price: 2900, reason: null });
    } finally {
      fleet.reset();
    }
  });
});
