import { z } from 'zod';
import { SIMULATED_PROVIDER } from './spot-store.js';
import { stableStringify } from '../export/stable-json.js';
import { SPOT_METALS, spotValueProblem } from './metals.js';
import type { SpotDailyRow, SpotWindowRow } from './spot-schema.js';

/**
 * The published spot files, relative to the `data/` folder:
 * - `hourly/YYYY/MM/DD/HH.json`: every window of the hour, source `hourly`;
 * - `15min/YYYY/MM/DD/HHMM.json`: one window (the floored quarter), source `seed`, written once;
 * - `spot-history-YYYY.json`: one value per metal and weekday at `12:00:00`, source `seed`.
 * Arrays are sorted by (timestamp, metal): the last element is the newest of the file and the last entry of each
 * metal is that metal's newest (the frontend's health check reads the last element).
 */

/** Provider named in hourly and 15-minute files: the poller fleet itself, as in the real files. */
export const SPOT_FILE_PROVIDER = 'StakTrakr';

const NAIVE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/** `hourly/2026/03/14/15.json` for the hour `2026-03-14 15` (or any window in it). */
export function hourlyFilePath(hourKey: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2})/.exec(hourKey);
  if (!m) throw new RangeError(`hourlyFilePath: expected an hour like 2026-03-14 15, got ${JSON.stringify(hourKey)}`);
  return `hourly/${m[1]}/${m[2]}/${m[3]}/${m[4]}.json`;
}

/** `15min/2026/03/14/1545.json` for the window `2026-03-14 15:45:00`. */
export function quarterFilePath(window: string): string {
  const m = NAIVE.exec(window);
  if (!m || !['00', '15', '30', '45'].includes(m[5]) || m[6] !== '00') {
    throw new RangeError(`quarterFilePath: expected a quarter window like 2026-03-14 15:45:00, got ${JSON.stringify(window)}`);
  }
  return `15min/${m[1]}/${m[2]}/${m[3]}/${m[4]}${m[5]}.json`;
}

/** `spot-history-2026.json`. */
export function spotHistoryPath(year: number | string): string {
  return `spot-history-${year}.json`;
}

/** What a path is among the spot files, or null. */
export type SpotFileKind = { kind: 'hourly'; hour: string } | { kind: 'quarter'; window: string } | { kind: 'history'; year: string };

export function classifySpotPath(path: string): SpotFileKind | null {
  let m = /^hourly\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\.json$/.exec(path);
  if (m) return { kind: 'hourly', hour: `${m[1]}-${m[2]}-${m[3]} ${m[4]}` };
  m = /^15min\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})(00|15|30|45)\.json$/.exec(path);
  if (m) return { kind: 'quarter', window: `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}:00` };
  m = /^spot-history-(\d{4})\.json$/.exec(path);
  if (m) return { kind: 'history', year: m[1] };
  return null;
}

const naiveTimestampSchema = z
  .string({ message: 'expected a timestamp (a string)' })
  .refine((s) => {
    const m = NAIVE.exec(s);
    if (!m) return false;
    const ms = Date.parse(`${s.replace(' ', 'T')}Z`);
    return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === s.replace(' ', 'T');
  }, { message: 'expected a naive UTC timestamp like 2026-03-14 15:45:00' });

/**
 * Two levels, as for the price files (src/contract/fields.ts):
 * - `contract`: what the frontend reads; accepts the real published files (spot-history back to 1968 with silver
 *   under $5, `15min/.../1530.json` stamped `15:30:02`, hourly files of the old writer stamped with another hour);
 * - `published`: what this system writes: values within $5..$50,000, exact windows, the source of the file kind.
 * Both check the order the frontend relies on.
 */
export type SpotFileLevel = 'contract' | 'published';

const positiveSpot = z.number({ message: 'expected a spot price (a number)' }).refine((n) => Number.isFinite(n) && n > 0, { message: 'expected a spot price > 0' });
const boundedSpot = z.number({ message: 'expected a spot price (a number)' }).superRefine((n, ctx) => {
  const problem = spotValueProblem(n);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** One entry of a spot file at a level. */
export function spotEntrySchema(level: SpotFileLevel = 'published') {
  return z.strictObject({
    spot: level === 'published' ? boundedSpot : positiveSpot,
    metal: z.enum(SPOT_METALS, { message: `expected one of ${SPOT_METALS.join(', ')}` }),
    source: z.string().min(1),
    provider: z.string().min(1),
    timestamp: naiveTimestampSchema,
  });
}
export type SpotFileEntry = z.infer<ReturnType<typeof spotEntrySchema>>;

/** The entries of one kind of spot file at a level: a non-empty array; at `published`, with the kind's source. */
function entriesSchema(source: string, level: SpotFileLevel) {
  const entry = spotEntrySchema(level);
  return z.array(level === 'published' ? entry.extend({ source: z.literal(source, { message: `expected source "${source}"` }) }) : entry).min(1, 'expected at least one entry');
}

/** `hourly/YYYY/MM/DD/HH.json`. */
export const hourlyFileSchema = (level: SpotFileLevel = 'published') => entriesSchema('hourly', level);
/** `15min/YYYY/MM/DD/HHMM.json`. */
export const quarterFileSchema = (level: SpotFileLevel = 'published') => entriesSchema('seed', level);
/** `spot-history-YYYY.json`. */
export const spotHistoryFileSchema = (level: SpotFileLevel = 'published') => entriesSchema('seed', level);

export interface RenderSpotFilesInput {
  /** Rows of spot_prices (first-wins per metal and window). */
  windows: readonly SpotWindowRow[];
  /** Rows of spot_daily; each year present gets its spot-history file. */
  daily: readonly SpotDailyRow[];
  /** Hours (`YYYY-MM-DD HH`) whose hourly and 15-minute files to render. Default: every hour of `windows`. */
  hours?: Iterable<string>;
}

/** The spot files for these rows: relative path -> file text (stable JSON). Pure. */
export function renderSpotFiles(input: RenderSpotFilesInput): Map<string, string> {
  const only = input.hours ? new Set(input.hours) : null;
  const seen = new Set<string>();
  const byHour = new Map<string, SpotFileEntry[]>();
  const byWindow = new Map<string, SpotFileEntry[]>();
  for (const row of input.windows) {
    const hour = row.window_start.slice(0, 13);
    const key = `${row.metal}|${row.window_start}`;
    if ((only && !only.has(hour)) || seen.has(key)) continue; // first row of a window wins, as in the table
    seen.add(key);
    // Simulated values say so in the files too: nobody may take them for market prices.
    const provider = row.provider === SIMULATED_PROVIDER ? SIMULATED_PROVIDER : SPOT_FILE_PROVIDER;
    push(byHour, hour, { spot: row.spot, metal: row.metal, source: 'hourly', provider, timestamp: row.window_start });
    push(byWindow, row.window_start, { spot: row.spot, metal: row.metal, source: 'seed', provider, timestamp: row.window_start });
  }
  const byYear = new Map<string, SpotFileEntry[]>();
  const seenDaily = new Set<string>();
  for (const row of input.daily) {
    const key = `${row.metal}|${row.date}`;
    if (seenDaily.has(key)) continue;
    seenDaily.add(key);
    push(byYear, row.date.slice(0, 4), { spot: row.spot, metal: row.metal, source: 'seed', provider: row.provider, timestamp: `${row.date} 12:00:00` });
  }
  const files = new Map<string, string>();
  for (const [hour, entries] of [...byHour].sort(byKey)) files.set(hourlyFilePath(hour), stableStringify(entries.sort(byTimestampThenMetal)));
  for (const [window, entries] of [...byWindow].sort(byKey)) files.set(quarterFilePath(window), stableStringify(entries.sort(byTimestampThenMetal)));
  for (const [year, entries] of [...byYear].sort(byKey)) files.set(spotHistoryPath(year), stableStringify(entries.sort(byTimestampThenMetal)));
  return files;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** (timestamp, metal) ascending: naive timestamps sort as text. */
export function byTimestampThenMetal(a: SpotFileEntry, b: SpotFileEntry): number {
  if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp ? -1 : 1;
  return a.metal < b.metal ? -1 : a.metal > b.metal ? 1 : 0;
}

/**
 * Checks a spot file against the contract: shape, source, timestamps that match its path, and the order the
 * frontend relies on. Returns its entries; throws an Error naming the path and the first problem.
 */
export function checkSpotFile(path: string, text: string, level: SpotFileLevel = 'published'): SpotFileEntry[] {
  const kind = classifySpotPath(path);
  if (!kind) throw new Error(`${path}: not a spot file path (hourly/YYYY/MM/DD/HH.json, 15min/YYYY/MM/DD/HHMM.json or spot-history-YYYY.json)`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path}: not valid JSON: ${(err as Error).message}`);
  }
  const schema = kind.kind === 'hourly' ? hourlyFileSchema(level) : kind.kind === 'quarter' ? quarterFileSchema(level) : spotHistoryFileSchema(level);
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new Error(`${path}: ${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('') || '(root)'}: ${issue.message}`);
  }
  const entries = r.data;
  const problem = orderProblem(kind, entries, level);
  if (problem) throw new Error(`${path}: ${problem}`);
  return entries;
}

function orderProblem(kind: SpotFileKind, entries: SpotFileEntry[], level: SpotFileLevel): string | null {
  const pairs = new Set<string>();
  for (const [i, e] of entries.entries()) {
    const pair = `${e.metal}|${e.timestamp}`;
    if (pairs.has(pair)) return `[${i}]: a second ${e.metal} entry at ${e.timestamp}`;
    pairs.add(pair);
    // The old writer stamped some hourly files with another hour (the path names the hour), and 15-minute files
    // with the second of the poll: readable, so accepted at `contract`; never written by us.
    if (kind.kind === 'hourly' && level === 'published' && (e.timestamp.slice(0, 13) !== kind.hour || !/:(00|15|30|45):00$/.test(e.timestamp))) {
      return `[${i}]: timestamp ${e.timestamp} is not a quarter of the hour ${kind.hour}`;
    }
    if (kind.kind === 'quarter') {
      const inQuarter = e.timestamp.slice(0, 14) === kind.window.slice(0, 14) && Math.floor(Number(e.timestamp.slice(14, 16)) / 15) * 15 === Number(kind.window.slice(14, 16));
      if (level === 'published' ? e.timestamp !== kind.window : !inQuarter) return `[${i}]: timestamp ${e.timestamp} is not the window ${kind.window} of the path`;
    }
    if (kind.kind === 'history' && (e.timestamp.slice(0, 4) !== kind.year || !e.timestamp.endsWith(' 12:00:00'))) {
      return `[${i}]: timestamp ${e.timestamp} is not YYYY-MM-DD 12:00:00 in ${kind.year}`;
    }
  }
  if (kind.kind === 'history') {
    for (let i = 1; i < entries.length; i++) {
      if (byTimestampThenMetal(entries[i - 1], entries[i]) > 0) return `[${i}]: not sorted by (timestamp, metal)`;
    }
    return null;
  }
  // What the frontend reads: the last element is the newest, and the last entry of each metal is its newest.
  const newest = entries.reduce((t, e) => (e.timestamp > t ? e.timestamp : t), '');
  if (entries[entries.length - 1].timestamp !== newest) return `the last element (${entries[entries.length - 1].timestamp}) is not the newest (${newest})`;
  const lastOfMetal = new Map<string, string>();
  const newestOfMetal = new Map<string, string>();
  for (const e of entries) {
    lastOfMetal.set(e.metal, e.timestamp);
    if (e.timestamp > (newestOfMetal.get(e.metal) ?? '')) newestOfMetal.set(e.metal, e.timestamp);
  }
  for (const [metal, t] of lastOfMetal) {
    if (newestOfMetal.get(metal) !== t) return `the last ${metal} entry (${t}) is not its newest (${newestOfMetal.get(metal)})`;
  }
  return null;
}

/** Whether a spot file's text holds values of the simulator (they give way to real ones, even in a 15-minute file). */
export function isSimulatedSpotText(text: string): boolean {
  return text.includes(`"provider": "${SIMULATED_PROVIDER}"`);
}
