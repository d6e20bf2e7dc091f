import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { slugSchema, vendorIdSchema, problemOf } from '../contract/names.js';
import { O_NOFOLLOW, checkedDir, writeFileReplacing } from '../files/no-follow.js';

/**
 * The latest screenshot of each target, `dir/<vendor>/<coin>.jpg` (SCREENSHOT_DIR), for the status page and
 * the vision reader. Bounded: after each save the oldest files go until at most `maxFiles` files and
 * `maxBytes` bytes remain. Writes never follow a link (a linked vendor folder is refused), and a failed save
 * (full disk, refused link, bad name) is returned as an error for the job to log, never thrown.
 */

export interface ScreenshotStoreOptions {
  /** Root folder (trusted as given; everything below it is checked). */
  dir: string;
  /** Most files kept. Default 500. */
  maxFiles?: number;
  /** Most bytes kept, all files together. Default 100 MiB. */
  maxBytes?: number;
}

export interface StoredScreenshot {
  vendor: string;
  coin: string;
  path: string;
  bytes: number;
  /** Last written, epoch ms. */
  modifiedAt: number;
}

/** `warning`: the file was saved but pruning failed (the bounds may be exceeded until the next save). */
export type SaveResult = { ok: true; path: string; bytes: number; removed: number; warning?: string } | { ok: false; error: string };

export const DEFAULT_MAX_FILES = 500;
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;

const JPEG_MAGIC = [0xff, 0xd8, 0xff];

export class ScreenshotStore {
  readonly dir: string;
  readonly maxFiles: number;
  readonly maxBytes: number;
  /** Saves run one at a time, so two saves never prune the same files. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ScreenshotStoreOptions) {
    if (!options?.dir) throw new Error('ScreenshotStore needs a dir (SCREENSHOT_DIR)');
    this.dir = options.dir;
    this.maxFiles = positive(options.maxFiles, DEFAULT_MAX_FILES, 'maxFiles');
    this.maxBytes = positive(options.maxBytes, DEFAULT_MAX_BYTES, 'maxBytes');
  }

  /** Writes the JPEG as the latest of `coin` at `vendor`, then prunes the oldest files beyond the bounds. */
  save(coin: string, vendor: string, jpeg: Uint8Array): Promise<SaveResult> {
    const run = this.queue.then(() => this.saveNow(coin, vendor, jpeg));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Where the screenshot of `coin` at `vendor` lives (it may not exist), or null for a name that is not valid. */
  path(coin: string, vendor: string): string | null {
    return nameProblem(coin, vendor) ? null : join(this.dir, vendor, `${coin}.jpg`);
  }

  /** The JPEG of `coin` at `vendor`, or null when there is none (or the name is not valid); a link is never followed. */
  async read(coin: string, vendor: string): Promise<Buffer | null> {
    const path = this.path(coin, vendor);
    if (!path) return null;
    try {
      await checkedDir(this.dir, vendor);
    } catch {
      return null;
    }
    let handle;
    try {
      handle = await open(path, constants.O_RDONLY | O_NOFOLLOW);
    } catch {
      return null;
    }
    try {
      if (!(await handle.stat()).isFile()) return null;
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  /** Every stored screenshot (links and stray files skipped), newest first. */
  async list(): Promise<StoredScreenshot[]> {
    const files = await this.scan();
    return files.sort((a, b) => b.modifiedAt - a.modifiedAt || a.path.localeCompare(b.path)).map(({ order: _order, ...f }) => f);
  }

  private async saveNow(coin: string, vendor: string, jpeg: Uint8Array): Promise<SaveResult> {
    const problem = nameProblem(coin, vendor);
    if (problem) return { ok: false, error: `screenshot not saved: ${problem}` };
    if (!(jpeg instanceof Uint8Array) || jpeg.length < 4 || JPEG_MAGIC.some((b, i) => jpeg[i] !== b)) {
      return { ok: false, error: `screenshot of ${coin} at ${vendor} not saved: the data is not a JPEG` };
    }
    if (jpeg.length > this.maxBytes) {
      return { ok: false, error: `screenshot of ${coin} at ${vendor} not saved: ${jpeg.length} bytes is more than the store's ${this.maxBytes}-byte bound (maxBytes)` };
    }
    let path: string;
    try {
      await mkdir(this.dir, { recursive: true });
      const folder = await checkedDir(this.dir, vendor, { create: true });
      path = join(folder, `${coin}.jpg`);
      await writeFileReplacing(path, jpeg);
    } catch (err) {
      return { ok: false, error: `screenshot of ${coin} at ${vendor} not saved: ${(err as Error).message}` };
    }
    try {
      const removed = await this.prune(path);
      return { ok: true, path, bytes: jpeg.length, removed };
    } catch (err) {
      return { ok: true, path, bytes: jpeg.length, removed: 0, warning: `old screenshots not pruned: ${(err as Error).message}` };
    }
  }

  /** Deletes the oldest files (never `keep`, the one just written) until both bounds hold. */
  private async prune(keep: string): Promise<number> {
    const files = (await this.scan()).sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : a.path.localeCompare(b.path)));
    let count = files.length;
    let bytes = files.reduce((n, f) => n + f.bytes, 0);
    let removed = 0;
    for (const f of files) {
      if (count <= this.maxFiles && bytes <= this.maxBytes) break;
      if (f.path === keep) continue;
      try {
        await unlink(f.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      count -= 1;
      bytes -= f.bytes;
      removed += 1;
    }
    return removed;
  }

  /** The screenshot files below the root: real folders named like vendors holding real `<slug>.jpg` files. */
  private async scan(): Promise<Array<StoredScreenshot & { order: bigint }>> {
    let vendors: string[];
    try {
      vendors = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: Array<StoredScreenshot & { order: bigint }> = [];
    for (const vendor of vendors) {
      if (!vendorIdSchema.safeParse(vendor).success) continue;
      const folder = join(this.dir, vendor);
      const info = await lstat(folder).catch(() => null);
      if (!info?.isDirectory()) continue; // links are never entered
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        if (!name.endsWith('.jpg')) continue;
        const coin = name.slice(0, -4);
        if (!slugSchema.safeParse(coin).success) continue;
        const path = join(folder, name);
        const file = await lstat(path, { bigint: true }).catch(() => null);
        if (!file?.isFile()) continue;
        out.push({ vendor, coin, path, bytes: Number(file.size), modifiedAt: Number(file.mtimeMs), order: file.mtimeNs });
      }
    }
    return out;
  }
}

function nameProblem(coin: string, vendor: string): string | null {
  return problemOf(slugSchema, coin, 'coin') ?? problemOf(vendorIdSchema, vendor, 'vendor');
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 1) throw new RangeError(`ScreenshotStore option ${name} must be at least 1 (got ${value}); leave it out for the default ${fallback}`);
  return Math.floor(value);
}
