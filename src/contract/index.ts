/** The published data contract: schemas of every price file and the check applied before writing. */
export * from './fields.js';
export * from './manifest-schema.js';
export * from './providers-schema.js';
export * from './global-latest-schema.js';
export * from './coin-latest-schema.js';
export * from './history-schema.js';
export * from './published-files.js';
export * from './contract-error.js';
export * from './check.js';
export * from './key-shape.js';
