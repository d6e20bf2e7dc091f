/**
 * `poller extract` as a person runs it (the built program, a real process): exactly one JSON object
 * on stdout and exit 0 whatever the page is; only bad arguments or unreadable input are errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { runPoller } from './support/cli.js';
import { tempDir } from './support/temp.js';

const CATALOGUE = 'config/providers.json';
const FIELDS = ['price', 'inStock', 'outcome', 'matchedBy', 'reason'];
const PAGE = readFileSync('test/fixtures/pages/apmex-age-volume-table.html', 'utf8');

/** The one JSON object the command printed; fails when stdout holds anything else. */
function oneObject(out: string): Record<string, unknown> {
  const lines = out.split('\n').filter((l) => l.trim());
  expect(lines, out).toHaveLength(1);
  const parsed = JSON.parse(lines[0]) as Record<string, unknown>;
  expect(Object.keys(parsed).sort()).toEqual([...FIELDS].sort());
  return parsed;
}

describe('poller extract', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dir = await tempDir('extract-cli');
    server = createServer((req, res) => {
      if (req.url === '/age') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      } else if (req.url === '/blocked') {
        res.writeHead(403, { 'content-type': 'text/html' }).end('<html><head><title>Access Denied</title></head><body>Access Denied</body></html>');
      } else {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body><h1>Not Found</h1></body></html>');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await dir.remove();
  });

  const extract = (args: string[]) => runPoller(['extract', '--vendor', 'apmex', '--catalogue', CATALOGUE, ...args], {}, 60_000);

  it('reads a saved dealer page', async () => {
    const file = join(dir.path, 'age.html');
    await writeFile(file, PAGE);
    const { code, out } = await extract(['--coin', 'age', '--file', file]);
    expect(code).toBe(0);
    expect(oneObject(out)).toMatchObject({ price: 5245.6, inStock: true, outcome: 'ok', matchedBy: 'pricing-table' });
  });

  it('prints one object and exits 0 for garbage, empty and 10 MB files', async () => {
    const garbage = join(dir.path, 'garbage.bin');
    await writeFile(garbage, Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919 + (i >> 3)) % 256)));
    const empty = join(dir.path, 'empty.html');
    await writeFile(empty, '');
    const big = join(dir.path, 'big.html');
    const row = '<div class="row"><span>Lorem ipsum dolor sit amet</span> <a href="/x">$12.00 more</a></div>\n';
    await writeFile(big, `<html><body>${row.repeat(Math.ceil((10 * 1024 * 1024) / row.length))}</body></html>`);
    for (const file of [garbage, empty, big]) {
      const { code, out } = await extract(['--coin', 'ase', '--file', file]);
      expect(code, out).toBe(0);
      expect(oneObject(out)).toMatchObject({ price: null, outcome: 'no_price' });
    }
  });

  it('fetches a URL and reports an HTTP 403 as blocked, with exit 0', async () => {
    const ok = await extract(['--coin', 'age', '--url', `${base}/age`]);
    expect(ok.code).toBe(0);
    expect(oneObject(ok.out)).toMatchObject({ price: 5245.6, outcome: 'ok' });
    const blocked = await extract(['--coin', 'age', '--url', `${base}/blocked`]);
    expect(blocked.code).toBe(0);
    expect(oneObject(blocked.out)).toMatchObject({ price: null, outcome: 'blocked', reason: expect.stringMatching(/403/) });
    const missing = await extract(['--coin', 'age', '--url', `${base}/gone`]);
    expect(oneObject(missing.out)).toMatchObject({ outcome: 'not_found' });
  });

  it('takes --metal and --weight for a product outside the catalogue', async () => {
    const file = join(dir.path, 'age2.html');
    await writeFile(file, PAGE);
    const { code, out } = await extract(['--coin', 'anything', '--metal', 'gold', '--weight', '1', '--file', file]);
    expect(code).toBe(0);
    expect(oneObject(out)).toMatchObject({ price: 5245.6 });
  });

  it('refuses bad arguments and unreadable files with a message and exit 2, printing no JSON', async () => {
    const noFile = await extract(['--coin', 'ase', '--file', join(dir.path, 'missing.html')]);
    expect(noFile.code).toBe(2);
    expect(noFile.out).toMatch(/cannot read .*missing\.html: ENOENT/);
    expect(noFile.out).not.toMatch(/"outcome"/);
    const unknownCoin = await extract(['--coin', 'no-such-coin', '--file', join(dir.path, 'missing.html')]);
    expect(unknownCoin.code).toBe(2);
    expect(unknownCoin.out).toMatch(/coin "no-such-coin" is not in/);
    const both = await extract(['--coin', 'ase']);
    expect(both.code).toBe(2);
    expect(both.out).toMatch(/exactly one of --file/);
    const folder = await extract(['--coin', 'ase', '--file', dir.path]);
    expect(folder.code).toBe(2);
    expect(folder.out).toMatch(/is not a file/);
  });
});
