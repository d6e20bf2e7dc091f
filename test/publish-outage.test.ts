/**
 * The publishing remote goes away while a poller restarts: nothing may take its place. Exports fail (logged,
 * recorded in the publish log), no new repository appears at its path, and once the real remote is back the
 * next export carries everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createClient } from '@libsql/client';
import { pino } from 'pino';
import { generateHistory } from '../src/bench/history.js';
import { loadCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { loadConfig } from '../src/config/env.js';
import { ensureLocalRemote } from '../src/publish/local-remote.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { exportQueueName } from '../queues/names.js';
import { readPublishLog } from '../queues/publish-log.js';
import { runJobNow } from '../queues/publish-jobs.js';
import { testRedis } from './support/redis.js';
import { sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';
import { PriceStore } from '../src/store/price-store.js';
import { windowStart } from '../src/time/window.js';

const git = (gitDir: string, ...args: string[]) => execFileSync('git', [`--git-dir=${gitDir}`, ...args], { encoding: 'utf8' }).trim();

describe('a publishing remote that went away', () => {
  const redis = testRedis('publish-outage');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let catalogue: Catalogue;
  let db: string;
  beforeAll(async () => {
    dir = await tempDir('publish-outage');
    catalogue = await loadCatalogue('config/providers.json');
    db = `file:${join(dir.path, 'prices.db')}`;
    const client = createClient({ url: db });
    await generateHistory(client, { days: 1, targets: catalogue.targets.filter((t) => t.coin === 'ase'), pollers: ['api1'], now: new Date() });
    client.close();
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir?.remove();
  });

  it('is never replaced by a new repository on restart; exports fail and are recorded until it is back, then one carries everything', async () => {
    const remote = join(dir.path, 'remote.git');
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); done(); } }));
    const start = () =>
      startPoller({
        config: { ...loadConfig({ POLLER_ID: 'api1', CATALOGUE_WATCH_MS: '0' }), redisPrefix: redis.prefix, databaseUrl: db, recoveryLogDir: join(dir.path, 'log'), publishRemote: remote, publishDir: join(dir.path, 'publish'), publishBranches: ['api1'] },
        logger,
        roles: ['exporter'],
        redisUrl: redis.url,
        catalogue,
      });
    const exportNow = (id: string) => runJobNow(redis.connection, redis.prefix, exportQueueName('api1'), 'export', { pollerId: 'api1', cause: 'manual' }, id, 60_000);

    // The real remote, with a first export on it.
    await ensureLocalRemote(remote);
    let poller: Poller = await start();
    await exportNow('first');
    const firstSha = git(remote, 'rev-parse', 'api1');
    await poller.close();

    // The remote goes away while the poller restarts: no role may create a repository in its place.
    await rename(remote, `${remote}.away`);
    poller = await start();
    try {
      expect(lines.join('')).toMatch(/the publishing remote \(API_DATA_REPO\) does not exist/);
      await expect(exportNow('during')).rejects.toThrow();
      expect(existsSync(remote)).toBe(false);
      const log = await readPublishLog(redis.connection, redis.prefix);
      expect(log.last.export.api1).toMatchObject({ ok: false, committed: false });
      expect(log.failures['export:api1']).toBeGreaterThanOrEqual(1);

      // A price scraped during the outage, then the remote is back: the next export lands on the real history.
      const store = new PriceStore({ url: db });
      const at = new Date();
      await store.write(sampleRow(1, { key: 'api1/outage-row', coin_slug: 'ase', vendor: 'apmex', scraped_at: at.toISOString(), window_start: windowStart(at), price: 91.23 }));
      await store.close();
      await rename(`${remote}.away`, remote);
      await exportNow('after');
      // The real repository (it holds the first export's commit), its api1 replaced by a new tip (POLLER_BRANCH_HISTORY=tip).
      expect(git(remote, 'cat-file', '-t', firstSha)).toBe('commit');
      expect(git(remote, 'rev-parse', 'api1')).not.toBe(firstSha);
      expect(git(remote, 'rev-list', '--count', 'api1')).toBe('1');
      expect(JSON.parse(git(remote, 'show', 'api1:data/api/ase/latest.json')).vendors.apmex.price).toBe(91.23);
      expect((await readPublishLog(redis.connection, redis.prefix)).last.export.api1).toMatchObject({ ok: true });
    } finally {
      await poller.close();
    }
  });
});
