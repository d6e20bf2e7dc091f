import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { VendorRules } from '../scrape/extract/types.js';
import { BROWSER_RESOURCES, type BrowserResource } from '../scrape/fetch/browser-options.js';
import type { HttpFetchOptions } from '../scrape/fetch/http-fetch.js';

/**
 * Which fetch tier reads a vendor's pages.
 * - `http`: plain HTTP only (default; no browser is ever started for the vendor).
 * - `browser`: a real browser only (script-rendered shops, JavaScript challenges).
 * - `auto`: HTTP first, then the browser when the HTTP page is a challenge, an empty app shell or shows no price.
 */
export const VENDOR_TIERS = ['http', 'browser', 'auto'] as const;
export type VendorTier = (typeof VENDOR_TIERS)[number];

/** Longest settle time a vendor may ask the browser tier for (the job's deadline bounds it anyway). */
const MAX_SETTLE_MS = 60_000;

/** Per-vendor politeness and fetch settings. Every field is optional; `defaults` fills the gaps. */
const vendorSettingsSchema = z.strictObject({
  /** Jobs of this vendor run at once in one worker process. Default: WORKER_CONCURRENCY. */
  concurrency: z.number().int().min(1).max(256).optional(),
  /** At most `max` requests per `durationMs` across all workers of this poller (BullMQ's queue limiter). */
  rateLimit: z.strictObject({ max: z.number().int().min(1), durationMs: z.number().int().min(1) }).nullable().optional(),
  /** Per-vendor HTTP(S) proxy, e.g. http://user:pass@host:port. Env PROXY_URL_<VENDOR> overrides it. */
  proxyUrl: z.string().url().nullable().optional(),
  userAgent: z.string().min(1).nullable().optional(),
  timeoutMs: z.number().int().min(100).optional(),
  maxBytes: z.number().int().min(1024).optional(),
  /** Pre-order counts as purchasable at this vendor. */
  preorderInStock: z.boolean().optional(),
  /** CSS selector of this vendor's 1-unit price element; wins over the generic rules when it yields an amount. */
  priceSelector: z.string().min(1).optional(),
  /** CSS selectors of regions never read for prices or stock (vendor-specific tickers and widgets). */
  ignoreSelectors: z.array(z.string().min(1)).optional(),
  /** Fetch tier: `http` (default), `browser` or `auto`. */
  tier: z.enum(VENDOR_TIERS, { message: `expected one of ${VENDOR_TIERS.join(', ')}` }).optional(),
  /** Browser tier: CSS selector to wait for before the DOM is read (the price, or an app's "ready" marker). */
  waitForSelector: z.string().trim().min(1, 'expected a CSS selector').nullable().optional(),
  /** Browser tier: extra settle time after load when no selector is given, in ms. Default: the browser fetch's own (500). */
  settleMs: z.number().int('expected whole milliseconds').min(0, 'expected milliseconds >= 0').max(MAX_SETTLE_MS, `expected at most ${MAX_SETTLE_MS} ms`).nullable().optional(),
  /** Browser tier: resource types this vendor's pages need although they are blocked by default. Default none. */
  allowResources: z.array(z.enum(BROWSER_RESOURCES, { message: `expected one of ${BROWSER_RESOURCES.join(', ')}` })).optional(),
  /** Vision: which row of the page's quantity/price table to read, in words (e.g. "the 1-19 row"). Default: the 1-unit row. */
  visionQuantityRow: z.string().trim().min(1).max(200).optional(),
  /** Vision: which payment column to read when the page shows several (e.g. "Check/Wire"). Default: check/wire when shown. */
  visionPaymentColumn: z.string().trim().min(1).max(200).optional(),
});

const vendorsFileSchema = z.strictObject({
  defaults: vendorSettingsSchema.default({}),
  vendors: z.record(z.string(), vendorSettingsSchema).default({}),
});

export type VendorSettingsInput = z.infer<typeof vendorSettingsSchema>;

export interface VendorSettings {
  concurrency: number;
  rateLimit: { max: number; durationMs: number } | null;
  proxyUrl: string | null;
  userAgent: string | null;
  timeoutMs: number;
  maxBytes: number;
  rules: VendorRules;
  /** Fetch tier of this vendor (default `http`). */
  tier: VendorTier;
  /** Settings of the browser tier (used with `browser` and `auto`); null means the browser fetch's default. */
  browser: { waitForSelector: string | null; settleMs: number | null; allowResources: BrowserResource[] };
  /** What the vision reader is told about this vendor's page; null: the prompt's default. */
  vision: { quantityRow: string | null; paymentColumn: string | null };
}

export interface VendorDirectory {
  /** Settings of one vendor; a vendor nobody configured gets the defaults. */
  get(vendor: string): VendorSettings;
}

/** The settings (proxy, user agent, timeout, size cap) of the daily Goldback rate page are this vendor id's in config/vendors.json. */
export const GOLDBACK_RATE_VENDOR = 'goldback';

/** A vendor's settings as the HTTP tier's options. */
export function httpFetchOptionsOf(vendor: VendorSettings): HttpFetchOptions {
  return { proxyUrl: vendor.proxyUrl ?? undefined, userAgent: vendor.userAgent ?? undefined, timeoutMs: vendor.timeoutMs, maxBytes: vendor.maxBytes };
}

/** Documented built-in defaults: one request at a time, at most one every 2 s per vendor. */
export const BUILTIN_VENDOR_DEFAULTS = {
  rateLimit: { max: 1, durationMs: 2000 },
  timeoutMs: 20_000,
  maxBytes: 5 * 1024 * 1024,
} as const;

export class VendorsFileError extends Error {
  constructor(file: string, problems: string[]) {
    super(`vendor settings ${file} are refused:\n  - ${problems.join('\n  - ')}`);
    this.name = 'VendorsFileError';
  }
}

/**
 * Reads config/vendors.json (a missing file means "defaults for everyone").
 * `defaultConcurrency` is WORKER_CONCURRENCY; `env` supplies PROXY_URL_<VENDOR> overrides.
 */
export async function loadVendorDirectory(
  path: string,
  defaultConcurrency: number,
  env: Record<string, string | undefined> = process.env,
): Promise<VendorDirectory> {
  let raw: unknown = {};
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new VendorsFileError(path, [code ? `cannot be read (${code})` : `not valid JSON: ${(err as Error).message}`]);
  }
  const parsed = vendorsFileSchema.safeParse(raw);
  if (!parsed.success) {
    // Never echo values: a proxy URL may hold a password.
    throw new VendorsFileError(path, parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`));
  }
  return vendorDirectory(parsed.data, defaultConcurrency, env);
}

export function vendorDirectory(
  file: { defaults?: VendorSettingsInput; vendors?: Record<string, VendorSettingsInput> },
  defaultConcurrency: number,
  env: Record<string, string | undefined> = {},
): VendorDirectory {
  const defaults = file.defaults ?? {};
  const vendors = file.vendors ?? {};
  return {
    get(vendor) {
      const own = vendors[vendor] ?? {};
      const pick = <K extends keyof VendorSettingsInput>(k: K) => (own[k] !== undefined ? own[k] : defaults[k]);
      const envProxy = env[`PROXY_URL_${vendor.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
      const rateLimit = pick('rateLimit');
      return {
        concurrency: pick('concurrency') ?? defaultConcurrency,
        rateLimit: rateLimit === undefined ? { ...BUILTIN_VENDOR_DEFAULTS.rateLimit } : rateLimit,
        proxyUrl: envProxy || pick('proxyUrl') || null,
        userAgent: pick('userAgent') ?? null,
        timeoutMs: pick('timeoutMs') ?? BUILTIN_VENDOR_DEFAULTS.timeoutMs,
        maxBytes: pick('maxBytes') ?? BUILTIN_VENDOR_DEFAULTS.maxBytes,
        rules: {
          preorderInStock: pick('preorderInStock') ?? false,
          ...(pick('priceSelector') ? { priceSelector: pick('priceSelector') } : {}),
          ...(pick('ignoreSelectors') ? { ignoreSelectors: pick('ignoreSelectors') } : {}),
        },
        tier: pick('tier') ?? 'http',
        browser: {
          waitForSelector: pick('waitForSelector') ?? null,
          settleMs: pick('settleMs') ?? null,
          allowResources: [...(pick('allowResources') ?? [])],
        },
        vision: { quantityRow: pick('visionQuantityRow') ?? null, paymentColumn: pick('visionPaymentColumn') ?? null },
      };
    },
  };
}
