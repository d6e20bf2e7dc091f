import { CatalogueError } from '../catalogue/load.js';
import { ConfigError } from '../config/env.js';
import { VendorsFileError } from '../config/vendors.js';
import { RedisUnavailableError } from '../redis/redis-server.js';
import { SymlinkRefusedError } from '../files/no-follow.js';
import { scrubSecrets } from '../log.js';

/** Errors a person fixes by changing configuration: print the message alone, no stack. */
export function isUserError(err: unknown): boolean {
  return (
    err instanceof ConfigError ||
    err instanceof CatalogueError ||
    err instanceof VendorsFileError ||
    err instanceof RedisUnavailableError ||
    err instanceof UsageError ||
    err instanceof SymlinkRefusedError
  );
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Prints an error for a person; secrets are scrubbed. Returns the exit status. */
export function reportError(err: unknown, command: string): number {
  const message = scrubSecrets(err instanceof Error ? err.message : String(err));
  if (isUserError(err)) {
    process.stderr.write(`poller ${command}: ${message}\n`);
    return 2;
  }
  const stack = err instanceof Error && err.stack ? scrubSecrets(err.stack) : message;
  process.stderr.write(`poller ${command}: unexpected failure: ${stack}\n`);
  return 1;
}

/**
 * A command could not do what was asked (no Redis, no worker, a job that failed or timed out, a missing
 * database): one line for a person, no stack, exit status 1. Bad arguments are UsageError (exit 2).
 */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}
