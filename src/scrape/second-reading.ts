import type { Target } from '../catalogue/target.js';
import type { PriceRow } from '../store/price-row.js';
import { reconcile, type Reading, type Reconciled } from '../vision/consensus.js';
import type { VisionHints } from '../vision/vision-prompt.js';
import type { VisionReader, VisionResult } from '../vision/vision-reader.js';
import type { VisionRead } from '../vision/vision-store.js';
import { Page } from './extract/dom.js';
import { pageStock } from './extract/stock.js';
import { judgePrice } from './sanity.js';

/** Outcomes of a text scrape that a second reader may confirm or complete; the others (a wall, a 404) it may not. */
const READABLE = new Set(['ok', 'out_of_stock', 'no_price']);

export interface SecondReadingDeps {
  vision: VisionReader;
  /** Stores the vision read apart from the scrape rows. Its failure is logged by the caller, never fatal. */
  record: (read: VisionRead) => Promise<void>;
  /** Text and vision prices agree within this percent (CONSENSUS_AGREE_PERCENT). */
  agreePercent: number;
  /** The vendor's reading hints (which row, which column, pre-orders). Default none. */
  hints?: (vendor: string) => VisionHints | undefined;
}

export interface SecondReadingInput {
  target: Target;
  /** The text scrape's row, as it would be stored. */
  row: PriceRow;
  /** The page the text scrape read (final URL), its rendered or fetched HTML, and its screenshot (null: none could be taken). */
  page: { url: string; html: string | null; screenshot: Uint8Array | null };
  context: { windowMedian: number | null; previousPrice: number | null };
  /** Spot in USD/oz of the target's metal: the plausible range in the prompt, and the check of a price only vision read. */
  spotUsdPerOz: number | null;
  signal?: AbortSignal;
}

export interface SecondReading {
  /** The row to store: the consensus price, stock and confidence when vision read, else the text row re-scored. */
  row: PriceRow;
  vision: VisionResult | null;
  consensus: Reconciled | null;
  /** One line for job.log. */
  note: string;
}

/**
 * The second reader: the page's screenshot read by the vision model, reconciled with the text scrape by numbers
 * (consensus.ts). The vision read is stored apart; the row carries the consensus. A vision failure is recorded and
 * the text stands alone; a price only vision read must pass the same sanity check against spot as a scraped one.
 */
export async function secondReading(input: SecondReadingInput, deps: SecondReadingDeps): Promise<SecondReading> {
  const { target, row, page } = input;
  if (!READABLE.has(row.outcome)) return { row, vision: null, consensus: null, note: `vision not asked: the page was ${row.outcome}` };
  const jpeg = page.screenshot;
  if (!jpeg) return { row, vision: null, consensus: null, note: 'vision not asked: no screenshot of the page (no browser tier in this process)' };
  const vision = await deps.vision.read({
    jpeg,
    coin: { slug: target.coin, name: target.coinName, metal: target.metal, weightOz: target.weightOz },
    vendor: target.vendor,
    priceRange: plausibleRange(target, input.spotUsdPerOz),
    hints: deps.hints?.(target.vendor),
    signal: input.signal,
  });
  const textPriced = row.outcome === 'ok' || row.outcome === 'out_of_stock';
  const text: Reading | null = textPriced ? { price: row.price, inStock: row.in_stock } : null;
  let visionReading: Reading | null = vision.ok ? { price: vision.price, inStock: vision.inStock } : null;
  let refusedVisionPrice: string | null = null;
  if (visionReading?.price != null) {
    const judged = judgePrice({ price: visionReading.price, product: target, spotUsdPerOz: input.spotUsdPerOz, ...input.context });
    if (judged.verdict === 'rejected') {
      refusedVisionPrice = `vision price $${visionReading.price} refused: ${judged.reason}`;
      visionReading = { price: null, inStock: visionReading.inStock };
    }
  }
  const consensus = reconcile({
    text,
    vision: visionReading,
    windowMedian: input.context.windowMedian,
    previousPrice: input.context.previousPrice,
    agreePercent: deps.agreePercent,
    pageHasPriceAndBuyButton: textPriced && row.price !== null && hasEnabledBuyButton(page.html),
  });
  const next = rowFromConsensus(row, consensus);
  await deps.record({
    key: `${row.key}/vision`,
    poller_id: row.poller_id,
    scraped_at: row.scraped_at,
    window_start: row.window_start,
    coin_slug: row.coin_slug,
    vendor: row.vendor,
    model: deps.vision.model,
    outcome: vision.ok ? 'ok' : vision.kind,
    price: vision.ok ? vision.price : null,
    in_stock: vision.ok ? vision.inStock : null,
    stock_label: vision.ok ? vision.stockLabel : null,
    model_confidence: vision.ok ? Math.round(vision.confidence) : null,
    text_price: text?.price ?? null,
    agreement: consensus.agreement,
    reason: vision.ok ? (refusedVisionPrice ?? consensus.reason) : vision.reason,
    ms: Math.round(vision.ms),
  });
  const seen = vision.ok ? `vision read ${vision.price === null ? 'no price' : `$${vision.price}`}${vision.inStock === false ? ' (out of stock)' : ''}` : `vision failed (${vision.kind}: ${vision.reason})`;
  return { row: next, vision, consensus, note: `${seen}; ${refusedVisionPrice ? `${refusedVisionPrice}; ` : ''}consensus ${consensus.agreement}: ${consensus.reason}` };
}

/** The text row with the consensus price, stock, confidence and source; `vision` when only vision read a price. */
export function rowFromConsensus(row: PriceRow, c: Reconciled): PriceRow {
  if (c.price === null) return { ...row, confidence: row.price === null ? null : row.confidence };
  const source = c.source === 'consensus' ? 'consensus' : c.source === 'vision-only' ? 'vision' : row.source;
  const inStock = c.inStock ?? true;
  return {
    ...row,
    price: c.price,
    in_stock: inStock,
    confidence: c.confidence,
    source,
    is_failed: false,
    outcome: inStock ? 'ok' : 'out_of_stock',
    reason: c.agreement === 'disagree' || c.source === 'vision-only' ? c.reason : row.outcome === 'ok' && inStock ? null : row.reason,
    matched_by: c.source === 'vision-only' ? 'vision' : row.matched_by,
  };
}

/** From melt value to three times it (generous: premiums on small gold and numismatic pieces), or null without spot. */
function plausibleRange(target: Target, spotUsdPerOz: number | null): { min: number; max: number } | null {
  if (spotUsdPerOz === null || !(spotUsdPerOz > 0)) return null;
  const melt = spotUsdPerOz * target.weightOz;
  return { min: Math.round(melt * 100) / 100, max: Math.round(melt * 300) / 100 };
}

/**
 * An enabled buy control in the product area, as the extractor's stock rules read it (stock.ts pageStock): what lets
 * a vision in-stock beat a text out-of-stock.
 */
export function hasEnabledBuyButton(html: string | null): boolean {
  return html ? pageStock(new Page(html)).control === 'in_stock' : false;
}
