import { stableStringify } from '../export/stable-json.js';
import { byTimestampThenMetal, isSimulatedSpotText, type SpotFileEntry } from '../spot/spot-files.js';
import { SIMULATED_PROVIDER } from '../spot/spot-store.js';

/**
 * The merge of one feed file (spot, Goldback) that several branches and main carry. Every poller writes these
 * from the one database, but each exports at its own moment, so the branches hold different cuts of the same
 * rows: entries are unioned, never dropped, and what main published once stays.
 * - `hourly/...`, `spot-history-YYYY.json`: union of entries by (metal, timestamp), main's and then the earlier
 *   branch's entry winning (a simulated entry gives way to a real one), sorted by (timestamp, metal) so that the last element is the newest;
 * - `15min/...`: written once: main's file as it is, else the first branch's (simulated values give way to real ones);
 * - `api/goldback-spot.json`: the newest `scraped_at`;
 * - `goldback-YYYY.json`: union by date (the later `scraped_at` wins), newest date first.
 * `texts` are in priority order (main first when it has the file). Texts that are not JSON of the expected
 * shape were refused by parseBranch before; here they are skipped.
 */
export function mergeFeedFile(path: string, texts: ReadonlyArray<string>): string {
  if (texts.length === 1) return texts[0];
  const relative = path.replace(/^.*?(?=hourly\/|15min\/|spot-history-|goldback-|api\/goldback-)/, '');
  // main's when it has one (never overwritten), else the first branch's; a simulated file gives way to a real one.
  if (relative.startsWith('15min/')) return texts.find((t) => !isSimulatedSpotText(t)) ?? texts[0];
  const values = texts.map(parse).filter((v) => v !== undefined);
  if (!values.length) return texts[0];
  if (relative.startsWith('hourly/') || relative.startsWith('spot-history-')) {
    // The entries passed their spot schema in parseBranch / readFeedFiles before they got here.
    return stableStringify((unionBy(values, (e) => `${e.metal}|${e.timestamp}`) as unknown as SpotFileEntry[]).sort(byTimestampThenMetal));
  }
  if (relative === 'api/goldback-spot.json') {
    return stableStringify(values.filter(isObject).reduce((a, b) => (String(b.scraped_at ?? '') > String(a.scraped_at ?? '') ? b : a)));
  }
  if (/^(api\/)?goldback-\d{4}\.json$/.test(relative)) {
    const byDate = new Map<string, Record<string, unknown>>();
    for (const list of values) {
      if (!Array.isArray(list)) continue;
      for (const e of list.filter(isObject)) {
        const have = byDate.get(String(e.date));
        if (!have || String(e.scraped_at ?? '') > String(have.scraped_at ?? '')) byDate.set(String(e.date), e);
      }
    }
    return stableStringify([...byDate.values()].sort((a, b) => (String(a.date) < String(b.date) ? 1 : -1)));
  }
  return texts[0];
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Union in priority order (the first entry of a key wins), except that a real entry replaces a simulated one. */
function unionBy(lists: unknown[], key: (e: Record<string, unknown>) => string): Array<Record<string, unknown>> {
  const seen = new Map<string, Record<string, unknown>>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const e of list.filter(isObject)) {
      const have = seen.get(key(e));
      if (!have || (have.provider === SIMULATED_PROVIDER && e.provider !== SIMULATED_PROVIDER)) seen.set(key(e), e);
    }
  }
  return [...seen.values()];
}
