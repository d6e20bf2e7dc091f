import { Agent, ProxyAgent, fetch, type Dispatcher } from 'undici';
import { FetchError, redactText, redactUrl, type FetchErrorKind } from './fetch-error.js';

export { FetchError, redactUrl, redactText, isFetchError, type FetchErrorKind } from './fetch-error.js';

/** A current desktop Chrome on Windows, the most common browser dealers see. */
export const DEFAULT_USER_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/144.0.0.0 Safari/537.36';
/** Whole fetch (connect + headers + body, all redirects included): 20 s. */
export const DEFAULT_TIMEOUT_MS = 20_000;
/** Largest body read: 5 MiB. */
export const DEFAULT_MAX_BYTES = 5 * 1024 * 1024;
export const DEFAULT_MAX_REDIRECTS = 5;

export interface HttpFetchOptions {
  /**
   * Per-vendor HTTP(S) forward proxy, e.g. `http://user:pass@proxy.example:8080`. Credentials are
   * sent as `Proxy-Authorization: Basic` and never appear in errors or returned values.
   * Default: no proxy (direct connection).
   */
  proxyUrl?: string;
  /**
   * Tunnel plain-http targets through the proxy with CONNECT (true) or send them as absolute-URI
   * requests (false). https targets always use CONNECT. Default true.
   */
  proxyTunnel?: boolean;
  /** User-Agent header. Default {@link DEFAULT_USER_AGENT}. */
  userAgent?: string;
  /** Deadline for the whole fetch, redirects and body included. Default 20000 ms. */
  timeoutMs?: number;
  /** Body size cap in bytes (decoded); reading stops and the fetch fails beyond it. Default 5 MiB. */
  maxBytes?: number;
  /** Redirects followed before failing with `too_many_redirects`. Default 5. */
  maxRedirects?: number;
  /** Extra request headers; they override the defaults (Accept, Accept-Language). */
  headers?: Record<string, string>;
}

export interface FetchedPage {
  /** HTTP status of the final response. Non-2xx statuses are returned, not thrown. */
  status: number;
  /** Final URL after redirects. */
  url: string;
  /** Response headers of the final response, names lower-cased. */
  headers: Record<string, string>;
  /** Body decoded as UTF-8, or as Latin-1 (windows-1252) when the page declares it. */
  body: string;
  /** Body size in bytes as received (after content decoding). */
  bytes: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

interface ProxyInfo {
  /** The proxy URL with credentials replaced, for messages. */
  display: string;
  host: string;
  port: number;
  secrets: string[];
}

/**
 * GETs a page, following up to `maxRedirects` http(s) redirects by hand.
 * Resolves with any HTTP status (404, 403, 429 ... are for the caller to judge);
 * rejects only with a {@link FetchError} whose `kind` says what went wrong.
 */
export async function fetchPage(url: string, options: HttpFetchOptions = {}): Promise<FetchedPage> {
  const timeoutMs = positive(options.timeoutMs, DEFAULT_TIMEOUT_MS);
  const maxBytes = positive(options.maxBytes, DEFAULT_MAX_BYTES);
  const maxRedirects = options.maxRedirects !== undefined && options.maxRedirects >= 0 ? Math.floor(options.maxRedirects) : DEFAULT_MAX_REDIRECTS;

  let current = parseHttpUrl(url);
  if (!current) {
    throw new FetchError('bad_url', `cannot fetch ${JSON.stringify(redactUrl(String(url)).slice(0, 200))}: only absolute http: and https: URLs are fetched`, redactUrl(String(url)));
  }

  const proxy = options.proxyUrl ? parseProxy(options.proxyUrl, current.href) : null;
  const secrets = proxy?.secrets ?? [];
  const clean = (text: string) => redactText(text, secrets);

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);

  const dispatcherOptions = {
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 1_000,
  };
  let dispatcher: Dispatcher;
  try {
    dispatcher = proxy
      ? new ProxyAgent({ uri: options.proxyUrl as string, proxyTunnel: options.proxyTunnel ?? true, ...dispatcherOptions })
      : new Agent(dispatcherOptions);
  } catch (err) {
    clearTimeout(timer);
    throw new FetchError('proxy', clean(`proxy ${proxy?.display ?? '(unset)'} cannot be used: ${describe(err)}`), current.href);
  }

  const baseHeaders: Record<string, string> = {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
    ...lowerKeys(options.headers ?? {}),
    'user-agent': options.userAgent || DEFAULT_USER_AGENT,
  };

  const startedAt = Date.now();
  let redirects = 0;
  let headers = { ...baseHeaders };
  try {
    for (;;) {
      let res: Awaited<ReturnType<typeof fetch>>;
      try {
        res = await fetch(current.href, {
          method: 'GET',
          redirect: 'manual',
          headers,
          signal: controller.signal,
          dispatcher,
        });
      } catch (err) {
        throw classify(err, { phase: 'request', url: current.href, timedOut, timeoutMs, proxy, clean, startedAt });
      }

      const location = res.headers.get('location');
      if (REDIRECT_STATUSES.has(res.status) && location) {
        await res.body?.cancel().catch(() => undefined);
        redirects += 1;
        if (redirects > maxRedirects) {
          throw new FetchError(
            'too_many_redirects',
            clean(`more than ${maxRedirects} redirects starting at ${redactUrl(url)}; last hop ${current.href} -> ${truncate(location)}`),
            current.href,
          );
        }
        let next: URL;
        try {
          next = new URL(location, current);
        } catch {
          throw new FetchError('bad_redirect', clean(`${current.href} redirects to an unparseable location ${JSON.stringify(truncate(location))}`), current.href);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          throw new FetchError(
            'bad_redirect',
            clean(`${current.href} redirects to ${truncate(redactUrl(next.href))}; only http: and https: redirects are followed`),
            current.href,
          );
        }
        if (next.origin !== current.origin) {
          // Like browsers: credentials meant for one site do not travel to another.
          headers = { ...headers };
          delete headers.authorization;
          delete headers.cookie;
        }
        next.hash = '';
        current = next;
        continue;
      }

      const headerRecord: Record<string, string> = {};
      res.headers.forEach((value, name) => {
        headerRecord[name.toLowerCase()] = value;
      });

      const declared = Number(res.headers.get('content-length'));
      const encoded = !!res.headers.get('content-encoding') && res.headers.get('content-encoding') !== 'identity';
      if (!encoded && Number.isFinite(declared) && declared > maxBytes) {
        await res.body?.cancel().catch(() => undefined);
        throw new FetchError('too_large', `${current.href} announces ${declared} bytes, more than the ${maxBytes}-byte cap (maxBytes)`, current.href);
      }

      const chunks: Uint8Array[] = [];
      let bytes = 0;
      if (res.body) {
        const reader = res.body.getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            bytes += value.byteLength;
            if (bytes > maxBytes) {
              await reader.cancel().catch(() => undefined);
              throw new FetchError('too_large', `${current.href} sent more than the ${maxBytes}-byte cap (maxBytes); reading stopped`, current.href);
            }
            chunks.push(value);
          }
        } catch (err) {
          if (err instanceof FetchError) throw err;
          throw classify(err, {
            phase: 'body',
            url: current.href,
            timedOut,
            timeoutMs,
            proxy,
            clean,
            startedAt,
            received: bytes,
            declared: !encoded && Number.isFinite(declared) ? declared : undefined,
          });
        }
      }
      if (!encoded && Number.isFinite(declared) && res.headers.get('content-length') !== null && bytes < declared) {
        throw new FetchError('truncated', `${current.href}: connection closed after ${bytes} of ${declared} bytes (Content-Length)`, current.href);
      }

      const buffer = Buffer.concat(chunks, bytes);
      const body = decodeBody(buffer, res.headers.get('content-type'));
      return { status: res.status, url: current.href, headers: headerRecord, body, bytes };
    }
  } finally {
    clearTimeout(timer);
    await dispatcher.destroy().catch(() => undefined);
  }
}

/**
 * Milliseconds to wait from a `Retry-After` header (delay-seconds or an HTTP date), or null when the
 * header is absent or unreadable. A date in the past gives 0.
 */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined> | Headers | undefined | null,
  now: number | Date = Date.now(),
): number | null {
  if (!headers) return null;
  let raw: string | string[] | undefined | null;
  if (typeof (headers as Headers).get === 'function') {
    raw = (headers as Headers).get('retry-after');
  } else {
    for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
      if (name.toLowerCase() === 'retry-after') raw = value;
    }
  }
  if (Array.isArray(raw)) raw = raw[0];
  if (typeof raw !== 'string') return null;
  const value = raw.trim();
  if (value === '') return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  if (/^\d+\.\d+$/.test(value)) return Math.round(Number(value) * 1000);
  // HTTP dates (IMF-fixdate, RFC 850, asctime) all carry letters; refuse bare numbers like "-5".
  if (!/[a-z]/i.test(value)) return null;
  const at = Date.parse(value);
  if (!Number.isFinite(at)) return null;
  const nowMs = typeof now === 'number' ? now : now.getTime();
  return Math.max(0, at - nowMs);
}

// ---------------------------------------------------------------------------------------------

function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** An http(s) URL without its fragment, or null for anything else (`file:`, garbage). */
export function parseHttpUrl(url: string): URL | null {
  if (typeof url !== 'string') return null;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    u.hash = '';
    return u;
  } catch {
    return null;
  }
}

function parseProxy(proxyUrl: string, target: string): ProxyInfo {
  let u: URL;
  try {
    u = new URL(proxyUrl);
  } catch {
    throw new FetchError('proxy', `proxy setting ${JSON.stringify(redactText(proxyUrl).slice(0, 100))} is not a URL (expected http://user:pass@host:port)`, target);
  }
  const secrets: string[] = [];
  if (u.password) secrets.push(u.password);
  if (u.username) secrets.push(u.username);
  if (u.username || u.password) {
    let user = u.username;
    let pass = u.password;
    try {
      user = decodeURIComponent(user);
      pass = decodeURIComponent(pass);
    } catch {
      /* keep raw */
    }
    secrets.push(Buffer.from(`${user}:${pass}`).toString('base64'));
  }
  const display = redactUrl(proxyUrl);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new FetchError('proxy', `proxy ${display} uses ${u.protocol}; only http: and https: proxies are supported`, target);
  }
  return {
    display,
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80,
    secrets,
  };
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}

function truncate(s: string, n = 200): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

interface ClassifyContext {
  phase: 'request' | 'body';
  url: string;
  timedOut: boolean;
  timeoutMs: number;
  proxy: ProxyInfo | null;
  clean: (s: string) => string;
  startedAt: number;
  received?: number;
  declared?: number;
}

/** Walks `err.cause` chains (undici wraps the real reason in `TypeError: fetch failed`). */
function causes(err: unknown): any[] {
  const out: any[] = [];
  let e: any = err;
  for (let i = 0; e && i < 8; i++) {
    out.push(e);
    if (e instanceof AggregateError && Array.isArray(e.errors)) out.push(...e.errors);
    e = e.cause;
  }
  return out;
}

function describe(err: unknown): string {
  const list = causes(err);
  const parts: string[] = [];
  for (const e of list) {
    const msg = typeof e?.message === 'string' && e.message ? e.message : String(e);
    const code = typeof e?.code === 'string' ? e.code : '';
    const text = code && !msg.includes(code) ? `${msg} (${code})` : msg;
    if (text && text !== 'fetch failed' && !parts.includes(text)) parts.push(text);
  }
  return parts.join(': ') || 'unknown error';
}

function classify(err: unknown, ctx: ClassifyContext): FetchError {
  if (err instanceof FetchError) return err;
  const list = causes(err);
  const codes = new Set(list.map((e) => (typeof e?.code === 'string' ? e.code : '')).filter(Boolean));
  const messages = list.map((e) => String(e?.message ?? '')).join(' | ');
  const detail = ctx.clean(describe(err));
  const via = ctx.proxy ? ` via proxy ${ctx.proxy.display}` : '';
  const elapsed = Date.now() - ctx.startedAt;

  const abortLike = list.some((e) => e?.name === 'AbortError' || e?.name === 'TimeoutError');
  if (ctx.timedOut || (abortLike && elapsed >= ctx.timeoutMs - 5) || codes.has('UND_ERR_CONNECT_TIMEOUT') || codes.has('UND_ERR_HEADERS_TIMEOUT') || codes.has('UND_ERR_BODY_TIMEOUT')) {
    const where = ctx.phase === 'body' ? `while reading the body (${ctx.received ?? 0} bytes received)` : 'before the response headers arrived';
    return new FetchError('timeout', ctx.clean(`${ctx.url}${via} did not finish within ${ctx.timeoutMs} ms (timeoutMs), ${where}`), ctx.url);
  }

  if (ctx.proxy) {
    const proxyMsg = /proxy/i.test(messages) && !/other side closed/i.test(messages);
    const at407 = /\b407\b/.test(messages);
    const atProxyAddress = list.some(
      (e) => e && typeof e.port === 'number' && e.port === ctx.proxy!.port && typeof e.address === 'string' && sameHost(e.address, ctx.proxy!.host),
    );
    if (ctx.phase === 'request' && (proxyMsg || at407 || atProxyAddress)) {
      const hint = at407
        ? 'the proxy refused the credentials (407 Proxy Authentication Required); check the user name and password of the proxy setting'
        : atProxyAddress
          ? 'the proxy could not be reached; check its host and port and that it is running'
          : 'the proxy refused or failed the request';
      return new FetchError('proxy', ctx.clean(`${ctx.url}${via}: ${hint} (${detail})`), ctx.url);
    }
  }

  if (ctx.phase === 'body') {
    const got = ctx.received ?? 0;
    const of = ctx.declared !== undefined ? ` of ${ctx.declared}` : '';
    return new FetchError(
      'truncated',
      ctx.clean(`${ctx.url}${via}: connection closed after ${got}${of} bytes of the body (${detail}); the server or a middlebox cut the response`),
      ctx.url,
    );
  }

  const hint = codes.has('ENOTFOUND') || codes.has('EAI_AGAIN')
    ? 'the host name does not resolve'
    : codes.has('ECONNREFUSED')
      ? 'the connection was refused'
      : codes.has('ECONNRESET') || codes.has('UND_ERR_SOCKET')
        ? 'the connection was reset or closed before a response'
        : [...codes].some((c) => /CERT|TLS|SSL/.test(c))
          ? 'the TLS handshake failed'
          : 'the request failed';
  return new FetchError('network', ctx.clean(`${ctx.url}${via}: ${hint} (${detail})`), ctx.url);
}

function sameHost(a: string, b: string): boolean {
  const norm = (h: string) => h.replace(/^::ffff:/, '').toLowerCase();
  if (norm(a) === norm(b)) return true;
  const loop = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return loop(norm(a)) && loop(norm(b));
}

const LATIN1_LABELS = new Set(['iso-8859-1', 'iso8859-1', 'latin1', 'latin-1', 'l1', 'windows-1252', 'cp1252', 'us-ascii', 'ascii', 'iso_8859-1']);

/** UTF-8 unless the Content-Type (or, lacking that, an early `<meta charset>`) declares Latin-1. */
export function decodeBody(buffer: Uint8Array, contentType: string | null | undefined): string {
  let charset = /charset\s*=\s*["']?([\w.:-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (!charset) {
    const head = Buffer.from(buffer.subarray(0, 2048)).toString('latin1');
    charset = /<meta[^>]+charset\s*=\s*["']?([\w.:-]+)/i.exec(head)?.[1]?.toLowerCase();
  }
  const label = charset && LATIN1_LABELS.has(charset) ? 'windows-1252' : 'utf-8';
  try {
    return new TextDecoder(label).decode(buffer);
  } catch {
    return Buffer.from(buffer).toString(label === 'utf-8' ? 'utf8' : 'latin1');
  }
}
