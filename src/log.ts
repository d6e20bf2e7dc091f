import { pino, type Logger } from 'pino';
import { SECRET_VARIABLES, redactText, secretValues } from './secrets.js';

export type { Logger };

/** Values that must never reach a log line, whatever object they travel in. */
const REDACT_PATHS = [
  'authToken', '*.authToken', 'token', '*.token', 'password', '*.password',
  ...SECRET_VARIABLES,
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

/** Replaces `user:password@` in URLs and the current secret values inside a message. */
export function scrubSecrets(text: string, secrets: Array<string | undefined> = secretValues()): string {
  return redactText(text, secrets);
}
