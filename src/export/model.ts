/**
 * What the builders are built from: aggregates of successful rows (is_failed = 0, outcome ok or
 * out_of_stock, price not null), never raw rows, so that an export holds days and windows, not rows.
 * Prices are integer cents. A row is "in stock" when its outcome is `ok` and in_stock is not 0.
 */

/** One successful observation of a coin at a vendor. */
export interface Observation {
  /** ISO-8601 with milliseconds, as stored. */
  scrapedAt: string;
  /** 15-minute window start `YYYY-MM-DDTHH:MM:00Z`. */
  window: string;
  priceCents: number;
  inStock: boolean;
  confidence: number | null;
  /** Where the price came from (`http`, `browser`, `vision`, ...). */
  source: string;
}

/** The newest in-stock price of a vendor at some time. */
export interface InStockPrice {
  scrapedAt: string;
  priceCents: number;
}

/** A vendor's successful rows of one coin on one UTC date, summed (pollers of the export's scope together). */
export interface DailyVendorAggregate {
  vendor: string;
  /** Successful rows (in stock or not): the day's sample count. */
  rows: number;
  inStockRows: number;
  inStockSumCents: number;
  /** Sum of the advertised prices of out-of-stock rows (rows - inStockRows of them). */
  outOfStockSumCents: number;
  /** The newest successful row of the day. */
  last: Observation;
  /** The newest in-stock row of the day, if any. */
  lastInStock: InStockPrice | null;
}

/** One coin's vendors on one UTC date. */
export interface DailyCoinAggregate {
  /** `YYYY-MM-DD` (UTC, the date of window_start). */
  date: string;
  vendors: DailyVendorAggregate[];
}

/** The newest in-stock price of a vendor within one 15-minute window. */
export interface WindowPrice {
  window: string;
  vendor: string;
  priceCents: number;
}

/** What is known of a vendor now: its newest successful row and its newest in-stock row (within retention). */
export interface VendorState {
  vendor: string;
  last: Observation;
  lastInStock: InStockPrice | null;
}
