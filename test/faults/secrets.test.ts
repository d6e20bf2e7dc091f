/**
 * Planted secrets (lesson 12: tokens in remote URLs and logs). The whole system runs once with a distinctive value in
 * every secret variable: TURSO_AUTH_TOKEN (sqld's), GITHUB_TOKEN (the git server's), METAL_PRICE_API_KEY (used for
 * real: SPOT_FEED=api against a local MetalPriceAPI that accepts only that key), ADMIN_USER/ADMIN_PASSWORD and
 * ADMIN_TOKEN (the admin pages), GEMINI_API_KEY (planted: no role reads it yet). Within ~30 s of work it goes through a
 * wrong-token moment: api3 restarted with a wrong TURSO_AUTH_TOKEN and a wrong GITHUB_TOKEN (401 from sqld and from
 * the git server), then with the right ones, and wrong admin credentials sent to /metrics.
 *
 * Then every output is searched for every secret, right or wrong, raw, URL-encoded, in base64 (standard and URL-safe,
 * at the three byte alignments, so a secret inside a longer encoded text is found too) and, for the git tokens, as
 * `x-access-token:<token>` and its base64 (the basic-auth header): each process's output, every file under the
 * system's folder (logs, work dirs, recovery logs, publish dirs, git caches with their .git/config, Redis AOF, sqld
 * data), every object of every git repository there (the remote and the caches, `git cat-file --batch-all-objects`),
 * the bodies of /healthz, /status, /, /metrics and Bull Board's queue API of each poller (with the admin
 * credentials), and every key and value of each poller's Redis. Zero occurrences, each found one listed by where.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createClient } from '@libsql/client';
import { startFakeMetalPriceApi, type FakeMetalPriceApiHandle } from '../../src/fleet/metal-price-api.js';
import { POLLERS, fromCount, headOf, nextDue, recordResult, settleAndCount, startSystem, until, waitFlowing, waitUntil, type Proc, type System, foreignToken } from './harness.js';

const FAULT = 'planted secrets: none in any output';
const hex = (n: number) => randomBytes(n).toString('hex');

// ---------------------------------------------------------------------------------------------------------------
// What is searched for

interface Needle {
  secret: string;
  form: string;
  bytes: Buffer;
}

/**
 * Base64 of `value` wherever it sits in a longer encoded text: for each of the three byte alignments, the characters
 * that only the value's own bits determine (standard and URL-safe alphabets).
 */
function base64Forms(value: string): string[] {
  const raw = Buffer.from(value, 'utf8');
  const out = new Set<string>();
  for (let shift = 0; shift < 3; shift++) {
    const enc = Buffer.concat([Buffer.alloc(shift), raw]).toString('base64');
    const part = enc.slice(Math.ceil((shift * 8) / 6), Math.floor(((shift + raw.length) * 8) / 6));
    out.add(part);
    out.add(part.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...out];
}

function needlesFor(name: string, value: string, options: { gitToken?: boolean } = {}): Needle[] {
  const forms: Array<[string, string]> = [['raw', value]];
  if (encodeURIComponent(value) !== value) forms.push(['url-encoded', encodeURIComponent(value)]);
  for (const b of base64Forms(value)) forms.push(['base64', b]);
  if (options.gitToken) {
    const basic = `x-access-token:${value}`;
    forms.push(['x-access-token', basic], ['x-access-token base64', Buffer.from(basic).toString('base64')]);
    for (const b of base64Forms(basic)) forms.push(['x-access-token base64', b]);
  }
  return forms.map(([form, text]) => ({ secret: name, form, bytes: Buffer.from(text, 'utf8') }));
}

/** Where each needle occurs in `content`, as `where: SECRET (form)`. */
function search(where: string, content: Buffer | string, needles: Needle[], found: string[]): void {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const hits = new Set<string>();
  for (const n of needles) if (buf.includes(n.bytes)) hits.add(`${n.secret} (${n.form})`);
  for (const h of hits) found.push(`${where}: ${h}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Where

/** Every regular file under `dir` (links not followed). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every git directory under `dir`: a folder with HEAD and objects/ (bare repositories and the .git of clones). */
function gitDirsUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const names = new Set(readdirSync(d));
    if (names.has('HEAD') && names.has('objects') && statSync(join(d, 'objects')).isDirectory()) out.push(d);
    for (const n of names) {
      const p = join(d, n);
      if (n !== 'objects' && statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}

/** Every key of a Redis and its value, whatever the type, as bytes. */
async function redisDump(sys: System, id: (typeof POLLERS)[number]): Promise<{ keys: number; bytes: Buffer }> {
  const r = sys.redisConnection(id);
  try {
    const parts: Buffer[] = [];
    let keys = 0;
    let cursor = '0';
    do {
      const [next, batch] = await r.scanBuffer(cursor, 'COUNT', 500);
      cursor = String(next);
      for (const key of batch) {
        keys++;
        parts.push(key);
        const type = await r.type(key);
        if (type === 'string') parts.push((await r.getBuffer(key)) ?? Buffer.alloc(0));
        else if (type === 'hash') parts.push(...(await r.hgetallBuffer(key).then((h) => Object.entries(h).flatMap(([k, v]) => [Buffer.from(k), v]))));
        else if (type === 'list') parts.push(...(await r.lrangeBuffer(key, 0, -1)));
        else if (type === 'set') parts.push(...(await r.smembersBuffer(key)));
        else if (type === 'zset') parts.push(...(await r.zrangeBuffer(key, 0, -1, 'WITHSCORES')));
        else if (type === 'stream') for (const [entryId, fields] of await r.xrangeBuffer(key, '-', '+')) parts.push(entryId, ...fields);
        else if (type !== 'none') throw new Error(`Redis key ${key.toString()} of type ${type}: not searched`);
        parts.push(Buffer.from('\n'));
      }
    } while (cursor !== '0');
    return { keys, bytes: Buffer.concat(parts) };
  } finally {
    r.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe('planted secrets never reach an output', () => {
  const planted = {
    METAL_PRICE_API_KEY: `mpk${hex(16)}`,
    ADMIN_USER: 'operator',
    // Characters that URL-encoding changes, as real passwords have.
    ADMIN_PASSWORD: `Pl@nted/pw+${hex(10)}=`,
    ADMIN_TOKEN: `adm_planted_${hex(16)}`,
    GEMINI_API_KEY: `AIzaPlanted${hex(14)}`,
  };
  const wrong = { TURSO_AUTH_TOKEN: foreignToken({ planted: hex(8) }), GITHUB_TOKEN: `ghs_Wrong${hex(14)}`, ADMIN_PASSWORD: `Wr0ng/pw+${hex(10)}`, ADMIN_TOKEN: `adm_wrong_${hex(16)}` };
  let sys: System;
  let spot: FakeMetalPriceApiHandle;
  const stopped: Proc[] = [];
  beforeAll(async () => {
    spot = await startFakeMetalPriceApi({ apiKey: planted.METAL_PRICE_API_KEY, seed: 7 });
    sys = await startSystem({ label: 'secrets', env: { ...planted, SPOT_FEED: 'api', METAL_PRICE_API_URL: spot.url } });
  });
  afterAll(async () => {
    await sys?.stop();
    await spot?.close();
  });

  it('the base64 search finds a secret inside a longer encoded text, at every alignment', () => {
    const secret = `ghs_${hex(18)}`;
    const needles = needlesFor('T', secret, { gitToken: true });
    for (const prefix of ['', 'a', 'ab', 'abc']) {
      for (const text of [`${prefix}${secret}!`, `${prefix}x-access-token:${secret}`]) {
        const found: string[] = [];
        for (const enc of ['base64', 'base64url'] as const) search(enc, Buffer.from(text).toString(enc), needles, found);
        expect(found.length, `${text} in base64 and base64url`).toBeGreaterThanOrEqual(2);
      }
    }
    const found: string[] = [];
    search('clean', `${Buffer.from(`x-access-token:${secret.slice(0, -1)}`).toString('base64')} ${secret.slice(1)}`, needles, found);
    expect(found).toEqual([]);
  });

  it('no secret, right or wrong, in logs, files, git objects, API bodies or Redis, through a wrong-token moment', async ({ task }) => {
    const from = sys.readyAt;
    // The wrong-token moment: api3 with a wrong database token and a wrong git token, over one of its due times.
    expect(await sys.stopPoller('api3')).toBe(0);
    stopped.push(sys.hosts.api3.proc!);
    const wrongProc = await sys.startPoller('api3', { TURSO_AUTH_TOKEN: wrong.TURSO_AUTH_TOKEN, GITHUB_TOKEN: wrong.GITHUB_TOKEN });
    const { due } = nextDue(sys, 'api3', Date.now(), 1000);
    await wrongProc.waitFor(/401/, 20_000);
    const api = `http://127.0.0.1:${sys.hosts.api1.apiPort}`;
    const refused = await Promise.all([
      fetch(`${api}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`${planted.ADMIN_USER}:${wrong.ADMIN_PASSWORD}`).toString('base64')}` } }),
      fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${wrong.ADMIN_TOKEN}` } }),
    ]);
    expect(refused.map((r) => r.status)).toEqual([401, 401]);
    // What api3's API says meanwhile (its /healthz names the refused token).
    const wrongBodies: Array<[string, Buffer]> = [];
    for (const path of ['/healthz', '/status']) {
      const res = await fetch(`http://127.0.0.1:${sys.hosts.api3.apiPort}${path}`, { signal: AbortSignal.timeout(10_000) });
      wrongBodies.push([`api3 (wrong tokens) GET ${path}`, Buffer.from(await res.arrayBuffer())]);
    }
    await until(due + 3000);
    // The wrong git token was sent (and refused) for real.
    const wrongBasic = `Basic ${Buffer.from(`x-access-token:${wrong.GITHUB_TOKEN}`).toString('base64')}`;
    expect(sys.gitServer.requests.some((r) => r.authorization === wrongBasic), 'a git request with the wrong GITHUB_TOKEN').toBe(true);
    expect(await sys.stopPoller('api3')).toBe(0);
    stopped.push(wrongProc);
    await sys.startPoller('api3');
    await waitFlowing(sys, 40_000);
    await waitUntil('main published', () => headOf(sys, 'main') !== null, 40_000);
    const count = await settleAndCount(sys, { from, to: Date.now() - 2000, pollers: POLLERS }, 20_000);

    // The spot feed used the planted key for real (the fake refuses any other).
    const db = createClient({ url: sys.database.url, authToken: sys.database.authToken });
    const spotRows = Number((await db.execute('SELECT count(*) AS n FROM spot_prices')).rows[0].n);
    db.close();
    expect(spot.requests().length).toBeGreaterThan(0);
    expect(spotRows, 'spot rows written with the planted METAL_PRICE_API_KEY').toBeGreaterThan(0);

    const needles = [
      ...needlesFor('TURSO_AUTH_TOKEN', sys.database.authToken!),
      ...needlesFor('GITHUB_TOKEN', sys.githubToken, { gitToken: true }),
      ...needlesFor('METAL_PRICE_API_KEY', planted.METAL_PRICE_API_KEY),
      ...needlesFor('ADMIN_PASSWORD', planted.ADMIN_PASSWORD),
      ...needlesFor('ADMIN_TOKEN', planted.ADMIN_TOKEN),
      ...needlesFor('GEMINI_API_KEY', planted.GEMINI_API_KEY),
      ...needlesFor('wrong TURSO_AUTH_TOKEN', wrong.TURSO_AUTH_TOKEN),
      ...needlesFor('wrong GITHUB_TOKEN', wrong.GITHUB_TOKEN, { gitToken: true }),
      ...needlesFor('wrong ADMIN_PASSWORD', wrong.ADMIN_PASSWORD),
      ...needlesFor('wrong ADMIN_TOKEN', wrong.ADMIN_TOKEN),
    ];
    const basicAdmin = Buffer.from(`${planted.ADMIN_USER}:${planted.ADMIN_PASSWORD}`).toString('base64');
    needles.push({ secret: 'ADMIN_PASSWORD', form: 'basic-auth base64', bytes: Buffer.from(basicAdmin) });
    const found: string[] = [];
    const searched = { outputBytes: 0, files: 0, fileBytes: 0, gitObjects: 0, bodies: 0, redisKeys: 0 };

    // The API of each poller, with the admin credentials where they are asked for.
    const admin = { authorization: `Basic ${basicAdmin}` };
    for (const id of POLLERS) {
      const base = `http://127.0.0.1:${sys.hosts[id].apiPort}`;
      for (const [path, headers] of [
        ['/healthz', {}],
        ['/status', {}],
        ['/', {}],
        ['/metrics', admin],
        ['/admin/queues/api/queues', { authorization: `Bearer ${planted.ADMIN_TOKEN}` }],
      ] as const) {
        const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
        const body = Buffer.from(await res.arrayBuffer());
        expect(res.status, `${id} ${path}`).toBeLessThan(path === '/healthz' ? 600 : 400);
        expect(body.length, `${id} ${path} body`).toBeGreaterThan(0);
        searched.bodies++;
        search(`${id} GET ${path}`, Buffer.concat([Buffer.from(JSON.stringify([...res.headers])), body]), needles, found);
      }
    }
    for (const [where, body] of wrongBodies) {
      searched.bodies++;
      search(where, body, needles, found);
    }
    // Each process's output (the replaced api3 processes included).
    for (const p of [...POLLERS.map((id) => sys.hosts[id].proc!), ...stopped]) {
      searched.outputBytes += p.output().length;
      search(`output of ${p.name} (pid ${p.pid})`, p.output(), needles, found);
    }
    // Each poller's Redis.
    for (const id of POLLERS) {
      const { keys, bytes } = await redisDump(sys, id);
      searched.redisKeys += keys;
      search(`${id} Redis`, bytes, needles, found);
    }
    // Every file of the system, then every object of every repository (loose objects are compressed).
    for (const file of filesUnder(sys.dir)) {
      const content = readFileSync(file);
      searched.files++;
      searched.fileBytes += content.length;
      search(`file ${relative(sys.dir, file)}`, content, needles, found);
    }
    for (const gitDir of gitDirsUnder(sys.dir)) {
      const objects = execFileSync('git', [`--git-dir=${gitDir}`, 'cat-file', '--batch-all-objects', '--batch'], { maxBuffer: 1 << 30 });
      searched.gitObjects += objects.toString('latin1').match(/^[0-9a-f]{40} (blob|tree|commit|tag) \d+$/gm)?.length ?? 0;
      search(`git objects of ${relative(sys.dir, gitDir)}`, objects, needles, found);
    }

    const note =
      `${Object.keys(planted).length - 1} planted + TURSO_AUTH_TOKEN, GITHUB_TOKEN, 4 wrong values, ${needles.length} forms; searched ` +
      `${Math.round(searched.outputBytes / 1e3)} kB of process output, ${searched.files} files (${(searched.fileBytes / 1e6).toFixed(1)} MB), ` +
      `${searched.gitObjects} git objects, ${searched.bodies} API bodies, ${searched.redisKeys} Redis keys; ${found.length} found`;
    recordResult(task, fromCount(FAULT, count, null, null, 'pass', note));
    expect(searched.gitObjects).toBeGreaterThan(0);
    expect(searched.redisKeys).toBeGreaterThan(0);
    expect(found, 'secrets found').toEqual([]);
    expect(count.lost).toBe(0);
    expect(count.duplicated).toBe(0);
  });
});
