import { pino, type Logger } from 'pino';

export type { Logger };

/** Values that must never reach a log line, whatever object they travel in. */
const REDACT_PATHS = [
  'authToken', '*.authToken', 'token', '*.token', 'password', '*.password',
  'TURSO_AUTH_TOKEN', 'GITHUB_TOKEN', 'GEMINI_API_KEY', 'METAL_PRICE_API_KEY', 'BULL_BOARD_PASSWORD',
  'proxyUrl', '*.proxyUrl', 'headers.authorization', '*.headers.authorization',
];

/** JSON lines on stderr, secrets redacted. `name` is the role (scheduler, worker, ...). */
export function createLogger(options: { level?: string; name?: string; pollerId?: string } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { role: options.name, poller: options.pollerId },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** Replaces `user:password@` in URLs and known secret values inside a message. */
export function scrubSecrets(text: string, secrets: Array<string | undefined> = secretValues()): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, '$1[redacted]@');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/** Current values of the secret variables, to scrub them from error messages. */
export function secretValues(env: Record<string, string | undefined> = process.env): string[] {
  return ['TURSO_AUTH_TOKEN', 'GITHUB_TOKEN', 'GEMINI_API_KEY', 'METAL_PRICE_API_KEY', 'BULL_BOARD_PASSWORD']
    .map((k) => env[k])
    .filter((v): v is string => !!v);
}
