import type { Logger } from '../log.js';

/** What publishing logs through: the project's pino logger fits. Lines carry no token and no credentials. */
export type PublishLogger = Pick<Logger, 'info' | 'warn'>;

/** Used when no logger is given. */
export const SILENT_LOGGER: PublishLogger = { info: () => undefined, warn: () => undefined } as unknown as PublishLogger;
