/** Merge of the pollers' published trees into the tree of `main`. Pure: text in, text out. */
export { mergeTrees, type MergeResult, type MergeOptions } from './merge-trees.js';
export { parseBranch, type BranchTree, type ParsedBranch } from './parse-branch.js';
export { mergeCoinLatest } from './merge-latest.js';
export { mergeHistories } from './merge-history.js';
export { mergeProviders, mergeManifestParts } from './merge-catalogue-files.js';
