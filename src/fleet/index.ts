/** The local vendor fleet: an HTTP server standing in for the dealers' product pages in tests, demo and benchmark. */
export { startFleet, type FleetHandle, type FleetOptions, type FleetStats } from './server.js';
export { rewriteCatalogueForFleet, fleetUrlFor } from './rewrite.js';
export { buildRoutes, fleetPath, lookupPath, type FleetTarget, type FleetVendor, type RouteTable } from './routes.js';
export { FAULTS, FleetInputError, parsePatch, type Fault, type Patch } from './patch.js';
export { CHAOS_FAULTS, chaosDice, parseChaos, type ChaosFault, type FleetChaos } from './chaos.js';
export { FleetState, type Settings } from './state.js';
export { APP_SHELL_API_PATH, CLEARANCE_COOKIE, clearanceToken, hasClearance, parseBrowserVendors, type BrowserOnly, type BrowserVendors } from './browser-only.js';
export { APP_READY_SELECTOR, appShellPage, renderAppShell, type AppShellInput, type AppShellPage } from './pages/app-shell.js';
export { renderScriptChallenge, type ScriptChallengeInput } from './pages/script-challenge.js';
export { truthOf, type MarketContext, type Truth } from './market.js';
export { GOLDBACK_RATE_PATH, GOLDBACK_RATE_SITE, GOLDBACK_RATE_SITE_URL, GOLDBACK_RATE_SPREAD, goldbackRateOn, isGoldbackRatePath, rateDay } from './goldback-rate.js';
export { renderGoldbackRatePage, type GoldbackOffer, type GoldbackRatePageInput } from './pages/goldback-rate.js';
export {
  CARD_MARKUP,
  DEFAULT_SPOT,
  OUT_OF_STOCK_SHARE,
  PREMIUM_RANGE,
  PRICE_CHANGE_SHARE,
  PRICE_LEVEL_SPREAD,
  cardPrice,
  levelAt,
  meltValue,
  modelInStock,
  modelPrice,
  premiumOf,
  spotQuote,
  tierPrice,
  windowIndex,
  type PriceInput,
  type SpotPrices,
} from './price-model.js';
export { formatAmount, formatChange, formatUsd, formatUsdWhole, round2 } from './money.js';
export { fractionalPrice, fractionalVariant, slugify, FRACTIONAL_EXTRA_PREMIUM, type ProductInfo } from './products.js';
export { HTML_TYPE, RETRY_AFTER_SECONDS } from './faults.js';
export { VENDOR_STYLES, styleFor } from './pages/styles.js';
export { buildPageModel, type PageModelInput } from './pages/model.js';
export type { Availability, PageModel, PageStyle, RelatedItem, Tier } from './pages/types.js';
