import { redactText } from '../secrets.js';

/**
 * Why a MetalPriceAPI call gave no usable prices.
 * - `bad-key`: HTTP 401/403 or error codes 101/102/103: the key is missing, wrong or its account inactive. Not retryable.
 * - `rate-limited`: HTTP 429 or codes 104/105/106 (quota reached, plan limit). Retry after `retryAfterMs` or later.
 * - `unavailable`: network error, timeout, HTTP 5xx. Retryable.
 * - `bad-answer`: not JSON, the wrong shape, another error code, or no value in range. Not retried at once
 *   (the same answer usually comes back); the next scheduled poll tries again.
 */
export type SpotApiErrorKind = 'bad-key' | 'rate-limited' | 'unavailable' | 'bad-answer';

export interface SpotApiErrorDetails {
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** MetalPriceAPI error code (`error.code` or `error.statusCode`), when given. */
  code?: number;
  /** From Retry-After, for `rate-limited`. */
  retryAfterMs?: number;
  /** The request URL with the key replaced by `***`. */
  url?: string;
}

/** A MetalPriceAPI call that failed. The message and fields never hold the API key. */
export class SpotApiError extends Error {
  readonly kind: SpotApiErrorKind;
  readonly retryable: boolean;
  readonly status?: number;
  readonly code?: number;
  readonly retryAfterMs?: number;
  readonly url?: string;

  /** `secrets`: values to scrub from the message besides the secret environment variables (the client's key). */
  constructor(kind: SpotApiErrorKind, message: string, details: SpotApiErrorDetails = {}, secrets: Array<string | undefined> = []) {
    super(redactText(message, [...secrets, process.env.METAL_PRICE_API_KEY]));
    this.name = 'SpotApiError';
    this.kind = kind;
    this.retryable = kind === 'rate-limited' || kind === 'unavailable';
    this.status = details.status;
    this.code = details.code;
    this.retryAfterMs = details.retryAfterMs;
    this.url = details.url === undefined ? undefined : redactText(details.url, [...secrets, process.env.METAL_PRICE_API_KEY]);
  }
}

export function isSpotApiError(err: unknown): err is SpotApiError {
  return err instanceof SpotApiError;
}
