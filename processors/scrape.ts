import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { Logger } from 'pino';
import type { VendorDirectory } from '../src/config/vendors.js';
import type { RowSink } from '../src/recovery/row-sink.js';
import { BLOCKED_VENDOR_REASON, judgeWall, type VendorWallStore } from '../src/scrape/retry-policy.js';
import { scrapeTarget, type ScrapeDeps, type ScrapeReport, type TierAttempt } from '../src/scrape/scrape-target.js';
import { failedRow, rowFromReport, type RowContext } from '../src/scrape/scrape-row.js';
import { secondReading, type SecondReadingDeps } from '../src/scrape/second-reading.js';
import { spotFor } from '../src/scrape/sanity.js';
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
  /** The browser tier (the worker process's pool), for vendors with tier `browser` or `auto`. Default none. */
  browser?: ScrapeDeps['browser'];
  /** A screenshot of a page the HTTP tier read, rendered by the browser tier, for the second reader. Default none. */
  screenshotOf?: (url: string, signal: AbortSignal) => Promise<Uint8Array | null>;
  /** Keeps the latest screenshot per target (SCREENSHOT_DIR). Its failures are logged, never fatal. Default none. */
  keepScreenshot?: (coin: string, vendor: string, jpeg: Uint8Array) => Promise<void>;
  /** Vision, the second reader (GEMINI_API_KEY): reconciled with the text scrape by numbers. Default none. */
  secondReader?: SecondReadingDeps;
  /** Spot per metal for the sanity check, read at each scrape: the spot feed's fresh values over the configured ones. */
  spot?: () => NonNullable<ScrapeDeps['spot']>;
  priceContext?: ScrapeDeps['priceContext'];
  /** What each vendor's bot walls have shown. Default none: every walled page is retried like a 5xx. */
  walls?: VendorWallStore;
  /** Pages a vendor has in the catalogue, to tell "every page walled". Default 0 (never walled, only suspected). */
  vendorPages?: (vendor: string) => number;
  /**
   * Follow-up of every attempt (asks for an export when a price row was stored, counts metrics). Its errors
   * are logged, never thrown: the row is safe whatever the follow-up does. Default none.
   */
  afterScrape?: (attempt: ScrapeAttempt) => Promise<void>;
  /**
   * The target as the catalogue has it now (URLs, name, weight), or null when it left the catalogue: a job
   * queued before a restart or an edit never scrapes a URL the catalogue no longer has. Default: the job's copy.
   */
  resolveTarget?: (target: ScrapeJobData['target']) => ScrapeJobData['target'] | null;
}

/** What one attempt of a scrape job came to, for its follow-up. */
export interface ScrapeAttempt {
  pollerId: string;
  target: ScrapeJobData['target'];
  /** The row's outcome (`ok`, `out_of_stock`, `blocked`, `rejected`, `error`, ...) or `rate_limited`. */
  outcome: string;
  /** A price row was stored (or logged while the database is away): the export has something new. */
  priced: boolean;
  /** The attempt ended the job (a row was written, or it was the last attempt). */
  final: boolean;
  durationMs: number;
  /** The tier that produced the result (`http` or `browser`). */
  tier: string;
}

/** A completed scrape job's return value, as Bull Board shows it. */
export interface ScrapeJobResult {
  target: { coin: string; vendor: string; poller: string };
  url: string;
  /** The tier that produced the result, and every tier tried with why. */
  tier: string;
  tiers: string[];
  /** `http`, `browser`, `consensus` (text and vision read), `vision` (only vision read a price). */
  source: string;
  outcome: string;
  price: number | null;
  inStock: boolean | null;
  /** The extraction rule that found the price. */
  matchedBy: string | null;
  /** Why the outcome (null for a plain `ok`; a flag for a price that jumped). */
  reason: string | null;
  /** `stored` in the database, or `logged` to the recovery log while the database is away. */
  stored: 'stored' | 'logged';
}

/** Context for the row of this job; the key makes every attempt of the job write the same row. */
export function rowContext(job: Job<ScrapeJobData>): RowContext {
  return { key: scrapeRowKey(job.data.pollerId, job.id!), pollerId: job.data.pollerId, target: job.data.target, at: new Date() };
}

/** Thin adapter: scrape the job's target, write its row, and tell BullMQ whether to retry. */
export function createScrapeProcessor(deps: ScrapeProcessorDeps): Processor<ScrapeJobData, ScrapeJobResult> {
  const follow = async (attempt: ScrapeAttempt) => {
    await deps.afterScrape?.(attempt).catch((err: Error) => deps.logger?.warn({ err: err.message, target: `${attempt.target.coin}@${attempt.target.vendor}` }, 'scrape follow-up failed; the safety-net export will carry the row'));
  };
  return async (job) => {
    const started = Date.now();
    const target = deps.resolveTarget ? deps.resolveTarget(job.data.target) : job.data.target;
    if (!target) throw new UnrecoverableError(`${job.data.target.coin}@${job.data.target.vendor} is no longer in the catalogue: nothing scraped`);
    let tier = 'http';
    let tried = 'http';
    const attempt = (outcome: string, priced: boolean, final: boolean): ScrapeAttempt => ({ pollerId: job.data.pollerId, target, outcome, priced, final, durationMs: Date.now() - started, tier });
    // One line per attempt in the job's log (Bull Board): tiers tried and why, HTTP status, duration, outcome, rule, what follows.
    const jobLog = (what: string) =>
      job.log(`attempt ${job.attemptsMade + 1}/${job.opts.attempts ?? 1}: ${tried}, ${Date.now() - started} ms, ${what}`).catch(() => undefined);
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
        scrapeTarget(target, {
          vendor: deps.vendors.get(target.vendor),
          signal: controller.signal,
          fetch: deps.fetch,
          browser: deps.browser,
          screenshot: deps.secondReader !== undefined || deps.keepScreenshot !== undefined,
          spot: deps.spot?.(),
          priceContext: deps.priceContext,
        }),
        deadline,
      ]);
    } catch (err) {
      report = { kind: 'transient' as const, reason: (err as Error).message, url: target.urls[0], source: 'http' as const, tiers: [] };
    } finally {
      clearTimeout(timer);
    }
    tier = report.source;
    // One tier: `tier http`; an escalation: each tier tried and why (`tiers http blocked (...) -> browser ok`).
    tried = report.tiers.length > 1 ? `tiers ${report.tiers.map(describeTier).join(' -> ')}` : `tier ${report.source}`;

    if (report.kind === 'result' && deps.walls) report = await weighWall(report, target, deps);

    if (report.kind === 'rate_limited') {
      deps.logger?.warn({ vendor: target.vendor, ms: report.retryAfterMs }, 'vendor answered 429; pausing its queue');
      await deps.rateLimit(target.vendor, report.retryAfterMs);
      await jobLog(`HTTP 429 from ${report.url}: the vendor's queue pauses ${report.retryAfterMs} ms, then this job runs again`);
      await follow(attempt('rate_limited', false, false));
      throw Worker.RateLimitError();
    }
    if (report.kind === 'transient') {
      if (lastAttempt) await deps.sink.submit(failedRow(rowContext(job), report.reason, report.source));
      await jobLog(`error: ${report.reason} (${report.url}); ${lastAttempt ? 'last attempt: a failed row records it' : 'will be retried'}`);
      await follow(attempt('error', false, lastAttempt));
      throw new Error(report.reason);
    }
    let row = rowFromReport(rowContext(job), report);
    const reportedShot = report.screenshot ?? null;
    if (deps.secondReader || deps.keepScreenshot) {
      // The job's deadline bounds the screenshot and the second reading too (the fetch's timer is cleared above):
      // a slow vision read is cancelled at the deadline (a `timeout` read) and the text result stands.
      const rest = setTimeout(() => controller.abort(new Error(`timed out after ${deps.timeoutMs} ms`)), Math.max(0, deps.timeoutMs - (Date.now() - started)));
      try {
        // The screenshot the browser tier took, or one of the page the HTTP tier read (the second reader needs it).
        const shot = reportedShot ?? (deps.secondReader && deps.screenshotOf ? await deps.screenshotOf(report.url, controller.signal).catch(() => null) : null);
        if (shot && deps.keepScreenshot) await deps.keepScreenshot(target.coin, target.vendor, shot).catch((err: Error) => deps.logger?.warn({ err: err.message }, 'screenshot not kept'));
        if (deps.secondReader) {
          const context = (await deps.priceContext?.(target).catch(() => null)) ?? { previousPrice: null, windowMedian: null };
          const second = await secondReading(
            { target, row, page: { url: report.url, html: report.html ?? null, screenshot: shot }, context, spotUsdPerOz: spotFor(target.metal, deps.spot?.()), signal: controller.signal },
            deps.secondReader,
          ).catch((err: Error) => ({ row, note: `second reading failed: ${err.message}` }));
          row = second.row;
          await job.log(second.note).catch(() => undefined);
        }
      } finally {
        clearTimeout(rest);
      }
    }
    const succeeded = !row.is_failed;
    const final = succeeded || report.final || lastAttempt;
    const price = row.price === null ? '' : ` $${row.price.toFixed(2)}`;
    await jobLog(`HTTP ${report.status} ${report.url}: ${row.outcome}${price}${row.matched_by ? ` by ${row.matched_by}` : ''}${row.reason ? ` (${row.reason})` : ''}; ${final ? 'row written' : 'will be retried'}`);
    if (final) {
      const stored = await deps.sink.submit(row);
      await follow(attempt(row.outcome, succeeded, true));
      if (succeeded) {
        await job.updateProgress(100);
        return {
          target: { coin: target.coin, vendor: target.vendor, poller: job.data.pollerId },
          url: report.url,
          tier: report.source,
          tiers: report.tiers.map(describeTier),
          source: row.source,
          outcome: row.outcome,
          price: row.price,
          inStock: row.in_stock,
          matchedBy: row.matched_by,
          reason: row.reason,
          stored,
        };
      }
    } else {
      await follow(attempt(row.outcome, false, false));
    }
    const message = `${row.outcome}: ${row.reason ?? 'no reason given'}`;
    throw report.final ? new UnrecoverableError(message) : new Error(message);
  };
}

/** One tier tried, for job.log and the job's result: `http blocked (HTTP 403: ...)`. */
function describeTier(t: TierAttempt): string {
  return `${t.tier} ${t.outcome}${t.why ? ` (${t.why})` : ''}`;
}

/**
 * A walled page is retried only while the vendor still serves other pages: once several of its pages in a
 * row are walled the attempt is final, and once all are, the vendor is reported blocked (logged once).
 * The wall store failing never fails the job: the page is then judged on its own.
 */
async function weighWall(report: Extract<ScrapeReport, { kind: 'result' }>, target: ScrapeJobData['target'], deps: ScrapeProcessorDeps): Promise<ScrapeReport> {
  const walls = deps.walls!;
  if (report.result.outcome !== 'blocked') {
    await walls.recordServed(target.vendor).catch(() => undefined);
    return report;
  }
  const state = await walls.recordBlocked(target.vendor, target.coin, Date.now()).catch(() => null);
  if (!state) return report;
  const pages = deps.vendorPages?.(target.vendor) ?? 0;
  const verdict = judgeWall(state.blockedPages, pages);
  if (verdict === 'open') return report;
  const since = new Date(state.since ?? Date.now()).toISOString().slice(0, 19) + 'Z';
  const note =
    verdict === 'walled'
      ? `${BLOCKED_VENDOR_REASON} all ${pages} of its pages answered with a bot wall since ${since}; not retried (every target is still tried once a run)`
      : `${state.blockedPages} pages of this vendor answered with a bot wall since ${since} and none served: not retried`;
  if (verdict === 'walled' && state.added && state.blockedPages === pages) {
    deps.logger?.warn({ vendor: target.vendor, pages, since }, 'vendor blocks every page with a bot wall; its pages are no longer retried until it serves one');
  }
  return { ...report, final: true, result: { ...report.result, reason: `${note}; ${report.result.reason}` } };
}
