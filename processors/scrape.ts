import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { VendorDirectory } from '../src/config/vendors.js';
import type { RowSink } from '../src/recovery/row-sink.js';
import { scrapeTarget, type ScrapeDeps } from '../src/scrape/scrape-target.js';
import { failedRow, rowFromReport, type RowContext } from '../src/scrape/scrape-row.js';
import { scrapeRowKey } from '../src/store/price-row.js';
import type { ScrapeJobData } from '../queues/scrape-schedulers.js';

export interface ScrapeProcessorDeps {
  sink: RowSink;
  vendors: VendorDirectory;
  /** Whole-job deadline, fetches of all URLs included. */
  timeoutMs: number;
  /** Pauses the vendor's queue for `ms` (BullMQ queue.rateLimit). */
  rateLimit: (vendor: string, ms: number) => Promise<void>;
  logger?: Logger;
  /** Replaces the HTTP tier (benchmark). */
  fetch?: ScrapeDeps['fetch'];
  spot?: ScrapeDeps['spot'];
  priceContext?: ScrapeDeps['priceContext'];
}

export interface ScrapeJobResult {
  outcome: string;
  price: number | null;
  inStock: boolean | null;
  stored: 'stored' | 'logged';
}

/** Context for the row of this job; the key makes every attempt of the job write the same row. */
export function rowContext(job: Job<ScrapeJobData>): RowContext {
  return { key: scrapeRowKey(job.data.pollerId, job.id!), pollerId: job.data.pollerId, target: job.data.target, at: new Date() };
}

/** Thin adapter: scrape the job's target, write its row, and tell BullMQ whether to retry. */
export function createScrapeProcessor(deps: ScrapeProcessorDeps): Processor<ScrapeJobData, ScrapeJobResult> {
  return async (job) => {
    const { target } = job.data;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`timed out after ${deps.timeoutMs} ms`);
        controller.abort(err);
        reject(err);
      }, deps.timeoutMs);
    });
    let report;
    try {
      report = await Promise.race([
        scrapeTarget(target, { vendor: deps.vendors.get(target.vendor), signal: controller.signal, fetch: deps.fetch, spot: deps.spot, priceContext: deps.priceContext }),
        deadline,
      ]);
    } catch (err) {
      report = { kind: 'transient' as const, reason: (err as Error).message, url: target.urls[0] };
    } finally {
      clearTimeout(timer);
    }

    if (report.kind === 'rate_limited') {
      deps.logger?.warn({ vendor: target.vendor, ms: report.retryAfterMs }, 'vendor answered 429; pausing its queue');
      await deps.rateLimit(target.vendor, report.retryAfterMs);
      throw Worker.RateLimitError();
    }
    if (report.kind === 'transient') {
      if (lastAttempt) await deps.sink.submit(failedRow(rowContext(job), report.reason));
      throw new Error(report.reason);
    }
    const row = rowFromReport(rowContext(job), report);
    const succeeded = !row.is_failed;
    if (succeeded || report.final || lastAttempt) {
      const stored = await deps.sink.submit(row);
      if (succeeded) {
        await job.updateProgress(100);
        return { outcome: row.outcome, price: row.price, inStock: row.in_stock, stored };
      }
    }
    const message = `${row.outcome}: ${row.reason ?? 'no reason given'}`;
    throw report.final ? new UnrecoverableError(message) : new Error(message);
  };
}
