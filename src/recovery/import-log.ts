import { stat, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { PriceRow } from '../store/price-row.js';
import type { PriceStore } from '../store/price-store.js';
import { parseLogLine } from './log-line.js';
import { readLines } from './recovery-log.js';

export interface ImportOptions {
  /** Parse and count, write nothing. Default false. */
  dryRun?: boolean;
  /** poller_id given to rows of the old format, which has none. Default `legacy`. */
  legacyPollerId?: string;
  /** Called after each chunk with bytes done and bytes in all. */
  onProgress?: (done: number, total: number) => void;
  /** Called for each refused line (`file:line: reason`), e.g. to print it. The import goes on with the next line. */
  onSkipped?: (where: { file: string; line: number }, reason: string) => void;
}

export interface ImportReport {
  files: number;
  rows: number;
  /** Rows the database did not have (in a dry run: would not have). */
  added: number;
  alreadyPresent: number;
  /**
   * Lines refused (torn, neither format, or a row breaking the shared rules of contract/names.ts: a slug or
   * vendor id that is not a plain name, a price not in (0, MAX_PRICE], a time that is not ISO 8601 UTC), with
   * the first few as `file:line: reason`. The other lines are imported.
   */
  skipped: number;
  skippedExamples: string[];
}

/** `*.jsonl` files of a folder (sorted) or the one file given. */
export async function listLogFiles(path: string): Promise<string[]> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new Error(`${path} does not exist: give a recovery-log file or a folder of them`);
  if (s.isFile()) return [resolve(path)];
  const names = (await readdir(path)).filter((n) => n.endsWith('.jsonl')).sort();
  return names.map((n) => resolve(join(path, n)));
}

/** Imports recovery logs of either format into the store. Idempotent: a second import adds nothing. */
export async function importLogs(path: string, store: PriceStore, options: ImportOptions = {}): Promise<ImportReport> {
  const files = await listLogFiles(path);
  const sizes = await Promise.all(files.map((f) => stat(f).then((s) => s.size)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const report: ImportReport = { files: files.length, rows: 0, added: 0, alreadyPresent: 0, skipped: 0, skippedExamples: [] };
  let before = 0;
  for (const [i, file] of files.entries()) {
    let lineNo = 0;
    await readLines(file, 0, async (lines, offset) => {
      const rows: PriceRow[] = [];
      for (const line of lines) {
        lineNo++;
        try {
          const row = parseLogLine(line, options.legacyPollerId);
          if (row) rows.push(row);
        } catch (err) {
          const reason = (err as Error).message;
          report.skipped++;
          if (report.skippedExamples.length < 5) report.skippedExamples.push(`${file}:${lineNo}: ${reason}`);
          options.onSkipped?.({ file, line: lineNo }, reason);
        }
      }
      report.rows += rows.length;
      const added = options.dryRun ? rows.length - (await store.existingKeys(rows.map((r) => r.key))).size : await store.writeRows(rows);
      report.added += added;
      report.alreadyPresent += rows.length - added;
      options.onProgress?.(before + offset + Buffer.byteLength(lines.join('\n')) + 1, total);
    });
    before += sizes[i];
    options.onProgress?.(before, total);
  }
  return report;
}
