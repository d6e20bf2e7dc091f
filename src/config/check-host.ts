import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError } from './env.js';

/** How long the start waits for API_HOST to resolve. */
export const HOST_LOOKUP_TIMEOUT_MS = 5000;

/** `[::1]` -> `::1`; anything else unchanged. */
export function unbracket(host: string): string {
  const h = host.trim();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

/**
 * API_HOST must be an IP address or a host name that resolves here (checked with dns.lookup at start, so that a
 * typo stops the start with API_HOST named instead of failing inside the HTTP server). Returns the address found.
 */
export async function checkApiHost(host: string, timeoutMs = HOST_LOOKUP_TIMEOUT_MS): Promise<string> {
  const h = unbracket(host);
  if (isIP(h)) return h;
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      lookup(h),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('no answer'), { code: `no answer within ${Math.round(timeoutMs / 1000)} s` })), timeoutMs);
        timer.unref();
      }),
    ]);
    return found.address;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([
      `API_HOST: ${JSON.stringify(host)} is neither an IP address nor a host name that resolves here (${code}); ` +
        'set API_HOST to an address of this machine, e.g. 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)',
    ]);
  }
}
