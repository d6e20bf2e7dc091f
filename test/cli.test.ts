import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runPoller, spawnPoller } from './support/cli.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';

const COMMANDS = [
  'start', 'scheduler', 'worker', 'api', 'exporter', 'merger', 'export', 'import-log', 'extract', 'fleet', 'demo', 'bench', 'status',
  'queues', 'trigger', 'pause', 'resume', 'export-now', 'merge-now', 'retry-failed', 'doctor', 'init-remote',
];
const REAL = 'test/fixtures/contract/config/providers.json';

describe('the poller program', () => {
  const redis = testRedis('cli');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    dir = await tempDir('cli');
  });
  afterAll(async () => {
    await redis.cleanup();
    await dir.remove();
  });

  it('lists every command', async () => {
    const { code, out } = await runPoller([]);
    expect(code).toBe(0);
    for (const c of COMMANDS) expect(out).toContain(`  ${c} `);
  });

  for (const c of COMMANDS) {
    it(`${c} --help shows its usage`, async () => {
      const { code, out } = await runPoller([c, '--help']);
      expect(code).toBe(0);
      expect(out).toMatch(new RegExp(`usage: poller ${c}`));
    });
  }

  it('an unknown command or option exits 2 with the usage', async () => {
    expect(await runPoller(['frobnicate'])).toMatchObject({ code: 2, out: expect.stringContaining('unknown command "frobnicate"') });
    expect(await runPoller(['import-log', '--bogus', 'x'])).toMatchObject({ code: 2, out: expect.stringContaining("Unknown option '--bogus'") });
  });

  for (const role of ['start', 'scheduler', 'worker', 'exporter', 'merger', 'api']) {
    it(`${role} stops at once on a bad variable, naming it`, async () => {
      const { code, out } = await runPoller([role], { WORKER_CONCURRENCY: 'lots', REDIS_URL: redis.url });
      expect(code).toBe(2);
      expect(out).toMatch(/WORKER_CONCURRENCY: expected a whole number/);
    });
  }

  it('a broken catalogue stops the start with coin and field named', async () => {
    const path = join(dir.path, 'broken.json');
    const j = JSON.parse(await readFile(REAL, 'utf8'));
    j.coins.ase.weight_oz = 'one';
    await writeFile(path, JSON.stringify(j));
    const { code, out } = await runPoller(['scheduler'], { CATALOGUE_PATH: path, REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix });
    expect(code).toBe(2);
    expect(out).toMatch(/coin "ase", field weight_oz: expected a number of troy ounces/);
  });

  it('start runs every role and exits 0 on SIGTERM; the api answers health and status', async () => {
    const env = {
      REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, CATALOGUE_PATH: REAL, TURSO_DATABASE_URL: `file:${join(dir.path, 'start.db')}`,
      RECOVERY_LOG_DIR: join(dir.path, 'log'), API_PORT: '0', CATALOGUE_WATCH_MS: '0',
      API_DATA_REPO: join(dir.path, 'remote.git'), PUBLISH_DIR: join(dir.path, 'publish'),
    };
    const p = spawnPoller(['start'], env);
    await p.waitFor(/poller api1 running/);
    const url = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(p.output())![1];
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, poller: 'api1' });
    expect(await (await fetch(`${url}/status`)).json()).toMatchObject({ poller: 'api1', rows: { rows: 0 } });
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toMatch(/stopped/);
    // No role creates the remote: start says how to, and init-remote does it, once.
    expect(existsSync(join(dir.path, 'remote.git'))).toBe(false);
    expect(p.output()).toMatch(/does not exist: exports and merges fail until it does; create a new one with `poller init-remote`/);
    const init = await runPoller(['init-remote'], env);
    expect(init).toMatchObject({ code: 0 });
    expect(init.out).toMatch(/created a bare repository at .*remote\.git/);
    expect(existsSync(join(dir.path, 'remote.git', 'HEAD'))).toBe(true);
    expect((await runPoller(['init-remote'], env)).out).toMatch(/exists already: nothing done/);
    expect(await runPoller(['init-remote', 'https://github.com/o/r.git'], env)).toMatchObject({ code: 2 });
  });

  for (const role of ['exporter', 'merger']) {
    it(`${role} runs on its own and exits 0 on SIGTERM`, async () => {
      const env = {
        REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, CATALOGUE_PATH: REAL, TURSO_DATABASE_URL: `file:${join(dir.path, `${role}.db`)}`,
        API_DATA_REPO: join(dir.path, `${role}-remote.git`), PUBLISH_DIR: join(dir.path, `${role}-publish`), CATALOGUE_WATCH_MS: '0',
      };
      const p = spawnPoller([role], env);
      await p.waitFor(/poller api1 running/);
      p.child.kill('SIGTERM');
      expect(await p.exited).toBe(0);
    });
  }

  it('export writes the data/ tree of a database into a folder', async () => {
    const out = join(dir.path, 'export-out');
    const { code, out: text } = await runPoller(['export', '--out', out, '--all'], { TURSO_DATABASE_URL: `file:${join(dir.path, 'export.db')}`, CATALOGUE_PATH: REAL });
    expect(code, text).toBe(0);
    const manifest = JSON.parse(await readFile(join(out, 'data', 'api', 'manifest.json'), 'utf8'));
    expect(manifest.coins).toContain('ase');
    expect(existsSync(join(out, 'data', 'api', 'ase', 'latest.json'))).toBe(true);
  });

  it('status and import-log run against a database', async () => {
    const env = { TURSO_DATABASE_URL: `file:${join(dir.path, 'status.db')}` };
    const log = join(dir.path, 'prices-2026-02-20.jsonl');
    await writeFile(log, '{"scraped_at":"2026-02-20T10:07:03.120Z","window_start":"2026-02-20T10:00:00.000Z","coin_slug":"ase","vendor":"apmex","price":92.3,"source":"firecrawl","in_stock":true}\n');
    const dry = await runPoller(['import-log', log, '--dry-run'], env);
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/"added": 1/);
    const real = await runPoller(['import-log', log], env);
    expect(real.out).toMatch(/"added": 1/);
    const again = await runPoller(['import-log', dir.path], env);
    expect(again.out).toMatch(/"alreadyPresent": 1/);
    const status = await runPoller(['status', '--json'], env);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ counts: { rows: 1 } });
  });

  it('extract prints one JSON object for any file, garbage included, exit 0', async () => {
    const garbage = join(dir.path, 'garbage.html');
    await writeFile(garbage, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)));
    const { code, out } = await runPoller(['extract', '--vendor', 'apmex', '--coin', 'ase', '--file', garbage, '--catalogue', REAL]);
    expect(code).toBe(0);
    const parsed = JSON.parse(out.trim());
    expect(parsed).toMatchObject({ price: null, outcome: expect.any(String) });
    expect(Object.keys(parsed)).toEqual(expect.arrayContaining(['price', 'inStock', 'outcome', 'matchedBy', 'reason']));
  });

  it('fleet serves pages and stops on SIGTERM', async () => {
    const p = spawnPoller(['fleet', '--catalogue', REAL]);
    await p.waitFor(/vendor fleet listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const base = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())![1];
    expect((await fetch(`${base}/_fleet/health`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
