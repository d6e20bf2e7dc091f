/**
 * The operator's commands, run as the built program (`node bin/poller.js`) against real Redis (a prefix of
 * this file's own), a real libSQL file, a local bare git remote and the local vendor fleet, with a worker, an
 * exporter and a merger running in this process (startPoller) as a poller host would run them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { loadCatalogue, parseCatalogue, type Catalogue } from '../src/catalogue/load.js';
import { loadConfig } from '../src/config/env.js';
import { checkClock } from '../src/cli/doctor-command.js';
import { vendorDirectory } from '../src/config/vendors.js';
import { rewriteCatalogueForFleet, startFleet, type FleetHandle } from '../src/fleet/index.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { PriceStore } from '../src/store/price-store.js';
import { scrapeQueueName } from '../queues/names.js';
import { runPoller, spawnPoller } from './support/cli.js';
import { deleteByPrefix, testRedis } from './support/redis.js';
import { sampleRow } from './support/rows.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const REAL = 'config/providers.json';
const VENDOR = 'apmex';

/** The JSON object a command printed on stdout (the output also holds its stderr lines, which come first). */
function jsonOf(out: string): any {
  const start = out.search(/^\{/m);
  if (start < 0) throw new Error(`no JSON object in the output:\n${out}`);
  return JSON.parse(out.slice(start, out.lastIndexOf('}') + 1));
}

const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
/** The tip of a branch as the remote reports it. */
const remoteTip = (remote: string, branch: string) => git('ls-remote', remote, `refs/heads/${branch}`).split('\t')[0];

describe('operator commands against a running poller', () => {
  const redis = testRedis('cli-ops');
  const emptyPrefix = `${redis.prefix}-empty`;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let fleet: FleetHandle;
  let poller: Poller | undefined;
  let catalogue: Catalogue;
  let env: Record<string, string>;
  let db: string;
  let remote: string;
  /** apmex coins, one per test that needs a target of its own. */
  let coins: string[];

  beforeAll(async () => {
    dir = await tempDir('cli-ops');
    const real = await loadCatalogue(REAL);
    fleet = await startFleet({ catalogue: real.file });
    const rewritten = rewriteCatalogueForFleet(real.file, fleet.url);
    const cataloguePath = join(dir.path, 'providers.json');
    await writeFile(cataloguePath, JSON.stringify(rewritten, null, 2));
    catalogue = parseCatalogue(JSON.stringify(rewritten), cataloguePath);
    coins = catalogue.targets.filter((t) => t.vendor === VENDOR).map((t) => t.coin);
    // Pages that show a plain, in-stock price: what the page advertises is what must be read.
    for (const coin of coins) fleet.setTarget(VENDOR, coin, { inStock: true, preorder: false });
    remote = join(dir.path, 'remote.git');
    git('init', '--quiet', '--bare', '--initial-branch=main', remote);
    db = join(dir.path, 'prices.db');
    env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: redis.prefix,
      POLLER_ID: 'api1',
      TURSO_DATABASE_URL: `file:${db}`,
      CATALOGUE_PATH: cataloguePath,
      CATALOGUE_WATCH_MS: '0',
      API_DATA_REPO: remote,
      PUBLISH_DIR: join(dir.path, 'publish'),
      PUBLISH_BRANCHES: 'api1',
      RECOVERY_LOG_DIR: join(dir.path, 'recovery'),
      DATA_DIR: join(dir.path, 'var'),
      SCHEDULER_CHECK_SECONDS: '0',
      // Rows ask for an export that the throttle holds back for long: export-now must not wait for it.
      EXPORT_MIN_INTERVAL_MS: '600000',
      LOG_LEVEL: 'warn',
    };
    const config = loadConfig(env);
    const vendors = vendorDirectory({ defaults: { concurrency: 2, rateLimit: null, timeoutMs: 10_000 } }, 2);
    poller = await startPoller({ config, logger: pino({ level: 'silent' }), roles: ['worker', 'exporter', 'merger'], redisUrl: redis.url, catalogue, vendors });
  });

  afterAll(async () => {
    await poller?.close();
    await fleet?.close();
    await deleteByPrefix(redis.connection, emptyPrefix);
    await redis.cleanup();
    await dir?.remove();
  });

  const run = (args: string[], extra: Record<string, string> = {}) => runPoller(args, { ...env, ...extra });
  const scrapeQueue = () => new Queue(scrapeQueueName(VENDOR), { connection: redis.connection, prefix: redis.prefix });

  it('queues lists every queue of the poller with workers, schedulers and paused state', async () => {
    // A queue outside the catalogue with a job scheduler and no worker: found by SCAN, counted.
    const legacy = new Queue('legacy', { connection: redis.connection, prefix: redis.prefix });
    await legacy.upsertJobScheduler('api1:legacy', { every: 86_400_000 }, { name: 'legacy', data: {} });
    await legacy.close();

    const { code, out } = await run(['queues', '--json']);
    expect(code, out).toBe(0);
    const report = jsonOf(out);
    const byName = Object.fromEntries(report.queues.map((q: any) => [q.name, q]));
    const vendors = [...new Set(catalogue.targets.map((t) => t.vendor))];
    for (const v of vendors) {
      expect(byName[`scrape.${v}`], v).toBeDefined();
      expect(byName[`scrape.${v}`].workers).toBeGreaterThanOrEqual(1);
      expect(byName[`scrape.${v}`].paused).toBe(false);
    }
    expect(byName['export.api1'].workers).toBeGreaterThanOrEqual(1);
    expect(byName.merge.workers).toBeGreaterThanOrEqual(1);
    expect(byName.legacy).toMatchObject({ exists: true, schedulers: 1, schedulerIds: ['api1:legacy'], workers: 0, paused: false });
    expect(byName.legacy.counts.wait + byName.legacy.counts.delayed).toBe(1);
    // The feed queue of the worker's process: a worker, no scheduler (the scheduler role is not running here).
    expect(byName.spot).toMatchObject({ workers: 1 });

    const human = await run(['queues']);
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^queue\s+waiting\s+active\s+delayed\s+failed\s+completed\s+schedulers\s+workers\s+state$/m);
    expect(human.out).toMatch(/^legacy\s+1\s+0\s+0\s+0\s+0\s+1\s+0\s+running$|^legacy\s+0\s+0\s+1\s+0\s+0\s+1\s+0\s+running$/m);
  });

  it('trigger scrapes one target now and prints the price the page advertises, as stored', async () => {
    const coin = coins[0];
    const before = fleet.truth(VENDOR, coin);
    const served = fleet.stats().byVendor[VENDOR] ?? 0;
    const { code, out } = await run(['trigger', coin, VENDOR, '--json']);
    const after = fleet.truth(VENDOR, coin);
    expect(code, out).toBe(0);
    const r = jsonOf(out);
    expect(r).toMatchObject({ coin, vendor: VENDOR, poller: 'api1', state: 'completed', outcome: 'ok', inStock: true });
    expect([before.price, after.price]).toContain(r.price);
    expect(r.job).toMatch(new RegExp(`^now/api1/${coin}/${VENDOR}/trigger-`));
    expect(fleet.stats().byVendor[VENDOR]).toBeGreaterThan(served);
    // The row in the database says the same.
    const client = createClient({ url: `file:${db}` });
    try {
      const rows = (await client.execute({ sql: 'SELECT price, in_stock, outcome FROM price_snapshots WHERE idem_key = ?', args: [`api1/${r.job}`] })).rows;
      expect(rows).toHaveLength(1);
      expect(Number(rows[0].price)).toBe(r.price);
      expect(rows[0].outcome).toBe('ok');
    } finally {
      client.close();
    }

    // The human form: price, stock, outcome, reason.
    const human = await run(['trigger', coin, VENDOR]);
    expect(human.code, human.out).toBe(0);
    const price = fleet.truth(VENDOR, coin).price;
    expect(human.out).toMatch(new RegExp(`^  price\\s+\\$(${price.toFixed(2)}|${before.price.toFixed(2)})$`, 'm'));
    expect(human.out).toMatch(/^  stock\s+in stock$/m);
    expect(human.out).toMatch(/^  outcome\s+ok$/m);
    expect(human.out).toMatch(/^  reason\s+/m);

    // queues counts what ran.
    const q = jsonOf((await run(['queues', '--json'])).out).queues.find((x: any) => x.name === `scrape.${VENDOR}`);
    expect(q.counts.completed).toBeGreaterThanOrEqual(2);
  });

  it('an unknown coin or vendor is refused with the close matches; bad arguments exit 2 with the usage', async () => {
    const coin = await run(['trigger', `${coins[0]}x`, VENDOR]);
    expect(coin.code).toBe(2);
    expect(coin.out).toContain(`unknown coin "${coins[0]}x"`);
    expect(coin.out).toMatch(new RegExp(`did you mean: .*\\b${coins[0]}\\b`));
    const vendor = await run(['trigger', coins[0], 'apmx']);
    expect(vendor.code).toBe(2);
    expect(vendor.out).toMatch(/unknown vendor "apmx".*did you mean: apmex/);
    expect((await run(['pause', 'apmx'])).out).toMatch(/did you mean: apmex/);
    const missing = await run(['trigger', coins[0]]);
    expect(missing.code).toBe(2);
    expect(missing.out).toContain('usage: poller trigger <coin> <vendor>');
    expect(await run(['trigger', coins[0], VENDOR, '--timeout', 'soon'])).toMatchObject({ code: 2, out: expect.stringContaining('--timeout must be a number of seconds') });
    for (const out of [coin.out, vendor.out, missing.out]) expect(out).not.toMatch(/\n\s+at /);
  });

  it('pause holds a triggered scrape until resume', async () => {
    const coin = coins[1];
    const paused = await run(['pause', VENDOR]);
    expect(paused.code, paused.out).toBe(0);
    expect(paused.out).toMatch(new RegExp(`^scrape\\.${VENDOR}: paused \\(was running\\)`, 'm'));
    expect(jsonOf((await run(['queues', '--json'])).out).queues.find((x: any) => x.name === `scrape.${VENDOR}`).paused).toBe(true);

    const served = fleet.stats().byVendor[VENDOR] ?? 0;
    const trigger = spawnPoller(['trigger', coin, VENDOR, '--json', '--timeout', '60'], env);
    try {
      await trigger.waitFor(/is paused: the job waits until `poller resume apmex`/);
      await trigger.waitFor(/queued job (\S+)/);
      const jobId = /queued job (\S+)/.exec(trigger.output())![1];
      await new Promise((r) => setTimeout(r, 2500));
      // Not run: still waiting, the page never asked for, the command still waiting.
      const queue = scrapeQueue();
      try {
        expect(await queue.getJobState(jobId)).toBe('waiting');
      } finally {
        await queue.close();
      }
      expect(fleet.stats().byVendor[VENDOR] ?? 0).toBe(served);
      expect(trigger.child.exitCode).toBeNull();

      const truthBefore = fleet.truth(VENDOR, coin).price;
      const resumed = await run(['resume', VENDOR]);
      expect(resumed.code, resumed.out).toBe(0);
      expect(resumed.out).toMatch(new RegExp(`^scrape\\.${VENDOR}: running \\(was paused\\)`, 'm'));
      expect(await trigger.exited).toBe(0);
      const r = jsonOf(trigger.output());
      expect(r).toMatchObject({ job: jobId, state: 'completed', outcome: 'ok' });
      // The price of the page's 15-minute window, whichever side of a window boundary the scrape fell.
      expect([truthBefore, fleet.truth(VENDOR, coin).price]).toContain(r.price);
    } finally {
      trigger.child.kill('SIGKILL');
      await run(['resume', VENDOR]);
    }
  });

  it('export-now and merge-now print the commits the remote has', async () => {
    const exported = await run(['export-now', '--json']);
    expect(exported.code, exported.out).toBe(0);
    const e = jsonOf(exported.out);
    expect(e).toMatchObject({ kind: 'export', poller: 'api1', branch: 'api1', committed: true });
    expect(e.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(remoteTip(remote, 'api1')).toBe(e.sha);
    expect(e.ms).toBeGreaterThanOrEqual(0);

    const merged = await run(['merge-now', '--json']);
    expect(merged.code, merged.out).toBe(0);
    const m = jsonOf(merged.out);
    expect(m.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(remoteTip(remote, 'main')).toBe(m.sha);
    expect(m.used).toEqual(['api1']);

    // Nothing new since: the human form says so and names the tip.
    const again = await run(['export-now']);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(new RegExp(`^export api1: nothing changed; branch api1 stays at ${e.sha} in \\d+ ms`, 'm'));
    const mergedAgain = await run(['merge-now']);
    expect(mergedAgain.code, mergedAgain.out).toBe(0);
    expect(mergedAgain.out).toMatch(new RegExp(`^merge into main: nothing changed; main stays at ${remoteTip(remote, 'main')} in \\d+ ms`, 'm'));
  });

  it('retry-failed retries a failed scrape job, which then succeeds', async () => {
    const coin = coins[2];
    fleet.setTarget(VENDOR, coin, { fault: '404' });
    const failed = await run(['trigger', coin, VENDOR, '--json']);
    expect(failed.code, failed.out).toBe(1);
    const f = jsonOf(failed.out);
    expect(f).toMatchObject({ state: 'failed', outcome: 'not_found' });
    expect(f.reason).toMatch(/404|not found/i);
    expect(jsonOf((await run(['queues', '--json'])).out).queues.find((x: any) => x.name === `scrape.${VENDOR}`).counts.failed).toBe(1);

    fleet.setTarget(VENDOR, coin, { fault: null });
    const retried = await run(['retry-failed', VENDOR, '--json']);
    expect(retried.code, retried.out).toBe(0);
    expect(jsonOf(retried.out)).toMatchObject({ retried: 1, queues: [{ queue: `scrape.${VENDOR}`, retried: 1 }] });
    const queue = scrapeQueue();
    try {
      const truthBefore = fleet.truth(VENDOR, coin).price;
      await waitUntil('the retried job to complete', async () => (await queue.getJobState(f.job)) === 'completed');
      const job = await queue.getJob(f.job);
      expect(job!.returnvalue).toMatchObject({ outcome: 'ok' });
      expect([truthBefore, fleet.truth(VENDOR, coin).price]).toContain(job!.returnvalue.price);
    } finally {
      await queue.close();
    }
    // Nothing failed any more, anywhere.
    const none = await run(['retry-failed']);
    expect(none.code, none.out).toBe(0);
    expect(none.out).toMatch(/^retried 0 failed scrape jobs in \d+ scrape queues/m);
  });

  it('without a worker, exporter or merger connected, the commands say so, how to start one, and exit 1', async () => {
    const elsewhere = { REDIS_PREFIX: emptyPrefix };
    const trigger = await run(['trigger', coins[0], VENDOR, '--wait-worker', '1'], elsewhere);
    expect(trigger.code).toBe(1);
    expect(trigger.out).toMatch(/no worker is connected to scrape\.apmex .*poller worker/);
    const exported = await run(['export-now', '--wait-worker', '1'], elsewhere);
    expect(exported.code).toBe(1);
    expect(exported.out).toMatch(/no exporter is connected to export\.api1 .*poller exporter/);
    const merged = await run(['merge-now', '--wait-worker', '1'], elsewhere);
    expect(merged.code).toBe(1);
    expect(merged.out).toMatch(/no merger is connected to merge .*poller merger/);
    // Nothing was queued there.
    expect(await redis.connection.keys(`${emptyPrefix}:*`)).toEqual([]);
  });

  it('a Redis that does not answer is named with how to point REDIS_URL at the poller\'s', async () => {
    const r = await run(['queues'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^poller queues: no Redis answers at redis:\/\/127\.0\.0\.1:1 .*REDIS_URL/m);
    expect(r.out).not.toMatch(/\n\s+at /);
  });

  it('doctor passes on a good setup', async () => {
    const { code, out } = await run(['doctor']);
    expect(code, out).toBe(0);
    for (const name of ['config', 'redis', 'database', 'git remote', 'chromium', 'catalogue', 'clock']) expect(out).toMatch(new RegExp(`^ok\\s+${name}\\s`, 'm'));
    expect(out).toMatch(/^all 7 checks passed$/m);
    const json = jsonOf((await run(['doctor', '--json'])).out);
    expect(json.ok).toBe(true);
    expect(json.checks.map((c: any) => c.status)).toEqual(Array(7).fill('ok'));
  });

  it('doctor fails, naming the fix, on a bad Redis, a missing or unmigrated database, a bad catalogue, a missing remote', async () => {
    const badRedis = await run(['doctor'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(badRedis.code).toBe(1);
    expect(badRedis.out).toMatch(/^FAIL\s+redis\s+no Redis answers at redis:\/\/127\.0\.0\.1:1 .* -- fix: .*REDIS_URL/m);
    expect(badRedis.out).toMatch(/^--\s+clock\s/m);
    expect(badRedis.out).toMatch(/^ok\s+database\s/m);

    const missing = join(dir.path, 'nowhere', 'prices.db');
    const noDb = await run(['doctor', '--json'], { TURSO_DATABASE_URL: `file:${missing}` });
    expect(noDb.code).toBe(1);
    const check = jsonOf(noDb.out).checks.find((c: any) => c.name === 'database');
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringContaining(missing), fix: expect.stringContaining('TURSO_DATABASE_URL') });
    expect(existsSync(join(dir.path, 'nowhere'))).toBe(false);

    const bare = join(dir.path, 'bare.db');
    const client = createClient({ url: `file:${bare}` });
    await client.execute('CREATE TABLE unrelated (a INTEGER)');
    client.close();
    const unmigrated = await run(['doctor'], { TURSO_DATABASE_URL: `file:${bare}` });
    expect(unmigrated.code).toBe(1);
    expect(unmigrated.out).toMatch(/^FAIL\s+database\s+.*never migrated.* -- fix: start any poller role once/m);
    const check2 = createClient({ url: `file:${bare}` });
    expect((await check2.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows.map((r) => r.name)).toEqual(['unrelated']);
    check2.close();

    const broken = join(dir.path, 'broken.json');
    const j = JSON.parse(await readFile(REAL, 'utf8'));
    j.coins.ase.weight_oz = 'one';
    await writeFile(broken, JSON.stringify(j));
    const badCatalogue = await run(['doctor'], { CATALOGUE_PATH: broken });
    expect(badCatalogue.code).toBe(1);
    expect(badCatalogue.out).toMatch(/^FAIL\s+catalogue\s+.*coin "ase", field weight_oz.* -- fix: .*CATALOGUE_PATH/m);

    const noRemote = join(dir.path, 'no-remote.git');
    const badRemote = await run(['doctor'], { API_DATA_REPO: noRemote });
    expect(badRemote.code).toBe(1);
    expect(badRemote.out).toMatch(new RegExp(`^FAIL\\s+git remote\\s+API_DATA_REPO ${noRemote} does not exist -- fix: create it: git init --bare`, 'm'));
    expect(existsSync(noRemote)).toBe(false);
  });

  it('doctor never prints the git token', async () => {
    const token = 'ghs_DoctorToken0123456789SECRETVALUE';
    const r = await run(['doctor'], { API_DATA_REPO: 'http://127.0.0.1:1/owner/repo.git', GITHUB_TOKEN: token });
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL\s+git remote\s+git ls-remote http:\/\/127\.0\.0\.1:1\/owner\/repo\.git failed/m);
    expect(r.out).not.toContain(token);
    expect(r.out).not.toContain(Buffer.from(`x-access-token:${token}`).toString('base64'));
  });
});

describe('doctor: the clock', () => {
  const redisAt = (ms: number) => ({ time: async () => [String(Math.floor(ms / 1000)), String((ms % 1000) * 1000)] as [string, string] });
  it('fails when this host and the Redis server are more than 30 s apart, either way', async () => {
    expect(await checkClock(redisAt(Date.now()) as never)).toMatchObject({ status: 'ok' });
    expect(await checkClock(redisAt(Date.now() - 25_000) as never)).toMatchObject({ status: 'ok', detail: expect.stringMatching(/ahead of the Redis server/) });
    expect(await checkClock(redisAt(Date.now() - 45_000) as never)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/4\d\.\d s ahead of/), fix: expect.stringMatching(/synchronise the clocks/) });
    expect(await checkClock(redisAt(Date.now() + 45_000) as never)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/behind the Redis server/) });
    expect(await checkClock(null)).toMatchObject({ status: 'skip' });
  });
});

describe('poller status', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('cli-status');
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('a file: database that does not exist is an error naming it; nothing is created', async () => {
    const folder = join(dir.path, 'demo');
    const path = join(folder, 'prices.db');
    const { code, out } = await runPoller(['status'], { TURSO_DATABASE_URL: `file:${path}` });
    expect(code).not.toBe(0);
    expect(out).toContain(path);
    expect(out).toContain('TURSO_DATABASE_URL');
    expect(out).not.toMatch(/\n\s+at /);
    expect(existsSync(folder)).toBe(false);
    // A folder that exists without the file: still nothing created.
    await mkdir(folder);
    expect((await runPoller(['status', '--json'], { TURSO_DATABASE_URL: `file:${path}` })).code).not.toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('counts targets once whatever the number of pollers, and per poller', async () => {
    const url = `file:${join(dir.path, 'two-pollers.db')}`;
    const store = new PriceStore({ url });
    await store.migrate();
    // Two pollers scrape the same three targets; api2 fails on one of them.
    const rows = [];
    for (const [i, vendor] of ['apmex', 'jmbullion', 'sdbullion'].entries()) {
      rows.push(sampleRow(i, { key: `api1/t${i}`, poller_id: 'api1', vendor }));
      rows.push(sampleRow(10 + i, { key: `api2/t${i}`, poller_id: 'api2', vendor, ...(vendor === 'sdbullion' ? { is_failed: true, price: null, in_stock: null, outcome: 'error', reason: 'HTTP 500' } : {}) }));
    }
    await store.writeRows(rows);
    await store.close();

    const json = await runPoller(['status', '--json'], { TURSO_DATABASE_URL: url });
    expect(json.code, json.out).toBe(0);
    expect(jsonOf(json.out)).toMatchObject({
      counts: { rows: 6, failed: 1, byPoller: { api1: 3, api2: 3 } },
      targets: 3,
      failingTargets: 1,
      targetsByPoller: { api1: { targets: 3, failing: 0 }, api2: { targets: 3, failing: 1 } },
    });
    const human = await runPoller(['status'], { TURSO_DATABASE_URL: url });
    expect(human.code).toBe(0);
    expect(human.out).toMatch(/^3 targets seen, 1 failing on at least one poller$/m);
    expect(human.out).toMatch(/^  api2: 3 rows, 3 targets seen, 1 failing$/m);
    expect(human.out).toMatch(/^  api2 ase@sdbullion: 1x error: HTTP 500$/m);
  });
});
