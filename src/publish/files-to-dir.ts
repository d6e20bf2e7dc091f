import { treePathProblem } from '../contract/names.js';
import { replaceDir, writeIntoOwnDir } from '../files/no-follow.js';
import { PublishConfigError } from './errors.js';

/** Contents of a tree as a map from path (`data/ase/latest.json`, always `/`) to text (UTF-8) or bytes. */
export type TreeFiles = ReadonlyMap<string, string | Uint8Array>;

/**
 * Puts exactly `files` at `dir`. Rejects paths that would leave `dir` or reach into `.git`. The tree is built in a
 * fresh temporary folder of its own next to `dir` and renamed into place: whatever was at `dir` (a folder, or a
 * symbolic link, which is replaced and never followed) is swapped out only once the new tree is complete.
 */
export async function writeFilesToDir(files: TreeFiles, dir: string): Promise<void> {
  for (const path of files.keys()) assertTreePath(path);
  await replaceDir(dir, (fresh) => writeIntoOwnDir(fresh, files));
}

function assertTreePath(path: string): void {
  if (treePathProblem(path)) throw new PublishConfigError(`file path ${JSON.stringify(path)} is not a plain relative path (like data/ase/latest.json): fix the merged tree`);
}
