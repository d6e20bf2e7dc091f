import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { request, type IncomingHttpHeaders, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import vm from 'node:vm';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import express from 'express';
import { dataRouter } from '../src/api/serve-data.js';
import { tempDir } from './support/temp.js';

/** The real March 2026 files (the contract's samples, kept in the project). */
const CONTRACT_DATA = resolve('test/fixtures/contract/StakTrakrApi/data');
const FRONTEND_GIT = '/work/.mirror/lbruton+StakTrakr/repo';
const SECRET = 'TOPSECRET-outside-the-tree';
const ORIGIN = 'https://www.staktrakr.com';

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request with the path exactly as given (fetch would normalise `..`), no Accept-Encoding unless asked. */
function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawAnswer> {
  const url = new URL(base);
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('dataRouter over a tree shaped like the published one', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  let served: string | null;
  let server: Server;
  let base: string;
  let bigBytes: Buffer;

  beforeAll(async () => {
    tmp = await tempDir('serve-data');
    root = join(tmp.path, 'site', 'data');
    await cp(CONTRACT_DATA, root, { recursive: true });
    // Something worth stealing next to the tree, reachable by `../..` from the root if anything let it through.
    await writeFile(join(tmp.path, 'outside.json'), JSON.stringify({ secret: SECRET }));
    await mkdir(join(tmp.path, 'etc'));
    await writeFile(join(tmp.path, 'etc', 'passwd'), SECRET);
    await symlink(join(tmp.path, 'outside.json'), join(root, 'api', 'leak.json'));
    await symlink(tmp.path, join(root, 'escape'));
    await symlink(join(root, 'api', 'manifest.json'), join(root, 'api', 'manifest-link.json'));
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git', 'config'), `[remote]\n url = ${SECRET}\n`);
    await writeFile(join(root, '.env'), SECRET);
    await mkdir(join(root, 'api', 'snapshot'), { recursive: true });
    bigBytes = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(join(root, 'api', 'snapshot', 'prices.db'), bigBytes);
    await writeFile(join(root, 'api', 'snapshot', 'prices.db.gz'), randomBytes(2000));
    await writeFile(join(root, 'api', 'snapshot', 'notes.txt'), 'plain');
    // A fixed, known mtime for the If-Modified-Since tests.
    const mtime = new Date('2026-03-15T20:23:05Z');
    await utimes(join(root, 'api', 'manifest.json'), mtime, mtime);
    served = root;

    const app = express();
    app.use('/data', dataRouter({ root: () => served }));
    server = await new Promise<Server>((ok) => {
      const s = app.listen(0, '127.0.0.1', () => ok(s));
    });
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((ok) => server?.close(ok));
    await tmp?.remove();
  });

  it('serves a JSON file with CORS, cache, type, validators and Vary', async () => {
    const file = await readFile(join(root, 'api', 'manifest.json'));
    const r = await raw(base, '/data/api/manifest.json');
    expect(r.status).toBe(200);
    expect(r.body.equals(file)).toBe(true);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['cache-control']).toBe('public, max-age=300');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['content-length']).toBe(String(file.length));
    expect(r.headers['etag']).toMatch(/^"[A-Za-z0-9_-]{20,}"$/); // strong: no W/
    expect(r.headers['last-modified']).toBe('Sun, 15 Mar 2026 20:23:05 GMT');
    expect(r.headers['vary']).toMatch(/Accept-Encoding/i);
    expect(r.headers['content-encoding']).toBeUndefined();
  });

  it('gives the same ETag for the same bytes and another one when the content changes', async () => {
    const a = await raw(base, '/data/api/manifest.json');
    const b = await raw(base, '/data/api/manifest-link.json'); // a link inside the tree is served
    expect(b.status).toBe(200);
    expect(b.headers.etag).toBe(a.headers.etag);
    const c = await raw(base, '/data/api/latest.json');
    expect(c.headers.etag).not.toBe(a.headers.etag);
  });

  it('answers 304 to If-None-Match and to If-Modified-Since, with the headers a cache needs and no body', async () => {
    const first = await raw(base, '/data/api/manifest.json');
    const etag = first.headers.etag!;
    const byTag = await raw(base, '/data/api/manifest.json', { headers: { 'If-None-Match': etag } });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    expect(byTag.headers.etag).toBe(etag);
    expect(byTag.headers['access-control-allow-origin']).toBe('*');
    expect(byTag.headers['cache-control']).toBe('public, max-age=300');
    expect(byTag.headers['last-modified']).toBe(first.headers['last-modified']);
    // In a list, weak form too (If-None-Match compares weakly).
    expect((await raw(base, '/data/api/manifest.json', { headers: { 'If-None-Match': `"nope", W/${etag}` } })).status).toBe(304);
    expect((await raw(base, '/data/api/manifest.json', { headers: { 'If-None-Match': '*' } })).status).toBe(304);
    expect((await raw(base, '/data/api/manifest.json', { headers: { 'If-None-Match': '"other"' } })).status).toBe(200);

    const byDate = await raw(base, '/data/api/manifest.json', { headers: { 'If-Modified-Since': first.headers['last-modified']! } });
    expect(byDate.status).toBe(304);
    expect(byDate.headers['access-control-allow-origin']).toBe('*');
    expect((await raw(base, '/data/api/manifest.json', { headers: { 'If-Modified-Since': 'Sun, 15 Mar 2026 20:23:04 GMT' } })).status).toBe(200);
    expect((await raw(base, '/data/api/manifest.json', { headers: { 'If-Modified-Since': 'not a date' } })).status).toBe(200);
    // If-None-Match wins over If-Modified-Since (RFC 9110): a changed tag means 200 whatever the date says.
    const both = await raw(base, '/data/api/manifest.json', { headers: { 'If-None-Match': '"other"', 'If-Modified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' } });
    expect(both.status).toBe(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const file = await readFile(join(root, 'api', 'providers.json'));
    const r = await raw(base, '/data/api/providers.json', { method: 'HEAD', headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers['content-length']).toBe(String(file.length));
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers.etag).toBe((await raw(base, '/data/api/providers.json')).headers.etag);
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('compresses JSON with gzip or br when asked, under its own ETag that revalidates', async () => {
    const file = await readFile(join(root, 'api', 'providers.json'));
    const plain = await raw(base, '/data/api/providers.json');
    const gz = await raw(base, '/data/api/providers.json', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.body.length).toBeLessThan(file.length);
    expect(gunzipSync(gz.body).equals(file)).toBe(true);
    expect(gz.headers.etag).toBe(plain.headers.etag!.replace(/"$/, '-gzip"'));
    expect(gz.headers['access-control-allow-origin']).toBe('*');
    expect(gz.headers['vary']).toMatch(/Accept-Encoding/i);
    const again = await raw(base, '/data/api/providers.json', { headers: { 'Accept-Encoding': 'gzip', 'If-None-Match': gz.headers.etag! } });
    expect(again.status).toBe(304);
    expect(again.headers.etag).toBe(gz.headers.etag);

    const br = await raw(base, '/data/api/providers.json', { headers: { 'Accept-Encoding': 'br' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.body).equals(file)).toBe(true);
  });

  it('ignores the query string (the app adds ?_t=<ms> to every request)', async () => {
    const plain = await raw(base, '/data/api/manifest.json');
    const busted = await raw(base, `/data/api/manifest.json?_t=${Date.now()}`);
    expect(busted.status).toBe(200);
    expect(busted.body.equals(plain.body)).toBe(true);
    expect(busted.headers.etag).toBe(plain.headers.etag);
    expect((await raw(base, '/data/api/manifest.json?_t=1&x=../../outside.json')).status).toBe(200);
  });

  it('streams the large snapshot as SQLite, uncompressed, with validators', async () => {
    const r = await raw(base, '/data/api/snapshot/prices.db', { headers: { 'Accept-Encoding': 'gzip, br' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.sqlite3');
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers['content-length']).toBe(String(bigBytes.length));
    expect(createHash('sha256').update(r.body).digest('hex')).toBe(createHash('sha256').update(bigBytes).digest('hex'));
    const again = await raw(base, '/data/api/snapshot/prices.db', { headers: { 'If-None-Match': r.headers.etag! } });
    expect(again.status).toBe(304);
    expect((await raw(base, '/data/api/snapshot/prices.db.gz')).headers['content-type']).toBe('application/gzip');
    expect((await raw(base, '/data/api/snapshot/notes.txt')).headers['content-type']).toBe('application/octet-stream');
  });

  it('answers a missing file 404 with CORS and without naming a filesystem path', async () => {
    const r = await raw(base, '/data/hourly/2030/01/01/00.json?_t=5');
    expect(r.status).toBe(404);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.body.toString())).toEqual({ error: 'not found' });
    expect(r.body.toString()).not.toContain(tmp.path);
  });

  it('answers the CORS preflight and refuses other methods with 405 and Allow', async () => {
    const pre = await raw(base, '/data/api/manifest.json', {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'x-requested-with, if-none-match' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(pre.headers['access-control-allow-headers']).toBe('x-requested-with, if-none-match');
    expect(Number(pre.headers['access-control-max-age'])).toBeGreaterThan(0);
    const odd = await raw(base, '/data/api/manifest.json', { method: 'OPTIONS', headers: { 'Access-Control-Request-Headers': 'foo bar; baz' } });
    expect(odd.headers['access-control-allow-headers']).toMatch(/If-None-Match/);

    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw(base, '/data/api/manifest.json', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD, OPTIONS');
      expect(r.headers['access-control-allow-origin']).toBe('*');
    }
    expect(await readFile(join(root, 'api', 'manifest.json'), 'utf8')).toContain('generated_at');
  });

  it('refuses every encoding of a path out of the tree, without reading anything', async () => {
    // The naive join of these paths reaches real files: the refusals below are not for want of a target.
    expect(existsSync(resolve(root, '../../outside.json'))).toBe(true);
    const attempts = [
      '/data/../../outside.json',
      '/data/api/../../../outside.json',
      '/data/%2e%2e/%2e%2e/outside.json',
      '/data/%2E%2E/%2E%2E/outside.json',
      '/data/.%2e/.%2e/outside.json',
      '/data/..%2f..%2foutside.json',
      '/data/%2e%2e%2f%2e%2e%2foutside.json',
      '/data/%252e%252e/%252e%252e/outside.json',
      '/data/%252e%252e%252f%252e%252e%252foutside.json',
      '/data/..%5c..%5coutside.json',
      '/data/..\\..\\outside.json',
      '/data/api/manifest.json%00.txt',
      '/data/%00',
      '/data//etc/passwd',
      `/data/%2f${encodeURIComponent(tmp.path.slice(1))}%2foutside.json`,
      `/data${tmp.path}/outside.json`,
      '/data/%c0%ae%c0%ae/%c0%ae%c0%ae/outside.json', // overlong UTF-8 dots
      '/data/\u2025/outside.json'.replace('\u2025', '%E2%80%A5'), // two-dot leader
    ];
    for (const path of attempts) {
      const r = await raw(base, path);
      expect([400, 404], path).toContain(r.status);
      expect(r.headers['access-control-allow-origin'], path).toBe('*');
      expect(r.body.toString(), path).not.toContain(SECRET);
      expect(r.body.toString(), path).not.toContain(tmp.path);
    }
    expect((await raw(base, '/data/%e0%a4%a')).status).toBe(400); // broken percent-encoding
  });

  it('refuses a symbolic link out of the tree, for a file and for a folder', async () => {
    for (const path of ['/data/api/leak.json', '/data/escape/outside.json', '/data/escape/etc/passwd']) {
      const r = await raw(base, path);
      expect(r.status, path).toBe(404);
      expect(r.body.toString()).not.toContain(SECRET);
    }
  });

  it('lists no folder and serves no dotfile (.git!)', async () => {
    for (const path of ['/data', '/data/', '/data/api', '/data/api/', '/data/hourly/2026/03/14/', '/data/.git/config', '/data/.git/', '/data/.env', '/data/api/.%67it']) {
      const r = await raw(base, path);
      expect(r.status, path).toBe(404);
      expect(r.headers['access-control-allow-origin']).toBe('*');
      expect(r.body.toString(), path).not.toContain(SECRET);
      expect(r.body.toString(), path).not.toContain('manifest.json');
    }
  });

  it('answers 503 with CORS while there is no tree to serve', async () => {
    served = null;
    try {
      const r = await raw(base, '/data/api/manifest.json');
      expect(r.status).toBe(503);
      expect(r.headers['access-control-allow-origin']).toBe('*');
      expect(JSON.parse(r.body.toString())).toEqual({ error: 'no published tree yet' });
      served = join(tmp.path, 'not-there');
      expect((await raw(base, '/data/api/manifest.json')).status).toBe(503);
    } finally {
      served = root;
    }
    expect((await raw(base, '/data/api/manifest.json')).status).toBe(200);
  });

  describe("the StakTrakr frontend's requests", () => {
    /** What the app's fetches look like from another origin: ?_t= buster, no-store, cors. */
    const appFetch = (path: string) =>
      fetch(`${base}${path}${path.includes('?') ? '&' : '?'}_t=${Date.now()}`, { cache: 'no-store', mode: 'cors', headers: { Origin: ORIGIN } });

    const expectAppOk = async (path: string) => {
      const r = await appFetch(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(r.headers.get('cache-control'), path).toBe('public, max-age=300');
      expect(r.headers.get('content-type'), path).toBe('application/json; charset=utf-8');
      return r.json() as Promise<unknown>;
    };

    it('gets the manifest, every listed coin that has files, providers, goldback, hourly and the seed file', async () => {
      const manifest = (await expectAppOk('/data/api/manifest.json')) as Record<string, unknown>;
      expect(Number.isNaN(Date.parse(manifest.generated_at as string))).toBe(false);
      const slugs = [manifest.enabled_coins, manifest.coins, manifest.slugs].find((l) => Array.isArray(l) && l.length) as string[];
      expect(slugs.length).toBeGreaterThan(0);
      let withFiles = 0;
      for (const slug of slugs) {
        if (!existsSync(join(root, 'api', slug, 'latest.json'))) {
          // retail.js reads `latestResp.ok ? json : null`: a 404 it can see (CORS) is what it expects.
          const miss = await appFetch(`/data/api/${slug}/latest.json`);
          expect(miss.status).toBe(404);
          expect(miss.headers.get('access-control-allow-origin')).toBe('*');
          continue;
        }
        withFiles++;
        const latest = (await expectAppOk(`/data/api/${slug}/latest.json`)) as Record<string, unknown>;
        expect(latest).toHaveProperty('vendors');
        expect(latest).toHaveProperty('windows_24h');
        const history = await expectAppOk(`/data/api/${slug}/history-30d.json`);
        expect(Array.isArray(history)).toBe(true);
      }
      expect(withFiles).toBeGreaterThan(0);
      expect(typeof (await expectAppOk('/data/api/providers.json'))).toBe('object');
      const goldback = (await expectAppOk('/data/api/goldback-spot.json')) as { g1_usd: number; scraped_at: string };
      expect(goldback.g1_usd).toBeGreaterThan(0);
      const hourly = (await expectAppOk('/data/hourly/2026/03/14/15.json')) as Array<{ timestamp: string }>;
      expect(hourly[hourly.length - 1].timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(Array.isArray(await expectAppOk('/data/spot-history-2026.json'))).toBe(true);
    });

    it('lets the app walk back hour by hour: a missing hour is a 404 it can read, the one before is there', async () => {
      const missing = await appFetch('/data/hourly/2026/03/14/16.json');
      expect(missing.status).toBe(404);
      expect(missing.headers.get('access-control-allow-origin')).toBe('*');
      await expectAppOk('/data/hourly/2026/03/14/15.json');
    });

    it.runIf(existsSync(FRONTEND_GIT))("runs the app's own health check (js/api-health.js) against this server", async () => {
      // The app's source, unmodified, run with its clock at 20:35 UTC on 15 March 2026 and fetch pointed here.
      const source = execFileSync('git', [`--git-dir=${FRONTEND_GIT}`, 'show', 'HEAD:js/api-health.js'], { encoding: 'utf8' });
      const hourFile = join(root, 'hourly', '2026', '03', '15', '20.json');
      await mkdir(join(root, 'hourly', '2026', '03', '15'), { recursive: true });
      await writeFile(hourFile, JSON.stringify([{ spot: 80.6, metal: 'Silver', source: 'hourly', provider: 'StakTrakr', timestamp: '2026-03-15 20:30:00' }]));
      const now = Date.parse('2026-03-15T20:35:00Z');
      class AppDate extends Date {
        constructor(...args: [] | [string | number | Date]) {
          if (args.length) super(args[0]);
          else super(now);
        }
        static override now() {
          return now;
        }
      }
      const seen: Array<{ url: string; status: number; cors: string | null }> = [];
      const context = vm.createContext({
        Date: AppDate,
        AbortController,
        setTimeout,
        clearTimeout,
        console: { debug: () => undefined, log: () => undefined, warn: () => undefined },
        RETAIL_API_ENDPOINTS: [`${base}/data/api`],
        fetch: async (url: string, init: RequestInit) => {
          const r = await fetch(url, { ...init, mode: 'cors', headers: { Origin: ORIGIN } });
          seen.push({ url, status: r.status, cors: r.headers.get('access-control-allow-origin') });
          return r;
        },
      });
      const fetchApiHealth = vm.runInContext(`${source}\n;fetchApiHealth`, context) as () => Promise<{ primary: Record<string, { ok: boolean; error: unknown; coins?: unknown[] }> }>;
      const health = await fetchApiHealth();
      expect(health.primary.market).toMatchObject({ ok: true, error: null });
      expect(health.primary.market.coins!.length).toBeGreaterThan(0);
      expect(health.primary.spot).toMatchObject({ ok: true, error: null });
      expect(health.primary.goldback).toMatchObject({ ok: true, error: null });
      expect(seen.map((s) => new URL(s.url).pathname).sort()).toEqual(['/data/api/goldback-spot.json', '/data/api/manifest.json', '/data/hourly/2026/03/15/20.json']);
      for (const s of seen) {
        expect(new URL(s.url).searchParams.get('_t')).toBe(String(now));
        expect(s.cors).toBe('*');
      }
    });
  });
});
