// Browser-compatible: only fetch, AbortController and setTimeout; no node: imports.

/** The part of a fetch Response the client reads. */
export interface FetchResponseLike {
  ok: boolean;
  status: number;
  statusText?: string;
  text(): Promise<string>;
}

/** `globalThis.fetch` fits; tests and other runtimes may pass their own. */
export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<FetchResponseLike>;

/** Why an endpoint gave no usable answer. */
export type EndpointFailureKind = 'network' | 'timeout' | 'http' | 'json' | 'invalid' | 'aborted';

/** One failed attempt on one endpoint (a URL tried and why it failed). */
export interface EndpointAttempt {
  url: string;
  kind: EndpointFailureKind;
  reason: string;
  /** The HTTP status when the server answered with an error. */
  status?: number;
}

/** An endpoint gave no usable answer. `attempts` lists every URL tried on it, oldest first. */
export class EndpointError extends Error {
  readonly kind: EndpointFailureKind;
  readonly url: string;
  readonly status?: number;
  constructor(
    readonly endpoint: string,
    readonly attempts: ReadonlyArray<EndpointAttempt>,
    message?: string,
  ) {
    const last = attempts[attempts.length - 1];
    super(message ?? `${last.url}: ${last.reason}`);
    this.name = 'EndpointError';
    this.kind = last.kind;
    this.url = last.url;
    this.status = last.status;
  }
}

export interface FetchJsonOptions {
  fetch: FetchLike;
  /** Give up (and abort the request) after this long, body included. */
  timeoutMs: number;
  /** Aborts the request from outside, e.g. when another endpoint already answered. */
  signal?: AbortSignal;
}

/** GETs `url` and parses its body as JSON within `timeoutMs`; throws EndpointError saying what went wrong. */
export async function fetchJson(endpoint: string, url: string, options: FetchJsonOptions): Promise<unknown> {
  const fail = (kind: EndpointFailureKind, reason: string, status?: number) => new EndpointError(endpoint, [{ url, kind, reason, ...(status === undefined ? {} : { status }) }]);
  const controller = new AbortController();
  const outer = options.signal;
  const onOuterAbort = () => controller.abort();
  if (outer?.aborted) throw fail('aborted', 'aborted: another endpoint already answered');
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  // A race as well as the abort: a fetch that ignores its signal still cannot hold the caller past the timeout.
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(fail('timeout', `no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  const request = (async () => {
    let response: FetchResponseLike;
    try {
      response = await options.fetch(url, { signal: controller.signal });
    } catch (err) {
      throw controller.signal.aborted ? fail(outer?.aborted ? 'aborted' : 'timeout', abortReason(outer, options.timeoutMs)) : fail('network', `unreachable (${networkReason(err)})`);
    }
    if (!response.ok) throw fail('http', `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`, response.status);
    let body: string;
    try {
      body = await response.text();
    } catch (err) {
      throw controller.signal.aborted ? fail(outer?.aborted ? 'aborted' : 'timeout', abortReason(outer, options.timeoutMs)) : fail('network', `body not read (${networkReason(err)})`);
    }
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw fail('json', `not JSON (${body.length} bytes starting ${JSON.stringify(body.slice(0, 40))})`);
    }
  })();
  try {
    return await Promise.race([request, timeout]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** The global fetch, called as a plain function (a browser's fetch refuses to run with another `this`). */
export const globalFetch: FetchLike = (url, init) => globalThis.fetch(url, init);

function abortReason(outer: AbortSignal | undefined, timeoutMs: number): string {
  return outer?.aborted ? 'aborted: another endpoint already answered' : `no answer within ${timeoutMs} ms`;
}

/** `fetch failed` says little: the cause's code (ECONNREFUSED, ENOTFOUND) says why. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

/** Endpoint bases without trailing slashes, duplicates dropped; a list without any is a TypeError. */
export function normalizeEndpoints(endpoints: ReadonlyArray<string>, what: string): string[] {
  if (!Array.isArray(endpoints)) throw new TypeError(`${what} must be a list of URLs`);
  const bases = [...new Set(endpoints.map((e) => (typeof e === 'string' ? e.trim().replace(/\/+$/, '') : '')))];
  // Absolute http(s) URLs, or same-origin paths (`/data`) for a page served next to the data.
  if (bases.length === 0 || bases.some((b) => !/^(https?:\/\/[^/]|\/[^/])/i.test(b))) {
    throw new TypeError(`${what} must be a non-empty list of http(s) URLs or same-origin paths, e.g. https://api.staktrakr.com/data`);
  }
  return bases;
}
