import { existsSync } from 'node:fs';
import { loadConfig } from '../config/env.js';
import { BLOCKED_VENDOR_REASON } from '../scrape/retry-policy.js';
import { targetKey } from '../catalogue/target.js';
import { checkDatabase, isRemoteDatabase, probeRemoteDatabase } from '../config/check-database.js';
import { PriceStore } from '../store/price-store.js';
import { databaseProblem, missingDatabaseMessage, OperatorError } from './operator.js';
import { databaseFilePath } from '../store/database.js';

/**
 * `poller status`: row counts and the targets that fail, from the database. Reads only: a `file:` database that
 * does not exist is an error naming it (nothing is created), and nothing is migrated.
 */
export async function statusCommand(json: boolean): Promise<number> {
  const config = loadConfig();
  const path = databaseFilePath(config.databaseUrl);
  if (path !== null && !existsSync(path)) throw new OperatorError(missingDatabaseMessage(path));
  const store = new PriceStore({ url: config.databaseUrl, authToken: config.databaseToken });
  try {
    // A database that hangs gets a deadline (DATABASE_ANSWER_TIMEOUT_MS), then one line, exit 1.
    const probe = isRemoteDatabase(config.databaseUrl)
      ? await probeRemoteDatabase(config.databaseUrl, { token: config.databaseToken })
      : await checkDatabase(() => store.probe(), { description: store.description, token: config.databaseToken });
    if (!probe.ok) throw new OperatorError(/^no answer within/.test(probe.reason) ? probe.message : databaseProblem(new Error(probe.reason), store.description));
    let counts, outcomes;
    try {
      [counts, outcomes] = await Promise.all([store.counts(), store.outcomes()]);
    } catch (err) {
      throw new OperatorError(databaseProblem(err, store.description));
    }
    // target_outcomes has a row per poller and target: count targets once, and per poller.
    const targets = new Set(outcomes.map((o) => targetKey({ coin: o.coin_slug, vendor: o.vendor })));
    const failing = outcomes.filter((o) => o.consecutive_failures > 0);
    const failingTargets = new Set(failing.map((o) => targetKey({ coin: o.coin_slug, vendor: o.vendor })));
    const byPoller: Record<string, { targets: number; failing: number }> = {};
    for (const o of outcomes) {
      const p = (byPoller[o.poller_id] ??= { targets: 0, failing: 0 });
      p.targets++;
      if (o.consecutive_failures > 0) p.failing++;
    }
    // A vendor that walls every page is one line, not one per page (the worker's reason says so on each row).
    const blocked = new Map<string, string>();
    for (const o of failing) if (o.last_error?.startsWith(BLOCKED_VENDOR_REASON)) blocked.set(`${o.poller_id} ${o.vendor}`, o.last_error.split(';')[0]);
    const blockedVendors = [...blocked].map(([who, reason]) => ({ poller: who.split(' ')[0], vendor: who.split(' ')[1], reason }));
    if (json) {
      process.stdout.write(
        JSON.stringify(
          { database: store.description, counts, targets: targets.size, failingTargets: failingTargets.size, targetsByPoller: byPoller, failing, blockedVendors },
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    const others = failing.filter((o) => !blocked.has(`${o.poller_id} ${o.vendor}`));
    const pollers = Object.keys({ ...counts.byPoller, ...byPoller }).sort();
    const lines = [
      `database ${store.description}: ${counts.rows} rows (${counts.failed} failed)`,
      ...pollers.map((p) => `  ${p}: ${counts.byPoller[p] ?? 0} rows, ${byPoller[p]?.targets ?? 0} targets seen, ${byPoller[p]?.failing ?? 0} failing`),
      `${targets.size} targets seen, ${failingTargets.size} failing${pollers.length > 1 ? ' on at least one poller' : ''}`,
      ...blockedVendors.map((b) => `  ${b.poller} ${b.vendor}: ${b.reason}`),
      ...others.slice(0, 20).map((o) => `  ${o.poller_id} ${o.coin_slug}@${o.vendor}: ${o.consecutive_failures}x ${o.last_outcome}: ${o.last_error ?? ''}`),
      ...(others.length > 20 ? [`  ... and ${others.length - 20} more (poller status --json lists them all)`] : []),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  } finally {
    // A client that never connected may fail to close: that is not the operator's problem.
    await store.close().catch(() => undefined);
  }
}
