import { constants } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { appendNoFollow, O_NOFOLLOW, SymlinkRefusedError } from '../files/no-follow.js';
import type { PriceRow } from '../store/price-row.js';

/** A byte position in the log: file name (not path) and offset of a line start. */
export interface LogPosition {
  file: string;
  offset: number;
}

const LOG_NAME = /^prices-\d{4}-\d{2}-\d{2}\.jsonl$/;

/** `prices-YYYY-MM-DD.jsonl` of a UTC day. */
export function logFileName(at: Date): string {
  return `prices-${at.toISOString().slice(0, 10)}.jsonl`;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.file === b.file ? a.offset - b.offset : a.file < b.file ? -1 : 1;
}

/**
 * The local append-only JSONL log every row goes to before the database. One line per row, one write per line,
 * so lines from several processes never interleave.
 */
export class RecoveryLog {
  private ready: Promise<unknown> | null = null;

  constructor(readonly dir: string) {}

  /** Appends a row; resolves with a position at or before its line. A log file that is a symbolic link is refused, never followed. */
  async append(row: PriceRow, at = new Date()): Promise<LogPosition> {
    this.ready ??= mkdir(this.dir, { recursive: true });
    await this.ready;
    const file = logFileName(at);
    const path = join(this.dir, file);
    const offset = await stat(path).then((s) => s.size, () => 0);
    await appendNoFollow(path, JSON.stringify(row) + '\n', this.dir);
    return { file, offset };
  }

  /** Ends a line torn by a crash with a newline, so the next append does not glue itself to it. */
  async repairTail(): Promise<void> {
    const last = (await this.files()).at(-1);
    if (!last) return;
    const path = join(this.dir, last);
    const handle = await open(path, constants.O_RDWR | O_NOFOLLOW).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ELOOP' ? new SymlinkRefusedError(path, this.dir) : err;
    });
    try {
      const { size } = await handle.stat();
      if (size === 0) return;
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, size - 1);
      if (byte[0] !== 0x0a) await handle.write('\n', size);
    } finally {
      await handle.close();
    }
  }

  /** Log file names in the folder, oldest first. */
  async files(): Promise<string[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names.filter((n) => LOG_NAME.test(n)).sort();
  }

  /** The position just past the last complete line of the newest file. */
  async end(): Promise<LogPosition> {
    const files = await this.files();
    const last = files.at(-1);
    if (!last) return { file: '', offset: 0 };
    return { file: last, offset: (await stat(join(this.dir, last))).size };
  }

  /** How many lines (newlines) the log file `file` holds before byte `offset`: the line number of a position, less one. */
  async linesBefore(file: string, offset: number): Promise<number> {
    return offset <= 0 ? 0 : countNewlines(join(this.dir, file), 0, offset);
  }

  /** Reads lines from `from` to the current end, in order, calling `onLines` with chunks of raw lines. */
  async readFrom(from: LogPosition, onLines: (lines: string[], pos: LogPosition) => Promise<void>): Promise<LogPosition> {
    let end = from;
    for (const file of await this.files()) {
      if (file < from.file) continue;
      const start = file === from.file ? from.offset : 0;
      end = { file, offset: await readLines(join(this.dir, file), start, (lines, offset) => onLines(lines, { file, offset })) };
    }
    return end;
  }
}

/** Streams complete lines of a file from a byte offset; returns the offset after the last complete line. */
export async function readLines(path: string, start: number, onLines: (lines: string[], offset: number) => Promise<void>): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let offset = start;
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset + carry.length);
      if (bytesRead === 0) break;
      const data = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      const lastNewline = data.lastIndexOf(0x0a);
      if (lastNewline < 0) {
        carry = data;
        continue;
      }
      const lines = data.subarray(0, lastNewline).toString('utf8').split('\n');
      await onLines(lines, offset);
      offset += lastNewline + 1;
      carry = data.subarray(lastNewline + 1);
    }
    // A last line without a newline is a write in progress (or torn by a crash): leave it for the next read.
    return offset;
  } finally {
    await handle.close();
  }
}

/** Newlines in `length` bytes of a file from `start`, read in 1 MiB chunks (never the whole file in memory). */
export async function countNewlines(path: string, start: number, length: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(Math.max(1, Math.min(length, 1 << 20)));
    let n = 0;
    for (let done = 0; done < length; ) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, length - done), start + done);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) if (chunk[i] === 0x0a) n++;
      done += bytesRead;
    }
    return n;
  } finally {
    await handle.close();
  }
}
