import { join } from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import type { Target } from '../catalogue/target.js';
import { vendorDirectory } from '../config/vendors.js';
import { RecoveryLog } from '../recovery/recovery-log.js';
import { RowSink } from '../recovery/row-sink.js';
import { scrapeTarget } from '../scrape/scrape-target.js';
import { PriceStore } from '../store/price-store.js';
import { createRedisConnection } from '../../queues/connection.js';
import type { ScrapeJobData } from '../../queues/scrape-schedulers.js';
import { createScrapeProcessor, type ScrapeJobResult } from '../../processors/scrape.js';
import { median, round } from './stats.js';

export interface QueueOverheadOptions {
  redisUrl: string;
  /** Key prefix of this run; every key under it is deleted at the end. */
  prefix: string;
  /** Fleet targets (zero latency). */
  targets: Target[];
  /** Folder for the database and the recovery log of the run. */
  workdir: string;
  /** Jobs per measurement. Default 2000. */
  jobs?: number;
  /** Worker concurrencies measured. Default [1, 32]. */
  concurrencies?: number[];
  progress?: (line: string) => void;
}

export interface ThroughputFigure {
  concurrency: number;
  jobs: number;
  jobsPerSec: number;
  /** Median time a job spent in the processor (ours: fetch, extraction, recovery log and database). */
  medianJobMs?: number;
}

export interface QueueOverheadResult {
  rawBullmq: ThroughputFigure[];
  scrape: ThroughputFigure[];
  /** Fetch plus extraction of one page, called directly (no queue, no row): the work a job exists for. */
  medianFetchExtractMs: number;
  /** Median time between completions at concurrency 1 minus the direct fetch and extraction: queue, recovery log, database. */
  medianOverheadMs: number;
  /** The same from throughput: wall time per job at concurrency 1 minus the mean direct scrape. */
  meanOverheadMs: number;
}

const unlimited = vendorDirectory({ defaults: { rateLimit: null, concurrency: 1 } }, 1);

/** Runs `jobs` jobs through one worker and returns jobs per second and the processor times. */
async function drain<D, R>(options: {
  redisUrl: string;
  prefix: string;
  queueName: string;
  concurrency: number;
  jobs: Array<{ name: string; data: D }>;
  processor: (job: Job<D, R>) => Promise<R>;
}): Promise<{ jobsPerSec: number; jobMs: number[]; cycleMs: number[] }> {
  const producer = createRedisConnection(options.redisUrl, { blocking: false });
  const queue = new Queue<D, R>(options.queueName, { connection: producer, prefix: options.prefix });
  for (let i = 0; i < options.jobs.length; i += 500) {
    await queue.addBulk(options.jobs.slice(i, i + 500).map((j) => ({ ...j, opts: { removeOnComplete: true, removeOnFail: true } })) as never);
  }
  const jobMs: number[] = [];
  // Time from one completion to the next: at concurrency 1, a job's whole cost, queue included.
  const cycleMs: number[] = [];
  let done = 0;
  const connection = createRedisConnection(options.redisUrl);
  const started = performance.now();
  let worker!: Worker<D, R>;
  const finished = new Promise<number>((resolve) => {
    worker = new Worker<D, R>(
      options.queueName,
      async (job) => {
        const t = performance.now();
        const r = await options.processor(job);
        jobMs.push(performance.now() - t);
        return r;
      },
      { connection, prefix: options.prefix, concurrency: options.concurrency },
    );
    let last = performance.now();
    const settle = () => {
      const now = performance.now();
      cycleMs.push(now - last);
      last = now;
      done += 1;
      if (done === options.jobs.length) resolve(performance.now());
    };
    worker.on('completed', settle);
    worker.on('failed', settle);
  });
  const ended = await finished;
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  producer.disconnect();
  connection.disconnect();
  return { jobsPerSec: round((options.jobs.length * 1000) / (ended - started), 1), jobMs, cycleMs: cycleMs.slice(1) };
}

/** Raw BullMQ no-op throughput beside our scrape jobs against a zero-latency fleet, at the same concurrencies. */
export async function measureQueueOverhead(options: QueueOverheadOptions): Promise<QueueOverheadResult> {
  const jobs = options.jobs ?? 2000;
  const concurrencies = options.concurrencies ?? [1, 32];
  const say = options.progress ?? (() => undefined);
  const rawBullmq: ThroughputFigure[] = [];
  for (const concurrency of concurrencies) {
    const r = await drain({
      redisUrl: options.redisUrl,
      prefix: options.prefix,
      queueName: `noop-${concurrency}`,
      concurrency,
      jobs: Array.from({ length: jobs }, (_, i) => ({ name: 'noop', data: { i } })),
      processor: async () => null,
    });
    rawBullmq.push({ concurrency, jobs, jobsPerSec: r.jobsPerSec });
    say(`  raw BullMQ no-op, concurrency ${concurrency}: ${r.jobsPerSec} jobs/s`);
  }

  // The work itself, without queue or row: each target fetched and extracted twice.
  const direct: number[] = [];
  for (let round2 = 0; round2 < 2; round2++) {
    for (const t of options.targets) {
      const s = performance.now();
      await scrapeTarget(t, { vendor: unlimited.get(t.vendor) });
      direct.push(performance.now() - s);
    }
  }
  const medianFetchExtractMs = round(median(direct));
  const meanDirect = direct.reduce((a, b) => a + b, 0) / direct.length;

  const scrape: ThroughputFigure[] = [];
  let medianOverheadMs = Number.NaN;
  let meanOverheadMs = Number.NaN;
  for (const concurrency of concurrencies) {
    const store = new PriceStore({ url: `file:${join(options.workdir, `overhead-${concurrency}.db`)}` });
    await store.migrate();
    const sink = new RowSink(new RecoveryLog(join(options.workdir, `overhead-${concurrency}-log`)), store, {});
    await sink.start();
    const processor = createScrapeProcessor({ sink, vendors: unlimited, timeoutMs: 30_000, rateLimit: async () => undefined });
    const r = await drain<ScrapeJobData, ScrapeJobResult>({
      redisUrl: options.redisUrl,
      prefix: options.prefix,
      queueName: `scrape-bench-${concurrency}`,
      concurrency,
      jobs: Array.from({ length: jobs }, (_, i) => ({ name: 'scrape', data: { pollerId: 'bench', target: options.targets[i % options.targets.length] } })),
      processor,
    });
    await sink.close();
    await store.close();
    const medianJobMs = round(median(r.jobMs));
    scrape.push({ concurrency, jobs, jobsPerSec: r.jobsPerSec, medianJobMs });
    if (concurrency === concurrencies[0]) {
      medianOverheadMs = round(median(r.cycleMs) - medianFetchExtractMs);
      meanOverheadMs = round(1000 / r.jobsPerSec - meanDirect);
    }
    say(`  scrape jobs against the zero-latency fleet, concurrency ${concurrency}: ${r.jobsPerSec} jobs/s (median job ${medianJobMs} ms)`);
  }
  return { rawBullmq, scrape, medianFetchExtractMs, medianOverheadMs, meanOverheadMs };
}
