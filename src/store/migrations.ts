import type { Client } from '@libsql/client';

/**
 * Ordered, append-only migrations. Each runs once; `schema_migrations` records what ran.
 * 1 is the price_snapshots table and its four indexes of the migration design; later ones are additive.
 */
export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string[] }> = [
  {
    id: 1,
    name: 'price_snapshots',
    sql: [
      `CREATE TABLE IF NOT EXISTS price_snapshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scraped_at TEXT NOT NULL,
        window_start TEXT NOT NULL,
        coin_slug TEXT NOT NULL,
        vendor TEXT NOT NULL,
        price REAL,
        source TEXT NOT NULL,
        confidence INTEGER,
        is_failed INTEGER NOT NULL DEFAULT 0,
        in_stock INTEGER
      )`,
      'CREATE INDEX IF NOT EXISTS idx_price_snapshots_coin_window ON price_snapshots (coin_slug, window_start)',
      'CREATE INDEX IF NOT EXISTS idx_price_snapshots_window ON price_snapshots (window_start)',
      'CREATE INDEX IF NOT EXISTS idx_price_snapshots_vendor_scraped ON price_snapshots (coin_slug, vendor, scraped_at)',
      'CREATE INDEX IF NOT EXISTS idx_price_snapshots_scraped ON price_snapshots (scraped_at)',
    ],
  },
  {
    id: 2,
    name: 'poller, idempotency key, outcome',
    sql: [
      'ALTER TABLE price_snapshots ADD COLUMN poller_id TEXT',
      'ALTER TABLE price_snapshots ADD COLUMN idem_key TEXT',
      'ALTER TABLE price_snapshots ADD COLUMN outcome TEXT',
      'ALTER TABLE price_snapshots ADD COLUMN reason TEXT',
      'ALTER TABLE price_snapshots ADD COLUMN matched_by TEXT',
      'CREATE UNIQUE INDEX IF NOT EXISTS idx_price_snapshots_idem_key ON price_snapshots (idem_key)',
    ],
  },
  {
    id: 3,
    name: 'target_outcomes',
    sql: [
      `CREATE TABLE IF NOT EXISTS target_outcomes (
        poller_id TEXT NOT NULL,
        coin_slug TEXT NOT NULL,
        vendor TEXT NOT NULL,
        last_key TEXT NOT NULL,
        last_attempt_at TEXT NOT NULL,
        last_outcome TEXT NOT NULL,
        last_success_at TEXT,
        last_price REAL,
        last_error TEXT,
        last_error_at TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (poller_id, coin_slug, vendor)
      )`,
    ],
  },
];

/** Applies pending migrations. Safe to run from several processes at once: each step is idempotent. */
export async function runMigrations(client: Client): Promise<number[]> {
  await client.execute(
    'CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  );
  const done = new Set((await client.execute('SELECT id FROM schema_migrations')).rows.map((r) => Number(r.id)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.id)) continue;
    for (const sql of m.sql) {
      try {
        await client.execute(sql);
      } catch (err) {
        // A racing process may have added the column first; anything else is a real failure.
        if (!/duplicate column name/i.test(String((err as Error).message))) throw err;
      }
    }
    await client.execute({
      sql: 'INSERT OR IGNORE INTO schema_migrations (id, name, applied_at) VALUES (?, ?, ?)',
      args: [m.id, m.name, new Date().toISOString()],
    });
    applied.push(m.id);
  }
  return applied;
}
