import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, type LabelValues } from 'prom-client';
import type { Logger } from 'pino';

/**
 * `/metrics` in the Prometheus text format. Workers, exporters and mergers run in other processes, so nothing
 * here counts in memory: every value is read when Prometheus scrapes, from the sources the API role wires in
 * (Redis counters the workers write, the publish log, BullMQ's job counts, the recovery log, the database).
 * A source that cannot be read leaves its metrics out of that scrape and shows as
 * `staktrakr_metrics_source_up{source="..."} 0`; the rest is still served.
 */

/** A cumulative histogram: `buckets[i].count` observations were at most `buckets[i].le`. */
export interface HistogramCounts {
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

export interface QueueJobCounts {
  queue: string;
  /** State (`waiting`, `active`, `delayed`, `prioritized`, `waiting-children`, `paused`, `completed`, `failed`) -> jobs. */
  counts: Record<string, number>;
}

/** Scrape counters as the workers recorded them in Redis (queues/scrape-metrics.ts). */
export interface ScrapeFigures {
  scrapes: Array<{ vendor: string; outcome: string; count: number }>;
  durations: Array<{ vendor: string } & HistogramCounts>;
  rows: Array<{ vendor: string; kind: string; count: number }>;
}

/** Exports and merges as the publish log holds them (queues/publish-metrics.ts). */
export interface PublishFigures {
  /** The last export per poller and the last merge per merger. */
  last: Array<{ kind: string; poller: string; at: number; ms: number; ok: boolean }>;
  /** Failures ever recorded. */
  failures: Array<{ kind: string; poller: string; count: number }>;
  /** Seconds from the newest price's scrape to the last merge that committed; null before the first. */
  lastFreshnessSeconds: number | null;
  /** When the newest price on main was scraped (epoch ms), as the last merge saw it; null when unknown. */
  newestPriceAt: number | null;
  /** Bytes of the SQLite snapshot on main (data/prices.db), as the last merge left it; null when unknown. */
  snapshotBytes: number | null;
  /** Freshness over committed merges. */
  freshness: HistogramCounts;
}

export interface RecoveryFigures {
  markers: number;
  lines: number;
}

/** Where the figures come from; a source left out is not exposed. */
export interface MetricsSources {
  queues?: () => Promise<QueueJobCounts[]>;
  scrapes?: () => Promise<ScrapeFigures>;
  publish?: () => Promise<PublishFigures>;
  recovery?: () => Promise<RecoveryFigures>;
  /** Rows in the database by poller. */
  database?: () => Promise<Record<string, number>>;
  /** The published feeds as the served tree shows them (feed-health.ts): age in seconds (null: no file) and whether fresh. */
  feeds?: () => Promise<Array<{ feed: string; ageSeconds: number | null; fresh: boolean }>>;
}

export interface MetricsOptions {
  sources: MetricsSources;
  /**
   * Figures read for one scrape are reused for this long, in ms. Default 0: every metric of one scrape shares one
   * read of the sources (and parallel scrapes share a read in flight), and the next scrape reads afresh.
   */
  cacheMs?: number;
  /** Reading a source failed: logged with the source name and the error message. */
  logger?: Logger;
  /** Clock, for the age gauge. Default Date.now. */
  now?: () => number;
}

type SourceName = keyof MetricsSources;
type Figures = { [K in SourceName]?: Awaited<ReturnType<NonNullable<MetricsSources[K]>>> } & { up: Partial<Record<SourceName, boolean>> };

/** A histogram whose cumulative counts are read from elsewhere (Redis), not observed in this process. */
class ReadHistogram<T extends string> extends Histogram<T> {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    config: { name: string; help: string; labelNames: readonly T[]; registers: Registry[] },
    private readonly read: () => Promise<Array<{ labels: LabelValues<T>; counts: HistogramCounts }>>,
  ) {
    // The buckets come with the counts; prom-client's own are never observed.
    super({ ...config, buckets: [1] });
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  /** What the registry renders (prom-client calls this in place of observed values). */
  async getForPromString() {
    const values = [];
    for (const { labels, counts } of await this.read()) {
      for (const b of counts.buckets) values.push({ labels: { ...labels, le: b.le }, value: b.count, metricName: `${this.metricName}_bucket` });
      values.push({ labels: { ...labels, le: '+Inf' }, value: counts.count, metricName: `${this.metricName}_bucket` });
      values.push({ labels, value: counts.sum, metricName: `${this.metricName}_sum` });
      values.push({ labels, value: counts.count, metricName: `${this.metricName}_count` });
    }
    return { name: this.metricName, help: this.metricHelp, type: 'histogram' as const, values, aggregator: 'sum' as const };
  }

  override async get() {
    return (await this.getForPromString()) as unknown as Awaited<ReturnType<Histogram<T>['get']>>;
  }
}

/**
 * A gauge without labels whose value is read when scraped, and left out when unknown (no merge yet, source down):
 * prom-client's own labelless gauge would show 0, which reads as "perfectly fresh" or "no backlog".
 */
class ReadGauge extends Gauge {
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(
    config: { name: string; help: string; registers: Registry[] },
    private readonly read: () => Promise<number | null | undefined>,
  ) {
    super(config);
    this.metricName = config.name;
    this.metricHelp = config.help;
  }

  override async get() {
    const value = await this.read();
    const values = value === null || value === undefined ? [] : [{ labels: {}, value }];
    return { name: this.metricName, help: this.metricHelp, type: 'gauge', values, aggregator: 'sum' } as unknown as Awaited<ReturnType<Gauge['get']>>;
  }
}

/** The registry of every staktrakr_ metric, each read through `sources` when scraped. */
export function createMetricsRegistry(options: MetricsOptions): Registry {
  const { sources } = options;
  const now = options.now ?? Date.now;
  const registry = new Registry();
  const registers = [registry];
  let cached: { at: number; figures: Promise<Figures>; settled: boolean } | null = null;

  const load = async (): Promise<Figures> => {
    const names = (Object.keys(sources) as SourceName[]).filter((k) => typeof sources[k] === 'function');
    const settled = await Promise.allSettled(names.map((k) => sources[k]!()));
    const figures: Figures = { up: {} };
    settled.forEach((r, i) => {
      const name = names[i];
      figures.up[name] = r.status === 'fulfilled';
      if (r.status === 'fulfilled') (figures as Record<string, unknown>)[name] = r.value;
      else options.logger?.warn({ source: name, err: (r.reason as Error)?.message }, 'metrics source unreadable; its metrics are left out of this scrape');
    });
    return figures;
  };
  const figures = (): Promise<Figures> => {
    const ttl = options.cacheMs ?? 0;
    if (!cached || (cached.settled && Date.now() - cached.at >= ttl)) {
      const entry = { at: Date.now(), figures: load(), settled: false };
      void entry.figures.finally(() => (entry.settled = true));
      cached = entry;
    }
    return cached.figures;
  };

  new Gauge({
    name: 'staktrakr_metrics_source_up',
    help: 'Whether a source of these metrics could be read on this scrape (1) or not (0): queues, scrapes, publish, recovery, database.',
    labelNames: ['source'],
    registers,
    async collect() {
      this.reset();
      for (const [source, up] of Object.entries((await figures()).up)) this.set({ source }, up ? 1 : 0);
    },
  });

  if (sources.queues) {
    new Gauge({
      name: 'staktrakr_queue_jobs',
      help: 'Jobs in each BullMQ queue of this poller (scrape.{vendor}, export.{poller}, merge, and any other under the prefix) by state; completed and failed count what the queue still keeps.',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const q of (await figures()).queues ?? []) for (const [state, n] of Object.entries(q.counts)) this.set({ queue: q.queue, state }, n);
      },
    });
  }

  if (sources.feeds) {
    new Gauge({
      name: 'staktrakr_feed_age_seconds',
      help: 'Age of each published feed in the tree the API serves, as the StakTrakr app reads it: manifest, hourly, 15min, daily-seed, goldback (left out while a feed has no file).',
      labelNames: ['feed'],
      registers,
      async collect() {
        this.reset();
        for (const f of (await figures()).feeds ?? []) if (f.ageSeconds !== null) this.set({ feed: f.feed }, f.ageSeconds);
      },
    });
    new Gauge({
      name: 'staktrakr_feed_fresh',
      help: 'Whether each published feed is within its threshold (1) or stale or missing (0): manifest 30 min, hourly 20 min, 15min 20 min, daily-seed 4 days, goldback 25 h.',
      labelNames: ['feed'],
      registers,
      async collect() {
        this.reset();
        for (const f of (await figures()).feeds ?? []) this.set({ feed: f.feed }, f.fresh ? 1 : 0);
      },
    });
  }

  if (sources.scrapes) {
    new Counter({
      name: 'staktrakr_scrapes_total',
      help: 'Scrape attempts by vendor and outcome (ok, out_of_stock, blocked, rejected, error, rate_limited, ...), every attempt of every job, from all worker processes.',
      labelNames: ['vendor', 'outcome'],
      registers,
      async collect() {
        this.reset();
        for (const s of (await figures()).scrapes?.scrapes ?? []) this.inc({ vendor: s.vendor, outcome: s.outcome }, s.count);
      },
    });
    new ReadHistogram(
      {
        name: 'staktrakr_scrape_duration_seconds',
        help: 'Time one scrape attempt took, fetches and extraction included, by vendor.',
        labelNames: ['vendor'],
        registers,
      },
      async () => ((await figures()).scrapes?.durations ?? []).map((d) => ({ labels: { vendor: d.vendor }, counts: d })),
    );
    new Counter({
      name: 'staktrakr_rows_written_total',
      help: 'Rows the workers wrote (to the database, or to the recovery log while the database is away), by vendor and kind: price (a stored price) or failed (the failure row of a job that gave up).',
      labelNames: ['vendor', 'kind'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await figures()).scrapes?.rows ?? []) this.inc({ vendor: r.vendor, kind: r.kind }, r.count);
      },
    });
  }

  if (sources.database) {
    new Gauge({
      name: 'staktrakr_database_rows',
      help: 'Rows in the price database (price_snapshots) by the poller that wrote them.',
      labelNames: ['poller'],
      registers,
      async collect() {
        this.reset();
        for (const [poller, n] of Object.entries((await figures()).database ?? {})) this.set({ poller }, n);
      },
    });
  }

  if (sources.publish) {
    new ReadGauge(
      { name: 'staktrakr_freshness_seconds', help: 'Seconds from the scrape of the newest price to the last merge commit on main that carried it.', registers },
      async () => (await figures()).publish?.lastFreshnessSeconds,
    );
    new ReadHistogram(
      {
        name: 'staktrakr_merge_freshness_seconds',
        help: 'Seconds from the scrape of the newest price to the merge commit on main, one observation per merge that committed.',
        labelNames: [],
        registers,
      },
      async () => {
        const p = (await figures()).publish;
        return p ? [{ labels: {}, counts: p.freshness }] : [];
      },
    );
    new ReadGauge(
      { name: 'staktrakr_main_newest_price_age_seconds', help: 'Age now of the newest price on main, as the last merge saw it: grows when scraping, exporting or merging stops.', registers },
      async () => {
        const at = (await figures()).publish?.newestPriceAt;
        return at === null || at === undefined ? null : Math.max(0, (now() - at) / 1000);
      },
    );
    new ReadGauge(
      { name: 'staktrakr_snapshot_bytes', help: 'Size of the SQLite snapshot on main (data/prices.db) after the last merge (budget: warn at 45 MB, refuse at 95 MB).', registers },
      async () => (await figures()).publish?.snapshotBytes ?? null,
    );
    new Gauge({
      name: 'staktrakr_publish_last_duration_seconds',
      help: 'How long the last export (per poller branch) or merge (per merger) ran.',
      labelNames: ['kind', 'poller'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await figures()).publish?.last ?? []) this.set({ kind: r.kind, poller: r.poller }, r.ms / 1000);
      },
    });
    new Gauge({
      name: 'staktrakr_publish_last_success',
      help: 'Whether the last export (per poller branch) or merge (per merger) succeeded (1) or failed (0).',
      labelNames: ['kind', 'poller'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await figures()).publish?.last ?? []) this.set({ kind: r.kind, poller: r.poller }, r.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: 'staktrakr_publish_last_end_timestamp_seconds',
      help: 'When the last export (per poller branch) or merge (per merger) ended, Unix time in seconds.',
      labelNames: ['kind', 'poller'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await figures()).publish?.last ?? []) this.set({ kind: r.kind, poller: r.poller }, r.at / 1000);
      },
    });
    new Counter({
      name: 'staktrakr_publish_failures_total',
      help: 'Exports and merges that failed, by kind and poller, as the publish log counted them.',
      labelNames: ['kind', 'poller'],
      registers,
      async collect() {
        this.reset();
        for (const f of (await figures()).publish?.failures ?? []) this.inc({ kind: f.kind, poller: f.poller }, f.count);
      },
    });
  }

  if (sources.recovery) {
    new ReadGauge(
      { name: 'staktrakr_recovery_pending_markers', help: 'Pending markers in the recovery log folder: processes whose rows may be in the log only, waiting for the replay.', registers },
      async () => (await figures()).recovery?.markers,
    );
    new ReadGauge(
      { name: 'staktrakr_recovery_pending_lines', help: 'Recovery log lines from the oldest pending marker to the end of the log: the replay backlog (0 when no marker is pending; estimated from the bytes past 64 MB of backlog).', registers },
      async () => (await figures()).recovery?.lines,
    );
  }

  return registry;
}

/** `GET /metrics`: renders the registry. A failure to render answers 500 with the reason (never a secret). */
export function metricsHandler(registry: Registry): RequestHandler {
  return async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.setHeader('Content-Type', registry.contentType);
      res.setHeader('Cache-Control', 'no-store');
      res.send(body);
    } catch (err) {
      res.status(500).type('text/plain').send(`metrics could not be rendered: ${(err as Error).message}\n`);
    }
  };
}
