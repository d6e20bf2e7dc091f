/**
 * Bull Board and the admin guard over real HTTP, on real Redis: the poller's `api` role started in-process as
 * `poller api` starts it. The board lists the poller's queues and follows the catalogue and Redis without a
 * restart; read-only mode refuses changes; basic and bearer auth, constant-time checks, 429 per address after
 * repeated failures; no credentials on a non-loopback address is refused at start.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CatalogueFile } from '../src/catalogue/schema.js';
import { ConfigError, loadConfig, type EnvInput } from '../src/config/env.js';
import { assertSafeBinding, checkAuthorization, isLoopbackHost } from '../src/api/admin-auth.js';
import { startPoller, type Poller } from '../src/roles/poller.js';
import { runPoller } from './support/cli.js';
import { testRedis } from './support/redis.js';
import { tempDir } from './support/temp.js';
import { waitUntil } from './support/wait.js';

const USER = 'ops';
const PASSWORD = 'correct horse battery staple';
const TOKEN = 'tok-3f1c9a0b7d2e4f6a8b0c';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function catalogueWith(vendors: string[]): CatalogueFile {
  const provider = (id: string, coin: string) => ({ id, name: id, enabled: true, url: `https://${id}.example/${coin}` });
  return {
    coins: {
      ase: { name: 'American Silver Eagle 1 oz', metal: 'silver', weight_oz: 1, providers: vendors.map((v) => provider(v, 'ase')) },
      age: { name: 'American Gold Eagle 1 oz', metal: 'gold', weight_oz: 1, providers: vendors.map((v) => provider(v, 'age')) },
    },
  } as CatalogueFile;
}

describe('isLoopbackHost and the binding rule', () => {
  it('knows loopback from the rest', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', 'example.com', '128.0.0.1', '::2', '']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses no credentials off loopback, naming API_HOST and the admin variables; credentials or loopback pass', () => {
    let err: unknown;
    try {
      assertSafeBinding('0.0.0.0', {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/API_HOST: "0\.0\.0\.0" is not a loopback address/);
    expect((err as Error).message).toMatch(/ADMIN_USER and ADMIN_PASSWORD.*ADMIN_TOKEN.*API_HOST=127\.0\.0\.1/);
    // A user without a password is not a credential.
    expect(() => assertSafeBinding('0.0.0.0', { user: 'ops' })).toThrow(ConfigError);
    expect(() => assertSafeBinding('0.0.0.0', { token: TOKEN })).not.toThrow();
    expect(() => assertSafeBinding('0.0.0.0', { user: USER, password: PASSWORD })).not.toThrow();
    expect(() => assertSafeBinding('127.0.0.1', {})).not.toThrow();
  });

  it('checks both schemes; anything else is wrong', () => {
    const c = { user: USER, password: PASSWORD, token: TOKEN };
    expect(checkAuthorization(undefined, c)).toBe('missing');
    expect(checkAuthorization(basic(USER, PASSWORD), c)).toBe('ok');
    expect(checkAuthorization(`bearer ${TOKEN}`, c)).toBe('ok');
    expect(checkAuthorization(basic(USER, `${PASSWORD}x`), c)).toBe('wrong');
    expect(checkAuthorization(basic(`${USER}x`, PASSWORD), c)).toBe('wrong');
    expect(checkAuthorization(basic(USER, PASSWORD.slice(0, -1)), c)).toBe('wrong');
    expect(checkAuthorization(`Bearer ${TOKEN.slice(0, -1)}`, c)).toBe('wrong');
    expect(checkAuthorization('Bearer', c)).toBe('wrong');
    expect(checkAuthorization('Digest x', c)).toBe('wrong');
    expect(checkAuthorization(basic(USER, PASSWORD), { token: TOKEN })).toBe('wrong');
    expect(checkAuthorization(`Bearer ${TOKEN}`, { user: USER, password: PASSWORD })).toBe('wrong');
  });
});

describe('the board and the admin guard over HTTP', () => {
  const redis = testRedis('board');
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let cataloguePath: string;
  const logs: string[] = [];
  const pollers: Poller[] = [];

  const env = (extra: EnvInput = {}): EnvInput => ({
    POLLER_ID: 'api1',
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    CATALOGUE_PATH: cataloguePath,
    CATALOGUE_WATCH_MS: '100',
    API_PORT: '0',
    TURSO_DATABASE_URL: `file:${join(dir.path, 'prices.db')}`,
    RECOVERY_LOG_DIR: join(dir.path, 'log'),
    ...extra,
  });
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(line) });
  async function start(extra: EnvInput = {}): Promise<Poller> {
    const p = await startPoller({ config: loadConfig(env(extra)), logger, roles: ['api'], redisUrl: redis.url });
    pollers.push(p);
    return p;
  }
  let api: Poller;
  const auth = { authorization: basic(USER, PASSWORD) };

  async function queueNames(base: string, headers: Record<string, string> = auth): Promise<string[]> {
    const res = await fetch(`${base}/admin/queues/api/queues`, { headers });
    expect(res.status).toBe(200);
    return ((await res.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name);
  }

  beforeAll(async () => {
    dir = await tempDir('board');
    cataloguePath = join(dir.path, 'providers.json');
    await writeFile(cataloguePath, JSON.stringify(catalogueWith(['apmex'])));
    api = await start({ ADMIN_USER: USER, ADMIN_PASSWORD: PASSWORD, ADMIN_TOKEN: TOKEN });
  });
  afterAll(async () => {
    for (const p of pollers) await p.close();
    await redis.cleanup();
    await dir?.remove();
  });

  it('lists the scrape queues of the catalogue, the export queue and merge; the page itself is served', async () => {
    expect(api.api!.boardUrl).toBe(`${api.api!.url}/admin/queues`);
    expect(api.api!.adminAuth).toBe('basic+bearer');
    expect(await queueNames(api.api!.url)).toEqual(expect.arrayContaining(['scrape.apmex', 'export.api1', 'merge']));
    expect(await queueNames(api.api!.url)).not.toContain('scrape.jmbullion');
    const page = await fetch(api.api!.boardUrl, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });

  it('a vendor added to the catalogue and a queue that appears in Redis show without a restart', async () => {
    await writeFile(cataloguePath, JSON.stringify(catalogueWith(['apmex', 'jmbullion'])));
    await waitUntil('scrape.jmbullion on the board', async () => (await queueNames(api.api!.url)).includes('scrape.jmbullion'), 10_000);
    const spot = new Queue('spot', { connection: redis.connection, prefix: redis.prefix });
    try {
      await spot.add('latest', { metal: 'all' });
      await waitUntil('spot on the board', async () => (await queueNames(api.api!.url)).includes('spot'), 10_000);
    } finally {
      await spot.close();
    }
  });

  it('accepts basic auth and a bearer token; without credentials 401 with both challenges; health and status stay open', async () => {
    const base = api.api!.url;
    expect((await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const none = await fetch(`${base}/admin/queues/api/queues`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Basic realm="staktrakr admin"/);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer realm=/);
    expect((await fetch(`${base}/admin/queues`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/status`)).status).not.toBe(401);
  });

  it('wrong credentials: 401 five times, then 429 with Retry-After for that address only, right ones included; no secret in the logs', async () => {
    const base = api.api!.url;
    // A second loopback address stands for another client.
    const other = new Agent({ localAddress: '127.0.0.2' });
    try {
      const fromOther = (headers: Record<string, string>) => undiciFetch(`${base}/admin/queues/api/queues`, { headers, dispatcher: other });
      const wrong = ['guess-1', 'guess-2', 'guess-3'];
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fromOther(i % 2 ? { authorization: `Bearer ${wrong[i % 3]}` } : { authorization: basic(USER, wrong[i % 3]) });
        statuses.push(res.status);
        await res.arrayBuffer();
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401]);
      const limited = await fromOther({ authorization: basic(USER, 'guess-6') });
      expect(limited.status).toBe(429);
      const retryAfter = Number(limited.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      await limited.arrayBuffer();
      // Locked out means locked out: a right guess now tells nothing.
      const right = await fromOther(auth);
      expect(right.status).toBe(429);
      await right.arrayBuffer();
      // Another address is not affected.
      expect((await fetch(`${base}/admin/queues/api/queues`, { headers: auth })).status).toBe(200);
    } finally {
      await other.close();
    }
    const text = logs.join('');
    expect(text).toMatch(/admin login failed/);
    expect(text).toMatch(/127\.0\.0\.2/);
    for (const secret of [PASSWORD, TOKEN, 'guess-1', 'guess-2', Buffer.from(`${USER}:${PASSWORD}`).toString('base64')]) expect(text).not.toContain(secret);
  });

  it('read-only mode refuses a retry and a removal (405) and still shows; a writable board retries the same job', async () => {
    const readOnly = await start({ ADMIN_TOKEN: TOKEN, ADMIN_READ_ONLY: 'true' });
    expect(readOnly.api!.boardReadOnly).toBe(true);
    const chores = new Queue('chores', { connection: redis.connection, prefix: redis.prefix });
    const worker = new Worker(
      'chores',
      async () => {
        throw new Error('broken on purpose');
      },
      { connection: redis.connection.duplicate(), prefix: redis.prefix },
    );
    try {
      const job = await chores.add('chore', {}, { attempts: 1 });
      await waitUntil('the chore to fail', async () => (await chores.getJobState(job.id!)) === 'failed');
      await worker.close();
      const bearer = { authorization: `Bearer ${TOKEN}` };
      await waitUntil('chores on the read-only board', async () => (await queueNames(readOnly.api!.url, bearer)).includes('chores'), 10_000);

      const refused = await fetch(`${readOnly.api!.boardUrl}/api/queues/chores/${job.id}/retry`, { method: 'PUT', headers: bearer });
      expect(refused.status).toBe(405);
      const removal = await fetch(`${readOnly.api!.boardUrl}/api/queues/chores/${job.id}/clean`, { method: 'PUT', headers: bearer });
      expect(removal.status).toBe(405);
      expect(await chores.getJobState(job.id!)).toBe('failed');

      await waitUntil('chores on the writable board', async () => (await queueNames(api.api!.url)).includes('chores'), 10_000);
      const retried = await fetch(`${api.api!.boardUrl}/api/queues/chores/${job.id}/retry`, { method: 'PUT', headers: auth });
      expect(retried.status).toBe(204);
      expect(await chores.getJobState(job.id!)).toBe('waiting');
    } finally {
      await worker.close();
      await chores.close();
    }
  });

  it('without credentials on loopback the board is open', async () => {
    const open = await start();
    expect(open.api!.adminAuth).toBe('none');
    expect(await queueNames(open.api!.url, {})).toEqual(expect.arrayContaining(['scrape.apmex', 'export.api1', 'merge']));
  });

  it('no credentials and a non-loopback API_HOST: startPoller rejects, and `poller api` exits 2 naming the variables', async () => {
    await expect(startPoller({ config: loadConfig(env({ API_HOST: '0.0.0.0' })), logger, roles: ['api'], redisUrl: redis.url })).rejects.toThrow(/API_HOST: "0\.0\.0\.0" is not a loopback address/);
    const { code, out } = await runPoller(['api'], { ...env({ API_HOST: '0.0.0.0' }), ADMIN_USER: '', ADMIN_PASSWORD: '', ADMIN_TOKEN: '' } as Record<string, string>);
    expect(code).toBe(2);
    expect(out).toMatch(/API_HOST: "0\.0\.0\.0" is not a loopback address/);
    expect(out).toMatch(/ADMIN_USER and ADMIN_PASSWORD/);
    expect(out).toMatch(/ADMIN_TOKEN/);
    expect(out).not.toMatch(/unexpected failure/);
  });
});
