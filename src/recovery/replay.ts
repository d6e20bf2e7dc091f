import type { PriceRow } from '../store/price-row.js';
import type { PriceStore } from '../store/price-store.js';
import { parseLogLine } from './log-line.js';
import type { LogPosition, RecoveryLog } from './recovery-log.js';

export interface ReplayResult {
  /** Rows read from the log. */
  read: number;
  /** Rows the database did not have yet. */
  inserted: number;
  /**
   * Lines refused: torn by a crash, not rows, or rows breaking the shared rules of contract/names.ts (a slug or
   * vendor id that is not a plain name, a price not in (0, MAX_PRICE], a time that is not ISO 8601 UTC).
   */
  skipped: number;
  /** The first few refused lines as `file:line: reason`. */
  skippedExamples: string[];
  /** Position after the last line read. */
  end: LogPosition;
}

export interface ReplayOptions {
  /** Told of each refused line (file name, line number from 1, reason); the replay goes on with the next line. */
  onSkipped?: (where: { file: string; line: number }, reason: string) => void;
}

/** Writes every valid row of the log from `from` to its end into the store, in order; refused lines are counted and told. Idempotent. */
export async function replayLog(log: RecoveryLog, store: PriceStore, from: LogPosition, options: ReplayOptions = {}): Promise<ReplayResult> {
  let read = 0;
  let inserted = 0;
  let skipped = 0;
  const skippedExamples: string[] = [];
  // Per file: where this replay started reading it and how many lines it has seen; the line number of the
  // start is counted only when a line is refused (a replay usually starts mid-file).
  const files = new Map<string, { startOffset: number; seen: number; startLine?: number }>();
  const end = await log.readFrom(from, async (lines, pos) => {
    let file = files.get(pos.file);
    if (!file) files.set(pos.file, (file = { startOffset: pos.offset, seen: 0 }));
    const rows: PriceRow[] = [];
    for (const line of lines) {
      file.seen++;
      try {
        const row = parseLogLine(line);
        if (row) rows.push(row);
      } catch (err) {
        skipped++;
        file.startLine ??= await log.linesBefore(pos.file, file.startOffset);
        const where = { file: pos.file, line: file.startLine + file.seen };
        const reason = (err as Error).message;
        if (skippedExamples.length < 5) skippedExamples.push(`${where.file}:${where.line}: ${reason}`);
        options.onSkipped?.(where, reason);
      }
    }
    read += rows.length;
    inserted += await store.writeRows(rows);
  });
  return { read, inserted, skipped, skippedExamples, end };
}
