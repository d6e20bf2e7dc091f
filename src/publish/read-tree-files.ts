import type { CacheRepo } from './cache-repo.js';
import { runGit } from './git-command.js';

export interface TreeContents {
  /** Text files (valid UTF-8, no NUL byte) by path, e.g. `data/ase/latest.json`. */
  files: Map<string, string>;
  /** Every other regular file (e.g. a compressed snapshot) as bytes, by path. */
  binaryFiles: Map<string, Buffer>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads every regular file of a commit's tree from the cache with two git processes
 * (`ls-tree -r` and one `cat-file --batch`), however many files there are. Symlinks and submodules are skipped.
 */
export async function readTreeFiles(repo: CacheRepo, commit: string): Promise<TreeContents> {
  const listing = await runGit(['ls-tree', '-r', '-z', '--full-tree', commit], { gitDir: repo.gitDir });
  const entries: Array<{ path: string; blob: string }> = [];
  for (const record of listing.stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode, type, blob] = record.slice(0, tab).split(' ');
    if (type === 'blob' && (mode === '100644' || mode === '100755')) entries.push({ path: record.slice(tab + 1), blob });
  }
  const blobs = [...new Set(entries.map((e) => e.blob))];
  const contents = blobs.length ? parseBatch((await runGit(['cat-file', '--batch'], { gitDir: repo.gitDir, input: blobs.join('\n') + '\n' })).stdout) : new Map<string, Buffer>();
  const result: TreeContents = { files: new Map(), binaryFiles: new Map() };
  for (const { path, blob } of entries) {
    const bytes = contents.get(blob);
    if (!bytes) throw new Error(`blob ${blob} of ${path} is missing from the cache; delete the workDir to rebuild it`);
    const text = asText(bytes);
    if (text === null) result.binaryFiles.set(path, bytes);
    else result.files.set(path, text);
  }
  return result;
}

/** `<sha> <type> <size>\n<bytes>\n` repeated. */
function parseBatch(out: Buffer): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  let at = 0;
  while (at < out.length) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const header = out.subarray(at, eol).toString('utf8').split(' ');
    if (header[1] === 'missing' || header.length < 3) {
      at = eol + 1;
      continue;
    }
    const size = Number(header[2]);
    objects.set(header[0], out.subarray(eol + 1, eol + 1 + size));
    at = eol + 1 + size + 1;
  }
  return objects;
}

function asText(bytes: Buffer): string | null {
  if (bytes.includes(0)) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}
