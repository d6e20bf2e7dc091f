import type { Client } from '@libsql/client';

/**
 * Indexes the exporter's queries need beyond the store's own, created idempotently. A poller exports only
 * its own rows, so its day and window scans go by (poller_id, window_start); the fleet-wide export uses
 * the store's (window_start) index.
 */
export const EXPORT_INDEXES = [
  'CREATE INDEX IF NOT EXISTS idx_price_snapshots_poller_window ON price_snapshots (poller_id, window_start)',
] as const;

/** Clients already checked in this process: the check is a write, which a remote database should not see per export. */
const ensured = new WeakSet<Client>();

/** Creates the exporter's indexes when missing (once per client). Safe to run from several processes at once. */
export async function ensureExportSchema(client: Client): Promise<void> {
  if (ensured.has(client)) return;
  for (const sql of EXPORT_INDEXES) await client.execute(sql);
  ensured.add(client);
}
