// Nightly additive sync of data/ between two API repositories (primary and fallback); the `sync` queue calls syncRepositories.
export { syncRepositories, type SyncRepositoriesResult, type SyncCommit } from './sync-repositories.js';
export { type SyncRepositoriesOptions, type SyncRemote, type SyncSide } from './sync-options.js';
export { SyncError, SyncConfigError, type PushedSyncCommit } from './sync-error.js';
export type { SkippedPath } from './sync-plan.js';
