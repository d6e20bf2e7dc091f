/**
 * The database server answered and refused the credentials (HTTP 401/403 from Turso or sqld): a wrong or expired
 * TURSO_AUTH_TOKEN, not an outage, and the message must say so.
 */
export function isRefusedToken(err: unknown): boolean {
  const text = err instanceof Error ? `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}` : String(err);
  return /\b(?:401|403)\b|unauthori[sz]ed|forbidden/i.test(text);
}

/** What to tell an operator about a refused token. */
export const REFUSED_TOKEN_HINT = 'the database refused the token: set TURSO_AUTH_TOKEN to a valid token for TURSO_DATABASE_URL';
