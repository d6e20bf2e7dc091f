import { WINDOW_MS } from '../time/window.js';

/** How observations age in `latest.json`; shared by the builders and the merge so both decide alike. */
export interface PublishRules {
  /** A vendor whose newest observation is this recent (window start vs the export's newest window) is fresh: it counts in median and lowest. Default 30 (the current and previous window). */
  freshMinutes: number;
  /** An older in-stock price is shown as a stale fill (`stale: true`, excluded from median and lowest) up to this age; older vendors leave latest.json. Default 24. */
  staleHours: number;
  /** windows_24h covers this many hours back from the newest window. Default 24. */
  windowHours: number;
}

export const DEFAULT_PUBLISH_RULES: Readonly<PublishRules> = Object.freeze({ freshMinutes: 30, staleHours: 24, windowHours: 24 });

export type Freshness = 'fresh' | 'recent' | 'expired';

/** Milliseconds of a window or instant string (both published formats parse). */
export function timeOf(isoOrWindow: string): number {
  const ms = Date.parse(isoOrWindow);
  if (Number.isNaN(ms)) throw new Error(`not a time: ${isoOrWindow}`);
  return ms;
}

/** How old an observation made in `observedWindow` is, seen from `anchorWindow`. */
export function freshnessOf(observedWindow: string, anchorWindow: string, rules: PublishRules = DEFAULT_PUBLISH_RULES): Freshness {
  const age = timeOf(anchorWindow) - timeOf(observedWindow);
  if (age < rules.freshMinutes * 60_000) return 'fresh';
  if (age < rules.staleHours * 3_600_000) return 'recent';
  return 'expired';
}

/** Whether a window belongs to windows_24h of an export whose newest window is `anchorWindow`. */
export function inWindowRange(window: string, anchorWindow: string, rules: PublishRules = DEFAULT_PUBLISH_RULES): boolean {
  const age = timeOf(anchorWindow) - timeOf(window);
  return age >= 0 && age < rules.windowHours * 3_600_000;
}

/** The oldest window start inside windows_24h (inclusive), for queries. */
export function firstWindowInRange(anchorWindow: string, rules: PublishRules = DEFAULT_PUBLISH_RULES): string {
  return new Date(timeOf(anchorWindow) - rules.windowHours * 3_600_000 + WINDOW_MS).toISOString().slice(0, 16) + ':00Z';
}

/** `YYYY-MM-DD` of a time. */
export function utcDate(isoOrMs: string | number): string {
  return new Date(typeof isoOrMs === 'number' ? isoOrMs : timeOf(isoOrMs)).toISOString().slice(0, 10);
}

/** The date `days` before (negative: after) a `YYYY-MM-DD` date. */
export function addDays(date: string, days: number): string {
  return utcDate(timeOf(`${date}T00:00:00Z`) + days * 86_400_000);
}

/** A stored instant in the one published instant format (ISO with milliseconds). */
export function normaliseInstant(iso: string): string {
  return new Date(timeOf(iso)).toISOString();
}
