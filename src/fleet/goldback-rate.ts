import { DEFAULT_GOLDBACK_RATE_URL } from '../goldback/scrape-goldback.js';
import { between } from './hash.js';
import { round2 } from './money.js';
import { fleetPath } from './routes.js';
import type { SpotPrices } from './price-model.js';

/** The official Goldback exchange rate page the fleet stands in for (the URL an operator configures). */
export const GOLDBACK_RATE_SITE_URL = DEFAULT_GOLDBACK_RATE_URL;
/** The fleet's "vendor" segment for it: the fleet URL is `{fleet}/goldback/exchange-rate`, as fleetUrlFor() maps it. */
export const GOLDBACK_RATE_SITE = 'goldback';
/** Path of the rate page on the fleet. */
export const GOLDBACK_RATE_PATH = fleetPath(GOLDBACK_RATE_SITE, GOLDBACK_RATE_SITE_URL);

/** Whether a request path is the rate page: `/goldback/exchange-rate` or `/goldback/exchange-rates`, with or without a final `/`. */
export function isGoldbackRatePath(pathname: string): boolean {
  return /^\/goldback\/exchange-rates?\/?$/.test(pathname);
}
/** Largest daily move of the official rate around the fleet's goldback spot, either way (dealer premiums start at 0). */
export const GOLDBACK_RATE_SPREAD = 0.015;

const DAY_MS = 86_400_000;

/** Index of the UTC day that holds a time: the official rate changes once a day. */
export function rateDay(atMs: number): number {
  return Math.floor(atMs / DAY_MS);
}

/** The official G1 rate the fleet's page states on the UTC day of `atMs`: goldback spot moved a little, per day and seed. */
export function goldbackRateOn(seed: number, spot: Pick<SpotPrices, 'goldback'>, atMs: number): number {
  return round2(spot.goldback * (1 + between(-GOLDBACK_RATE_SPREAD, GOLDBACK_RATE_SPREAD, seed, 'goldback-rate', rateDay(atMs))));
}
