import { loadConfig } from '../config/env.js';
import { BLOCKED_VENDOR_REASON } from '../scrape/retry-policy.js';
import { PriceStore } from '../store/price-store.js';

/** `poller status`: row counts and the targets that fail, from the database. */
export async function statusCommand(json: boolean): Promise<number> {
  const config = loadConfig();
  const store = new PriceStore({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    await store.migrate();
    const [counts, outcomes] = await Promise.all([store.counts(), store.outcomes()]);
    const failing = outcomes.filter((o) => o.consecutive_failures > 0);
    // A vendor that walls every page is one line, not one per page (the worker's reason says so on each row).
    const blocked = new Map<string, string>();
    for (const o of failing) if (o.last_error?.startsWith(BLOCKED_VENDOR_REASON)) blocked.set(`${o.poller_id} ${o.vendor}`, o.last_error.split(';')[0]);
    const blockedVendors = [...blocked].map(([who, reason]) => ({ poller: who.split(' ')[0], vendor: who.split(' ')[1], reason }));
    if (json) {
      process.stdout.write(JSON.stringify({ database: store.description, counts, targets: outcomes.length, failing, blockedVendors }, null, 2) + '\n');
      return 0;
    }
    const others = failing.filter((o) => !blocked.has(`${o.poller_id} ${o.vendor}`));
    const lines = [
      `database ${store.description}: ${counts.rows} rows (${counts.failed} failed)`,
      ...Object.entries(counts.byPoller).map(([p, n]) => `  ${p}: ${n} rows`),
      `${outcomes.length} targets seen, ${failing.length} failing`,
      ...blockedVendors.map((b) => `  ${b.poller} ${b.vendor}: ${b.reason}`),
      ...others.slice(0, 20).map((o) => `  ${o.poller_id} ${o.coin_slug}@${o.vendor}: ${o.consecutive_failures}x ${o.last_outcome}: ${o.last_error ?? ''}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await store.close();
  }
}
