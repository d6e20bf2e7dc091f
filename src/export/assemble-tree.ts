import type { CatalogueFile } from '../catalogue/schema.js';
import type { CoinLatestFile } from '../contract/coin-latest-schema.js';
import { GLOBAL_LATEST_PATH, HISTORY_DAYS, MANIFEST_PATH, PROVIDERS_PATH, coinHistoryPath, coinLatestPath } from '../contract/published-files.js';
import { buildCoinHistory } from './coin-history.js';
import { buildCoinLatest } from './coin-latest.js';
import type { ExportState } from './export-state.js';
import { buildGlobalLatest } from './global-latest.js';
import { buildManifest, countWindows } from './manifest.js';
import type { DailyCoinAggregate, WindowPrice } from './model.js';
import { buildProviders } from './providers.js';
import { DEFAULT_PUBLISH_RULES, normaliseInstant, utcDate, type PublishRules } from './rules.js';
import { vendorStatesFromDays } from './vendor-state.js';

export interface TreeInput {
  catalogueCoins: CatalogueFile['coins'];
  /** date -> coin -> vendor aggregates, all dates of the retention period. */
  days: ExportState['days'];
  /** coin -> in-stock window prices of the last 24 hours. */
  windowPrices: ReadonlyMap<string, readonly WindowPrice[]>;
  rules?: PublishRules;
}

export interface AssembledTree {
  /** Relative path under data/ -> file value (not yet checked or rendered). */
  files: Map<string, unknown>;
  /** Published slugs: configured, or with data in the retention period. */
  slugs: string[];
  anchorWindow: string | null;
  generatedAt: string | null;
}

/** The newest window and the newest scraped_at over all aggregates: the export's "now" and its generated_at. */
export function newestObservation(days: ExportState['days']): { anchorWindow: string | null; generatedAt: string | null } {
  let anchorWindow: string | null = null;
  let newestAt: string | null = null;
  for (const coins of Object.values(days)) {
    for (const vendors of Object.values(coins)) {
      for (const v of vendors) {
        if (anchorWindow === null || v.last.window > anchorWindow) anchorWindow = v.last.window;
        if (newestAt === null || v.last.scrapedAt > newestAt) newestAt = v.last.scrapedAt;
      }
    }
  }
  return { anchorWindow, generatedAt: newestAt === null ? null : normaliseInstant(newestAt) };
}

/** Every price file of the tree, from aggregates. Pure. */
export function assembleTree(input: TreeInput): AssembledTree {
  const rules = input.rules ?? DEFAULT_PUBLISH_RULES;
  const { anchorWindow, generatedAt } = newestObservation(input.days);
  const daysByCoin = groupDaysByCoin(input.days);
  const slugs = [...new Set([...Object.keys(input.catalogueCoins), ...daysByCoin.keys()])].sort();
  const files = new Map<string, unknown>();
  const coinFiles: CoinLatestFile[] = [];

  for (const slug of slugs) {
    const days = daysByCoin.get(slug) ?? [];
    const latest = buildCoinLatest({ slug, anchorWindow, vendors: vendorStatesFromDays(days), windowPrices: input.windowPrices.get(slug) ?? [] }, rules);
    coinFiles.push(latest);
    files.set(coinLatestPath(slug), latest);
    for (const n of HISTORY_DAYS) {
      files.set(coinHistoryPath(slug, n), anchorWindow === null ? [] : buildCoinHistory(days, { days: n, lastDate: utcDate(anchorWindow) }));
    }
  }
  files.set(MANIFEST_PATH, buildManifest({ slugs, catalogueCoins: input.catalogueCoins, anchorWindow, generatedAt, windowCount: countWindows(coinFiles) }));
  files.set(PROVIDERS_PATH, buildProviders(input.catalogueCoins));
  files.set(GLOBAL_LATEST_PATH, buildGlobalLatest({ coins: coinFiles, anchorWindow, generatedAt }));
  return { files, slugs, anchorWindow, generatedAt };
}

function groupDaysByCoin(days: ExportState['days']): Map<string, DailyCoinAggregate[]> {
  const byCoin = new Map<string, DailyCoinAggregate[]>();
  for (const date of Object.keys(days).sort()) {
    for (const [coin, vendors] of Object.entries(days[date])) {
      let list = byCoin.get(coin);
      if (!list) byCoin.set(coin, (list = []));
      list.push({ date, vendors });
    }
  }
  return byCoin;
}
