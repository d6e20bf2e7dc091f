import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PublishConfigError } from './errors.js';

/** Contents of a tree as a map from path (`data/ase/latest.json`, always `/`) to text (UTF-8) or bytes. */
export type TreeFiles = ReadonlyMap<string, string | Uint8Array>;

/** Writes `files` under `dir` (which should be empty). Rejects paths that would leave `dir` or reach into `.git`. */
export async function writeFilesToDir(files: TreeFiles, dir: string): Promise<void> {
  for (const path of files.keys()) assertTreePath(path);
  const folders = new Set([...files.keys()].map((p) => dirname(join(dir, p))));
  for (const folder of folders) await mkdir(folder, { recursive: true });
  for (const [path, content] of files) await writeFile(join(dir, path), content);
}

function assertTreePath(path: string): void {
  const parts = path.split('/');
  const bad =
    path === '' ||
    path.startsWith('/') ||
    path.includes('\\') ||
    path.includes('\0') ||
    parts.some((p) => p === '' || p === '.' || p === '..' || p.toLowerCase() === '.git');
  if (bad) throw new PublishConfigError(`file path ${JSON.stringify(path)} is not a plain relative path (like data/ase/latest.json): fix the merged tree`);
}
