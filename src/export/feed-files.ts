import type { Client } from '@libsql/client';
import { ensureGoldbackSchema, readLatest, readYear, readYears, renderGoldbackFiles, type GoldbackRateRow } from '../goldback/index.js';
import { naiveUtc } from '../spot/spot-plan.js';
import { renderSpotFiles } from '../spot/spot-files.js';
import { ensureSpotSchema } from '../spot/spot-schema.js';
import { SpotStore } from '../spot/spot-store.js';

const HOUR_MS = 3_600_000;

/** Clients whose feed tables exist: checked once per client, not at every export. */
const prepared = new WeakSet<Client>();

export interface FeedFilesOptions {
  /** Wall clock: the newest hour rendered. */
  now: Date;
  /** Hourly and 15-minute files of the last this many hours are rendered again (older ones stay as published). Default 48. */
  hours?: number;
}

export interface FeedFiles {
  /** Relative path under data/ -> stable JSON text: spot files (hourly, 15min, spot-history-YYYY) and Goldback files. */
  files: Map<string, string>;
  /** 15-minute files are written once and never overwritten (the contract). */
  writeOnce: (path: string) => boolean;
}

/**
 * The feed files of the published tree, from the database: hourly and 15-minute spot files of the last `hours`
 * whole hours (an hour is rendered whole or not at all, so a file never loses entries), every year's
 * spot-history, and the Goldback files. Memory: the rows of those hours and the daily rows, a few thousand at most.
 */
export async function buildFeedFiles(client: Client, options: FeedFilesOptions): Promise<FeedFiles> {
  if (!prepared.has(client)) {
    await ensureSpotSchema(client);
    await ensureGoldbackSchema(client);
    prepared.add(client);
  }
  const store = new SpotStore(client);
  const end = Math.floor(options.now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS;
  const start = end - (options.hours ?? 48) * HOUR_MS - HOUR_MS;
  const windows = await store.windows({ from: naiveUtc(start), to: naiveUtc(end) });
  const years = await client.execute('SELECT DISTINCT substr(date, 1, 4) AS year FROM spot_daily ORDER BY year');
  const daily = (await Promise.all(years.rows.map((r) => store.dailyOfYear(Number(r.year))))).flat();
  const files = renderSpotFiles({ windows, daily });
  const goldbackYears = await readYears(client);
  const byYear = new Map<number, GoldbackRateRow[]>();
  for (const year of goldbackYears) byYear.set(year, await readYear(client, year));
  for (const [path, text] of renderGoldbackFiles(await readLatest(client), byYear)) files.set(path, text);
  return { files, writeOnce: (path) => path.startsWith('15min/') };
}
