import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { SECRET_VARIABLES, redactText, secretValues } from './secrets.js';

export type { Logger };

/** Values that must never reach a log line, whatever object they travel in. */
const REDACT_PATHS = [
  'authToken', '*.authToken', 'token', '*.token', 'password', '*.password',
  ...SECRET_VARIABLES,
  'proxyUrl', '*.proxyUrl', 'headers.authorization', '*.headers.authorization',
];

/**
 * Logs on stderr, secrets redacted: short coloured lines for a person at a terminal (stderr a TTY), JSON lines
 * for everything else (files, containers, log shippers). `name` is the role (scheduler, worker, ...).
 * `pretty` forces one or the other; default: stderr is a TTY.
 */
export function createLogger(options: { level?: string; name?: string; pollerId?: string; pretty?: boolean } = {}): Logger {
  const settings = {
    level: options.level ?? 'info',
    base: { role: options.name, poller: options.pollerId },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.pretty ?? process.stderr.isTTY === true) {
    // Synchronous, in this thread: a line is written before the process can exit.
    return pino(settings, pretty({ destination: 2, sync: true, colorize: true, translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true }));
  }
  return pino(settings, pino.destination({ fd: 2, sync: true }));
}

/** Replaces `user:password@` in URLs and the current secret values inside a message. */
export function scrubSecrets(text: string, secrets: Array<string | undefined> = secretValues()): string {
  return redactText(text, secrets);
}
