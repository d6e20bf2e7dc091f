import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { forwardRequest } from './support/forward-proxy.js';
import {
  DEFAULT_USER_AGENT,
  FetchError,
  decodeBody,
  fetchPage,
  redactText,
  redactUrl,
  retryAfterMs,
} from '../src/scrape/fetch/http-fetch.js';

// ------------------------------------------------------------------ local vendor server

let origin = '';
let server: http.Server;
const seenUserAgents: string[] = [];

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = req.url ?? '/';
  if (path === '/ok') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'x-test': 'yes' });
    res.end('<html><body><h1>Silver Eagle – 1 oz</h1><span>$92.30</span></body></html>');
  } else if (path === '/ua') {
    seenUserAgents.push(String(req.headers['user-agent']));
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`ua=${req.headers['user-agent']}`);
  } else if (path === '/relative') {
    res.writeHead(302, { location: '../ok' });
    res.end();
  } else if (path === '/absolute') {
    res.writeHead(301, { location: `${origin}/relative` });
    res.end('moved');
  } else if (path.startsWith('/chain/')) {
    const n = Number(path.slice('/chain/'.length));
    if (n <= 0) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('end of chain');
    } else {
      res.writeHead(307, { location: `/chain/${n - 1}` });
      res.end();
    }
  } else if (path === '/to-file') {
    res.writeHead(302, { location: 'file:///etc/passwd' });
    res.end();
  } else if (path === '/to-javascript') {
    res.writeHead(302, { location: 'javascript:alert(1)' });
    res.end();
  } else if (path === '/slow-headers') {
    setTimeout(() => {
      if (!res.destroyed) res.end('late');
    }, 3000).unref();
  } else if (path === '/slow-body') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.write('<html>');
    setTimeout(() => {
      if (!res.destroyed) res.end('</html>');
    }, 3000).unref();
  } else if (path === '/big') {
    // 2 MiB without Content-Length (chunked), so the cap is hit while reading.
    res.writeHead(200, { 'content-type': 'text/html' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let sent = 0;
    const pump = () => {
      while (sent < 32) {
        sent++;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  } else if (path === '/big-declared') {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': String(10 * 1024 * 1024) });
    res.write('x'.repeat(1000));
    setTimeout(() => res.destroy(), 50).unref();
  } else if (path === '/truncated') {
    res.writeHead(200, { 'content-type': 'text/html', 'content-length': '5000' });
    res.write('<html><body>only part of the page');
    setTimeout(() => res.socket?.destroy(), 50).unref();
  } else if (path === '/missing') {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<h1>Page not found</h1>');
  } else if (path === '/limited') {
    res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': '120' });
    res.end('slow down');
  } else if (path === '/latin1') {
    res.writeHead(200, { 'content-type': 'text/html; charset=ISO-8859-1' });
    res.end(Buffer.from('<p>Caf\u00e9 \u00a9 \u00bd oz</p>', 'latin1'));
  } else if (path === '/utf8-default') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(Buffer.from('<p>Caf\u00e9 \u2013 \u00bd oz</p>', 'utf8'));
  } else {
    res.writeHead(404);
    res.end('no route');
  }
}

// ------------------------------------------------------------------ local forward proxy

const PROXY_USER = 'fleetuser';
const PROXY_PASS = 's3cr3t-Pa55word';
let proxyPort = 0;
let proxyServer: http.Server;
const proxyLog: { method: string; target: string; authorised: boolean }[] = [];
const openSockets = new Set<net.Socket>();

function proxyAuthorised(header: string | undefined): boolean {
  return header === `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASS}`).toString('base64')}`;
}

function startProxy(): Promise<void> {
  proxyServer = http.createServer((req, res) => {
    // Plain forward proxying: absolute-URI requests.
    const authorised = proxyAuthorised(req.headers['proxy-authorization']);
    proxyLog.push({ method: req.method ?? '', target: req.url ?? '', authorised });
    if (!authorised) {
      res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' });
      res.end('proxy auth required');
      return;
    }
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400);
      res.end('absolute URI expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    forwardRequest(req, res, { host: target.hostname, port: target.port, path: target.pathname + target.search, headers });
  });
  proxyServer.on('connect', (req: http.IncomingMessage, clientSocket: net.Socket, head: Buffer) => {
    openSockets.add(clientSocket);
    clientSocket.on('close', () => openSockets.delete(clientSocket));
    clientSocket.on('error', () => undefined);
    const authorised = proxyAuthorised(req.headers['proxy-authorization']);
    proxyLog.push({ method: 'CONNECT', target: req.url ?? '', authorised });
    if (!authorised) {
      clientSocket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      clientSocket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(clientSocket);
      clientSocket.pipe(upstream);
    });
    openSockets.add(upstream);
    upstream.on('close', () => openSockets.delete(upstream));
    upstream.on('error', () => clientSocket.destroy());
  });
  return new Promise((resolve) => {
    proxyServer.listen(0, '127.0.0.1', () => {
      proxyPort = (proxyServer.address() as AddressInfo).port;
      resolve();
    });
  });
}

beforeAll(async () => {
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await startProxy();
});

afterAll(async () => {
  for (const s of openSockets) s.destroy();
  server.closeAllConnections();
  proxyServer.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await new Promise<void>((resolve) => proxyServer.close(() => resolve()));
});

async function fetchError(p: Promise<unknown>): Promise<FetchError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(FetchError);
    return err as FetchError;
  }
  throw new Error('expected a FetchError, the fetch succeeded');
}

// ------------------------------------------------------------------ tests

describe('fetchPage', () => {
  it('fetches a page with status, final url, lower-cased headers, body and byte count', async () => {
    const page = await fetchPage(`${origin}/ok`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${origin}/ok`);
    expect(page.headers['x-test']).toBe('yes');
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.body).toContain('Silver Eagle – 1 oz');
    expect(page.bytes).toBe(Buffer.byteLength(page.body, 'utf8'));
  });

  it('sends a desktop Chrome user agent by default and a custom one when asked', async () => {
    const def = await fetchPage(`${origin}/ua`);
    expect(def.body).toBe(`ua=${DEFAULT_USER_AGENT}`);
    expect(DEFAULT_USER_AGENT).toMatch(/Chrome\/\d+/);
    const custom = await fetchPage(`${origin}/ua`, { userAgent: 'StakTrakrTest/1.0' });
    expect(custom.body).toBe('ua=StakTrakrTest/1.0');
    expect(seenUserAgents).toContain('StakTrakrTest/1.0');
  });

  it('follows relative and absolute redirects and reports the final url', async () => {
    const rel = await fetchPage(`${origin}/relative`);
    expect(rel.status).toBe(200);
    expect(rel.url).toBe(`${origin}/ok`);
    const abs = await fetchPage(`${origin}/absolute`);
    expect(abs.url).toBe(`${origin}/ok`);
    expect(abs.body).toContain('$92.30');
  });

  it('counts redirects: a chain of exactly maxRedirects passes, one more fails', async () => {
    const ok = await fetchPage(`${origin}/chain/3`, { maxRedirects: 3 });
    expect(ok.body).toBe('end of chain');
    const err = await fetchError(fetchPage(`${origin}/chain/4`, { maxRedirects: 3 }));
    expect(err.kind).toBe('too_many_redirects');
    expect(err.message).toMatch(/more than 3 redirects/);
    const def = await fetchError(fetchPage(`${origin}/chain/6`));
    expect(def.kind).toBe('too_many_redirects');
  });

  it('refuses redirects to file: and javascript: URLs', async () => {
    const file = await fetchError(fetchPage(`${origin}/to-file`));
    expect(file.kind).toBe('bad_redirect');
    expect(file.message).toContain('file:///etc/passwd');
    const js = await fetchError(fetchPage(`${origin}/to-javascript`));
    expect(js.kind).toBe('bad_redirect');
  });

  it('refuses non-http start URLs', async () => {
    const err = await fetchError(fetchPage('ftp://example.com/x'));
    expect(err.kind).toBe('bad_url');
  });

  it('times out on a server that never sends headers', async () => {
    const started = Date.now();
    const err = await fetchError(fetchPage(`${origin}/slow-headers`, { timeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/300 ms/);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('times out on a body that stalls (the deadline covers the body)', async () => {
    const err = await fetchError(fetchPage(`${origin}/slow-body`, { timeoutMs: 300 }));
    expect(err.kind).toBe('timeout');
    expect(err.message).toMatch(/while reading the body/);
  });

  it('stops reading beyond maxBytes', async () => {
    const err = await fetchError(fetchPage(`${origin}/big`, { maxBytes: 256 * 1024 }));
    expect(err.kind).toBe('too_large');
    expect(err.message).toMatch(/262144-byte cap/);
    const page = await fetchPage(`${origin}/big`);
    expect(page.bytes).toBe(2 * 1024 * 1024);
  });

  it('refuses a body whose Content-Length is already beyond maxBytes', async () => {
    const err = await fetchError(fetchPage(`${origin}/big-declared`, { maxBytes: 1024 * 1024 }));
    expect(err.kind).toBe('too_large');
  });

  it('reports a body cut short of its Content-Length as truncated', async () => {
    const err = await fetchError(fetchPage(`${origin}/truncated`));
    expect(err.kind).toBe('truncated');
    expect(err.message).toMatch(/of 5000 bytes/);
  });

  it('returns 404 and 429 responses instead of throwing', async () => {
    const missing = await fetchPage(`${origin}/missing`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain('Page not found');
    const limited = await fetchPage(`${origin}/limited`);
    expect(limited.status).toBe(429);
    expect(retryAfterMs(limited.headers)).toBe(120_000);
  });

  it('decodes latin1 when the Content-Type says so, UTF-8 otherwise', async () => {
    const latin = await fetchPage(`${origin}/latin1`);
    expect(latin.body).toBe('<p>Caf\u00e9 \u00a9 \u00bd oz</p>');
    const utf = await fetchPage(`${origin}/utf8-default`);
    expect(utf.body).toBe('<p>Caf\u00e9 \u2013 \u00bd oz</p>');
    expect(decodeBody(Buffer.from('<meta charset="iso-8859-1"><p>\u00e9</p>', 'latin1'), 'text/html')).toContain('\u00e9');
  });

  it('fails with a network error on a refused connection', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await fetchError(fetchPage(`http://127.0.0.1:${port}/`, { timeoutMs: 3000 }));
    expect(err.kind).toBe('network');
    expect(err.message).toMatch(/refused/);
  });
});

describe('fetchPage through a forward proxy', () => {
  const proxyUrl = () => `http://${PROXY_USER}:${encodeURIComponent(PROXY_PASS)}@127.0.0.1:${proxyPort}`;

  it('tunnels through the proxy with CONNECT and credentials', async () => {
    proxyLog.length = 0;
    const page = await fetchPage(`${origin}/ok`, { proxyUrl: proxyUrl() });
    expect(page.status).toBe(200);
    expect(page.body).toContain('$92.30');
    const host = origin.replace('http://', '');
    expect(proxyLog).toContainEqual({ method: 'CONNECT', target: host, authorised: true });
    expect(JSON.stringify(page)).not.toContain(PROXY_PASS);
  });

  it('sends absolute-URI requests when tunnelling is off', async () => {
    proxyLog.length = 0;
    const page = await fetchPage(`${origin}/relative`, { proxyUrl: proxyUrl(), proxyTunnel: false });
    expect(page.url).toBe(`${origin}/ok`);
    expect(proxyLog.map((e) => `${e.method} ${e.target} ${e.authorised}`)).toEqual([
      `GET ${origin}/relative true`,
      `GET ${origin}/ok true`,
    ]);
  });

  it('fails with kind proxy and no password in the message on wrong credentials', async () => {
    const wrong = 'Wr0ng-Secret-Pw';
    const bad = `http://${PROXY_USER}:${wrong}@127.0.0.1:${proxyPort}`;
    for (const proxyTunnel of [true, false]) {
      proxyLog.length = 0;
      const err = await fetchError(fetchPage(`${origin}/ok`, { proxyUrl: bad, proxyTunnel, timeoutMs: 5000 }));
      expect(err.kind).toBe('proxy');
      expect(err.message).toMatch(/407|credentials/);
      for (const text of [err.message, err.stack ?? '', err.url, JSON.stringify(err)]) {
        expect(text).not.toContain(wrong);
        expect(text).not.toContain(Buffer.from(`${PROXY_USER}:${wrong}`).toString('base64'));
      }
      expect(proxyLog.length).toBeGreaterThan(0);
      expect(proxyLog.every((e) => !e.authorised)).toBe(true);
    }
  });

  it('fails with kind proxy when the proxy is not reachable, without leaking the password', async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await fetchError(fetchPage(`${origin}/ok`, { proxyUrl: `http://u:${PROXY_PASS}@127.0.0.1:${port}`, timeoutMs: 3000 }));
    expect(err.kind).toBe('proxy');
    expect(err.message).not.toContain(PROXY_PASS);
    expect(err.message).toContain('***');
  });

  it('refuses a proxy setting that is not an http(s) URL, without echoing it', async () => {
    const err = await fetchError(fetchPage(`${origin}/ok`, { proxyUrl: `socks5://u:${PROXY_PASS}@127.0.0.1:1080` }));
    expect(err.kind).toBe('proxy');
    expect(err.message).not.toContain(PROXY_PASS);
  });
});

describe('redactUrl / redactText', () => {
  it('hides user name and password of a URL', () => {
    expect(redactUrl('http://user:pa55@proxy.example:8080/')).toBe('http://***:***@proxy.example:8080/');
    expect(redactUrl('http://user@proxy.example:8080')).toBe('http://***@proxy.example:8080/');
    expect(redactUrl('https://www.apmex.com/product/1')).toBe('https://www.apmex.com/product/1');
  });

  it('hides credentials in text that is not a valid URL', () => {
    const out = redactUrl('http://user:p@ss w0rd@proxy:99999');
    expect(out).not.toContain('p@ss');
    expect(out).not.toContain('user');
  });

  it('removes named secrets and URL credentials from free text', () => {
    const text = 'connect http://bob:hunter22@10.0.0.1:3128 failed; pass hunter22 Ym9iOmh1bnRlcjIy';
    const out = redactText(text, ['hunter22', 'Ym9iOmh1bnRlcjIy']);
    expect(out).not.toContain('hunter22');
    expect(out).not.toContain('Ym9iOmh1bnRlcjIy');
    expect(out).toContain('10.0.0.1:3128');
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');
  it('reads delay-seconds', () => {
    expect(retryAfterMs({ 'retry-after': '30' }, now)).toBe(30_000);
    expect(retryAfterMs({ 'Retry-After': ' 0 ' }, now)).toBe(0);
  });
  it('reads HTTP dates relative to now, never negative', () => {
    expect(retryAfterMs({ 'retry-after': 'Sun, 01 Mar 2026 12:01:30 GMT' }, now)).toBe(90_000);
    expect(retryAfterMs({ 'retry-after': 'Sun, 01 Mar 2026 11:00:00 GMT' }, new Date(now))).toBe(0);
  });
  it('gives null for absent or unreadable values', () => {
    expect(retryAfterMs({}, now)).toBeNull();
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeNull();
    expect(retryAfterMs({ 'retry-after': '-5' }, now)).toBeNull();
    expect(retryAfterMs(undefined, now)).toBeNull();
  });
});
