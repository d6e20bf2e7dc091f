/**
 * Extractor v1: the 1-unit USD price and the stock state of a product page.
 *
 * Order of evidence:
 *  1. structured data: JSON-LD Product/Offer (incl. @graph, arrays, AggregateOffer), microdata
 *     itemprop=price, product meta tags, embedded app state (__NEXT_DATA__, window.__INITIAL_STATE__);
 *  2. the quantity-tier pricing table: the 1-unit row, lowest payment-method price;
 *  3. page text near the product title and buy button.
 * Structured data that disagrees with the table's 1-unit price loses to the table (it often carries
 * the largest tier's "as low as" price). Traps (spot tickers, menus, carousels, "also purchased",
 * "as low as" badges, footers) are never read. Rules are generic; per-vendor hints come only from
 * VendorRules data. It never throws.
 */
import { appStateEvidence } from './app-state.js';
import { F_TRAP, Page, type El } from './dom.js';
import type { Availability, PriceEvidence } from './evidence.js';
import { jsonLdEvidence } from './jsonld.js';
import { metaEvidence, microdataEvidence } from './microdata.js';
import { formatUsd, parseMoney, pricesAgree } from './money.js';
import { detectBlocked, detectNotFound, detectWrongProduct } from './page-kind.js';
import { pageTextEvidence } from './page-text.js';
import { pricingTableEvidence } from './pricing-table.js';
import { pageStock } from './stock.js';
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

/** Adds trap regions and the price element named by the vendor's rules. */
function applyRules(page: Page, rules: VendorRules): PriceEvidence | null {
  if (!rules.ignoreSelectors?.length && !rules.priceSelector) return null;
  const $ = page.$;
  for (const sel of rules.ignoreSelectors ?? []) {
    try {
      $(sel).each((_, el) => page.markSubtree(el as unknown as El, F_TRAP));
    } catch {
      /* a bad selector in data must not break extraction */
    }
  }
  if (!rules.priceSelector) return null;
  try {
    const el = $(rules.priceSelector).first();
    if (!el.length) return null;
    const raw = el.attr('content') ?? el.text();
    const price = parseMoney(raw) ?? parseMoney(`$${raw.trim()}`);
    if (price === null) return null;
    return { rule: 'vendor-selector', price, kind: 'offer', detail: `vendor priceSelector ${JSON.stringify(rules.priceSelector)} ${formatUsd(price)}` };
  } catch {
    return null;
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

  const page = new Page(html);
  const blocked = detectBlocked(page, status, html.slice(0, 30_000));
  if (blocked) return result(null, null, 'blocked', null, blocked.reason);
  const notFound = detectNotFound(page, status);
  if (notFound) return result(null, null, 'not_found', null, notFound.reason);

  const ruleHint = applyRules(page, rules);
  const ld = jsonLdEvidence(page, product, input.url);
  const wrong = detectWrongProduct(page, product, page.h1Text || page.title ? [] : ld.names.slice(0, 1));
  if (wrong) return result(null, null, 'wrong_product', null, wrong.reason);

  const md = microdataEvidence(page);
  const meta = metaEvidence(page);
  const app = appStateEvidence(page, product);
  const table = pricingTableEvidence(page, product);
  const structured = [ld.evidence, md.evidence, meta.evidence, app.evidence].filter((e): e is PriceEvidence => e !== null);

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
      const low = structured[0];
      const text = pageTextEvidence(page, product);
      if (text && !pricesAgree(text.price, low.price) && text.price > low.price) {
        chosen = text;
        notes.push(`${low.detail} ignored (a low end of a range, the page shows ${formatUsd(text.price)})`);
      } else {
        chosen = low;
      }
    }
  } else {
    chosen = pageTextEvidence(page, product);
  }
  if (app.note && !chosen) notes.push(app.note);

  // ---- stock
  const seen = pageStock(page);
  const structuredAvailability: Availability | null =
    chosen?.availability ?? ld.availability ?? md.availability ?? meta.availability ?? app.availability ?? null;
  let state: Availability | null;
  let stockWhy: string;
  if (seen.state === 'out_of_stock') {
    state = 'out_of_stock';
    stockWhy = seen.detail;
  } else if (seen.state === 'preorder' || structuredAvailability === 'preorder') {
    state = 'preorder';
    stockWhy = seen.state === 'preorder' ? seen.detail : 'structured data says pre-order';
  } else if (structuredAvailability === 'out_of_stock') {
    state = 'out_of_stock';
    stockWhy = 'structured data says out of stock';
  } else if (structuredAvailability === 'in_stock' || seen.state === 'in_stock') {
    state = 'in_stock';
    stockWhy = seen.state === 'in_stock' ? seen.detail : 'structured data says in stock';
  } else {
    state = null;
    stockWhy = seen.detail;
  }
  let inStock: boolean | null;
  if (state === 'preorder') {
    inStock = rules.preorderInStock === true;
    stockWhy += rules.preorderInStock ? ' (pre-order counts as in stock for this vendor)' : ' (pre-order is not in stock for this vendor)';
  } else {
    inStock = state === null ? null : state === 'in_stock';
  }

  const stockText = inStock === null ? `stock unknown: ${stockWhy}` : inStock ? `in stock: ${stockWhy}` : `out of stock: ${stockWhy}`;
  if (!chosen) {
    if (inStock === false) return result(null, false, 'out_of_stock', null, `no price shown; ${stockText}`);
    const why = notes.length ? `; ${notes.join('; ')}` : '';
    return result(null, inStock, 'no_price', null, `no 1-unit price found (no structured price, tier table or price near the title)${why}`);
  }
  const reason = [chosen.detail, ...notes, stockText].join('; ');
  return result(chosen.price, inStock, inStock === false ? 'out_of_stock' : 'ok', chosen.rule, reason);
}
