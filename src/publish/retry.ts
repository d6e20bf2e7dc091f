export interface RetryOptions {
  /** Attempts after the first failure. */
  retries: number;
  /** Wait before the first retry, in ms; doubled before each further retry. */
  backoffMs: number;
  /** Told about each failure that will be retried. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** False for errors no retry can fix (they are thrown at once). Default: every error is retried. */
  isRetryable?: (error: unknown) => boolean;
}

/** A failure after every attempt; `cause` is the last error. */
export class RetriesExhaustedError extends Error {
  constructor(readonly attempts: number, readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'RetriesExhaustedError';
  }
}

/** Runs `attempt` until it resolves, at most `retries + 1` times, with exponential backoff between tries. */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<{ value: T; attempts: number }> {
  const total = Math.max(0, Math.floor(options.retries)) + 1;
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n };
    } catch (err) {
      if (options.isRetryable && !options.isRetryable(err)) throw err;
      if (n >= total) throw new RetriesExhaustedError(n, err);
      const delayMs = Math.max(0, options.backoffMs) * 2 ** (n - 1);
      options.onRetry?.(err, n, delayMs);
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}
