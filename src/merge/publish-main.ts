import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@libsql/client';
import { writeSnapshot } from '../export/snapshot.js';
import { writeFileReplacing } from '../files/no-follow.js';
import { fetchBranches, isFetchFailure, pushMain, type PublishLogger } from '../publish/index.js';
import { mergeTrees } from './merge-trees.js';
import type { PublishProgress } from '../publish/progress.js';

/** Path of the SQLite snapshot in the published tree. */
export const SNAPSHOT_PATH = 'data/prices.db';

export interface PublishMainOptions {
  remoteUrl: string;
  token?: string;
  /** Poller branches to union, in order (the first wins ties). */
  branches: string[];
  /** The merger's folder (never published): `git/` the clone cache, `snapshot.json` when the snapshot was last written. */
  workDir: string;
  /** For the snapshot; without a client main keeps the snapshot it has. */
  client?: Client;
  /** The database's file when `client` is a local libSQL file: SQLite builds the snapshot from it (writeSnapshot). Default null. */
  databaseFile?: string | null;
  /** Days in the snapshot. Default 30. */
  snapshotDays?: number;
  /** Build the pushed pack by path groups, each file a delta of its own previous version (PUBLISH_SPLIT_PACKS). Default false. */
  splitPacks?: boolean;
  /** Least time between two fresh snapshots; 0 never writes one. Default 24 h. */
  snapshotEveryMs?: number;
  /** Merges retried after losing the lease race to another merger. Default 3. */
  maxConflicts?: number;
  logger?: PublishLogger;
  now?: () => Date;
  /** Told as the merge fetches, merges, writes the snapshot and pushes. Default none. */
  progress?: PublishProgress;
}

export interface PublishMainResult {
  committed: boolean;
  sha: string | null;
  used: string[];
  skipped: Array<{ branch: string; reason: string }>;
  snapshot: 'fresh' | 'kept' | 'none';
  ms: number;
  /** When the newest price on main was scraped (freshness: the commit's time minus this), or null. */
  newestDataAt: string | null;
  /** Bytes of the SQLite snapshot on main after this merge (fresh or kept), or null without one. */
  snapshotBytes: number | null;
}

/** `merge: api1+api2+api3 @ HH:MM` (UTC), naming the branches that took part. */
export function mergeCommitMessage(used: string[], at: Date): string {
  return `merge: ${used.join('+')} @ ${at.toISOString().slice(11, 16)}`;
}

async function snapshotDue(stateFile: string, everyMs: number, now: Date): Promise<boolean> {
  try {
    const { writtenAt } = JSON.parse(await readFile(stateFile, 'utf8')) as { writtenAt: string };
    return now.getTime() - Date.parse(writtenAt) >= everyMs;
  } catch {
    return true;
  }
}

/**
 * Unions the poller branches into main and pushes it with a lease: a branch that is missing, unreachable
 * or invalid is skipped with its reason and never reaches main; losing the race to another merger re-runs the merge.
 */
export async function publishMain(options: PublishMainOptions): Promise<PublishMainResult> {
  const started = performance.now();
  const now = options.now ?? (() => new Date());
  const gitDir = join(options.workDir, 'git');
  const stateFile = join(options.workDir, 'snapshot.json');
  await mkdir(options.workDir, { recursive: true });
  const maxConflicts = options.maxConflicts ?? 3;
  for (let attempt = 0; ; attempt++) {
    options.progress?.(10, `fetching ${[...options.branches, 'main'].join(', ')}`);
    const fetched = await fetchBranches({ remoteUrl: options.remoteUrl, branches: [...options.branches, 'main'], token: options.token, workDir: gitDir, logger: options.logger });
    const main = fetched.at(-1)!;
    if (isFetchFailure(main) && !main.missing) throw new Error(`cannot read main, so nothing is merged: ${main.error}`);
    const skipped: PublishMainResult['skipped'] = [];
    const trees = [];
    for (const b of fetched.slice(0, -1)) {
      if (!isFetchFailure(b)) trees.push({ branch: b.branch, files: b.files });
      // A branch its poller has not published yet (a fresh remote, a poller without rows) is expected, not a fault.
      else if (b.missing) options.logger?.info({ branch: b.branch }, 'branch not published yet; merging the others');
      else skipped.push({ branch: b.branch, reason: b.error });
    }
    // main as it is backs the merge: a coin that no branch has data for keeps main's files.
    const merged = mergeTrees(trees, { root: 'data/', fallback: isFetchFailure(main) ? undefined : { branch: 'main', files: main.files } });
    skipped.push(...merged.skipped);
    for (const s of skipped) options.logger?.warn({ branch: s.branch, reason: s.reason }, 'branch skipped by the merge');
    const used = merged.used;
    if (used.length === 0) {
      return { committed: false, sha: isFetchFailure(main) ? null : main.sha, used: [], skipped, snapshot: 'none', ms: Math.round(performance.now() - started), newestDataAt: null, snapshotBytes: null };
    }

    options.progress?.(40, `merged ${used.join('+')}`);
    const files = new Map<string, string | Uint8Array>(merged.files);
    let snapshot: PublishMainResult['snapshot'] = 'none';
    const at = now();
    const previous = isFetchFailure(main) ? undefined : main.binaryFiles.get(SNAPSHOT_PATH);
    const everyMs = options.snapshotEveryMs ?? 86_400_000;
    if (options.client && everyMs > 0 && (!previous || (await snapshotDue(stateFile, everyMs, at)))) {
      const tmp = await mkdtemp(join(options.workDir, 'snapshot-'));
      try {
        const result = await writeSnapshot({ client: options.client, databaseFile: options.databaseFile, outFile: join(tmp, 'prices.db'), days: options.snapshotDays });
        if (result.warning) options.logger?.warn({ bytes: result.bytes }, result.warning);
        if (options.databaseFile && result.method === 'client') options.logger?.info({ databaseFile: options.databaseFile }, 'snapshot read through the client: SQLite could not attach the database file');
        if (result.skippedInvalidNames) options.logger?.warn({ skipped: result.skippedInvalidNames }, 'snapshot left out rows whose coin slug or vendor id is not a valid name');
        files.set(SNAPSHOT_PATH, await readFile(join(tmp, 'prices.db')));
        snapshot = 'fresh';
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    } else if (previous) {
      files.set(SNAPSHOT_PATH, previous);
      snapshot = 'kept';
    }

    options.progress?.(70, `pushing main (snapshot ${snapshot})`);
    const pushed = await pushMain({
      remoteUrl: options.remoteUrl,
      files,
      message: mergeCommitMessage(used, at),
      token: options.token,
      workDir: gitDir,
      expectedSha: isFetchFailure(main) ? null : main.sha,
      logger: options.logger,
      splitPacks: options.splitPacks,
    });
    if (pushed.conflict) {
      if (attempt + 1 >= maxConflicts) throw new Error(`main kept moving under ${maxConflicts} merges in a row (another merger?); the next merge will try again`);
      options.logger?.info({ attempt: attempt + 1 }, 'main moved during the merge (another merger); merging again');
      continue;
    }
    if (snapshot === 'fresh' && pushed.pushed) await writeFileReplacing(stateFile, JSON.stringify({ writtenAt: at.toISOString() }));
    const snapshotBytes = files.get(SNAPSHOT_PATH)?.length ?? null;
    return { committed: pushed.committed, sha: pushed.sha, used, skipped, snapshot, ms: Math.round(performance.now() - started), newestDataAt: merged.newestDataAt, snapshotBytes };
  }
}
