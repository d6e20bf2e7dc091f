import type { SyncSide } from './sync-options.js';

/** A commit the sync pushed before it failed: the sync is additive, so it stays and the next run builds on it. */
export interface PushedSyncCommit {
  side: SyncSide;
  sha: string;
  message: string;
}

/**
 * The sync could not finish. The message names the side, its remote (display form, never a token) and what
 * to do; `pushed` lists what already landed (empty when the failure came before any push).
 */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly side: SyncSide | null,
    readonly remote: string | null,
    readonly pushed: ReadonlyArray<PushedSyncCommit> = [],
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

/** The options are wrong: fix the configuration; running again cannot help. */
export class SyncConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncConfigError';
  }
}
