/** The sections of `poller bench` (`--only`), in the order they run; a module of its own so that the CLI's usage needs no bench code. */
export const BENCH_SECTIONS = ['overhead', 'cycle', 'faults', 'freshness', 'export', 'extraction', 'scale', 'browser', 'soak'] as const;
export type BenchSection = (typeof BENCH_SECTIONS)[number];
