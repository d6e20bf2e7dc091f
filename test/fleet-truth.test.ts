import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTargets, loadCatalogue } from '../src/catalogue/load.js';
import type { Target } from '../src/catalogue/target.js';
import { loadVendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
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
});
