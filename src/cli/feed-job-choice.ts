/** The jobs `poller feed-now` runs; a module of its own so that the CLI's usage needs no queue code. */
export const FEED_JOBS = ['spot-latest', 'spot-backfill', 'spot-history', 'goldback', 'sync'] as const;
export type FeedJobChoice = (typeof FEED_JOBS)[number];
