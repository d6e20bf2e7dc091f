/** Length of a price window: prices are grouped in 15-minute UTC windows. */
export const WINDOW_MS = 15 * 60 * 1000;

/** The 15-minute UTC floor of a time, in the one published format `YYYY-MM-DDTHH:MM:00Z`. */
export function windowStart(at: Date | number): string {
  const ms = typeof at === 'number' ? at : at.getTime();
  const floored = new Date(Math.floor(ms / WINDOW_MS) * WINDOW_MS);
  return floored.toISOString().slice(0, 16) + ':00Z';
}

/** ISO-8601 with milliseconds and `Z`, the format of `scraped_at`. */
export function isoTimestamp(at: Date | number = Date.now()): string {
  return new Date(at).toISOString();
}
