import type { Client } from '@libsql/client';
import { ensureGoldbackSchema, readLatest, readYear, readYears, renderGoldbackFiles, type GoldbackRateRow } from '../goldback/index.js';
import { naiveUtc } from '../spot/spot-plan.js';
import { isSimulatedSpotText, renderSpotFiles } from '../spot/spot-files.js';
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
  /**
   * What the tables looked like when the same tree last got its feed files. A part that has not changed since is not
   * read or rendered again (its files are on disk already). Default none: everything is rendered.
   */
  since?: FeedFingerprint | null;
}

/** Cheap marks of the feed tables (one indexed row each): a new or replaced row moves them. */
export interface FeedFingerprint {
  windows: number | null;
  daily: number | null;
  goldback: string | null;
}

export interface FeedFiles {
  /** Relative path under data/ -> stable JSON text: spot files (hourly, 15min, spot-history-YYYY) and Goldback files. */
  files: Map<string, string>;
  /** 15-minute files are written once and never overwritten (the contract), unless what is there was simulated. */
  writeOnce: (path: string, existing: string) => boolean;
  /** The tables' marks when read: pass them as `since` to the next build for the same tree. */
  fingerprint: FeedFingerprint;
}

/**
 * The feed files of the published tree, from the database: hourly and 15-minute spot files of the last `hours`
 * whole hours (an hour is rendered whole or not at all, so a file never loses entries), every year's
 * spot-history, and the Goldback files; with `since`, only the parts whose tables changed. Memory: the rows of
 * those hours and the daily rows, a few thousand at most.
 */
export async function buildFeedFiles(client: Client, options: FeedFilesOptions): Promise<FeedFiles> {
  if (!prepared.has(client)) {
    await ensureSpotSchema(client);
    await ensureGoldbackSchema(client);
    prepared.add(client);
  }
  const store = new SpotStore(client);
  const fingerprint = await feedFingerprint(client);
  const since = options.since ?? null;
  const files = new Map<string, string>();
  if (!since || since.windows !== fingerprint.windows || since.daily !== fingerprint.daily) {
    const end = Math.floor(options.now.getTime() / HOUR_MS) * HOUR_MS + HOUR_MS;
    const start = end - (options.hours ?? 48) * HOUR_MS - HOUR_MS;
    const windows = !since || since.windows !== fingerprint.windows ? await store.windows({ from: naiveUtc(start), to: naiveUtc(end) }) : [];
    const daily = !since || since.daily !== fingerprint.daily ? await readAllDaily(client, store) : [];
    for (const [path, text] of renderSpotFiles({ windows, daily })) files.set(path, text);
  }
  if (!since || since.goldback !== fingerprint.goldback) {
    const byYear = new Map<number, GoldbackRateRow[]>();
    for (const year of await readYears(client)) byYear.set(year, await readYear(client, year));
    for (const [path, text] of renderGoldbackFiles(await readLatest(client), byYear)) files.set(path, text);
  }
  return { files, writeOnce: (path, existing) => path.startsWith('15min/') && !isSimulatedSpotText(existing), fingerprint };
}

async function readAllDaily(client: Client, store: SpotStore) {
  const years = await client.execute('SELECT DISTINCT substr(date, 1, 4) AS year FROM spot_daily ORDER BY year');
  return (await Promise.all(years.rows.map((r) => store.dailyOfYear(Number(r.year))))).flat();
}

/** The newest rowid of each spot table and the newest Goldback scrape: O(1) reads, even on a remote database. */
async function feedFingerprint(client: Client): Promise<FeedFingerprint> {
  const rs = await client.execute(`SELECT (SELECT max(rowid) FROM spot_prices) AS windows, (SELECT max(rowid) FROM spot_daily) AS daily,
    (SELECT scraped_at FROM goldback_rates ORDER BY date DESC LIMIT 1) AS goldback`);
  const r = rs.rows[0];
  return { windows: r?.windows == null ? null : Number(r.windows), daily: r?.daily == null ? null : Number(r.daily), goldback: r?.goldback == null ? null : String(r.goldback) };
}
