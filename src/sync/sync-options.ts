import { z } from 'zod';
import { treePathProblem } from '../contract/names.js';
import { assertBranchName } from '../publish/remote-refs.js';
import { SILENT_LOGGER, type PublishLogger } from '../publish/logger.js';
import { DEFAULT_IDENTITY, type CommitIdentity } from '../publish/write-tree.js';
import { SyncConfigError } from './sync-error.js';

/** Which of the two repositories. */
export type SyncSide = 'primary' | 'fallback';

export const SYNC_SIDES: ReadonlyArray<SyncSide> = ['primary', 'fallback'];

/** One API repository taking part in the sync. */
export interface SyncRemote {
  /** Short name used in commit messages and logs, e.g. `StakTrakrApi` or `api-fallback`. */
  name: string;
  /** https URL without credentials, ssh URL, file:// URL or local bare repository path. */
  url: string;
  /** Token for an http(s) remote (sent as a per-command header, never stored or logged). Default: none. */
  token?: string;
}

export interface SyncRepositoriesOptions {
  primary: SyncRemote;
  fallback: SyncRemote;
  /** Branch synced on both sides. Default `main`. */
  branch?: string;
  /** Folder of the tree that is synced; nothing outside it is copied. Default `data/`. */
  root?: string;
  /** Folder of the sync's own git cache, reused between runs (not a publisher's workDir). */
  workDir: string;
  /** Author and committer of the sync commits. Default DEFAULT_IDENTITY (`StakTrakr Poller`). */
  identity?: CommitIdentity;
  /** Default: silent. */
  logger?: PublishLogger;
  /** Clock for the reported duration. Default Date.now. */
  now?: () => number;
  /** Pushes per side before giving up when its branch keeps moving under us. Default 3. */
  maxPushAttempts?: number;
  /** Create the branch on a side that lacks it (a first commit holding only the copied files). Default false: an error. */
  createMissingBranch?: boolean;
}

/** The options with every default applied. */
export interface SyncSettings {
  remotes: Record<SyncSide, SyncRemote>;
  branch: string;
  /** Always ends with `/`. */
  root: string;
  workDir: string;
  identity: CommitIdentity;
  logger: PublishLogger;
  now: () => number;
  maxPushAttempts: number;
  createMissingBranch: boolean;
}

// A name goes into a one-line commit message: no line breaks, nothing that reads as a second line.
const remoteSchema = z.object({
  name: z.string().trim().min(1, 'is empty').max(80, 'is longer than 80 characters').regex(/^[^\r\n\t]+$/, 'holds a line break or tab'),
  url: z.string().min(1, 'is empty'),
  token: z.string().optional(),
});

const optionsSchema = z.object({
  primary: remoteSchema,
  fallback: remoteSchema,
  branch: z.string().default('main'),
  root: z.string().default('data/'),
  workDir: z.string().trim().min(1, 'is empty: give a folder for the sync git cache, e.g. var/git/sync'),
  identity: z.object({ name: z.string().min(1), email: z.string().min(1) }).optional(),
  maxPushAttempts: z.number().int().min(1).max(20).default(3),
  createMissingBranch: z.boolean().default(false),
});

/** Checks the options (zod at the edge) and fills the defaults; throws SyncConfigError naming the bad field. */
export function syncSettings(options: SyncRepositoriesOptions): SyncSettings {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    // Only paths and messages: a value (a token) never enters the error.
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'} ${i.message}`).join('; ');
    throw new SyncConfigError(`sync options are invalid: ${issues}`);
  }
  const o = parsed.data;
  if (options.now !== undefined && typeof options.now !== 'function') throw new SyncConfigError('sync option now must be a function returning milliseconds, like Date.now');
  try {
    assertBranchName(o.branch);
  } catch (err) {
    throw new SyncConfigError(`sync ${err instanceof Error ? err.message : String(err)}`);
  }
  if (o.primary.name.trim() === o.fallback.name.trim()) throw new SyncConfigError(`primary and fallback are both named ${JSON.stringify(o.primary.name)}: give them different names, the commit message says where files came from`);
  return {
    remotes: { primary: { ...o.primary, name: o.primary.name.trim() }, fallback: { ...o.fallback, name: o.fallback.name.trim() } },
    branch: o.branch,
    root: normalizeRoot(o.root),
    workDir: o.workDir,
    identity: o.identity ?? DEFAULT_IDENTITY,
    logger: options.logger ?? SILENT_LOGGER,
    now: options.now ?? Date.now,
    maxPushAttempts: o.maxPushAttempts,
    createMissingBranch: o.createMissingBranch,
  };
}

/** `data`, `./data/` and `data/` all mean the folder `data/`; the whole tree (``, `/`) is refused. */
function normalizeRoot(root: string): string {
  const bare = root.trim().replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const problem = treePathProblem(bare);
  if (problem) throw new SyncConfigError(`sync root ${JSON.stringify(root)} is ${problem}: give the folder to sync, e.g. data/`);
  return `${bare}/`;
}
