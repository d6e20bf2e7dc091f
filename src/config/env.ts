import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_GOLDBACK_RATE_URL } from '../goldback/scrape-goldback.js';
import { clusterPrefixProblem, isClusterUrl, parseRedisTarget, RedisTargetError } from '../redis/redis-target.js';

/** A configuration that cannot be used. The message names every bad variable and what it expects. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`configuration is invalid:\n  - ${problems.join('\n  - ')}\nFix the variables above (see the Configuration table in README.md) and start again.`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], { message: 'expected true or false' }))
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const int = (min: number, max: number, what?: string) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, what ? `expected ${what}` : 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(min, what ? `expected ${what}` : `expected at least ${min}`).max(max, what ? `expected ${what}` : `expected at most ${max}`));

/** An IP address (IPv6 also in brackets) or a host name by its syntax; whether it resolves is checked at start. */
function isHostSyntax(s: string): boolean {
  const h = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (isIP(h)) return true;
  return h.length <= 253 && /^(?=.*[a-z])[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(h);
}

/** One Redis (redis://, rediss://) or a Redis Cluster's seed nodes (redis-cluster://h1:p1,h2:p2; src/redis/redis-target.ts). */
const redisUrl = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    try {
      parseRedisTarget(s);
    } catch (err) {
      // The parser's messages never carry the password.
      ctx.addIssue({ code: 'custom', message: err instanceof RedisTargetError ? err.message : 'expected redis://host:port[/db], rediss://... or redis-cluster://host1:port1,host2:port2,...' });
    }
  });

const databaseUrl = z
  .string()
  .trim()
  .refine((s) => /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/.test(s), 'expected file:PATH, libsql://..., http(s)://... or ws(s)://...');

/** Every environment variable the program reads, with its default. The README's table mirrors this. */
const envSchema = z.object({
  POLLER_ID: z.string().trim().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a short lowercase id such as api1').default('api1'),
  POLLER_STAGGER_MINUTES: int(0, 1440).optional(),
  REDIS_URL: redisUrl.optional(),
  // Braces make a hash tag, which a Redis Cluster needs (checked with REDIS_URL in loadConfig): {staktrakr}.
  REDIS_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_.:{}-]+$/, 'expected letters, digits, _ . : - or a {hash tag}').default('bull'),
  TURSO_DATABASE_URL: databaseUrl.default('file:var/prices.db'),
  TURSO_AUTH_TOKEN: z.string().trim().min(1).optional(),
  CATALOGUE_PATH: z.string().trim().min(1).default('config/providers.json'),
  VENDORS_PATH: z.string().trim().min(1).default('config/vendors.json'),
  RECOVERY_LOG_DIR: z.string().trim().min(1).default('var/recovery'),
  DATA_DIR: z.string().trim().min(1).default('var'),
  WORKER_CONCURRENCY: int(1, 256).default(1),
  // The floor is 1 minute, whole minutes (like a catalogue entry's interval_minutes).
  SCRAPE_INTERVAL_MINUTES: int(1, 1440, 'whole minutes from 1 to 1440, e.g. 15').default(15),
  SCRAPE_SPREAD: bool.default(true),
  SCRAPE_ATTEMPTS: int(1, 20).default(3),
  SCRAPE_BACKOFF_MS: int(0, 3_600_000).default(1_000),
  SCRAPE_TIMEOUT_MS: int(1000, 600_000).default(60_000),
  WORKER_LOCK_MS: int(1000, 600_000).default(10_000),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  CATALOGUE_WATCH_MS: int(0, 3_600_000).default(5_000),
  SCHEDULER_CHECK_SECONDS: int(0, 86_400).default(60),
  API_PORT: int(0, 65535).default(8080),
  API_HOST: z
    .string()
    .trim()
    .refine(isHostSyntax, 'expected an IP address or a host name (letters, digits, - and .), e.g. 127.0.0.1 or 0.0.0.0')
    .default('127.0.0.1'),
  API_DATA_REPO: z.string().trim().min(1).default('var/remote.git'),
  GITHUB_TOKEN: z.string().trim().min(1).optional(),
  PUBLISH_BRANCHES: z
    .string()
    .trim()
    .regex(/^[a-z][a-z0-9-]{0,31}(,[a-z][a-z0-9-]{0,31})*$/, 'expected a comma-separated list of poller ids such as api1,api2,api3')
    .default('api1,api2,api3'),
  PUBLISH_DIR: z.string().trim().min(1).default('var/publish'),
  POLLER_BRANCH_HISTORY: z.enum(['tip', 'linear'], { message: 'expected tip (the branch holds its latest export only) or linear (every export kept)' }).default('tip'),
  PUBLISH_SPLIT_PACKS: bool.default(false),
  EXPORT_MIN_INTERVAL_MS: int(0, 3_600_000).default(10_000),
  EXPORT_EVERY_MINUTES: int(1, 1440).default(15),
  MERGE_EVERY_MINUTES: int(1, 1440).default(5),
  SNAPSHOT_DAYS: int(1, 365).default(30),
  SNAPSHOT_EVERY_HOURS: int(0, 720).default(24),
  SPOT_USD_PER_OZ: z
    .string()
    .trim()
    .regex(/^(gold|silver|platinum|palladium)=\d+(\.\d+)?(,(gold|silver|platinum|palladium)=\d+(\.\d+)?)*$/, 'expected metal=USD pairs such as gold=4100,silver=52')
    .optional(),
  METAL_PRICE_API_KEY: z.string().trim().min(1).optional(),
  METAL_PRICE_API_URL: z
    .string()
    .trim()
    .refine((s) => /^https?:\/\//.test(s) && URL.canParse(s), 'expected an http(s) URL such as https://api.metalpriceapi.com/v1')
    .default('https://api.metalpriceapi.com/v1'),
  SPOT_FEED: z.enum(['auto', 'api', 'simulated', 'off'], { message: 'expected auto, api, simulated or off' }).default('auto'),
  SPOT_EVERY_MINUTES: int(1, 1440, 'whole minutes from 1 to 1440, e.g. 15').default(15),
  SPOT_BACKFILL_HOURS: int(0, 720).default(24),
  SPOT_HISTORY_FROM: z
    .string()
    .trim()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
    .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)), 'expected a real date YYYY-MM-DD')
    .optional(),
  SPOT_FRESH_MINUTES: int(1, 10_080).default(120),
  GOLDBACK_URL: z
    .string()
    .trim()
    .refine((s) => s === 'off' || (/^https?:\/\//.test(s) && URL.canParse(s)), 'expected the http(s) URL of the official Goldback rate page, or off')
    .default(DEFAULT_GOLDBACK_RATE_URL),
  GOLDBACK_AT_UTC: z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a UTC time HH:MM, e.g. 00:01').default('00:01'),
  SYNC_FALLBACK_REPO: z.string().trim().min(1).optional(),
  SYNC_FALLBACK_TOKEN: z.string().trim().min(1).optional(),
  SYNC_BRANCH: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/, 'expected a branch name such as main').default('main'),
  SYNC_AT_UTC: z.string().trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected a UTC time HH:MM, e.g. 03:30').default('03:30'),
  SERVE_FROM: z.enum(['branch', 'export', 'off'], { message: 'expected branch, export or off' }).default('branch'),
  SERVE_BRANCH: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$/, 'expected a branch name such as main').default('main'),
  SERVE_REFRESH_SECONDS: int(1, 86_400).default(30),
  BROWSERS: int(0, 16).default(1),
  BROWSER_PAGES: int(1, 32).default(2),
  BROWSER_RETIRE_AFTER_PAGES: int(1, 100_000).default(200),
  SCREENSHOT_DIR: z.string().trim().min(1).default('var/screenshots'),
  SCREENSHOT_MAX_FILES: int(0, 1_000_000).default(500),
  SCREENSHOT_MAX_MB: int(1, 100_000).default(100),
  GEMINI_API_KEY: z.string().trim().min(1).optional(),
  GEMINI_MODEL: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected a model name such as gemini-2.5-flash').default('gemini-2.5-flash'),
  GEMINI_BASE_URL: z
    .string()
    .trim()
    .refine((s) => /^https?:\/\//.test(s) && URL.canParse(s), 'expected an http(s) URL (the Gemini API, or a server speaking its protocol)')
    .optional(),
  GEMINI_MAX_PER_MINUTE: int(0, 100_000).default(10),
  GEMINI_MAX_PER_DAY: int(0, 10_000_000).default(1000),
  GEMINI_CONCURRENCY: int(1, 64).default(2),
  CONSENSUS_AGREE_PERCENT: z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'expected a percent such as 3')
    .transform(Number)
    .pipe(z.number().min(0, 'expected 0 to 50').max(50, 'expected 0 to 50'))
    .default(3),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ADMIN_USER: z.string().trim().min(1).max(128).optional(),
  ADMIN_PASSWORD: z.string().min(8, 'expected at least 8 characters').max(256).optional(),
  ADMIN_TOKEN: z.string().min(16, 'expected at least 16 characters').max(512).optional(),
  ADMIN_READ_ONLY: bool.default(false),
  CHROMIUM_PATH: z.string().trim().min(1).optional(),
});

export type EnvInput = Record<string, string | undefined>;

/** Every variable the program reads (`.env.example` lists each one with its default). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export interface Config {
  pollerId: string;
  /** Where in the interval this poller's scrapes start: api1 0 min, api2 5, api3 10 (of a 15-minute cycle). */
  staggerMs: number;
  redisUrl: string | undefined;
  redisPrefix: string;
  databaseUrl: string;
  databaseToken: string | undefined;
  cataloguePath: string;
  vendorsPath: string;
  recoveryLogDir: string;
  dataDir: string;
  workerConcurrency: number;
  intervalMs: number;
  spread: boolean;
  scrapeAttempts: number;
  scrapeBackoffMs: number;
  scrapeTimeoutMs: number;
  workerLockMs: number;
  shutdownGraceMs: number;
  catalogueWatchMs: number;
  /** How often the job schedulers are checked and recreated when Redis lost them; 0: never. */
  schedulerCheckMs: number;
  apiPort: number;
  apiHost: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** Git remote of the published API repository: a path to a (bare) repository or an http(s) URL. */
  publishRemote: string;
  /** Secret: sent as an auth header for each git command, never stored. */
  githubToken: string | undefined;
  /** Branches the merger unions into main, in order. */
  publishBranches: string[];
  /** Local clones and temporary trees of the exporter and merger (never a published tree). */
  publishDir: string;
  /** `tip`: this poller's branch holds its latest export only (a parentless commit); `linear`: every export is kept. */
  pollerBranchHistory: 'tip' | 'linear';
  /** Pushes send each file as a delta of its own previous version (src/publish/split-pack.ts). */
  publishSplitPacks: boolean;
  /** Minimum time between two exports of this poller: rows arriving meanwhile ride on the next one. */
  exportMinIntervalMs: number;
  /** Safety-net export interval, whatever rows say. */
  exportEveryMs: number;
  mergeEveryMs: number;
  snapshotDays: number;
  /** How often main gets a fresh SQLite snapshot (0: never). */
  snapshotEveryMs: number;
  /** Configured spot in USD per troy ounce, until the spot feed supplies it: prices are judged against melt. */
  spotUsdPerOz: SpotPrices;
  /**
   * Who may use Bull Board and /metrics: basic auth (user and password, both set) and/or a bearer token.
   * With neither, the API server listens on loopback only. Secrets: never logged.
   */
  admin: { user: string | undefined; password: string | undefined; token: string | undefined; readOnly: boolean };
  /** Chromium for the browser tier and the status-page tests; default: found on PATH (chromium, chromium-browser). */
  chromiumPath: string | undefined;
  /**
   * The spot feed. `api`: MetalPriceAPI at `url` with `key` (secret); `simulated`: the built-in MetalPriceAPI simulator
   * on loopback (not real prices: for the demo and machines without a key); `off`: none. SPOT_FEED=auto is `api`
   * with a key and `simulated` without.
   */
  spotFeed: { mode: 'api' | 'simulated' | 'off'; url: string; key: string | undefined; everyMs: number; backfillHours: number; historyFrom: string | undefined; freshMs: number };
  /** The official Goldback rate page, scraped daily at `atUtc` (HH:MM); null: off. */
  goldback: { url: string | null; atUtc: string };
  /** The nightly additive sync of data/ between API_DATA_REPO and `fallbackRepo` (null: off). */
  sync: { fallbackRepo: string | null; branch: string; atUtc: string; fallbackToken: string | undefined };
  /** The browser tier's pool per worker process (BROWSERS 0: no browser tier) and where screenshots go. */
  browser: { browsers: number; pagesPerBrowser: number; retireAfterPages: number; screenshotDir: string; screenshotMaxFiles: number; screenshotMaxBytes: number };
  /** Vision (a second reader of each page's screenshot), only with GEMINI_API_KEY: its model, server, budget and the consensus tolerance. */
  vision: { key: string | undefined; model: string; baseUrl: string | undefined; perMinute: number; perDay: number; concurrency: number; agreePercent: number };
  /** What the API server serves at /data: a working copy of `branch` of API_DATA_REPO, this poller's export tree, or nothing. */
  serve: { from: 'branch' | 'export' | 'off'; branch: string; refreshMs: number };
}

/** Spot per metal in USD per troy ounce; a missing metal is unknown (the per-metal range check applies). */
export type SpotPrices = Partial<Record<'gold' | 'silver' | 'platinum' | 'palladium', number>>;

export function parseSpotPrices(text: string | undefined): SpotPrices {
  const out: SpotPrices = {};
  for (const pair of text ? text.split(',') : []) {
    const [metal, value] = pair.split('=');
    out[metal as keyof SpotPrices] = Number(value);
  }
  return out;
}

/** Validates the environment. Throws ConfigError naming each bad variable (never echoing a secret's value). */
export function loadConfig(env: EnvInput = process.env): Config {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = envSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`));
  }
  const e = parsed.data;
  if ((e.ADMIN_USER === undefined) !== (e.ADMIN_PASSWORD === undefined)) {
    throw new ConfigError([`${e.ADMIN_USER === undefined ? 'ADMIN_USER' : 'ADMIN_PASSWORD'}: expected together with ${e.ADMIN_USER === undefined ? 'ADMIN_PASSWORD' : 'ADMIN_USER'} (basic auth needs both)`]);
  }
  if (e.REDIS_URL && isClusterUrl(e.REDIS_URL)) {
    const problem = clusterPrefixProblem(e.REDIS_PREFIX);
    if (problem) throw new ConfigError([`REDIS_PREFIX: ${problem}`]);
  }
  if (e.SPOT_FEED === 'api' && !e.METAL_PRICE_API_KEY) {
    throw new ConfigError(['METAL_PRICE_API_KEY: expected with SPOT_FEED=api (the key of your MetalPriceAPI account); or set SPOT_FEED=simulated or off']);
  }
  const intervalMs = e.SCRAPE_INTERVAL_MINUTES * 60_000;
  const staggerMs = e.POLLER_STAGGER_MINUTES === undefined ? defaultStaggerMs(e.POLLER_ID, intervalMs) : e.POLLER_STAGGER_MINUTES * 60_000;
  return {
    pollerId: e.POLLER_ID,
    staggerMs: staggerMs % intervalMs,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    databaseUrl: e.TURSO_DATABASE_URL,
    databaseToken: e.TURSO_AUTH_TOKEN,
    cataloguePath: e.CATALOGUE_PATH,
    vendorsPath: e.VENDORS_PATH,
    recoveryLogDir: e.RECOVERY_LOG_DIR,
    dataDir: e.DATA_DIR,
    workerConcurrency: e.WORKER_CONCURRENCY,
    intervalMs,
    spread: e.SCRAPE_SPREAD,
    scrapeAttempts: e.SCRAPE_ATTEMPTS,
    scrapeBackoffMs: e.SCRAPE_BACKOFF_MS,
    scrapeTimeoutMs: e.SCRAPE_TIMEOUT_MS,
    workerLockMs: e.WORKER_LOCK_MS,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    catalogueWatchMs: e.CATALOGUE_WATCH_MS,
    schedulerCheckMs: e.SCHEDULER_CHECK_SECONDS * 1000,
    apiPort: e.API_PORT,
    apiHost: e.API_HOST,
    logLevel: e.LOG_LEVEL,
    publishRemote: e.API_DATA_REPO,
    githubToken: e.GITHUB_TOKEN,
    publishBranches: e.PUBLISH_BRANCHES.split(','),
    publishDir: e.PUBLISH_DIR,
    pollerBranchHistory: e.POLLER_BRANCH_HISTORY,
    publishSplitPacks: e.PUBLISH_SPLIT_PACKS,
    exportMinIntervalMs: e.EXPORT_MIN_INTERVAL_MS,
    exportEveryMs: e.EXPORT_EVERY_MINUTES * 60_000,
    mergeEveryMs: e.MERGE_EVERY_MINUTES * 60_000,
    snapshotDays: e.SNAPSHOT_DAYS,
    snapshotEveryMs: e.SNAPSHOT_EVERY_HOURS * 3_600_000,
    spotUsdPerOz: parseSpotPrices(e.SPOT_USD_PER_OZ),
    admin: { user: e.ADMIN_USER, password: e.ADMIN_PASSWORD, token: e.ADMIN_TOKEN, readOnly: e.ADMIN_READ_ONLY },
    chromiumPath: e.CHROMIUM_PATH,
    spotFeed: {
      mode: e.SPOT_FEED === 'auto' ? (e.METAL_PRICE_API_KEY ? 'api' : 'simulated') : e.SPOT_FEED,
      url: e.METAL_PRICE_API_URL,
      key: e.METAL_PRICE_API_KEY,
      everyMs: e.SPOT_EVERY_MINUTES * 60_000,
      backfillHours: e.SPOT_BACKFILL_HOURS,
      historyFrom: e.SPOT_HISTORY_FROM,
      freshMs: e.SPOT_FRESH_MINUTES * 60_000,
    },
    goldback: { url: e.GOLDBACK_URL === 'off' ? null : e.GOLDBACK_URL, atUtc: e.GOLDBACK_AT_UTC },
    sync: { fallbackRepo: e.SYNC_FALLBACK_REPO ?? null, branch: e.SYNC_BRANCH, atUtc: e.SYNC_AT_UTC, fallbackToken: syncFallbackToken(e) },
    serve: { from: e.SERVE_FROM, branch: e.SERVE_BRANCH, refreshMs: e.SERVE_REFRESH_SECONDS * 1000 },
    browser: {
      browsers: e.BROWSERS,
      pagesPerBrowser: e.BROWSER_PAGES,
      retireAfterPages: e.BROWSER_RETIRE_AFTER_PAGES,
      screenshotDir: e.SCREENSHOT_DIR,
      screenshotMaxFiles: e.SCREENSHOT_MAX_FILES,
      screenshotMaxBytes: e.SCREENSHOT_MAX_MB * 1024 * 1024,
    },
    vision: {
      key: e.GEMINI_API_KEY,
      model: e.GEMINI_MODEL,
      baseUrl: e.GEMINI_BASE_URL,
      perMinute: e.GEMINI_MAX_PER_MINUTE,
      perDay: e.GEMINI_MAX_PER_DAY,
      concurrency: e.GEMINI_CONCURRENCY,
      agreePercent: e.CONSENSUS_AGREE_PERCENT,
    },
  };
}

/**
 * The token for the fallback repository: SYNC_FALLBACK_TOKEN, else GITHUB_TOKEN only when the fallback lives on the same
 * origin as API_DATA_REPO (a token for GitHub must never be sent to another host), else none.
 */
function syncFallbackToken(e: z.infer<typeof envSchema>): string | undefined {
  if (e.SYNC_FALLBACK_TOKEN) return e.SYNC_FALLBACK_TOKEN;
  const origin = (url: string) => (URL.canParse(url) && /^https?:/.test(url) ? new URL(url).origin : null);
  const fallback = e.SYNC_FALLBACK_REPO ? origin(e.SYNC_FALLBACK_REPO) : null;
  return fallback !== null && fallback === origin(e.API_DATA_REPO) ? e.GITHUB_TOKEN : undefined;
}

/** Pollers a fleet has unless told otherwise (api1, api2, api3). */
export const DEFAULT_POLLER_COUNT = 3;

/**
 * Where in the scrape interval poller `apiN` starts: (N - 1) / pollers of it, so that the pollers' scrapes
 * interleave evenly (api1 0, api2 5, api3 10 minutes of 15: fresh data every 5 minutes). An id without a
 * number starts at 0. The one rule for production and the demo.
 */
export function defaultStaggerMs(pollerId: string, intervalMs: number, pollers = DEFAULT_POLLER_COUNT): number {
  const n = /(\d+)$/.exec(pollerId);
  if (!n || pollers < 1) return 0;
  const slot = (((Number(n[1]) - 1) % pollers) + pollers) % pollers;
  return Math.floor((slot * intervalMs) / pollers);
}
