/**
 * How many vision requests may still be sent. The reader asks `take` right before each request and sends nothing
 * when the answer is no, so a spent budget costs nothing; the text result then stands alone.
 * The memory budget below is per process; a budget shared by processes (Redis) implements the same interface.
 */
export interface VisionBudget {
  /** Reserves one request at `now` (ms, default Date.now()), or says which limit is spent and until when. */
  take(now?: number): Promise<{ ok: true } | { ok: false; reason: string }>;
}

export interface MemoryVisionBudgetOptions {
  /** Requests per rolling 60 s (GEMINI_MAX_PER_MINUTE). 0 sends none; Infinity sets no limit. */
  perMinute: number;
  /** Requests per UTC calendar day, reset at 00:00 UTC (GEMINI_MAX_PER_DAY). 0 sends none; Infinity sets no limit. */
  perDay: number;
}

export interface MemoryVisionBudget extends VisionBudget {
  /** Requests taken in the rolling minute and in the UTC day of `now`, for the status page. */
  used(now?: number): { minute: number; day: number; perMinute: number; perDay: number };
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function checkLimit(name: string, value: number): void {
  if (value === Infinity) return;
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a whole number >= 0 (0 turns vision off), got ${String(value)}: fix the setting`);
  }
}

function inWords(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.ceil(s / 60);
  return m < 120 ? `${m}m` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

/** A per-process budget: a rolling 60-second window and a UTC-day counter. Neither is spent by a refused take. */
export function memoryVisionBudget(options: MemoryVisionBudgetOptions): MemoryVisionBudget {
  const { perMinute, perDay } = options;
  checkLimit('GEMINI_MAX_PER_MINUTE', perMinute);
  checkLimit('GEMINI_MAX_PER_DAY', perDay);
  // Send times of the last minute, oldest first; never longer than perMinute.
  let recent: number[] = [];
  let day = -1;
  let dayCount = 0;

  const roll = (now: number): void => {
    recent = recent.filter((t) => t > now - MINUTE_MS && t <= now);
    const today = Math.floor(now / DAY_MS);
    if (today !== day) {
      day = today;
      dayCount = 0;
    }
  };

  return {
    async take(now = Date.now()) {
      roll(now);
      if (dayCount >= perDay) {
        const reset = (day + 1) * DAY_MS;
        return { ok: false, reason: `GEMINI_MAX_PER_DAY (${perDay}) spent: ${dayCount} requests today, resets at 00:00 UTC (in ${inWords(reset - now)})` };
      }
      if (recent.length >= perMinute) {
        const wait = recent.length ? recent[0]! + MINUTE_MS - now : MINUTE_MS;
        return { ok: false, reason: `GEMINI_MAX_PER_MINUTE (${perMinute}) spent: ${recent.length} requests in the last minute, next one in ${inWords(wait)}` };
      }
      recent.push(now);
      dayCount += 1;
      return { ok: true };
    },
    used(now = Date.now()) {
      roll(now);
      return { minute: recent.length, day: dayCount, perMinute, perDay };
    },
  };
}
