import { z } from 'zod';

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

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `expected at least ${min}`).max(max, `expected at most ${max}`));

const redisUrl = z
  .string()
  .trim()
  .refine((s) => /^rediss?:\/\//.test(s) && URL.canParse(s), 'expected redis://host:port[/db] or rediss://...');

const databaseUrl = z
  .string()
  .trim()
  .refine((s) => /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/)/.test(s), 'expected file:PATH, libsql://..., http(s)://... or ws(s)://...');

/** Every environment variable the program reads, with its default. The README's table mirrors this. */
const envSchema = z.object({
  POLLER_ID: z.string().trim().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a short lowercase id such as api1').default('api1'),
  POLLER_STAGGER_MINUTES: int(0, 1440).optional(),
  REDIS_URL: redisUrl.optional(),
  REDIS_PREFIX: z.string().trim().regex(/^[A-Za-z0-9_.:-]+$/, 'expected letters, digits, _ . : or -').default('bull'),
  TURSO_DATABASE_URL: databaseUrl.default('file:var/prices.db'),
  TURSO_AUTH_TOKEN: z.string().trim().min(1).optional(),
  CATALOGUE_PATH: z.string().trim().min(1).default('config/providers.json'),
  VENDORS_PATH: z.string().trim().min(1).default('config/vendors.json'),
  RECOVERY_LOG_DIR: z.string().trim().min(1).default('var/recovery'),
  DATA_DIR: z.string().trim().min(1).default('var'),
  WORKER_CONCURRENCY: int(1, 256).default(1),
  SCRAPE_INTERVAL_MINUTES: int(1, 1440).default(15),
  SCRAPE_SPREAD: bool.default(true),
  SCRAPE_ATTEMPTS: int(1, 20).default(3),
  SCRAPE_BACKOFF_MS: int(0, 3_600_000).default(10_000),
  SCRAPE_TIMEOUT_MS: int(1000, 600_000).default(60_000),
  WORKER_LOCK_MS: int(1000, 600_000).default(30_000),
  SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  CATALOGUE_WATCH_MS: int(0, 3_600_000).default(5_000),
  API_PORT: int(0, 65535).default(8080),
  API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type EnvInput = Record<string, string | undefined>;

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
  apiPort: number;
  apiHost: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
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
  const intervalMs = e.SCRAPE_INTERVAL_MINUTES * 60_000;
  const staggerMinutes = e.POLLER_STAGGER_MINUTES ?? defaultStaggerMinutes(e.POLLER_ID);
  return {
    pollerId: e.POLLER_ID,
    staggerMs: (staggerMinutes * 60_000) % intervalMs,
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
    apiPort: e.API_PORT,
    apiHost: e.API_HOST,
    logLevel: e.LOG_LEVEL,
  };
}

/** api1 -> 0, api2 -> 5, api3 -> 10 minutes: three pollers give fresh data every 5 minutes. */
export function defaultStaggerMinutes(pollerId: string): number {
  const n = /(\d+)$/.exec(pollerId);
  return n ? ((((Number(n[1]) - 1) * 5) % 15) + 15) % 15 : 0;
}
