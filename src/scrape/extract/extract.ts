/**
 * The extractor: the 1-unit USD price and the stock state of a product page, for every fetch
 * tier (raw HTML from the HTTP tier, or the serialised DOM from the browser tier).
 *
 * Input is markup, or plain page text (a browser's innerText), which is first given minimal markup.
 *
 * Order of evidence:
 *  1. structured data: JSON-LD Product/Offer (incl. @graph, arrays, AggregateOffer), microdata
 *     itemprop=price, product meta tags, embedded app state (__NEXT_DATA__, window.__INITIAL_STATE__,
 *     Shopify/BigCommerce/Magento product JSON);
 *  2. the quantity-tier pricing table: the 1-unit row, lowest payment-method price;
 *  3. page text near the product title and buy button.
 * Structured data that disagrees with the table's 1-unit price loses to the table (it often carries
 * the largest tier's "as low as" price). Traps (spot tickers, menus, carousels, "also purchased",
 * "as low as" badges, footers) are never read. Every candidate price must be plausible for the
 * product (sanity.ts range, and melt value when a spot price is given), so a $1 or a tube price is
 * never returned. Rules are generic; per-vendor hints come only from VendorRules data. Never throws.
 */
import { checkPriceRange, isPlausiblePrice, judgePrice } from '../sanity.js';
import { appStateEvidence } from './app-state.js';
import { Page } from './dom.js';
import type { Availability, PriceEvidence } from './evidence.js';
import { jsonLdEvidence } from './jsonld.js';
import { metaEvidence, microdataEvidence } from './microdata.js';
import { formatUsd, parseMoney, parsePriceValue, pricesAgree } from './money.js';
import { detectBlocked, detectNotFound, detectWrongProduct } from './page-kind.js';
import { pageTextEvidence } from './page-text.js';
import { isPlainText, plainTextToHtml } from './plain-text.js';
import { pricingTableEvidence } from './pricing-table.js';
import { DISCONTINUED_RE, judgeStock, pageStock } from './stock.js';
import type { ExtractInput, ExtractOutcome, ExtractResult, VendorRules } from './types.js';

/** Pages beyond this many characters are cut (the HTTP tier caps bodies at 5 MiB anyway). */
export const MAX_HTML_CHARS = 12 * 1024 * 1024;

function result(price: number | null, inStock: boolean | null, outcome: ExtractOutcome, matchedBy: string | null, reason: string): ExtractResult {
  return { price, inStock, outcome, matchedBy, reason: oneLine(reason) };
}

function oneLine(s: string): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > 600 ? `${line.slice(0, 597)}...` : line;
}

export function extractPrice(input: ExtractInput): ExtractResult {
  try {
    return run(input);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    return result(null, null, 'no_price', null, `extractor could not read this page (${msg.slice(0, 200)})`);
  }
}

/** The element the vendor's rules name as the price, when it holds an amount. */
function vendorSelectorEvidence(page: Page, rules: VendorRules): PriceEvidence | null {
  if (!rules.priceSelector) return null;
  try {
    const el = page.$(rules.priceSelector).first();
    if (!el.length) return null;
    const raw = el.attr('content') ?? el.text();
    const price = parsePriceValue(raw.trim()) ?? parseMoney(raw);
    if (price === null) return null;
    return { rule: 'vendor-selector', price, kind: 'offer', detail: `vendor priceSelector ${JSON.stringify(rules.priceSelector)} ${formatUsd(price)}` };
  } catch {
    return null; // a bad selector in vendor data must not break extraction
  }
}

function run(input: ExtractInput): ExtractResult {
  const product = input.product;
  const rules: VendorRules = input.rules ?? {};
  const status = typeof input.status === 'number' ? input.status : undefined;
  let html = typeof input.html === 'string' ? input.html : input.html == null ? '' : String(input.html);
  if (html.length > MAX_HTML_CHARS) html = html.slice(0, MAX_HTML_CHARS);

  // Statuses that say it all, before parsing.
  const earlyBlock = detectBlocked(null, status, '');
  if (earlyBlock) return result(null, null, 'blocked', null, earlyBlock.reason);
  if (status === 404 || status === 410) return result(null, null, 'not_found', null, `HTTP ${status}: the product page does not exist`);
  if (!html.trim()) return result(null, null, 'no_price', null, `empty page${status ? ` (HTTP ${status})` : ''}`);

  // A browser tier may hand over the page's text instead of its markup.
  if (isPlainText(html)) html = plainTextToHtml(html, product);
  const page = new Page(html, { ignoreSelectors: rules.ignoreSelectors });
  const blocked = detectBlocked(page, status, html.slice(0, 30_000));
  if (blocked) return result(null, null, 'blocked', null, blocked.reason);
  const notFound = detectNotFound(page, status);
  if (notFound) return result(null, null, 'not_found', null, notFound.reason);

  // Every candidate must be a believable price for this product, whatever rule found it.
  const implausible: string[] = [];
  let firstRejected: ExtractResult['rejected'];
  const spot = input.spotUsdPerOz ?? null;
  const plausible = (e: PriceEvidence | null): PriceEvidence | null => {
    if (!e || isPlausiblePrice(e.price, product, spot)) return e;
    const why = judgePrice({ price: e.price, product, spotUsdPerOz: spot }).reason;
    implausible.push(`${e.detail} ignored: ${why}`);
    firstRejected ??= { price: e.price, matchedBy: e.rule, reason: `${e.detail} rejected: ${why}` };
    return null;
  };
  const isPlausible = (price: number): boolean => {
    if (isPlausiblePrice(price, product, spot)) return true;
    if (implausible.length < 3) implausible.push(`${formatUsd(price)} ignored: ${judgePrice({ price, product, spotUsdPerOz: spot }).reason}`);
    return false;
  };

  const ld = jsonLdEvidence(page, product, input.url);
  const wrong = detectWrongProduct(page, product, page.h1Text || page.title ? [] : ld.names.slice(0, 1));
  if (wrong) return result(null, null, 'wrong_product', null, wrong.reason);

  const ruleHint = plausible(vendorSelectorEvidence(page, rules));
  const md = microdataEvidence(page);
  const meta = metaEvidence(page);
  const app = appStateEvidence(page, product);
  const table = plausible(pricingTableEvidence(page, product, isPlausible));
  const structured = [ld.evidence, md.evidence, meta.evidence, app.evidence].map(plausible).filter((e): e is PriceEvidence => e !== null);

  // ---- price
  let chosen: PriceEvidence | null = null;
  const notes: string[] = [];
  if (ruleHint) {
    chosen = ruleHint;
  } else if (table) {
    const agreeing = structured.find((s) => pricesAgree(s.price, table.price));
    if (agreeing) {
      chosen = agreeing;
      notes.push(`pricing table 1-unit row agrees`);
    } else {
      chosen = table;
      for (const s of structured) notes.push(`${s.detail} ignored (differs from the table's 1-unit row)`);
    }
  } else if (structured.length) {
    const exact = structured.find((s) => s.kind === 'offer');
    if (exact) {
      chosen = exact;
    } else {
      // Only the low end of a price range is known: the page's own price beats it when higher.
      const low = structured[0];
      const text = plausible(pageTextEvidence(page, product, isPlausible));
      if (text && !pricesAgree(text.price, low.price) && text.price > low.price) {
        chosen = text;
        notes.push(`${low.detail} ignored (a low end of a range, the page shows ${formatUsd(text.price)})`);
      } else {
        chosen = low;
      }
    }
  } else {
    chosen = plausible(pageTextEvidence(page, product, isPlausible));
  }
  if (app.note && !chosen) notes.push(app.note);
  if (!chosen) notes.push(...implausible);

  // ---- stock
  const structuredAvailability: Availability | null =
    chosen?.availability ?? ld.availability ?? md.availability ?? meta.availability ?? app.availability ?? null;
  const seen = pageStock(page);
  const stock = judgeStock(seen, structuredAvailability);
  const state = stock.state;
  let stockWhy = stock.detail;
  let inStock: boolean | null;
  if (state === 'preorder') {
    inStock = rules.preorderInStock === true;
    stockWhy += rules.preorderInStock ? ' (pre-order counts as in stock for this vendor)' : ' (pre-order is not in stock for this vendor)';
  } else {
    inStock = state === null ? null : state === 'in_stock';
  }

  const stockText = inStock === null ? `stock unknown: ${stockWhy}` : inStock ? `in stock: ${stockWhy}` : `out of stock: ${stockWhy}`;
  if (!chosen) {
    // A discontinued product without a price is gone for good, like a 404 (the worker stops retrying it).
    const gone = seen.phrase.discontinued ?? DISCONTINUED_RE.exec(page.title)?.[0];
    if (gone) return result(null, null, 'not_found', null, `product gone: "${gone}" on the page and no price`);
    if (inStock === false) return result(null, false, 'out_of_stock', null, `no price shown; ${stockText}`);
    const why = notes.length ? `; ${notes.join('; ')}` : '';
    const none = result(null, inStock, 'no_price', null, `no 1-unit price found (no structured price, tier table or price near the title)${why}`);
    return firstRejected ? { ...none, rejected: { ...firstRejected, reason: oneLine(firstRejected.reason) } } : none;
  }
  // Last guard: whatever happened above, never return a price outside the plausible range.
  const range = checkPriceRange(chosen.price, product);
  if (!range.ok) {
    const reason = `${chosen.detail} rejected: ${range.reason}`;
    return { ...result(null, inStock, 'no_price', null, reason), rejected: { price: chosen.price, matchedBy: chosen.rule, reason: oneLine(reason) } };
  }
  const reason = [chosen.detail, ...notes, stockText].join('; ');
  return result(chosen.price, inStock, inStock === false ? 'out_of_stock' : 'ok', chosen.rule, reason);
}
