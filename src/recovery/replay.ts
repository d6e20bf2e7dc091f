import type { PriceRow } from '../store/price-row.js';
import type { PriceStore } from '../store/price-store.js';
import { parseLogLine } from './log-line.js';
import type { LogPosition, RecoveryLog } from './recovery-log.js';

export interface ReplayResult {
  /** Rows read from the log. */
  read: number;
  /** Rows the database did not have yet. */
  inserted: number;
  /** Lines that could not be parsed (torn by a crash, or not rows). */
  skipped: number;
  /** Position after the last line read. */
  end: LogPosition;
}

/** Writes every row of the log from `from` to its end into the store, in order. Idempotent. */
export async function replayLog(log: RecoveryLog, store: PriceStore, from: LogPosition): Promise<ReplayResult> {
  let read = 0;
  let inserted = 0;
  let skipped = 0;
  const end = await log.readFrom(from, async (lines) => {
    const rows: PriceRow[] = [];
    for (const line of lines) {
      try {
        const row = parseLogLine(line);
        if (row) rows.push(row);
      } catch {
        skipped++;
      }
    }
    read += rows.length;
    inserted += await store.writeRows(rows);
  });
  return { read, inserted, skipped, end };
}
