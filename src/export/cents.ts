/**
 * Price arithmetic in integer cents, so that medians, averages and their rounding are exact and the
 * same on every machine and in every order of summation.
 */

/** Dollars (as read from the database) to integer cents. */
export function toCents(dollars: number): number {
  return Math.round(dollars * 100);
}

/** Integer cents to the published dollar amount (at most two decimals). */
export function fromCents(cents: number): number {
  return cents / 100;
}

/** Rounds a dollar amount to cents, half up. */
export function roundToCents(dollars: number): number {
  return fromCents(toCents(dollars));
}

/** `numerator / denominator` in cents, rounded half up. */
export function divideCents(numerator: number, denominator: number): number {
  return Math.round(numerator / denominator);
}

/** True median in cents: the middle value, or the mean of the two middle values rounded half up. null when empty. */
export function medianCents(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : Math.round((sorted[mid - 1] + sorted[mid]) / 2);
}

/** Lowest value in cents, or null when empty. */
export function lowestCents(values: readonly number[]): number | null {
  return values.length === 0 ? null : Math.min(...values);
}

/** Median and lowest of dollar prices, published in dollars (rounded to cents). */
export function summarisePrices(prices: readonly number[]): { median: number | null; lowest: number | null } {
  const cents = prices.map(toCents);
  const median = medianCents(cents);
  const lowest = lowestCents(cents);
  return { median: median === null ? null : fromCents(median), lowest: lowest === null ? null : fromCents(lowest) };
}
