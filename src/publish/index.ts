// Git publishing: pollers publish their tree to their own branch; the merger reads branches and writes main.
export { publishTree, type PublishTreeOptions, type PublishTreeResult } from './publish-tree.js';
export { fetchBranches, isFetchFailure, type FetchBranchesOptions, type BranchFetchResult, type FetchedBranch, type BranchFetchFailure } from './fetch-branches.js';
export { pushMain, type PushMainOptions, type PushMainResult } from './push-main.js';
export { PublishConfigError, PublishError } from './errors.js';
export { DEFAULT_IDENTITY, type CommitIdentity } from './write-tree.js';
export type { TreeFiles } from './files-to-dir.js';
export type { PublishLogger } from './logger.js';
export { ensureLocalRemote } from './local-remote.js';
