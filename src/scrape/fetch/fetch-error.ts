import { redactText, redactUrl } from '../../secrets.js';

export { redactText, redactUrl };

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
