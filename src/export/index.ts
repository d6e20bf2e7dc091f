/** Export of the published price files from the database: builders, incremental export, snapshot. */
export { exportTree, buildExportTree, type ExportTreeOptions, type ExportStats, type BuiltExport } from './export-tree.js';
export { fileExportState, memoryExportState, EXPORT_STATE_VERSION, type ExportState, type ExportStateStore } from './export-state.js';
export { ensureExportSchema, EXPORT_INDEXES } from './export-schema.js';
export { writeSnapshot, SnapshotTooLargeError, type WriteSnapshotOptions, type SnapshotResult } from './snapshot.js';
export { buildCoinLatest, buildWindows, STALE_SOURCE, type CoinLatestInput } from './coin-latest.js';
export { buildCoinHistory, type CoinHistoryOptions } from './coin-history.js';
export { buildManifest, countWindows, NO_DATA_GENERATED_AT, type ManifestInput } from './manifest.js';
export { buildProviders } from './providers.js';
export { buildGlobalLatest, type GlobalLatestInput } from './global-latest.js';
export { assembleTree, type TreeInput, type AssembledTree } from './assemble-tree.js';
export { renderPublishedFiles } from './render-files.js';
export { stableStringify } from './stable-json.js';
export { DEFAULT_PUBLISH_RULES, type PublishRules } from './rules.js';
export type * from './model.js';
