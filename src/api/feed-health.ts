import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileNoFollow } from '../files/no-follow.js';

/**
 * The age of every feed of the published tree, judged like the frontend judges it (js/api-health.js): the
 * manifest's `generated_at`, the last entry of the newest hourly (and 15-minute) spot file, the newest daily
 * seed, the goldback scrape. A feed that stopped (lesson 9: the daily seed, a goldback branch nobody served)
 * shows here instead of staying silent. Only the newest year, month and day folders are listed, never the
 * whole tree (there is one hourly file per hour, for years).
 */

export type FeedName = 'manifest' | 'hourly' | '15min' | 'daily-seed' | 'goldback';

/** Minutes after which a feed is stale: the frontend's thresholds, and 4 days for the seed (no seeds at weekends). */
export const FEED_STALE_AFTER_MINUTES: Readonly<Record<FeedName, number>> = {
  manifest: 30,
  hourly: 20,
  '15min': 20,
  'daily-seed': 4 * 24 * 60,
  goldback: 25 * 60,
};

export interface FeedAge {
  feed: FeedName;
  /** The file read, relative to the tree (`hourly/2026/03/10/14.json`); null when the feed has no file. */
  path: string | null;
  /** The feed's time as ISO UTC; null when missing or unreadable. */
  at: string | null;
  /** Whole minutes since `at` (0 for a time in the future, as the frontend counts); null without `at`. */
  ageMinutes: number | null;
  staleAfterMinutes: number;
  ok: boolean;
  /** Why not ok: `missing`, `stale`, or what is wrong with the file. */
  problem?: string;
}

export interface FeedHealth {
  /** Every feed is ok. */
  ok: boolean;
  feeds: FeedAge[];
}

export interface FeedHealthOptions {
  /** Thresholds to override, in minutes; default FEED_STALE_AFTER_MINUTES. */
  staleAfterMinutes?: Partial<Record<FeedName, number>>;
}

interface FeedSource {
  feed: FeedName;
  /** The newest file of the feed, relative to the root, or null. */
  find: (root: string) => Promise<string | null>;
  /** The feed's time from the file's parsed JSON, or a problem. */
  time: (json: unknown) => string | { problem: string };
}

const SOURCES: FeedSource[] = [
  { feed: 'manifest', find: exists('api/manifest.json'), time: field('generated_at') },
  { feed: 'hourly', find: (root) => newestDated(root, 'hourly', /^\d{2}\.json$/), time: lastEntryTimestamp },
  { feed: '15min', find: (root) => newestDated(root, '15min', /^\d{4}\.json$/), time: lastEntryTimestamp },
  { feed: 'daily-seed', find: newestSeedYear, time: newestEntryTimestamp },
  { feed: 'goldback', find: exists('api/goldback-spot.json'), time: field('scraped_at') },
];

/** Reads each feed's newest file under `root` (null: no tree yet, every feed missing) and judges its age at `now`. */
export async function readFeedHealth(root: string | null, now: number | Date = Date.now(), options: FeedHealthOptions = {}): Promise<FeedHealth> {
  const nowMs = typeof now === 'number' ? now : now.getTime();
  const feeds = await Promise.all(
    SOURCES.map((source) => judgeFeed(root, source, nowMs, options.staleAfterMinutes?.[source.feed] ?? FEED_STALE_AFTER_MINUTES[source.feed])),
  );
  return { ok: feeds.every((f) => f.ok), feeds };
}

async function judgeFeed(root: string | null, source: FeedSource, nowMs: number, staleAfterMinutes: number): Promise<FeedAge> {
  const base = { feed: source.feed, staleAfterMinutes };
  const path = root ? await source.find(root).catch(() => null) : null;
  if (!root || !path) return { ...base, path: null, at: null, ageMinutes: null, ok: false, problem: 'missing' };
  const unreadable = (problem: string): FeedAge => ({ ...base, path, at: null, ageMinutes: null, ok: false, problem });
  let json: unknown;
  try {
    const text = await readFileNoFollow(join(root, path), root);
    if (text === null) return { ...base, path: null, at: null, ageMinutes: null, ok: false, problem: 'missing' };
    json = JSON.parse(text);
  } catch (err) {
    return unreadable(`unreadable: ${err instanceof SyntaxError ? 'not valid JSON' : ((err as NodeJS.ErrnoException).code ?? 'read failed')}`);
  }
  const time = source.time(json);
  if (typeof time !== 'string') return unreadable(time.problem);
  const at = parseFeedTime(time);
  if (at === null) return unreadable(`invalid timestamp ${JSON.stringify(time).slice(0, 60)}`);
  const ageMinutes = Math.max(0, Math.floor((nowMs - at) / 60_000));
  const ok = ageMinutes <= staleAfterMinutes;
  return { ...base, path, at: new Date(at).toISOString(), ageMinutes, ok, ...(ok ? {} : { problem: 'stale' }) };
}

/**
 * A feed time as the frontend reads it (_normalizeTs): naive `YYYY-MM-DD HH:MM:SS` is UTC; a `Z` or an offset
 * is kept. Null when it does not parse.
 */
export function parseFeedTime(value: string): number | null {
  const trimmed = value.trim();
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(trimmed)) return null;
  const iso = /[zZ]$|[+-]\d{2}:?\d{2}$/.test(trimmed) ? trimmed.replace(' ', 'T') : `${trimmed.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/** A feed of one fixed file: reading it tells whether it exists. */
function exists(path: string): (root: string) => Promise<string | null> {
  return async () => path;
}

function field(name: string): (json: unknown) => string | { problem: string } {
  return (json) => {
    const value = json && typeof json === 'object' && !Array.isArray(json) ? (json as Record<string, unknown>)[name] : undefined;
    return typeof value === 'string' ? value : { problem: `no ${name} field` };
  };
}

/** The frontend's reading of a spot file: the last element's `timestamp`. */
function lastEntryTimestamp(json: unknown): string | { problem: string } {
  if (!Array.isArray(json)) return { problem: 'not an array' };
  if (json.length === 0) return { problem: 'no entries' };
  const ts = (json[json.length - 1] as { timestamp?: unknown } | null)?.timestamp;
  return typeof ts === 'string' ? ts : { problem: 'last entry has no timestamp' };
}

/** The newest `timestamp` of a year's seed file (sorted by timestamp, but a late backfill must not hide a fresh seed). */
function newestEntryTimestamp(json: unknown): string | { problem: string } {
  if (!Array.isArray(json)) return { problem: 'not an array' };
  let best: { ts: string; ms: number } | null = null;
  for (const entry of json) {
    const ts = (entry as { timestamp?: unknown } | null)?.timestamp;
    const ms = typeof ts === 'string' ? parseFeedTime(ts) : null;
    if (ms !== null && (!best || ms > best.ms)) best = { ts: ts as string, ms };
  }
  return best ? best.ts : { problem: 'no entries with a timestamp' };
}

/** Names in a folder (links included as names: readFileNoFollow refuses them later); [] when it does not exist. */
async function listNames(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Folders of a level, newest first: names of `digits` digits, which sort as their numbers do. */
async function descending(dir: string, digits: number): Promise<string[]> {
  const pattern = new RegExp(`^\\d{${digits}}$`);
  return (await listNames(dir)).filter((n) => pattern.test(n)).sort().reverse();
}

/**
 * The newest `feed/YYYY/MM/DD/<file>`: walks year, month and day folders newest first and stops at the first day
 * holding a matching file, so it lists a handful of folders however many years of files there are.
 */
async function newestDated(root: string, feed: string, file: RegExp): Promise<string | null> {
  const top = join(root, feed);
  for (const year of await descending(top, 4)) {
    for (const month of await descending(join(top, year), 2)) {
      for (const day of await descending(join(top, year, month), 2)) {
        const files = (await listNames(join(top, year, month, day))).filter((n) => file.test(n)).sort();
        if (files.length) return [feed, year, month, day, files[files.length - 1]].join('/');
      }
    }
  }
  return null;
}

async function newestSeedYear(root: string): Promise<string | null> {
  const years = (await listNames(root)).filter((n) => /^spot-history-\d{4}\.json$/.test(n)).sort();
  return years.length ? years[years.length - 1] : null;
}
