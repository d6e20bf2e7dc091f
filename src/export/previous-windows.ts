import { toCents } from './cents.js';
import type { WindowPrice } from './model.js';

/**
 * The window prices a coin's published `latest.json` holds in its windows_24h (one per window and vendor), for the
 * windows in `[firstWindow, lastWindow]` that are not in `skip` (the ones read again from the database). null when
 * the text is not a latest.json of that shape: the caller then reads the coin's windows from the database.
 */
export function previousWindowPrices(text: string, range: { firstWindow: string; lastWindow: string; skip: ReadonlySet<string> }): WindowPrice[] | null {
  let file: unknown;
  try {
    file = JSON.parse(text);
  } catch {
    return null;
  }
  const windows = (file as { windows_24h?: unknown } | null)?.windows_24h;
  if (!Array.isArray(windows)) return null;
  const prices: WindowPrice[] = [];
  for (const entry of windows) {
    const { window, vendors } = (entry ?? {}) as { window?: unknown; vendors?: unknown };
    if (typeof window !== 'string' || !vendors || typeof vendors !== 'object') return null;
    if (window < range.firstWindow || window > range.lastWindow || range.skip.has(window)) continue;
    for (const [vendor, price] of Object.entries(vendors)) {
      if (typeof price !== 'number' || !Number.isFinite(price)) return null;
      prices.push({ window, vendor, priceCents: toCents(price) });
    }
  }
  return prices;
}
