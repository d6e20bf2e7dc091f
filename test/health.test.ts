/**
 * /healthz follows the write path: a database that answers reads but refuses writes (read-only) is down,
 * rows waiting in the recovery log and failed publishes are reported, and health comes back by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@libsql/client';
import { join } from 'node:path';
import { loadCatalogue, parseCatalogue } from '../src/catalogue/load.js';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { judgeHealth } from '../src/api/health.js';
import { loadConfig } from '../src/config/env.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { createLogger } from '../src/log.js';
import type { RecoveryBacklog } from '../src/recovery/pending-backlog.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { PriceStore } from '../src/store/price-store.js';
import { recordPublish } from '../queues/publish-log.js';
import { enqueueScrapesNow, waitForJobs } from '../queues/scrape-now.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const backlog = (alive: boolean | null, rows = 3): RecoveryBacklog =>
  ({ dir: '/x', markers: [{ position: { file: 'prices-2026-12-07.jsonl', offset: 0 }, host: 'h', pid: 1, since: '2026-12-07T11:58:00.000Z', alive, error: 'SQLITE_READONLY: attempt to write a readonly database' }], rows, bytes: 300, approximate: false, since: '2026-12-07T11:58:00.000Z' }) as unknown as RecoveryBacklog;

describe('judgeHealth', () => {
  it('is down when the database does not answer or rows go to the recovery log only, degraded for a stopped backlog or a failed publish', () => {
    expect(judgeHealth({ databaseUp: true, backlog: null, lastPublish: [], now: NOW })).toMatchObject({ status: 'ok', problems: [] });
    expect(judgeHealth({ databaseUp: false, backlog: null, lastPublish: [], now: NOW }).status).toBe('down');
    const logOnly = judgeHealth({ databaseUp: true, backlog: backlog(true), lastPublish: [], now: NOW });
    expect(logOnly).toMatchObject({ status: 'down', writes: { logOnly: true, backlogRows: 3, backlogAgeMs: 120_000 } });
    // The write that failed is named, with when.
    expect(logOnly.writes.lastFailedWrite).toEqual({ at: '2026-12-07T11:58:00.000Z', error: 'SQLITE_READONLY: attempt to write a readonly database' });
    expect(logOnly.problems[0]).toMatch(/refused a write: SQLITE_READONLY: attempt to write a readonly database \(3 rows waiting/);
    const unreachable = judgeHealth({ databaseUp: false, databaseError: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8080', backlog: null, lastPublish: [], now: NOW });
    expect(unreachable.problems[0]).toMatch(/does not answer \(TURSO_DATABASE_URL\): ECONNREFUSED/);
    expect(unreachable.writes.lastFailedWrite).toEqual({ at: new Date(NOW).toISOString(), error: 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:8080' });
    expect(judgeHealth({ databaseUp: true, backlog: null, lastPublish: [], now: NOW }).writes.lastFailedWrite).toBeNull();
    expect(judgeHealth({ databaseUp: true, backlog: backlog(false), lastPublish: [], now: NOW })).toMatchObject({ status: 'degraded', writes: { logOnly: false } });
    const failed = judgeHealth({ databaseUp: true, backlog: null, lastPublish: [{ kind: 'export', poller: 'api1', at: NOW, ms: 10, ok: false, committed: false, sha: null, error: 'remote missing' }], now: NOW });
    expect(failed).toMatchObject({ status: 'degraded', publish: { failing: [{ kind: 'export', poller: 'api1', error: 'remote missing' }] } });
    expect(failed.problems[0]).toMatch(/the last export of api1 failed: remote missing/);
    // A failed publish never hides a write outage.
    expect(judgeHealth({ databaseUp: true, backlog: backlog(true), lastPublish: failed.publish.failing.map(() => ({ kind: 'merge' as const, poller: 'api1', at: NOW, ms: 1, ok: false, committed: false, sha: null })), now: NOW }).status).toBe('down');
  });
});

describe('/healthz on a running poller', () => {
  const redis = testRedis('health');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let poller: Poller;
  let store: PriceStore;
  let db: string;
  let catalogue: ReturnType<typeof parseCatalogue>;
  beforeAll(async () => {
    dir = await tempDir('health');
    const real = await loadCatalogue('config/providers.json');
    const small: CatalogueFile = { ...real.file, coins: { ase: { ...real.file.coins.ase, providers: real.file.coins.ase.providers.filter((p) => ['apmex', 'jmbullion'].includes(p.id)) } } };
    fleet = await startFleet({ catalogue: small });
    catalogue = parseCatalogue(JSON.stringify(rewriteCatalogueForFleet(small, fleet.url)), 'health');
    db = `file:${join(dir.path, 'prices.db')}`;
    store = new PriceStore({ url: db });
    await store.migrate();
    const config = { ...loadConfig({ POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '0', API_PORT: '0', LOG_LEVEL: 'silent' }), redisPrefix: redis.prefix, databaseUrl: db, recoveryLogDir: join(dir.path, 'log') };
    poller = await startPoller({ config, logger: createLogger({ level: 'silent' }), roles: ['worker', 'api'], redisUrl: redis.url, store, catalogue, vendors: vendorDirectory({ defaults: { concurrency: 1, rateLimit: null } }, 1) });
  });
  afterAll(async () => {
    await poller?.close();
    await store?.close();
    await fleet?.close();
    await redis.cleanup();
    await dir?.remove();
  });

  const health = async () => {
    const res = await fetch(`${poller.api!.url}/healthz`);
    return { code: res.status, body: (await res.json()) as Record<string, any> };
  };

  it('answers 503 while the database refuses writes though it answers reads, and 200 once the recovery log is replayed', async () => {
    expect(await health()).toMatchObject({ code: 200, body: { ok: true, status: 'ok' } });
    // Reads work, writes fail: what a read-only database does.
    const admin = createClient({ url: db });
    await admin.execute("CREATE TRIGGER refuse_writes BEFORE INSERT ON price_snapshots BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END");
    try {
      const ids = await enqueueScrapesNow(catalogue.targets, { connection: redis.connection, prefix: redis.prefix, pollerId: 'api1', policy: { attempts: 1, backoffMs: 100 }, batchId: 'ro' });
      await waitForJobs(ids, { connection: redis.connection, prefix: redis.prefix, timeoutMs: 20_000, pollMs: 100 });
      const down = await health();
      expect(down.code).toBe(503);
      expect(down.body).toMatchObject({ ok: false, status: 'down', database: 'up', writes: { logOnly: true, backlogRows: 2 } });
      expect(down.body.problems.join(' ')).toMatch(/rows go to the recovery log only, the database refused a write: .*attempt to write a readonly database/);
      expect(down.body.writes.lastFailedWrite.error).toMatch(/attempt to write a readonly database/);
    } finally {
      await admin.execute('DROP TRIGGER refuse_writes');
      admin.close();
    }
    // The sink probes, replays and removes its marker: healthy again, every row in the database.
    await waitUntil('health back to ok', async () => (await health()).code === 200, 20_000);
    expect((await health()).body).toMatchObject({ status: 'ok', writes: { logOnly: false, backlogRows: 0, lastFailedWrite: null } });
    const check = createClient({ url: db });
    expect(Number((await check.execute('SELECT COUNT(*) AS n FROM price_snapshots')).rows[0].n)).toBe(2);
    check.close();
  });

  it('is degraded (200) when the last export failed, naming it', async () => {
    await recordPublish(redis.connection, redis.prefix, { kind: 'export', poller: 'api1', at: Date.now(), ms: 40, ok: false, committed: false, sha: null, error: 'the publishing remote does not exist' });
    const h = await health();
    expect(h).toMatchObject({ code: 200, body: { ok: false, status: 'degraded', publish: { failing: [{ kind: 'export', poller: 'api1' }] } } });
    expect(h.body.problems.join(' ')).toMatch(/the last export of api1 failed: the publishing remote does not exist/);
  });
});
