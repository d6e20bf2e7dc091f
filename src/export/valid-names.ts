import { problemOf, slugSchema, vendorIdSchema } from '../contract/names.js';
import type { ExportState } from './export-state.js';
import type { WindowPrice } from './model.js';

/**
 * The export's own defence against rows that reached the database by a side door (an old import, a hand-made
 * row): a coin slug or vendor id that breaks the shared rules of contract/names.ts would name a folder outside
 * the tree or break the published contract. Such groups are left out, each name told once, and the export goes on.
 */

function slugProblem(slug: string): string | null {
  const p = problemOf(slugSchema, slug, 'coin_slug');
  return p && `rows with an invalid coin slug skipped by the export: ${p}`;
}

function vendorProblem(slug: string, vendor: string): string | null {
  const p = problemOf(vendorIdSchema, vendor, 'vendor');
  return p && `rows of coin ${slug} with an invalid vendor id skipped by the export: ${p}`;
}

function note(messages: string[], message: string): void {
  if (!messages.includes(message)) messages.push(message);
}

/** Removes (in place) the coins and vendors of the daily aggregates whose names are invalid; returns one message per name. */
export function dropInvalidNames(days: ExportState['days']): string[] {
  const messages: string[] = [];
  for (const [date, coins] of Object.entries(days)) {
    for (const [slug, vendors] of Object.entries(coins)) {
      const bad = slugProblem(slug);
      if (bad) {
        note(messages, bad);
        delete coins[slug];
        continue;
      }
      const kept = vendors.filter((v) => {
        const problem = vendorProblem(slug, v.vendor);
        if (problem) note(messages, problem);
        return !problem;
      });
      if (kept.length === vendors.length) continue;
      if (kept.length) coins[slug] = kept;
      else delete coins[slug];
    }
    if (Object.keys(coins).length === 0) delete days[date];
  }
  return messages;
}

/** The same for the per-window prices (coin -> prices of its vendors). */
export function dropInvalidWindowNames(windowPrices: Map<string, WindowPrice[]>): string[] {
  const messages: string[] = [];
  for (const [slug, prices] of windowPrices) {
    const bad = slugProblem(slug);
    if (bad) {
      note(messages, bad);
      windowPrices.delete(slug);
      continue;
    }
    const kept = prices.filter((p) => {
      const problem = vendorProblem(slug, p.vendor);
      if (problem) note(messages, problem);
      return !problem;
    });
    if (kept.length !== prices.length) windowPrices.set(slug, kept);
  }
  return messages;
}
