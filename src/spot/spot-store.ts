import type { Client, InStatement, Row } from '@libsql/client';
import { WINDOW_MS } from '../time/window.js';
import { isSpotMetal, SPOT_METALS, type SpotMetal } from './metals.js';
import { naiveToMs, naiveUtc } from './spot-plan.js';
import { rowProblem, spotDailyRowSchema, spotWindowRowSchema, type SpotDailyRow, type SpotWindowRow } from './spot-schema.js';

/** What one record call did: rows new to the table, and rows refused before writing, each with its reason. */
export interface RecordResult {
  written: number;
  refused: Array<{ row: unknown; reason: string }>;
}

/** The provider of every value the built-in MetalPriceAPI simulator gave: published as such, replaced by real values. */
export const SIMULATED_PROVIDER = 'simulator';

// First wins, except over the simulator: a real value replaces a simulated one (a key set after a run without one).
const INSERT_WINDOW = `INSERT INTO spot_prices (metal, window_start, spot, provider, source, fetched_at, poller_id, provider_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (metal, window_start) DO UPDATE SET spot = excluded.spot, provider = excluded.provider, source = excluded.source,
    fetched_at = excluded.fetched_at, poller_id = excluded.poller_id, provider_at = excluded.provider_at
  WHERE spot_prices.provider = '${SIMULATED_PROVIDER}' AND excluded.provider <> '${SIMULATED_PROVIDER}'`;
const INSERT_DAILY = `INSERT INTO spot_daily (metal, date, spot, provider, source, fetched_at, poller_id)
  VALUES (?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (metal, date) DO UPDATE SET spot = excluded.spot, provider = excluded.provider, source = excluded.source,
    fetched_at = excluded.fetched_at, poller_id = excluded.poller_id
  WHERE spot_daily.provider = '${SIMULATED_PROVIDER}' AND excluded.provider <> '${SIMULATED_PROVIDER}'`;

/** The provider of the daily seed taken by the poll after 17:00 UTC. */
export const SEED_PROVIDER = 'StakTrakr';

/**
 * The spot tables over a libSQL client (ensureSpotSchema first). Writes are first-wins (INSERT OR IGNORE on the
 * unique keys), one write batch per call; every row is checked before it is written and a bad row is refused alone.
 * The client is the caller's: it serialises writes through one client per process (see design.md, libSQL hazards).
 */
export class SpotStore {
  constructor(private readonly client: Client) {}

  /** Writes the windows not yet in the table; returns how many were new. */
  async recordWindows(rows: readonly SpotWindowRow[]): Promise<RecordResult> {
    return this.record(rows, (r) => rowProblem(spotWindowRowSchema, r), (r: SpotWindowRow) => ({
      sql: INSERT_WINDOW,
      args: [r.metal, r.window_start, r.spot, r.provider, r.source, r.fetched_at, r.poller_id, r.provider_at ?? null],
    }));
  }

  /** Writes the daily values not yet in the table; returns how many were new. */
  async recordDaily(rows: readonly SpotDailyRow[]): Promise<RecordResult> {
    return this.record(rows, (r) => rowProblem(spotDailyRowSchema, r), (r: SpotDailyRow) => ({
      sql: INSERT_DAILY,
      args: [r.metal, r.date, r.spot, r.provider, r.source, r.fetched_at ?? null, r.poller_id ?? null],
    }));
  }

  private async record<T>(rows: readonly T[], problem: (r: unknown) => string | null, statement: (r: T) => InStatement): Promise<RecordResult> {
    const refused: RecordResult['refused'] = [];
    const statements: InStatement[] = [];
    for (const row of rows) {
      const reason = problem(row);
      if (reason) refused.push({ row, reason });
      else statements.push(statement(row));
    }
    if (statements.length === 0) return { written: 0, refused };
    const results = await this.client.batch(statements, 'write');
    return { written: results.reduce((n, r) => n + r.rowsAffected, 0), refused };
  }

  /** Windows from `from` (included) to `to` (excluded), naive UTC strings, ordered by (window_start, metal). */
  async windows(range: { from: string; to: string }): Promise<SpotWindowRow[]> {
    const rs = await this.client.execute({
      sql: `SELECT metal, window_start, spot, provider, source, fetched_at, poller_id, provider_at FROM spot_prices
        WHERE window_start >= ? AND window_start < ? ORDER BY window_start, metal`,
      args: [range.from, range.to],
    });
    return rs.rows.filter((r) => isSpotMetal(r.metal)).map(toWindowRow);
  }

  /** Hours (`YYYY-MM-DD HH`) from `from` to `to` (both included) that hold at least one window, of one metal or any. */
  async hoursWithData(range: { from: string; to: string; metal?: SpotMetal }): Promise<string[]> {
    const end = naiveUtc(naiveToMs(range.to) + 3_600_000);
    const rs = await this.client.execute({
      sql: `SELECT DISTINCT substr(window_start, 1, 13) AS hour FROM spot_prices
        WHERE window_start >= ? AND window_start < ? ${range.metal ? 'AND metal = ?' : ''} ORDER BY hour`,
      args: range.metal ? [`${range.from}:00:00`, end, range.metal] : [`${range.from}:00:00`, end],
    });
    return rs.rows.map((r) => String(r.hour));
  }

  /** Dates from `from` to `to` (included) that have a daily value of every metal. */
  async completeDailyDates(range: { from: string; to: string }): Promise<Set<string>> {
    const rs = await this.client.execute({
      sql: `SELECT date FROM spot_daily WHERE date >= ? AND date <= ? GROUP BY date HAVING COUNT(DISTINCT metal) = ${SPOT_METALS.length}`,
      args: [range.from, range.to],
    });
    return new Set(rs.rows.map((r) => String(r.date)));
  }

  /** The newest date with a daily value (before `before`, a `YYYY-MM-DD`, when given), or null. */
  async lastDailyDate(options: { before?: string } = {}): Promise<string | null> {
    const rs = await this.client.execute(
      options.before
        ? { sql: 'SELECT MAX(date) AS d FROM spot_daily WHERE date < ?', args: [options.before] }
        : 'SELECT MAX(date) AS d FROM spot_daily',
    );
    const d = rs.rows[0]?.d;
    return d === null || d === undefined ? null : String(d);
  }

  /** Whether the StakTrakr seed of a date is in the table (for any metal). */
  async hasStakTrakrSeed(date: string): Promise<boolean> {
    const rs = await this.client.execute({ sql: 'SELECT 1 FROM spot_daily WHERE date = ? AND provider IN (?, ?) LIMIT 1', args: [date, SEED_PROVIDER, SIMULATED_PROVIDER] });
    return rs.rows.length > 0;
  }

  /** The daily rows of one year, ordered by (date, metal). */
  async dailyOfYear(year: number): Promise<SpotDailyRow[]> {
    const rs = await this.client.execute({
      sql: `SELECT metal, date, spot, provider, source, fetched_at, poller_id FROM spot_daily
        WHERE date >= ? AND date <= ? ORDER BY date, metal`,
      args: [`${year}-01-01`, `${year}-12-31`],
    });
    return rs.rows.filter((r) => isSpotMetal(r.metal)).map(toDailyRow);
  }

  /** The provider timestamp of the newest window that has one (ISO), or null. */
  async lastProviderTimestamp(): Promise<string | null> {
    const rs = await this.client.execute('SELECT provider_at FROM spot_prices WHERE provider_at IS NOT NULL ORDER BY window_start DESC, id DESC LIMIT 1');
    const v = rs.rows[0]?.provider_at;
    return v === null || v === undefined ? null : String(v);
  }

  /**
   * The newest value of each metal whose window started less than `maxAgeMs` before `now` (windows in the future,
   * from a clock ahead of ours, are ignored). A metal with nothing that fresh is absent.
   */
  async freshSpot(now: Date | number, maxAgeMs: number): Promise<Partial<Record<SpotMetal, number>>> {
    const nowMs = new Date(now).getTime();
    const rs = await this.client.execute({
      sql: `SELECT metal, spot, window_start FROM spot_prices WHERE window_start > ? AND window_start <= ? ORDER BY window_start DESC`,
      args: [naiveUtc(nowMs - maxAgeMs), naiveUtc(Math.floor(nowMs / WINDOW_MS) * WINDOW_MS)],
    });
    const out: Partial<Record<SpotMetal, number>> = {};
    for (const r of rs.rows) {
      const metal = r.metal;
      if (isSpotMetal(metal) && out[metal] === undefined) out[metal] = Number(r.spot);
      if (SPOT_METALS.every((m) => out[m] !== undefined)) break;
    }
    return out;
  }
}

function toWindowRow(r: Row): SpotWindowRow {
  return {
    metal: r.metal as SpotMetal,
    window_start: String(r.window_start),
    spot: Number(r.spot),
    provider: String(r.provider),
    source: String(r.source),
    fetched_at: String(r.fetched_at),
    poller_id: String(r.poller_id),
    provider_at: r.provider_at === null || r.provider_at === undefined ? null : String(r.provider_at),
  };
}

function toDailyRow(r: Row): SpotDailyRow {
  return {
    metal: r.metal as SpotMetal,
    date: String(r.date),
    spot: Number(r.spot),
    provider: String(r.provider),
    source: String(r.source),
    fetched_at: r.fetched_at === null || r.fetched_at === undefined ? null : String(r.fetched_at),
    poller_id: r.poller_id === null || r.poller_id === undefined ? null : String(r.poller_id),
  };
}
