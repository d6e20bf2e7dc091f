/**
 * What the status page shows, gathered from injected sources: the database (outcomes, counts, failure streaks),
 * the git remote (branch heads), the recovery log, and, when the composition layer wires it, the publish log in
 * Redis. The API is domain code: it never imports queues/, so Redis reads arrive as functions.
 */
import type { Catalogue } from '../catalogue/load.js';
import type { Target } from '../catalogue/target.js';
import type { Config } from '../config/env.js';
import type { BranchHead } from '../publish/branch-heads.js';
import type { PublishRecord } from '../publish/publish-record.js';
import type { RecoveryBacklog } from '../recovery/pending-backlog.js';
import type { FailureStreak, TargetOutcome } from '../store/price-store.js';
import { FEED_STALE_AFTER_MINUTES, readFeedHealth, type FeedName } from './feed-health.js';
import { ageOf, ageState, cellState, countStates, FRESH_INTERVALS, type AgeState, type Cell, type CellState } from './cell-state.js';

/** The part of the publish log the page reads (queues/publish-log.ts's readPublishLog answers a superset). */
export interface PublishLogView {
  last: { export: Record<string, PublishRecord>; merge: Record<string, PublishRecord> };
  failures: Record<string, number>;
}

/** Where the data comes from; each is a small function, so tests and the composition layer can supply them. */
export interface StatusSources {
  counts(): Promise<{ rows: number; failed: number; byPoller: Record<string, number> }>;
  /** Outcome records of every poller. */
  outcomes(): Promise<TargetOutcome[]>;
  failureStreaks(pollerId: string): Promise<FailureStreak[]>;
  /** Heads of the poller branches and of `main`. */
  branchHeads(): Promise<BranchHead[]>;
  recoveryBacklog(): Promise<RecoveryBacklog>;
  /** The publish log of this poller's Redis; absent when the server was started without it. */
  publishLog?: () => Promise<PublishLogView>;
  /** The latest screenshot of each target (browser tier), as `{vendor}/{coin}` under `screenshotBase`; absent without a browser tier. */
  screenshots?: () => Promise<ReadonlyArray<{ coin: string; vendor: string; modifiedAt: number }>>;
  /** URL path the API serves screenshots under, e.g. `/screenshots`. */
  screenshotBase?: string;
}

/** A feed's freshness: `configured` is a fixed value (no feed yet), `missing` is neither feed nor value. */
export type FeedState = 'fresh' | 'stale' | 'configured' | 'missing' | 'error';

export interface FeedStatus {
  id: string;
  name: string;
  state: FeedState;
  /** When the feed last delivered; null when it never did (or is no feed). */
  lastAt: string | null;
  ageMs: number | null;
  /** Older than this is stale; null when age does not apply. */
  maxAgeMs: number | null;
  detail: string;
}

export interface FeedContext {
  config: Config;
  now: number;
  /** Targets of the live catalogue. */
  targets: Target[];
  /** Outcome records of every poller. */
  outcomes: TargetOutcome[];
}

/** One feed's check. Later feeds (MetalPriceAPI spot, Goldback) are one more probe in the list. */
export type FeedProbe = (ctx: FeedContext) => FeedStatus | Promise<FeedStatus>;

/** Dealer scrapes: the newest price any poller read for a target of the catalogue. */
export const dealerFeed: FeedProbe = ({ config, now, targets, outcomes }) => {
  const maxAgeMs = FRESH_INTERVALS * config.intervalMs;
  const listed = new Set(targets.map((t) => `${t.coin}:${t.vendor}`));
  const newestByTarget = new Map<string, string>();
  let newest: string | null = null;
  for (const o of outcomes) {
    const key = `${o.coin_slug}:${o.vendor}`;
    if (!listed.has(key) || !o.last_success_at) continue;
    if (!newestByTarget.has(key) || o.last_success_at > newestByTarget.get(key)!) newestByTarget.set(key, o.last_success_at);
    if (!newest || o.last_success_at > newest) newest = o.last_success_at;
  }
  const fresh = [...newestByTarget.values()].filter((at) => ageState(at, now, maxAgeMs) === 'fresh').length;
  const state = ageState(newest, now, maxAgeMs);
  return {
    id: 'dealers',
    name: 'Dealer prices (scrapes)',
    state: state === 'none' ? 'missing' : state,
    lastAt: newest,
    ageMs: ageOf(newest, now),
    maxAgeMs,
    detail: newest ? `${fresh} of ${targets.length} targets priced within ${FRESH_INTERVALS} scrape intervals by some poller` : 'no price read yet',
  };
};

/** Spot: where the feed comes from (MetalPriceAPI, the simulator, off), and what prices fall back to (SPOT_USD_PER_OZ). */
export const spotFeed: FeedProbe = ({ config }) => {
  const entries = Object.entries(config.spotUsdPerOz).filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
  const fallback = entries.length ? `fallback ${entries.map(([m, v]) => `${m} $${v}`).join(', ')} (SPOT_USD_PER_OZ)` : 'no fallback: without a fresh feed, prices are judged by per-metal ranges only';
  const mode = config.spotFeed.mode;
  const source = mode === 'api' ? 'MetalPriceAPI' : mode === 'simulated' ? 'the built-in simulator: NOT real prices (no METAL_PRICE_API_KEY)' : 'off (SPOT_FEED=off)';
  return {
    id: 'spot',
    name: 'Spot source',
    state: mode === 'off' ? (entries.length ? 'configured' : 'missing') : 'configured',
    lastAt: null,
    ageMs: null,
    maxAgeMs: null,
    detail: `${source}, every ${config.spotFeed.everyMs / 60_000} min; ${fallback}`,
  };
};

/** What the vision probe reads: the budget spent today and this minute, and the reads of the last hour by outcome. */
export interface VisionFigures {
  model: string;
  used: { minute: number; day: number; perMinute: number; perDay: number };
  lastHour: { reads: number; byOutcome: Record<string, number>; byAgreement: Record<string, number> };
}

/** Vision, the second reader: off, working, or with its budget spent (then the text result stands alone). */
export function visionFeed(read: (() => Promise<VisionFigures>) | null): FeedProbe {
  return async ({ now }) => {
    const base = { id: 'vision', name: 'Vision (second reader)', lastAt: null, ageMs: null, maxAgeMs: null };
    if (!read) return { ...base, state: 'missing', detail: 'off: no GEMINI_API_KEY; prices come from the text scrape alone' };
    const f = await read();
    const spent = f.used.day >= f.used.perDay ? `GEMINI_MAX_PER_DAY (${f.used.perDay}) spent until 00:00 UTC: the text result stands alone` : f.used.minute >= f.used.perMinute ? `GEMINI_MAX_PER_MINUTE (${f.used.perMinute}) spent this minute` : null;
    const outcomes = Object.entries(f.lastHour.byOutcome).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
    const agreement = Object.entries(f.lastHour.byAgreement).map(([k, n]) => `${n} ${k}`).join(', ');
    void now;
    return {
      ...base,
      state: spent ? 'stale' : 'configured',
      detail: `${f.model}: ${f.used.day} of ${f.used.perDay} reads today; last hour ${outcomes}${agreement ? ` (${agreement})` : ''}${spent ? `; ${spent}` : ''}`,
    };
  };
}

const PUBLISHED_FEED_NAMES: Readonly<Record<FeedName, string>> = {
  manifest: 'Retail manifest (published)',
  hourly: 'Spot, hourly file (published)',
  '15min': 'Spot, 15-minute file (published)',
  'daily-seed': 'Spot, daily seed (published)',
  goldback: 'Goldback rate (published)',
};

/** The feeds as the frontend sees them in the tree this server serves (`root()`), each against its threshold. */
export function publishedFeedProbes(root: () => string | null, feeds: ReadonlyArray<FeedName>): FeedProbe[] {
  // The probes of one page share one read of the tree (they are asked with the same `now`).
  let last: { dir: string; now: number; health: ReturnType<typeof readFeedHealth> } | null = null;
  const healthOf = (dir: string, now: number) => {
    if (!last || last.dir !== dir || last.now !== now) last = { dir, now, health: readFeedHealth(dir, now) };
    return last.health;
  };
  return feeds.map((feed) => async ({ now }) => {
    const dir = root();
    const age = dir ? (await healthOf(dir, now)).feeds.find((f) => f.feed === feed) : undefined;
    const maxAgeMs = (age?.staleAfterMinutes ?? FEED_STALE_AFTER_MINUTES[feed]) * 60_000;
    const base = { id: `published-${feed}`, name: PUBLISHED_FEED_NAMES[feed], maxAgeMs };
    if (!age) return { ...base, state: 'missing', lastAt: null, ageMs: null, detail: 'no published tree served yet' };
    const state: FeedState = age.ok ? 'fresh' : age.problem === 'missing' ? 'missing' : age.problem === 'stale' ? 'stale' : 'error';
    return { ...base, state, lastAt: age.at, ageMs: age.at ? now - Date.parse(age.at) : null, detail: age.path ? `${age.path}${age.problem && age.problem !== 'stale' ? `: ${age.problem}` : ''}` : age.problem ?? '' };
  });
}

export const DEFAULT_FEEDS: ReadonlyArray<FeedProbe> = [dealerFeed, spotFeed];

export interface GridCell extends Cell {
  coin: string;
  vendor: string;
  /** URL of the target's latest screenshot and when it was taken, when the browser tier keeps one. */
  screenshot?: { url: string; at: string };
}

export interface BranchStatus {
  branch: string;
  /** fresh/stale by the commit's age; missing: not yet published; error: the remote could not be read. */
  state: 'fresh' | 'stale' | 'missing' | 'error';
  sha: string | null;
  committedAt: string | null;
  ageMs: number | null;
  maxAgeMs: number;
  error?: string;
}

export interface RecordStatus extends PublishRecord {
  endedAt: string;
  ageMs: number;
}

export interface PollerStatus {
  id: string;
  /** The poller serving this page. */
  self: boolean;
  branch: BranchStatus;
  /** From this poller's publish log (null: none recorded here; other pollers record on their own host). */
  lastExport: RecordStatus | null;
  exportFailures: number | null;
  scrapes: {
    targets: number;
    lastAttemptAt: string | null;
    lastSuccessAt: string | null;
    ageMs: number | null;
    state: AgeState;
    states: Record<CellState, number>;
  };
}

export interface StatusData {
  /** The keys `/status` has always had. */
  poller: string;
  rows: { rows: number; failed: number; byPoller: Record<string, number> };
  targets: number;
  failing: TargetOutcome[];
  generatedAt: string;
  intervalMs: number;
  /** A success older than this is stale. */
  freshForMs: number;
  /** The poller whose targets the grid shows, and the pollers it can show. */
  view: string;
  views: string[];
  summary: Record<CellState, number>;
  grid: {
    coins: Array<{ slug: string; name: string; metal: string }>;
    vendors: Array<{ id: string; name: string }>;
    cells: GridCell[];
  };
  pollers: PollerStatus[];
  main: {
    branch: BranchStatus;
    lastMerge: RecordStatus | null;
    mergeFailures: number | null;
    newestDataAt: string | null;
    newestDataAgeMs: number | null;
  };
  publishLog: { available: boolean; error?: string };
  recovery: (RecoveryBacklog & { error?: undefined }) | { error: string; dir: string };
  feeds: FeedStatus[];
}

export interface GatherOptions {
  config: Config;
  catalogue: Catalogue;
  /** Poller whose grid to show (one of `views`). */
  view: string;
  now: number;
  sources: StatusSources;
  feeds?: ReadonlyArray<FeedProbe>;
}

/** The pollers a page can show: this one and the configured branches, in order, once each. */
export function statusViews(config: Config): string[] {
  return [...new Set([config.pollerId, ...config.publishBranches])];
}

/** Intervals per target: the catalogue may override the poller's. */
function intervalOf(t: Target, config: Config): number {
  return t.intervalMinutes ? t.intervalMinutes * 60_000 : config.intervalMs;
}

/** Every cell of the coin x vendor grid for one poller; coin x vendor pairs the catalogue lacks are `unlisted`. */
export function buildGrid(
  catalogue: Catalogue,
  config: Config,
  outcomes: TargetOutcome[],
  streaks: FailureStreak[],
  now: number,
): StatusData['grid'] {
  const coins = Object.keys(catalogue.file.coins)
    .sort()
    .filter((slug) => catalogue.targets.some((t) => t.coin === slug))
    .map((slug) => ({ slug, name: catalogue.file.coins[slug].name, metal: catalogue.file.coins[slug].metal }));
  const vendorNames = new Map<string, string>();
  for (const t of catalogue.targets) if (!vendorNames.has(t.vendor)) vendorNames.set(t.vendor, t.vendorName);
  const vendors = [...vendorNames].sort((a, b) => a[0].localeCompare(b[0])).map(([id, name]) => ({ id, name }));
  const byKey = new Map(outcomes.map((o) => [`${o.coin_slug}:${o.vendor}`, o]));
  const streakByKey = new Map(streaks.map((s) => [`${s.coin_slug}:${s.vendor}`, s]));
  const targetByKey = new Map(catalogue.targets.map((t) => [`${t.coin}:${t.vendor}`, t]));
  const cells: GridCell[] = [];
  for (const c of coins) {
    for (const v of vendors) {
      const key = `${c.slug}:${v.id}`;
      const target = targetByKey.get(key);
      if (!target) {
        cells.push({ coin: c.slug, vendor: v.id, state: 'unlisted', price: null, priceAt: null, ageMs: null, since: null, sinceMs: null, failures: 0, outcome: null, reason: null, rejectedPrice: null, lastAttemptAt: null });
        continue;
      }
      const streak = streakByKey.get(key);
      const cell = cellState({ outcome: byKey.get(key) ?? null, streakSince: streak?.since, lastRowPrice: streak?.last_row_price, intervalMs: intervalOf(target, config), now });
      cells.push({ coin: c.slug, vendor: v.id, ...cell });
    }
  }
  return { coins, vendors, cells };
}

/** Gives each cell with a stored screenshot its URL (`{base}/{vendor}/{coin}.jpg`) and time. */
function linkScreenshots(cells: GridCell[], shots: ReadonlyArray<{ coin: string; vendor: string; modifiedAt: number }>, base: string): void {
  const byKey = new Map(shots.map((s) => [`${s.coin}:${s.vendor}`, s]));
  for (const cell of cells) {
    const shot = byKey.get(`${cell.coin}:${cell.vendor}`);
    if (shot) cell.screenshot = { url: `${base}/${encodeURIComponent(cell.vendor)}/${encodeURIComponent(cell.coin)}.jpg`, at: new Date(shot.modifiedAt).toISOString() };
  }
}

function branchStatus(head: BranchHead | undefined, branch: string, now: number, maxAgeMs: number): BranchStatus {
  if (!head) return { branch, state: 'error', sha: null, committedAt: null, ageMs: null, maxAgeMs, error: 'not read' };
  if (head.error) return { branch, state: 'error', sha: null, committedAt: null, ageMs: null, maxAgeMs, error: head.error };
  if (head.missing || !head.sha) return { branch, state: 'missing', sha: null, committedAt: null, ageMs: null, maxAgeMs };
  const ageMs = ageOf(head.committedAt, now);
  return { branch, state: ageMs !== null && ageMs <= maxAgeMs ? 'fresh' : 'stale', sha: head.sha, committedAt: head.committedAt, ageMs, maxAgeMs };
}

function recordStatus(r: PublishRecord | undefined, now: number): RecordStatus | null {
  if (!r || typeof r.at !== 'number') return null;
  return { ...r, endedAt: new Date(r.at).toISOString(), ageMs: Math.max(0, now - r.at) };
}

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Gathers the page. Throws only when the database cannot be read (the page answers 503 then). */
export async function gatherStatus(options: GatherOptions): Promise<StatusData> {
  const { config, catalogue, view, now, sources } = options;
  const views = statusViews(config);
  const pollerIds = [...new Set([...config.publishBranches, config.pollerId])];
  // Git, recovery log and Redis may fail on their own: the page shows the error in their section.
  const headsP = sources.branchHeads().catch((err) => [...pollerIds, 'main'].map((b) => ({ branch: b, sha: null, committedAt: null, missing: false, error: messageOf(err) })));
  const backlogP = sources.recoveryBacklog().then(
    (b) => b as StatusData['recovery'],
    (err) => ({ error: messageOf(err), dir: config.recoveryLogDir }),
  );
  const logP: Promise<{ log: PublishLogView | null; error?: string }> = sources.publishLog
    ? sources.publishLog().then(
        (log) => ({ log }),
        (err) => ({ log: null, error: messageOf(err) }),
      )
    : Promise.resolve({ log: null, error: 'the API role was started without the publish log reader' });
  // A screenshot folder that cannot be read only costs the links.
  const shotsP = sources.screenshots ? sources.screenshots().catch(() => []) : Promise.resolve([]);
  const [counts, outcomes, streaks] = await Promise.all([sources.counts(), sources.outcomes(), sources.failureStreaks(view)]);
  const [heads, recovery, publish, shots] = await Promise.all([headsP, backlogP, logP, shotsP]);

  const own = outcomes.filter((o) => o.poller_id === config.pollerId);
  const byPoller = new Map<string, TargetOutcome[]>();
  for (const o of outcomes) byPoller.set(o.poller_id, [...(byPoller.get(o.poller_id) ?? []), o]);
  const grid = buildGrid(catalogue, config, byPoller.get(view) ?? [], streaks, now);
  linkScreenshots(grid.cells, shots, sources.screenshotBase ?? '/screenshots');
  const listedCells = grid.cells.filter((c) => c.state !== 'unlisted');
  const headByBranch = new Map(heads.map((h) => [h.branch, h]));
  const branchMaxAge = FRESH_INTERVALS * config.intervalMs;
  const log = publish.log;

  const pollers: PollerStatus[] = pollerIds.map((id) => {
    const mine = byPoller.get(id) ?? [];
    const cells = id === view ? listedCells : buildGrid(catalogue, config, mine, [], now).cells.filter((c) => c.state !== 'unlisted');
    const lastAttemptAt = mine.reduce<string | null>((m, o) => (!m || o.last_attempt_at > m ? o.last_attempt_at : m), null);
    const lastSuccessAt = mine.reduce<string | null>((m, o) => (o.last_success_at && (!m || o.last_success_at > m) ? o.last_success_at : m), null);
    return {
      id,
      self: id === config.pollerId,
      branch: branchStatus(headByBranch.get(id), id, now, branchMaxAge),
      lastExport: recordStatus(log?.last.export[id], now),
      exportFailures: log ? (log.failures[`export:${id}`] ?? 0) : null,
      scrapes: {
        targets: cells.filter((c) => c.state !== 'never').length,
        lastAttemptAt,
        lastSuccessAt,
        ageMs: ageOf(lastSuccessAt, now),
        state: ageState(lastSuccessAt, now, FRESH_INTERVALS * config.intervalMs),
        states: countStates(cells.map((c) => c.state)),
      },
    };
  });

  const merges = log ? Object.values(log.last.merge).filter((r) => typeof r?.at === 'number') : [];
  const lastMerge = recordStatus(merges.sort((a, b) => b.at - a.at)[0], now);
  // The newest price on main: the last merge that knew it (a failed merge does not).
  const withData = merges.filter((r) => r.newestDataAt).sort((a, b) => b.at - a.at)[0];
  const newestDataAt = withData?.newestDataAt ?? null;
  const mergeFailures = log ? Object.entries(log.failures).filter(([k]) => k.startsWith('merge:')).reduce((n, [, v]) => n + v, 0) : null;

  const feedContext: FeedContext = { config, now, targets: catalogue.targets, outcomes };
  const feeds = await Promise.all(
    (options.feeds ?? DEFAULT_FEEDS).map(async (probe, i) => {
      try {
        return await probe(feedContext);
      } catch (err) {
        return { id: `feed-${i}`, name: `feed ${i + 1}`, state: 'error' as const, lastAt: null, ageMs: null, maxAgeMs: null, detail: messageOf(err) };
      }
    }),
  );

  return {
    poller: config.pollerId,
    rows: counts,
    targets: own.length,
    failing: own.filter((o) => o.consecutive_failures > 0),
    generatedAt: new Date(now).toISOString(),
    intervalMs: config.intervalMs,
    freshForMs: FRESH_INTERVALS * config.intervalMs,
    view,
    views,
    summary: countStates(listedCells.map((c) => c.state)),
    grid,
    pollers,
    main: {
      branch: branchStatus(headByBranch.get('main'), 'main', now, FRESH_INTERVALS * Math.max(config.intervalMs, config.mergeEveryMs)),
      lastMerge,
      mergeFailures,
      newestDataAt,
      newestDataAgeMs: ageOf(newestDataAt, now),
    },
    publishLog: publish.error ? { available: false, error: publish.error } : { available: true },
    recovery,
    feeds,
  };
}

/** Memoises an async read for `ttlMs` (errors too, so a down remote is not hammered); callers share one flight. */
export function cached<T>(read: () => Promise<T>, ttlMs: number, clock: () => number = Date.now): () => Promise<T> {
  let entry: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = clock();
    if (!entry || now - entry.at >= ttlMs) {
      const value = read();
      value.catch(() => undefined);
      entry = { at: now, value };
    }
    return entry.value;
  };
}
