import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { hash32 } from './hash.js';
import { describeIssues, FleetInputError } from './patch.js';

/**
 * Vendors whose product pages only a browser can read (default: none, every vendor serves plain HTML).
 * - `appShell`: the product URL answers an empty app shell whose script fetches the product from
 *   {@link APP_SHELL_API_PATH} and renders the vendor's usual product page into the DOM.
 * - `challenge`: the product URL answers a script challenge (Cloudflare-like, HTTP 403) that sets a clearance
 *   cookie and reloads; with the cookie the normal page (or the app shell) is served.
 * - `challengeDelayMs`: how long the challenge's script "checks the browser" before it reloads. Default 0
 *   (at once: the browser's first navigation ends on the product page); more makes a reader wait for it.
 * A vendor may be in both lists: the challenge first, then the app shell.
 */
export interface BrowserVendors {
  appShell?: string[];
  challenge?: string[];
  challengeDelayMs?: number;
}

/** The JSON endpoint the app shells fetch: `?vendor=<id>&coin=<slug>`. Same origin, not counted as a dealer request. */
export const APP_SHELL_API_PATH = '/_fleet/api/product';

/** Longest challenge delay accepted (a real check takes a few seconds). */
const MAX_CHALLENGE_DELAY_MS = 60_000;

const vendorList = z.array(z.string().min(1, 'expected a vendor id'));
const browserVendorsSchema = z.strictObject({
  appShell: vendorList.optional(),
  challenge: vendorList.optional(),
  challengeDelayMs: z.number().int('expected whole milliseconds').min(0, 'expected milliseconds >= 0').max(MAX_CHALLENGE_DELAY_MS, `expected at most ${MAX_CHALLENGE_DELAY_MS} ms`).optional(),
});

/** The browser-only vendors in force, as sets for the request path. */
export interface BrowserOnly {
  appShell: ReadonlySet<string>;
  challenge: ReadonlySet<string>;
  challengeDelayMs: number;
  /** The same, as plain lists (health, admin answers). */
  asJson(): Required<BrowserVendors>;
}

/** Checks browser-only vendors from code or an admin request (each must be a vendor of the fleet); null/undefined mean none. */
export function parseBrowserVendors(input: unknown, vendors: ReadonlyMap<string, unknown>, what = 'browserVendors'): BrowserOnly {
  const parsed = browserVendorsSchema.safeParse(input ?? {});
  if (!parsed.success) throw new FleetInputError(`bad ${what}: ${describeIssues(parsed.error)}`);
  const { appShell = [], challenge = [], challengeDelayMs = 0 } = parsed.data;
  const unknown = [
    ...appShell.map((v, i) => [`appShell.${i}`, v] as const),
    ...challenge.map((v, i) => [`challenge.${i}`, v] as const),
  ].filter(([, v]) => !vendors.has(v));
  if (unknown.length) {
    throw new FleetInputError(`bad ${what}: ${unknown.map(([field, v]) => `${field}: unknown vendor "${v}"`).join('; ')}; expected one of ${[...vendors.keys()].join(', ')}`);
  }
  const lists = { appShell: [...new Set(appShell)], challenge: [...new Set(challenge)], challengeDelayMs };
  return { appShell: new Set(lists.appShell), challenge: new Set(lists.challenge), challengeDelayMs, asJson: () => ({ ...lists, appShell: [...lists.appShell], challenge: [...lists.challenge] }) };
}

/** Name of the clearance cookie; scoped by path to the vendor's prefix, since every vendor shares the fleet's origin. */
export const CLEARANCE_COOKIE = 'fleet_clearance';

/** The clearance a browser earns at one vendor: fixed by the seed, so a restarted fleet with the same seed honours it. */
export function clearanceToken(seed: number, vendor: string): string {
  return hash32(`clearance|${seed}|${vendor}`).toString(36) + hash32(`clearance2|${seed}|${vendor}`).toString(36);
}

/** Does the request carry this vendor's clearance cookie? */
export function hasClearance(req: IncomingMessage, seed: number, vendor: string): boolean {
  const want = clearanceToken(seed, vendor);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === CLEARANCE_COOKIE && part.slice(eq + 1).trim() === want) return true;
  }
  return false;
}
