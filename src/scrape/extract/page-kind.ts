/** Pages that are not a readable product page: blocked, not found, or another product. */
import type { ProductIdentity } from '../../catalogue/target.js';
import { F_NOTEXT, type Page } from './dom.js';
import { findGoldbackDenominations, findWeights, sameWeight } from './weight.js';

export interface KindVerdict {
  reason: string;
}

const CHALLENGE_TITLE_RE =
  /^(?:just a moment|attention required|access denied|access to this page has been denied|pardon our interruption|checking your browser|please wait|security check|one more step|are you a (?:robot|human)|request unsuccessful|forbidden|blocked|ddos-guard|bot verification|human verification|verify you are human|403 forbidden)\b/i;
const CHALLENGE_TEXT_RE =
  /checking (?:if the site connection is secure|your browser)|verify(?:ing)? (?:that )?you are (?:a )?human|please (?:complete|solve) the (?:security check|captcha)|enable javascript and cookies to continue|press (?:&|and) hold|are you a robot|access (?:to this page )?(?:has been )?denied|you (?:have been|are) blocked|request unsuccessful\. incapsula|incapsula incident id|reference #\d+\.[0-9a-f]+|ray id:|cf-error-details|captcha-delivery|px-captcha|g-recaptcha|h-captcha|hcaptcha|turnstile|why have i been blocked|unusual traffic from your (?:computer|network)/i;

/** 403/401/429 statuses, or a challenge/captcha/bot-wall page. */
export function detectBlocked(page: Page | null, status: number | undefined, rawHead: string): KindVerdict | null {
  if (status === 403) return { reason: 'HTTP 403: the vendor refused the request (bot wall or blocked address)' };
  if (status === 401) return { reason: 'HTTP 401: the vendor asks for authentication' };
  if (status === 429) return { reason: 'HTTP 429: rate limited by the vendor' };
  const title = page?.title ?? '';
  if (title && CHALLENGE_TITLE_RE.test(title.trim())) return { reason: `challenge page (title "${title.slice(0, 80)}")` };
  // Body text of a challenge page is short; a product page that merely embeds a captcha widget
  // (newsletter, login) is long and has a product title.
  const visible = page?.root ? page.line(page.root, F_NOTEXT, 20_000) : '';
  const short = visible.length < 2500;
  if (short) {
    const m = CHALLENGE_TEXT_RE.exec(visible) ?? CHALLENGE_TEXT_RE.exec(rawHead);
    // A challenge page may carry the site name as its heading, never a product name.
    const productHeading = !!page?.h1Text && (findWeights(page.h1Text).length > 0 || /\b(?:gold|silver|platinum|palladium|goldback|coin|bar|round)\b/i.test(page.h1Text));
    if (m && !productHeading) return { reason: `challenge page ("${m[0]}")${status ? ` with HTTP ${status}` : ''}` };
    if (m && status && status >= 400) return { reason: `challenge page ("${m[0]}") with HTTP ${status}` };
  }
  if (status === 503 && short && /captcha|challenge|cf-chl|just a moment/i.test(rawHead)) {
    return { reason: 'HTTP 503 challenge page' };
  }
  return null;
}

const NOT_FOUND_RE =
  /(?:page|product|item) (?:was |could )?not (?:be )?found|(?:page|product|item) (?:does not|doesn't|no longer) exists?|(?:^|\W)404(?:\W|$)|we (?:can't|cannot|couldn't|could not) find (?:the|that|this) (?:page|product|item)|sorry,? (?:this|that|the) (?:page|product) (?:isn't|is not) available|oops!? (?:the )?page/i;

/** 404/410 statuses or a "page not found"/"product not found" page. */
export function detectNotFound(page: Page, status: number | undefined): KindVerdict | null {
  if (status === 404 || status === 410) return { reason: `HTTP ${status}: the product page does not exist` };
  const h1 = page.h1Text;
  if (h1 && h1.length < 120 && NOT_FOUND_RE.test(h1)) return { reason: `not-found page (heading "${h1.slice(0, 80)}")` };
  const title = page.title;
  if (title && NOT_FOUND_RE.test(title) && !(h1 && findWeights(h1).length)) return { reason: `not-found page (title "${title.slice(0, 80)}")` };
  return null;
}

const METAL_WORDS = ['gold', 'silver', 'platinum', 'palladium'] as const;
const PACK_RE =
  /\b(?:tube|roll|box|pack|lot|sheet|set|bag|case)\s+of\s+(\d{1,4})\b|\b(\d{1,4})[-\s]?(?:coin|pc|piece|bar|round)s?\s+(?:tube|roll|box|lot|set|pack)\b|\bmonster\s+box\b|\((\d{1,4})\s*(?:coins|pcs|pieces|bars|rounds)\)|\b(\d{1,4})\s*x\s+\d|\b(\d{1,4})[-\s]?pack\b/i;

function metalsNamed(text: string): Set<string> {
  const out = new Set<string>();
  for (const w of text.toLowerCase().split(/[^a-z]+/)) {
    if ((METAL_WORDS as readonly string[]).includes(w)) out.add(w);
  }
  return out;
}

/**
 * Does the page title name another product? Judged on the product heading (or, lacking one,
 * the page title): another weight than the catalogue's, another metal, or a multi-coin pack.
 * Goldbacks compare their note denomination (G1, G5, ...) instead of weight.
 */
export function detectWrongProduct(page: Page, product: ProductIdentity, candidates: string[] = []): KindVerdict | null {
  const texts = [page.h1Text, page.title, page.meta.get('og:title') ?? '', ...candidates].map((t) => t.replace(/\s+/g, ' ').trim()).filter(Boolean);
  if (!texts.length) return null;
  const catalogue = product.coinName ?? '';
  for (const text of texts) {
    const verdict = judgeName(text, product, catalogue);
    if (verdict === 'ok') return null;
    if (verdict) return { reason: verdict };
  }
  return null;
}

/** 'ok' when the text positively names the product, a reason when it names another, null when it says nothing. */
export function judgeName(text: string, product: ProductIdentity, catalogue: string = product.coinName): string | 'ok' | null {
  const t = text.slice(0, 300);
  if (product.metal === 'goldback') {
    const want = findGoldbackDenominations(catalogue);
    const expected = want.length ? want[0] : 1;
    const seen = findGoldbackDenominations(t);
    if (seen.length && !seen.includes(expected)) {
      return `page names a G${seen.join('/G')} note ("${t.slice(0, 80)}"), the catalogue entry is G${expected}`;
    }
    return seen.length ? 'ok' : null;
  }
  const metals = metalsNamed(t);
  if (metals.size && !metals.has(product.metal)) {
    return `page names ${[...metals].join('/')} ("${t.slice(0, 80)}"), the catalogue entry is ${product.metal}`;
  }
  const pack = PACK_RE.exec(t);
  const pieces = pack ? Number(pack[1] ?? pack[2] ?? pack[3] ?? pack[4] ?? pack[5] ?? 500) : 0;
  if (pack && pieces > 1 && !PACK_RE.test(catalogue)) {
    return `page names a multi-piece product "${pack[0]}" ("${t.slice(0, 80)}"), the catalogue entry is one ${product.coinName}`;
  }
  const weights = findWeights(t);
  if (!weights.length) return null;
  if (weights.some((w) => sameWeight(w.oz, product.weightOz))) return 'ok';
  const named = [...new Set(weights.map((w) => w.raw))].join(', ');
  return `page names ${named} ("${t.slice(0, 80)}"), the catalogue entry is ${formatOz(product.weightOz)}`;
}

function formatOz(oz: number): string {
  const fractions: [number, string][] = [[0.1, '1/10'], [0.25, '1/4'], [0.5, '1/2'], [0.05, '1/20'], [0.2, '1/5']];
  for (const [v, s] of fractions) if (Math.abs(oz - v) < 1e-6) return `${s} oz`;
  return `${oz} oz`;
}

/** Is a page heading or name about this product's weight (used to pick among several products)? */
export function nameMatchesWeight(name: string, product: ProductIdentity): boolean | null {
  const v = judgeName(name, product);
  if (v === 'ok') return true;
  if (v === null) return null;
  return false;
}
