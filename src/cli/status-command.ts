import { loadConfig } from '../config/env.js';
import { PriceStore } from '../store/price-store.js';

/** `poller status`: row counts and the targets that fail, from the database. */
export async function statusCommand(json: boolean): Promise<number> {
  const config = loadConfig();
  const store = new PriceStore({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    await store.migrate();
    const [counts, outcomes] = await Promise.all([store.counts(), store.outcomes()]);
    const failing = outcomes.filter((o) => o.consecutive_failures > 0);
    if (json) {
      process.stdout.write(JSON.stringify({ database: store.description, counts, targets: outcomes.length, failing }, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `database ${store.description}: ${counts.rows} rows (${counts.failed} failed)`,
      ...Object.entries(counts.byPoller).map(([p, n]) => `  ${p}: ${n} rows`),
      `${outcomes.length} targets seen, ${failing.length} failing`,
      ...failing.slice(0, 20).map((o) => `  ${o.poller_id} ${o.coin_slug}@${o.vendor}: ${o.consecutive_failures}x ${o.last_outcome}: ${o.last_error ?? ''}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    await store.close();
  }
}
