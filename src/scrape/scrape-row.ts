import type { Target } from '../catalogue/target.js';
import type { PriceRow, RowOutcome } from '../store/price-row.js';
import { windowStart, isoTimestamp } from '../time/window.js';
import type { ScrapeReport } from './scrape-target.js';

/** How much to trust a price by the rule that found it (>= 60 earns a medal in the app). */
const CONFIDENCE_BY_RULE: Record<string, number> = {
  'pricing-table': 90,
  'vendor-selector': 85,
  jsonld: 80,
  microdata: 80,
  'app-state': 75,
  meta: 70,
  'page-text': 50,
};

/** A flagged price (a jump) is stored and published, but below the app's medal threshold of 60. */
const FLAGGED_CONFIDENCE_FACTOR = 0.5;

export interface RowContext {
  key: string;
  pollerId: string;
  target: Pick<Target, 'coin' | 'vendor'>;
  at: Date;
}

/** The row of a scrape that read a page (prices, verdicts and sanity rejections alike). */
export function rowFromReport(ctx: RowContext, report: Extract<ScrapeReport, { kind: 'result' }>): PriceRow {
  const { result, rejected, flagged } = report;
  const priced = result.outcome === 'ok' || result.outcome === 'out_of_stock';
  const outcome: RowOutcome = rejected ? 'rejected' : result.outcome;
  const confidence = CONFIDENCE_BY_RULE[result.matchedBy ?? ''] ?? 50;
  return {
    ...base(ctx),
    // A rejected row keeps the rejected value, for people; is_failed keeps it out of every published file.
    price: rejected ? rejected.price : result.price,
    source: report.source,
    confidence: priced && !rejected ? Math.round(flagged ? confidence * FLAGGED_CONFIDENCE_FACTOR : confidence) : null,
    is_failed: rejected !== undefined || !priced,
    in_stock: priced && !rejected ? result.inStock ?? true : null,
    outcome,
    reason: rejected ? rejected.reason : flagged ? `flagged: ${flagged}` : priced && result.outcome === 'ok' ? null : result.reason,
    matched_by: rejected ? (result.matchedBy ?? result.rejected?.matchedBy ?? null) : result.matchedBy,
  };
}

/** The row of a scrape that got no page at all (network, timeout, 5xx, stalled job). */
export function failedRow(ctx: RowContext, reason: string, source = 'http'): PriceRow {
  return {
    ...base(ctx),
    price: null,
    source,
    confidence: null,
    is_failed: true,
    in_stock: null,
    outcome: 'error',
    reason,
    matched_by: null,
  };
}

function base(ctx: RowContext) {
  return {
    key: ctx.key,
    poller_id: ctx.pollerId,
    scraped_at: isoTimestamp(ctx.at),
    window_start: windowStart(ctx.at),
    coin_slug: ctx.target.coin,
    vendor: ctx.target.vendor,
  };
}
