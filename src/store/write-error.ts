import { redactText } from '../secrets.js';
import { isRefusedToken, REFUSED_TOKEN_HINT } from './refused-token.js';

/** A failed database write in one line, for health and markers: the error's code and first line, no secret, at most 200 characters. */
export function describeWriteError(err: unknown): string {
  if (isRefusedToken(err)) return REFUSED_TOKEN_HINT;
  const e = err as { code?: unknown; message?: unknown };
  const message = String(e?.message ?? err).split('\n')[0];
  const code = typeof e?.code === 'string' && !message.includes(e.code) ? `${e.code}: ` : '';
  return redactText(`${code}${message}`).slice(0, 200);
}
