import type { Client } from '@libsql/client';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Catalogue } from '../catalogue/load.js';
import type { Config } from '../config/env.js';
import type { VendorDirectory } from '../config/vendors.js';
import { BrowserPool } from '../browser/browser-pool.js';
import { locateChromium, INSTALL_CHROMIUM } from '../browser/chromium.js';
import { ScreenshotStore } from '../browser/screenshot-store.js';
import { fetchWithBrowser } from '../scrape/fetch/browser-fetch.js';
import type { SecondReadingDeps } from '../scrape/second-reading.js';
import { createVisionReader } from '../vision/vision-reader.js';
import { ensureVisionSchema, recordVisionRead } from '../vision/vision-store.js';
import type { ScrapeProcessorDeps } from '../../processors/scrape.js';
import { redisVisionBudget } from '../../queues/vision-budget.js';

/** What a worker process reads pages with beyond the HTTP tier: the browser tier, screenshots and vision. */
export interface ReaderTiers {
  browser?: ScrapeProcessorDeps['browser'];
  screenshotOf?: ScrapeProcessorDeps['screenshotOf'];
  keepScreenshot?: ScrapeProcessorDeps['keepScreenshot'];
  secondReader?: SecondReadingDeps;
  /** Pool figures for the status line (browsers, pages, waiting, crashes), or null without a pool. */
  pool: BrowserPool | null;
  close(): Promise<void>;
}

export interface ReaderTiersOptions {
  config: Config;
  logger: Logger;
  catalogue: Catalogue;
  vendors: VendorDirectory;
  /** The poller's Redis: the vision budget is shared by every worker process there. */
  connection: Redis;
  /** A database client for the vision reads (kept apart from the scrape rows). */
  client: Client;
  /** A pool shared by several pollers of one process (the demo). Default: one of this worker's own. */
  pool?: BrowserPool;
}

/**
 * The browser tier, when Chromium is here and BROWSERS > 0: one bounded pool per worker process, launched on first
 * use. Screenshots are kept per target. Vision, with GEMINI_API_KEY: the budget in Redis, the reads in their own table.
 */
export function startReaderTiers(options: ReaderTiersOptions): ReaderTiers {
  const { config, logger } = options;
  const browserVendors = [...new Set(options.catalogue.targets.map((t) => t.vendor))].filter((v) => options.vendors.get(v).tier !== 'http');
  const visionOn = !!config.vision.key && config.vision.perDay > 0;
  const chromium = locateChromium(config.chromiumPath);
  let pool = options.pool ?? null;
  const ownPool = !options.pool;
  if (!pool && config.browser.browsers > 0 && chromium.path) {
    pool = new BrowserPool({ executablePath: chromium.path, browsers: config.browser.browsers, pagesPerBrowser: config.browser.pagesPerBrowser, retireAfterPages: config.browser.retireAfterPages, logger });
  }
  if (!pool && (browserVendors.length || visionOn)) {
    const why = config.browser.browsers === 0 ? 'BROWSERS=0' : `no Chromium found (looked for ${chromium.tried}): ${INSTALL_CHROMIUM}`;
    logger.warn({ browserVendors, vision: visionOn }, `browser tier off (${why}): vendors with tier browser fail, auto stays on HTTP, and vision has no screenshots`);
  }
  const tiers: ReaderTiers = {
    pool,
    async close() {
      if (ownPool) await pool?.close();
    },
  };
  if (!pool) return tiers;
  const browserPool = pool;
  tiers.browser = (url, fetchOptions) => fetchWithBrowser(browserPool, url, fetchOptions);
  tiers.screenshotOf = async (url, signal) => (await fetchWithBrowser(browserPool, url, { timeoutMs: 30_000, signal, screenshot: true })).screenshot ?? null;
  if (config.browser.screenshotMaxFiles > 0) {
    const store = new ScreenshotStore({ dir: config.browser.screenshotDir, maxFiles: config.browser.screenshotMaxFiles, maxBytes: config.browser.screenshotMaxBytes });
    tiers.keepScreenshot = async (coin, vendor, jpeg) => {
      const saved = await store.save(coin, vendor, Buffer.from(jpeg));
      if (!saved.ok) throw new Error(saved.error);
    };
  }
  if (visionOn) {
    let schema: Promise<void> | null = null;
    tiers.secondReader = {
      vision: createVisionReader({
        apiKey: config.vision.key!,
        model: config.vision.model,
        baseUrl: config.vision.baseUrl,
        concurrency: config.vision.concurrency,
        budget: redisVisionBudget(options.connection, config.redisPrefix, config.pollerId, { perMinute: config.vision.perMinute, perDay: config.vision.perDay }),
      }),
      agreePercent: config.vision.agreePercent,
      hints: (vendor) => {
        const own = options.vendors.get(vendor);
        return {
          preorderInStock: own.rules.preorderInStock,
          ...(own.vision.quantityRow ? { quantityRow: own.vision.quantityRow } : {}),
          ...(own.vision.paymentColumn ? { paymentColumn: own.vision.paymentColumn } : {}),
        };
      },
      record: async (read) => {
        schema ??= ensureVisionSchema(options.client).catch((err) => ((schema = null), Promise.reject(err)));
        await schema;
        await recordVisionRead(options.client, read);
      },
    };
    logger.info({ model: config.vision.model, perMinute: config.vision.perMinute, perDay: config.vision.perDay }, 'vision on: each page is read twice, text and screenshot, and reconciled by numbers');
  }
  return tiers;
}
