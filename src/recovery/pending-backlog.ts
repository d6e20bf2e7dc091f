import { hostname } from 'node:os';
import { isProcessAlive } from './process-alive.js';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RecoveryLog, comparePositions, countNewlines, type LogPosition } from './recovery-log.js';

/** One process's note that rows from `position` on reached only the log (see RowSink). */
export interface PendingMarker {
  position: LogPosition;
  host: string | null;
  pid: number | null;
  /** When the marker was written (the process went log-only then). */
  since: string;
  /** Why the process went log-only (a write's error, secrets removed); null for markers of older versions. */
  error: string | null;
  /** This host's process still runs (it replays by itself when the database answers); false: the next start replays; null: another host's or unreadable. */
  alive: boolean | null;
}

/** What of the recovery log still waits to reach the database. */
export interface RecoveryBacklog {
  dir: string;
  /** Markers in `pending/`; none means every row logged also reached the database. */
  markers: PendingMarker[];
  /** Rows (lines) after the oldest marker; an estimate when `approximate`. */
  rows: number;
  bytes: number;
  approximate: boolean;
  /** The oldest marker's time; null without a backlog. */
  since: string | null;
  /** Log files in the folder and their size. */
  logFiles: number;
  logBytes: number;
}

/** The newest marker that says why its process went log-only: the last failed write, for /healthz and the status page. */
export function newestFailedWrite(markers: readonly PendingMarker[]): { at: string; error: string } | null {
  const newest = markers.filter((m) => m.error).sort((a, b) => b.since.localeCompare(a.since))[0];
  return newest ? { at: newest.since, error: newest.error! } : null;
}

/** Lines are counted exactly up to this many bytes of backlog, then extrapolated (a page load stays cheap). */
const COUNT_LIMIT_BYTES = 64 << 20;

/** Reads the backlog of a recovery-log folder without changing anything (the RowSink owns replays). */
export async function readRecoveryBacklog(dir: string): Promise<RecoveryBacklog> {
  const log = new RecoveryLog(dir);
  const files = await log.files();
  const sizes = new Map<string, number>();
  for (const f of files) sizes.set(f, await stat(join(dir, f)).then((s) => s.size, () => 0));
  const logBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  const markers = await readMarkers(join(dir, 'pending'));
  const result: RecoveryBacklog = { dir, markers, rows: 0, bytes: 0, approximate: false, since: null, logFiles: files.length, logBytes };
  if (markers.length === 0) return result;
  const from = markers.map((m) => m.position).sort(comparePositions)[0];
  result.since = markers.map((m) => m.since).sort()[0];
  let budget = COUNT_LIMIT_BYTES;
  let countedBytes = 0;
  for (const file of files) {
    if (file < from.file) continue;
    const start = file === from.file ? Math.min(from.offset, sizes.get(file)!) : 0;
    const bytes = sizes.get(file)! - start;
    result.bytes += bytes;
    if (budget <= 0) continue;
    const take = Math.min(bytes, budget);
    result.rows += await countNewlines(join(dir, file), start, take);
    countedBytes += take;
    budget -= take;
  }
  if (countedBytes < result.bytes) {
    result.approximate = true;
    result.rows = countedBytes > 0 ? Math.round((result.rows * result.bytes) / countedBytes) : 0;
  }
  return result;
}

async function readMarkers(markerDir: string): Promise<PendingMarker[]> {
  const names = (await readdir(markerDir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  const out: PendingMarker[] = [];
  for (const name of names) {
    const path = join(markerDir, name);
    const since = await stat(path).then((s) => s.mtime.toISOString(), () => null);
    if (!since) continue; // removed meanwhile: replayed
    try {
      const m = JSON.parse(await readFile(path, 'utf8')) as { file?: unknown; offset?: unknown; host?: unknown; pid?: unknown; error?: unknown };
      const host = typeof m.host === 'string' ? m.host : null;
      const pid = typeof m.pid === 'number' ? m.pid : null;
      out.push({
        position: { file: typeof m.file === 'string' ? m.file : '', offset: typeof m.offset === 'number' ? m.offset : 0 },
        host,
        pid,
        since,
        error: typeof m.error === 'string' ? m.error : null,
        alive: host === hostname() && pid !== null ? isProcessAlive(pid) : null,
      });
    } catch {
      // RowSink replays everything for an unreadable marker; so does this count.
      out.push({ position: { file: '', offset: 0 }, host: null, pid: null, since, error: null, alive: null });
    }
  }
  return out;
}
