import { watchFile, unwatchFile, type Stats } from 'node:fs';
import { loadCatalogue, type Catalogue } from './load.js';

export interface CatalogueWatchOptions {
  /** How often the file is checked, in ms (stat polling works on every volume type). */
  intervalMs: number;
  onChange: (catalogue: Catalogue) => void | Promise<void>;
  /** A broken edit: the running poller keeps its last good catalogue. */
  onError: (err: Error) => void;
}

/** Reloads the catalogue when its file changes; returns a function that stops watching. */
export function watchCatalogue(path: string, options: CatalogueWatchOptions): () => void {
  let running = Promise.resolve();
  const listener = (curr: Stats, prev: Stats) => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size) return;
    running = running.then(async () => {
      try {
        await options.onChange(await loadCatalogue(path));
      } catch (err) {
        options.onError(err as Error);
      }
    });
  };
  watchFile(path, { interval: options.intervalMs, persistent: false }, listener);
  return () => unwatchFile(path, listener);
}
