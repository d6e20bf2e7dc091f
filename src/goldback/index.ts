/** The Goldback feed: the official G1 rate read from a page, checked against retail, stored, published. */
export { DENOMINATIONS, denominationsIn, judgeAmountLabel, type AmountLabel, type AmountVerdict } from './rate-label.js';
export { G1_SPOT_RATIO, MAX_G1_USD, MIN_G1_USD, g1RateBounds, readGoldbackRate, type GoldbackRateReading, type ReadGoldbackRateOptions } from './goldback-rate.js';
export { checkAgainstRetail, notesFromSlug, retailPricesPerG1, type GoldbackConfidence, type RetailCheck, type RetailCheckOptions } from './goldback-check.js';
export { ensureGoldbackSchema, goldbackRateRowSchema, hasRateFor, readLatest, readYear, readYears, recordGoldbackRate, type GoldbackRateRow } from './goldback-store.js';
export {
  GOLDBACK_SPOT_PATH,
  PUBLISHED_DENOMINATIONS,
  buildGoldbackSpot,
  buildGoldbackYear,
  checkGoldbackFile,
  goldbackSpotFileSchema,
  goldbackYearEntrySchema,
  goldbackYearFileSchema,
  goldbackYearPath,
  isGoldbackFilePath,
  renderGoldbackFiles,
  type GoldbackSpotFile,
  type GoldbackYearFile,
} from './goldback-files.js';
export {
  DEFAULT_GOLDBACK_RATE_URL,
  GoldbackScrapeError,
  scrapeGoldbackRate,
  sourceHost,
  type GoldbackScrapeFailure,
  type GoldbackScrapeSummary,
  type ScrapeGoldbackOptions,
} from './scrape-goldback.js';
