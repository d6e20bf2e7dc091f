// The endpoint-racing client a frontend (and the tests) use: browser-compatible, no node: imports.
export { fetchHourlySpot, hourlyPath, latestByMetal, parseHourlyEntries, type HourlySpot, type HourlySpotEntry, type HourlySpotOptions } from './hourly-spot.js';
export {
  RetailEndpoints,
  DEFAULT_STALE_AFTER_MS,
  type RetailEndpointsOptions,
  type RankedEndpoint,
  type RankFailure,
  type EndpointRanking,
  type RetailAnswer,
} from './retail-endpoints.js';
export { EndpointError, type EndpointAttempt, type EndpointFailureKind, type FetchLike, type FetchResponseLike } from './fetch-json.js';
