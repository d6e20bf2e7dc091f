/** One export or merge as it ended, kept in Redis for the status page, the metrics and the operator's commands. */
export interface PublishRecord {
  kind: 'export' | 'merge';
  /** The poller whose branch was exported, or the merger's poller. */
  poller: string;
  /** When it ended (epoch ms). */
  at: number;
  /** How long it ran. */
  ms: number;
  ok: boolean;
  /** A commit was made (false: nothing changed, or it failed). */
  committed: boolean;
  sha: string | null;
  /** Why it failed. */
  error?: string;
  /** Merges: when the newest price on main was scraped. */
  newestDataAt?: string | null;
  /** Merges: bytes of the SQLite snapshot on main. */
  snapshotBytes?: number | null;
}
