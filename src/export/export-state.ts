import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileReplacing } from '../files/no-follow.js';
import type { DailyVendorAggregate } from './model.js';
import type { ExportScope } from './export-queries.js';

/** Bumped when the cached aggregates change meaning: an old state is then ignored (full rebuild). */
export const EXPORT_STATE_VERSION = 1;

/**
 * What an export remembers for the next one: the row id it read up to, and the per-day aggregates of
 * every date in retention. The next export recomputes only the dates that got rows with a higher id.
 */
export interface ExportState {
  version: number;
  scope: ExportScope;
  /** Rows with id <= maxId were read. */
  maxId: number;
  /** idem_key of row maxId: a different key means a different database, hence a full rebuild. */
  maxIdKey: string | null;
  /** date -> coin -> vendor aggregates (sorted by vendor). */
  days: Record<string, Record<string, DailyVendorAggregate[]>>;
  /**
   * The first window of windows_24h in the files this state was saved with (null: none, or unknown). The next
   * export takes the windows that got no rows since from those files, when its own range starts no earlier.
   */
  windowsFrom?: string | null;
}

/** Where the state lives between exports. */
export interface ExportStateStore {
  /** The saved state, or null (none, unreadable or corrupt: the export then rebuilds in full). */
  load(): Promise<ExportState | null>;
  save(state: ExportState): Promise<void>;
}

/**
 * A JSON file in a local state folder (per poller, never in the published tree or git). About 1 MB at
 * the design load. Written to a fresh temporary file (O_EXCL, O_NOFOLLOW) then renamed, so a crash leaves the
 * old state or the new, and a link at `path` is replaced, never written through.
 */
export function fileExportState(path: string): ExportStateStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        return null;
      }
      try {
        const state = JSON.parse(text) as ExportState;
        return state && state.version === EXPORT_STATE_VERSION && typeof state.days === 'object' ? state : null;
      } catch {
        return null;
      }
    },
    async save(state) {
      await mkdir(dirname(path), { recursive: true });
      await writeFileReplacing(path, JSON.stringify(state));
    },
  };
}

/** State kept in memory only (tests, one-shot tools). */
export function memoryExportState(): ExportStateStore & { current: ExportState | null } {
  const store = {
    current: null as ExportState | null,
    async load() {
      return store.current ? (JSON.parse(JSON.stringify(store.current)) as ExportState) : null;
    },
    async save(state: ExportState) {
      store.current = JSON.parse(JSON.stringify(state)) as ExportState;
    },
  };
  return store;
}
