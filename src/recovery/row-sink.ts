import { hostname } from 'node:os';
import { isRefusedToken, REFUSED_TOKEN_HINT } from '../store/refused-token.js';
import { describeWriteError } from '../store/write-error.js';
import { isProcessAlive } from './process-alive.js';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { checkedDir, writeFileReplacing } from '../files/no-follow.js';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { PriceRow } from '../store/price-row.js';
import type { PriceStore } from '../store/price-store.js';
import { RecoveryLog, comparePositions, type LogPosition } from './recovery-log.js';
import { replayLog, type ReplayOptions } from './replay.js';

export interface RowSinkOptions {
  /** First wait before probing the database again after a failure, in ms. Default 2000; doubles up to `maxRetryMs`. */
  retryMs?: number;
  /**
   * Longest wait between two probes, in ms: the bound on the time from the database's return to the replay.
   * Default 15000 (a probe is one cheap statement; a longer wait only delays the recovery).
   */
  maxRetryMs?: number;
  logger?: Logger;
  /**
   * Asks whether the database answers before the replay touches it, within a deadline (throws when it does not).
   * A remote database that accepts connections and never answers would otherwise hold the replay, and the
   * shutdown that waits for it, for minutes. Default: none (the replay's first statement is the probe).
   */
  probe?: () => Promise<void>;
}

/** Where a row went: into the database, or (database unreachable) only into the recovery log, to be replayed. */
export type SinkResult = 'stored' | 'logged';

interface Marker extends LogPosition {
  host: string;
  pid: number;
  /** Why the database took no more rows (secrets removed), for /healthz and the status page. */
  error: string | null;
}

/**
 * Every row goes to the recovery log first, then to the database. When the database fails, this process switches
 * to log-only, leaves a marker file (so that even a crash loses nothing), and replays from the marker once the
 * database answers again, in order; the idempotency key makes the replay safe.
 */
export class RowSink {
  private readonly markerDir: string;
  private readonly markerFile: string;
  private marker: LogPosition | null = null;
  private appendChain: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs: number;
  private recovering: Promise<void> | null = null;
  private closed = false;

  constructor(
    readonly log: RecoveryLog,
    private readonly store: PriceStore,
    private readonly options: RowSinkOptions = {},
  ) {
    this.markerDir = join(log.dir, 'pending');
    this.markerFile = join(this.markerDir, `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}.json`);
    this.retryMs = options.retryMs ?? 2000;
  }

  /** A refused line (torn, or breaking the row rules) is logged with its place and reason; the replay goes on. */
  private readonly replayOptions: ReplayOptions = {
    onSkipped: (where, reason) => this.options.logger?.warn({ file: where.file, line: where.line, reason }, 'recovery log line refused by the replay; going on with the next'),
  };

  /** True while rows only reach the log. */
  get degraded(): boolean {
    return this.marker !== null;
  }

  /**
   * Repairs a torn last line and replays what earlier (crashed) processes left pending. With `databaseDown` (the
   * database did not answer at start) the sink starts in log-only mode: rows go to the recovery log only, from
   * the log's current end (or the oldest pending marker), and are replayed once the database answers.
   */
  async start(options: { databaseDown?: boolean } = {}): Promise<void> {
    await this.log.repairTail().catch(() => undefined);
    const orphans = await this.orphanMarkers();
    if (options.databaseDown) {
      const from = [await this.log.end(), ...orphans.map((o) => o.marker)].sort(comparePositions)[0];
      await this.enterDegraded(from, 'the database did not answer at start');
      await Promise.all(orphans.map((o) => rm(o.path, { force: true })));
      this.options.logger?.warn(
        { recoveryLogDir: this.log.dir, pendingFrom: orphans.length ? from : undefined },
        `log-only mode: rows go to the recovery log (${this.log.dir}) only, and are replayed into the database when it answers (checked every ${Math.round(this.retryMs / 1000)} s at first)`,
      );
      return;
    }
    if (orphans.length === 0) return;
    const from = orphans.map((o) => o.marker).sort(comparePositions)[0];
    this.options.logger?.warn({ from, markers: orphans.length }, 'recovery log has rows a previous process could not store; replaying');
    try {
      const { inserted, read } = await replayLog(this.log, this.store, from, this.replayOptions);
      await Promise.all(orphans.map((o) => rm(o.path, { force: true })));
      this.options.logger?.info({ read, inserted }, 'recovery log replayed');
    } catch (err) {
      // Database still down: adopt the oldest position as our own marker and keep trying.
      this.options.logger?.warn({ err: (err as Error).message }, 'replay failed; will retry');
      await this.enterDegraded(from, describeWriteError(err));
      await Promise.all(orphans.map((o) => rm(o.path, { force: true })));
    }
  }

  /** Logs the row, then stores it (or, while the database is down, leaves it for the replay). */
  async submit(row: PriceRow): Promise<SinkResult> {
    if (this.closed) throw new Error('row sink is closed');
    const appended = this.appendChain.then(() => this.log.append(row));
    this.appendChain = appended.catch(() => undefined);
    const pos = await appended;
    if (this.marker) return 'logged';
    try {
      await this.store.write(row);
      return 'stored';
    } catch (err) {
      this.options.logger?.warn({ err: (err as Error).message, store: this.store.description }, isRefusedToken(err) ? `${REFUSED_TOKEN_HINT}; rows go to the recovery log until it is accepted` : 'database write failed; rows go to the recovery log until it is back');
      await this.enterDegraded(pos, describeWriteError(err));
      return 'logged';
    }
  }

  private async enterDegraded(pos: LogPosition, error: string): Promise<void> {
    if (this.marker && comparePositions(this.marker, pos) <= 0) return;
    this.marker = pos;
    // `pending/` is made (or checked) without following a link; the marker goes to a fresh file renamed into place.
    await mkdir(this.log.dir, { recursive: true });
    await checkedDir(this.log.dir, 'pending', { create: true });
    const body: Marker = { ...pos, host: hostname(), pid: process.pid, error };
    await writeFileReplacing(this.markerFile, JSON.stringify(body));
    this.scheduleRecovery();
  }

  private scheduleRecovery(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.recovering = this.recover().finally(() => (this.recovering = null));
    }, this.retryMs);
    this.retryTimer.unref();
  }

  /** Probes the database; when it answers, replays from the marker and returns to normal. */
  private async recover(): Promise<void> {
    if (!this.marker || this.closed) return;
    try {
      await this.options.probe?.();
      await this.store.migrate(); // also a probe; the database may have been down since start
      // Bulk of the backlog first, without holding up new rows...
      const first = await replayLog(this.log, this.store, this.marker, this.replayOptions);
      // ...then the tail, with appends paused, so that no row falls between the replay and the switch back.
      const tail = this.appendChain.then(async () => {
        const rest = await replayLog(this.log, this.store, first.end, this.replayOptions);
        this.marker = null;
        await rm(this.markerFile, { force: true });
        return rest;
      });
      this.appendChain = tail.catch(() => undefined);
      const rest = await tail;
      this.retryMs = this.options.retryMs ?? 2000;
      this.options.logger?.info({ replayed: first.read + rest.read, inserted: first.inserted + rest.inserted }, 'database is back; recovery log replayed');
    } catch (err) {
      this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 15_000);
      this.options.logger?.warn({ err: (err as Error).message, retryInMs: this.retryMs }, isRefusedToken(err) ? `${REFUSED_TOKEN_HINT}; rows wait in the recovery log` : 'database still unreachable');
      this.scheduleRecovery();
    }
  }

  /** Waits for a running replay; stops retrying. A marker left on disk is picked up by the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.recovering?.catch(() => undefined);
    await this.appendChain.catch(() => undefined);
  }

  /** Markers of processes of this host that are gone (their rows may be in the log only). */
  private async orphanMarkers(): Promise<Array<{ path: string; marker: LogPosition }>> {
    const names = await readdir(this.markerDir).catch(() => [] as string[]);
    const found: Array<{ path: string; marker: LogPosition }> = [];
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const path = join(this.markerDir, name);
      try {
        const m = JSON.parse(await readFile(path, 'utf8')) as Marker;
        if (m.host === hostname() && m.pid !== process.pid && isProcessAlive(m.pid)) continue;
        found.push({ path, marker: { file: m.file, offset: m.offset } });
      } catch {
        found.push({ path, marker: { file: '', offset: 0 } }); // unreadable marker: replay everything, to be safe
      }
    }
    return found;
  }
}
