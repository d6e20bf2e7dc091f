/**
 * Why a page could not be fetched at all. A non-2xx HTTP status is not a FetchError: it is returned.
 * - `timeout`: the whole fetch (connect, headers and body) took longer than `timeoutMs`.
 * - `too_large`: the body grew beyond `maxBytes`; reading stopped.
 * - `bad_url`: the URL given to fetchPage is not an absolute http: or https: URL.
 * - `bad_redirect`: a redirect pointed to a non-http(s) URL (file:, ftp:, data:, javascript:, ...) or could not be parsed.
 * - `too_many_redirects`: more than `maxRedirects` redirects in a row.
 * - `network`: DNS, refused or reset connections, TLS failures and other transport errors.
 * - `proxy`: the configured proxy could not be reached, refused the credentials (407) or refused the tunnel.
 * - `truncated`: the connection closed before all `Content-Length` bytes arrived.
 */
export type FetchErrorKind =
  | 'timeout'
  | 'too_large'
  | 'bad_url'
  | 'bad_redirect'
  | 'too_many_redirects'
  | 'network'
  | 'proxy'
  | 'truncated';

/** A fetch that produced no usable response. The message never holds proxy credentials. */
export class FetchError extends Error {
  readonly kind: FetchErrorKind;
  /** The URL being fetched when it failed (credentials redacted). */
  readonly url: string;

  constructor(kind: FetchErrorKind, message: string, url: string) {
    // Belt and braces: whatever the caller built, no `scheme://user:pass@` survives.
    super(redactText(message));
    this.name = 'FetchError';
    this.kind = kind;
    this.url = redactUrl(url);
  }
}

export function isFetchError(err: unknown): err is FetchError {
  return err instanceof FetchError;
}

/**
 * A URL with its username and password replaced by `***` (`http://***:***@proxy:8080/`).
 * Text that is not a parseable URL gets the same treatment by pattern, so a broken proxy
 * setting cannot leak either. Anything without credentials comes back unchanged.
 */
export function redactUrl(url: string): string {
  if (typeof url !== 'string' || url === '') return '';
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      if (u.username) u.username = '***';
      if (u.password) u.password = '***';
      return u.toString();
    }
    return url;
  } catch {
    return redactText(url);
  }
}

/**
 * Replaces every `scheme://user:pass@` or `scheme://user@` in a text by `scheme://***:***@`,
 * and every occurrence of the given secrets (raw and URL-decoded) by `***`.
 */
export function redactText(text: string, secrets: string[] = []): string {
  let out = String(text).replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***:***@');
  const all = new Set<string>();
  for (const s of secrets) {
    if (!s) continue;
    all.add(s);
    try {
      all.add(decodeURIComponent(s));
    } catch {
      /* not percent-encoded */
    }
    all.add(encodeURIComponent(s));
  }
  // Longest first, so a secret that contains another is removed whole.
  for (const s of [...all].filter((x) => x.length >= 3).sort((a, b) => b.length - a.length)) {
    out = out.split(s).join('***');
  }
  return out;
}
