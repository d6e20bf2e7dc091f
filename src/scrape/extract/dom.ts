/**
 * The parsed page and what every rule needs to know about its elements: which ones are traps
 * (header/nav tickers, mega-menus, carousels, "customers also purchased", footers, "as low as"
 * badges), hidden, reviews, struck-out prices or form choices, and where the product area is.
 *
 * Linear by construction, so that a 10 MB or pathologically nested page costs about as much as
 * parsing it:
 *  - elements are numbered in document order; a subtree is the index range [i, end[i]), so
 *    "contains" is two comparisons and no walk ever climbs ancestors repeatedly;
 *  - flags live in a typed array; marking a subtree skips what is already marked, so all marking
 *    together touches each element at most once per flag;
 *  - text is rendered once into one string with each element's [start, end) in it, and each skip
 *    mask's view is cut from it by whole subtree ranges; the text of any element is then a slice,
 *    never a re-serialisation of its subtree;
 *  - the tree comes from a linear parser (html-parser.ts), with nesting depth capped;
 *  - every walk is iterative (no recursion), so deep nesting cannot overflow the stack.
 */
import { load, type CheerioAPI } from 'cheerio/slim';
import { INLINE_TAGS, parseHtml, type DomNode, type El } from './html-parser.js';
import { findMoney } from './money.js';

export type { DomNode, El } from './html-parser.js';

/** Element flags; a flag of an element holds for its whole subtree. */
export const F_TRAP = 1; // never read prices or stock from here
export const F_HIDDEN = 2; // hidden attribute, display:none, aria-hidden
export const F_REVIEW = 4; // reviews, Q&A, testimonials: no stock evidence from here
export const F_STRUCK = 8; // <s>, <del>, compare-at / was prices
export const F_CHOICE = 16; // <select>/<option>: other variants, not this one
export const F_NOTEXT = 32; // script, style, template ...

/** What price and stock rules never read: traps, hidden text, reviews, variant pickers, struck-out prices, scripts. */
export const F_NOT_CONTENT = F_TRAP | F_HIDDEN | F_REVIEW | F_CHOICE | F_STRUCK | F_NOTEXT;

const SKIP_TAGS = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'head', 'title', 'meta', 'link']);
/** Elements inside which a <header>/<footer> belongs to a section (the product), not to the site. */
const SECTIONING_TAGS = new Set(['main', 'article', 'section', 'aside']);

/** Class/id tokens that name a site-wide or other-product region, matched as whole hyphen/underscore segments. */
const TRAP_SEGMENT_RE = new RegExp(
  String.raw`(?:^|[-_])(?:mega-?menus?|menus?|menubar|navbar|navigation|nav|site-?nav|main-?nav|ticker|tickers|spot-?prices?|spot-?ticker|spot-?bar|spotprices?|metal-?prices|live-?prices|live-?spot|carousel|swiper|slick|owl|splide|glide|flickity|related|recommend|recommended|recommendations|upsells?|cross-?sells?|also-?(?:bought|purchased|viewed|like)|customers-?also|similar|recently-?viewed|recent-?views|breadcrumbs?|as-?low-?as|aslowas|low-?price-?badge|mini-?cart|minicart|cart-?drawer|newsletter|cookies?|cookie-?banner|promo-?bar|announcement-?bar|announcement)(?:$|[-_])`,
);
/** The same ideas written without separators (camelCase or run-together class names). */
const TRAP_SUBSTRING_RE = /megamenu|spotprice|spotticker|pricesticker|metalticker|relatedproduct|alsobought|alsopurchased|customersalso|recentlyviewed|aslowas|carousel|swiper|crosssell|upsell|similarproduct|recommendedproduct/;
/** Whole tokens for page chrome; "product-header" or "card-footer" are not chrome. */
const TRAP_EXACT_TOKENS = new Set([
  'header', 'site-header', 'siteheader', 'global-header', 'page-header', 'main-header', 'top-header', 'header-top', 'topbar', 'top-bar',
  'masthead', 'footer', 'site-footer', 'sitefooter', 'global-footer', 'page-footer', 'main-footer', 'shopify-section-header', 'shopify-section-footer',
  'utility-bar', 'utility-nav', 'sidebar-nav',
]);
const REVIEW_SEGMENT_RE = /(?:^|[-_])(?:testimonials?|comments?|questions?|answers?|qa|q-?and-?a|faqs?|ugc)(?:$|[-_])|(?<!over|pre)reviews?|testimonial|yotpo|trustpilot|bazaarvoice|judgeme|okendo|stamped|feefo|powerreviews/;
const STRUCK_TOKEN_RE = /compare-?at|compareat|was-?price|old-?price|price-?old|price-?was|strike|line-?through|msrp|list-?price|price--compare|crossed|retail-?price/;
const HIDDEN_TOKENS = new Set(['hidden', 'd-none', 'is-hidden', 'hide', 'u-hidden', 'display-none', 'js-hidden', 'no-display', 'invisible']);
export const TRAP_HEADING_RE =
  /customers (?:also|who)|also (?:bought|purchased|viewed|like)|you (?:may|might) (?:also )?(?:like|enjoy|be interested)|similar (?:products|items)|related (?:products|items)|recently viewed|frequently bought|people (?:also|who)|popular (?:products|items)|trending|top sellers|best ?sellers|featured products|more from|compare with similar|complete the set|shop (?:more|similar)|other products|more (?:products|items) (?:like|from)|related categories|explore (?:more|similar)|recommended (?:for you|products)/i;

const ROLE_TRAP = new Set(['navigation', 'menu', 'menubar']);
const ROLE_TRAP_OUTSIDE_SECTION = new Set(['banner', 'contentinfo']);
const BUY_TEXT_RE = /add (?:to )?(?:cart|bag|basket)|buy (?:it )?now|pre-?order|sold out|out of stock|notify me|currently unavailable|email me when/i;

/** The next element sibling, or null. */
export function nextElement(node: DomNode): El | null {
  for (let n = node.next; n; n = n.next) if (isElement(n)) return n;
  return null;
}

/** The previous element sibling, or null. */
export function prevElement(node: DomNode): El | null {
  for (let n = node.prev; n; n = n.prev) if (isElement(n)) return n;
  return null;
}

export function isElement(n: DomNode | null | undefined): n is El {
  return !!n && (n.type === 'tag' || n.type === 'script' || n.type === 'style') && typeof n.name === 'string';
}

function tokensOf(s: string): string[] {
  return s.toLowerCase().split(/\s+/).filter(Boolean);
}

/** A token that states a setting ("no-review", "has-related-products", "reviews-enabled") names no region. */
const MODIFIER_SEGMENT_RE = /(?:^|[-_])(?:no|has|with|without|show|hide|enabled?|disabled?|allow|count)(?:$|[-_])/;

/** Flags a class or id string gives, whatever the element (cached: pages repeat class strings). */
function tokenFlags(value: string): number {
  let f = 0;
  for (const t of tokensOf(value)) {
    if (HIDDEN_TOKENS.has(t)) f |= F_HIDDEN;
    if (MODIFIER_SEGMENT_RE.test(t)) continue;
    if (TRAP_EXACT_TOKENS.has(t) || TRAP_SEGMENT_RE.test(t) || TRAP_SUBSTRING_RE.test(t.replace(/[-_]/g, ''))) f |= F_TRAP;
    if (REVIEW_SEGMENT_RE.test(t)) f |= F_REVIEW;
    if (STRUCK_TOKEN_RE.test(t)) f |= F_STRUCK;
  }
  return f;
}

const tokenFlagCache = new Map<string, number>();
function cachedTokenFlags(value: string): number {
  let f = tokenFlagCache.get(value);
  if (f === undefined) {
    f = tokenFlags(value);
    if (tokenFlagCache.size > 50_000) tokenFlagCache.clear();
    tokenFlagCache.set(value, f);
  }
  return f;
}

function ownFlags(el: El, inSection: boolean): number {
  const name = el.name;
  const a = el.attribs;
  let f = 0;
  if (SKIP_TAGS.has(name)) f |= F_NOTEXT;
  if (name === 'nav') f |= F_TRAP;
  if ((name === 'header' || name === 'footer') && !inSection) f |= F_TRAP;
  const role = a.role;
  if (role) {
    const r = role.toLowerCase();
    if (ROLE_TRAP.has(r) || (!inSection && ROLE_TRAP_OUTSIDE_SECTION.has(r))) f |= F_TRAP;
  }
  if (name === 's' || name === 'del' || name === 'strike') f |= F_STRUCK;
  if (name === 'select' || name === 'option' || name === 'datalist') f |= F_CHOICE;
  if (a.hidden !== undefined) f |= F_HIDDEN;
  const ariaHidden = a['aria-hidden'];
  if (ariaHidden && ariaHidden.toLowerCase() === 'true') f |= F_HIDDEN;
  const style = a.style;
  if (style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(style)) f |= F_HIDDEN;
  const itemprop = a.itemprop;
  if (itemprop && /^reviews?$/i.test(itemprop)) f |= F_REVIEW;
  if (a.itemtype && /schema\.org\/review/i.test(a.itemtype)) f |= F_REVIEW;
  // The classes of <html> and <body> describe the page and its settings ("ast-woocommerce-cart-menu",
  // "has-mega-menu"), never a region: the whole page is not a menu.
  if (name === 'html' || name === 'body') return f;
  if (a.class) f |= cachedTokenFlags(a.class);
  if (a.id) f |= tokenFlags(a.id);
  return f;
}

/** The last text node inside a node (itself when it is one), or null. */
function lastText(node: DomNode | null): DomNode | null {
  for (let n = node, depth = 0; n && depth < 4; depth++) {
    if (n.type === 'text') return n;
    const kids = n.children;
    n = kids && kids.length ? kids[kids.length - 1] : null;
  }
  return null;
}

/** "$5,214<sup>40</sup>" is $5,214.40: the cents in a superscript become ".40" in the text. */
function superscriptCents(sup: El): void {
  const only = sup.children.length === 1 ? sup.children[0] : null;
  if (!only || only.type !== 'text' || !/^\s*\d\d\s*$/.test(only.data ?? '')) return;
  const before = lastText(sup.prev);
  if (before && /\$\s?\d[\d,]*$/.test(before.data ?? '')) only.data = `.${(only.data ?? '').trim()}`;
}

/** Preformatted text keeps its line breaks ("1-19 ..... $96.20" lines in a <pre>): set before the text is first read. */
function keepLineBreaks(pre: El): void {
  const stack: DomNode[] = [...pre.children];
  for (let n = stack.pop(), seen = 0; n && seen < 10_000; n = stack.pop(), seen++) {
    if (n.type === 'text') n.text = (n.data ?? '').replace(/[^\S\n]+/g, ' ');
    else if (n.children) stack.push(...n.children);
  }
}

/** Text node data with whitespace runs collapsed to one space, computed once per node. */
function collapsed(node: DomNode): string {
  let t = node.text;
  if (t === undefined) {
    const d = node.data ?? '';
    t = /[^\S ]| {2}/.test(d) ? d.replace(/\s+/g, ' ') : d;
    node.text = t;
  }
  return t;
}

/** One rendering of the page text with a skip mask. */
interface TextView {
  text: string;
  /** Per element: where its text starts and ends in `text` (empty for skipped subtrees). */
  start: Int32Array;
  end: Int32Array;
  /** Text runs (one per text node or button value): offsets and the element they came from. */
  runStart: number[];
  runEnd: number[];
  runEl: number[];
  /** Offsets of "$" and "USD" in `text`, found on first use. */
  signs?: Int32Array;
}

export interface TextSpan {
  start: number;
  end: number;
  el: El;
}

export interface PageOptions {
  /** Extra regions never to read (vendor rules); bad selectors are ignored. */
  ignoreSelectors?: string[];
}

export class Page {
  readonly root: DomNode;
  /** True when the page nested deeper than the parser's cap and was flattened. */
  readonly flattened: boolean;
  private cheerio: CheerioAPI | null = null;
  /** Every element in document order; `elements[i].idx === i`. */
  readonly elements: El[];
  /** Per element index: the parent element's index, or -1. */
  private parentIdx!: Int32Array;
  /** Per element index: one past the last element of its subtree. */
  private endIdx!: Int32Array;
  private flagArr!: Uint8Array;
  private inlineArr!: Uint8Array;
  private views = new Map<number, TextView>();
  /** The first visible <h1> outside traps, or a product-name element. */
  readonly h1: El | null;
  readonly h1Text: string;
  /** <title> text. */
  readonly title: string;
  /** Content of meta tags by lower-cased name/property/itemprop. */
  readonly meta = new Map<string, string>();
  /** Where the product's title, price and buy button are. */
  readonly area: El | null;
  /** The main buy control (add to cart, pre-order, sold out), when found. */
  readonly buyControl: El | null;

  constructor(html: string, options: PageOptions = {}) {
    const parsed = parseHtml(html);
    this.root = parsed.root;
    this.flattened = parsed.flattened;
    this.elements = parsed.elements;
    this.index(parsed.parents);
    this.title = this.findTitle();
    for (const sel of options.ignoreSelectors ?? []) this.markSelector(sel, F_TRAP);
    const h1 = this.findH1();
    this.h1 = h1;
    this.h1Text = h1 ? this.line(h1, F_NOTEXT, 400) : '';
    this.markTrapSections();
    this.buyControl = this.findBuyControl();
    this.area = this.findArea();
  }

  /** Inherited flags, subtree ends and meta tags, in linear passes over the elements in document order. */
  private index(parents: Int32Array): void {
    const els = this.elements;
    const count = els.length;
    const flags = new Uint8Array(count);
    const inline = new Uint8Array(count);
    const section = new Uint8Array(count);
    const end = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const el = els[i];
      const name = el.name;
      const p = parents[i];
      let inSection = 0;
      if (p >= 0) {
        const pe = els[p];
        inSection = section[p] || SECTIONING_TAGS.has(pe.name) || (pe.attribs.itemtype !== undefined && /schema\.org\/product/i.test(pe.attribs.itemtype)) ? 1 : 0;
      }
      section[i] = inSection;
      flags[i] = (p >= 0 ? flags[p] : 0) | ownFlags(el, inSection === 1);
      inline[i] = INLINE_TAGS.has(name) ? 1 : 0;
      end[i] = i + 1;
      if (name === 'sup') superscriptCents(el);
      if (name === 'pre') keepLineBreaks(el);
      if (name === 'meta') {
        const a = el.attribs;
        const key = (a.property ?? a.name ?? a.itemprop ?? '').toLowerCase();
        if (key && a.content !== undefined && !this.meta.has(key)) this.meta.set(key, a.content);
      }
    }
    for (let i = count - 1; i >= 0; i--) {
      const p = parents[i];
      if (p >= 0 && end[i] > end[p]) end[p] = end[i];
    }
    this.parentIdx = parents;
    this.endIdx = end;
    this.flagArr = flags;
    this.inlineArr = inline;
  }

  /** cheerio over the same tree, for selector-based vendor rules (built on first use). */
  get $(): CheerioAPI {
    this.cheerio ??= load(this.root as unknown as Parameters<typeof load>[0]);
    return this.cheerio;
  }

  /** Index of an element in document order, or -1 for the root and unknown nodes. */
  idx(node: DomNode): number {
    const i = node.idx;
    return i !== undefined && this.elements[i] === node ? i : -1;
  }

  parentOf(el: El): El | null {
    const i = this.idx(el);
    const p = i >= 0 ? this.parentIdx[i] : -1;
    return p >= 0 ? this.elements[p] : null;
  }

  flagsOf(el: El): number {
    const i = this.idx(el);
    return i >= 0 ? this.flagArr[i] : 0;
  }

  has(el: El, mask: number): boolean {
    return (this.flagsOf(el) & mask) !== 0;
  }

  /** Sets a flag on an element and its whole subtree; subtrees already flagged are skipped whole. */
  markSubtree(el: El, flag: number): void {
    const from = this.idx(el);
    if (from < 0) return;
    const to = this.endIdx[from];
    let changed = false;
    for (let i = from; i < to; ) {
      if (this.flagArr[i] & flag) {
        i = this.endIdx[i];
        continue;
      }
      this.flagArr[i] |= flag;
      changed = true;
      i++;
    }
    if (changed) for (const mask of [...this.views.keys()]) if (mask & flag && mask !== F_NOTEXT) this.views.delete(mask);
  }

  /** Marks every element a CSS selector matches; a selector cheerio cannot read is ignored. */
  markSelector(selector: string, flag: number): void {
    try {
      this.$(selector).each((_, el) => this.markSubtree(el as unknown as El, flag));
    } catch {
      /* a bad selector in vendor data must not break extraction */
    }
  }

  /** Renders the page text once for a skip mask (F_NOTEXT always skipped), walking sibling pointers without a stack. */
  private view(skip: number): TextView {
    const mask = skip | F_NOTEXT;
    const cached = this.views.get(mask);
    if (cached) return cached;
    const view = mask === F_NOTEXT ? this.render() : this.derive(this.view(F_NOTEXT), mask);
    this.views.set(mask, view);
    return view;
  }

  /**
   * A masked view cut out of the base view: flagged subtrees are removed as whole ranges, so the
   * cost is one pass over the elements and a few string slices, not a new walk of the tree.
   */
  private derive(base: TextView, mask: number): TextView {
    const count = this.elements.length;
    const flags = this.flagArr;
    const endIdx = this.endIdx;
    const start = new Int32Array(count);
    const end = new Int32Array(count);
    const pieces: string[] = [];
    const cutStart: number[] = [];
    const cutEnd: number[] = [];
    const cutBefore: number[] = []; // total length of the cuts before this one
    let baseFrom = 0;
    let shift = 0;
    for (let i = 0; i < count; ) {
      if (flags[i] & mask) {
        const bs = base.start[i];
        const be = Math.max(bs, base.end[i]);
        if (bs > baseFrom) pieces.push(base.text.slice(baseFrom, bs));
        const at = bs - shift;
        const stop = endIdx[i];
        for (let k = i; k < stop; k++) {
          start[k] = at;
          end[k] = at;
        }
        cutStart.push(bs);
        cutEnd.push(be);
        cutBefore.push(shift);
        shift += be - bs;
        baseFrom = Math.max(baseFrom, be);
        i = stop;
      } else {
        start[i] = base.start[i] - shift;
        end[i] = -1; // filled below
        i++;
      }
    }
    pieces.push(base.text.slice(baseFrom));
    // Length removed before offset x: the cuts ending at or before x (a cut never straddles an element's end).
    const removedBefore = (x: number): number => {
      let lo = 0;
      let hi = cutEnd.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cutEnd[mid] <= x) lo = mid + 1;
        else hi = mid;
      }
      return lo === 0 ? 0 : cutBefore[lo - 1] + (cutEnd[lo - 1] - cutStart[lo - 1]);
    };
    for (let i = 0; i < count; i++) if (end[i] === -1) end[i] = base.end[i] - removedBefore(base.end[i]);
    const runStart: number[] = [];
    const runEnd: number[] = [];
    const runEl: number[] = [];
    let c = 0;
    for (let r = 0; r < base.runStart.length; r++) {
      const rs = base.runStart[r];
      while (c < cutEnd.length && cutEnd[c] <= rs) c++;
      if (c < cutEnd.length && cutStart[c] <= rs && rs < cutEnd[c]) continue; // inside a cut
      const removed = c === 0 ? 0 : cutBefore[c - 1] + (cutEnd[c - 1] - cutStart[c - 1]);
      runStart.push(rs - removed);
      runEnd.push(base.runEnd[r] - removed);
      runEl.push(base.runEl[r]);
    }
    return { text: pieces.join(''), start, end, runStart, runEnd, runEl };
  }

  /** The base view: all text but scripts, styles and the like. */
  private render(): TextView {
    const mask = F_NOTEXT;
    const count = this.elements.length;
    const start = new Int32Array(count);
    const end = new Int32Array(count);
    const runStart: number[] = [];
    const runEnd: number[] = [];
    const runEl: number[] = [];
    const parts: string[] = [];
    let len = 0;
    const root = this.root;
    const flags = this.flagArr;
    const inline = this.inlineArr;
    let node: DomNode | null = root.children && root.children.length ? root.children[0] : null;
    while (node) {
      let descend = false;
      if (node.type === 'text') {
        const t = collapsed(node);
        if (t) {
          const owner = node.parent ? node.parent.idx : undefined;
          if (owner !== undefined) {
            runStart.push(len);
            runEl.push(owner);
            runEnd.push(len + t.length);
          }
          parts.push(t);
          len += t.length;
        }
      } else if (node.idx !== undefined) {
        const i = node.idx;
        start[i] = len;
        end[i] = len;
        if (!(flags[i] & mask)) {
          const name = node.name;
          if (name === 'br') {
            parts.push('\n');
            len += 1;
            end[i] = len;
          } else if (name === 'input') {
            const a = node.attribs!;
            const type = (a.type ?? '').toLowerCase();
            if ((type === 'submit' || type === 'button') && a.value) {
              const t = ` ${a.value.replace(/\s+/g, ' ')} `;
              runStart.push(len);
              runEl.push(i);
              parts.push(t);
              len += t.length;
              runEnd.push(len);
              end[i] = len;
            }
          } else {
            if (!inline[i]) {
              parts.push('\n');
              len += 1;
              end[i] = len;
            }
            descend = node.children!.length > 0;
          }
        }
      }
      if (descend) {
        node = node.children![0];
        continue;
      }
      // Leave: the node is done; close finished ancestors until one has a next sibling.
      while (node && !node.next) {
        const up: DomNode | null = node.parent;
        if (!up || up === root) {
          node = null;
          break;
        }
        const i = up.idx!;
        if (!inline[i]) {
          parts.push('\n');
          len += 1;
        }
        end[i] = len;
        node = up;
      }
      if (node) node = node.next;
    }
    return { text: parts.join(''), start, end, runStart, runEnd, runEl };
  }

  private range(node: DomNode, v: TextView): [number, number] {
    const i = this.idx(node);
    if (i < 0) return node === this.root ? [0, v.text.length] : [0, 0];
    return [v.start[i], v.end[i]];
  }

  /**
   * Whether an element's text under a skip mask has a "$" or "USD" in it: a constant-time
   * filter before any rule builds the text of an element to look for amounts.
   */
  mayHoldMoney(node: DomNode, skip: number = F_NOTEXT): boolean {
    const v = this.view(skip);
    if (!v.signs) {
      const found: number[] = [];
      const re = /\$|usd/gi;
      for (let m = re.exec(v.text); m; m = re.exec(v.text)) found.push(m.index);
      v.signs = Int32Array.from(found);
    }
    const [s, e] = this.range(node, v);
    const signs = v.signs;
    let lo = 0;
    let hi = signs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (signs[mid] < s) lo = mid + 1;
      else hi = mid;
    }
    return lo < signs.length && signs[lo] < e;
  }

  /** Length of an element's text under a skip mask, without building the string. */
  textLength(node: DomNode, skip: number = F_NOTEXT): number {
    const [s, e] = this.range(node, this.view(skip));
    return e - s;
  }

  /**
   * Text of an element, skipping subtrees with any flag in `skip` (F_NOTEXT is always skipped),
   * cut at `limit` characters. Block elements are separated by newlines; whitespace inside a text
   * node is collapsed. An element that is itself skipped has no text.
   */
  text(node: DomNode, skip: number = F_NOTEXT, limit = 200_000): string {
    const v = this.view(skip);
    const [s, e] = this.range(node, v);
    return v.text.slice(s, Math.min(e, s + limit));
  }

  /** Text with the element each stretch came from, for rules that judge where an amount sits. */
  segments(node: DomNode, skip: number = F_NOTEXT, limit = 2_000_000): { text: string; spans: TextSpan[] } {
    const v = this.view(skip);
    const [s, e0] = this.range(node, v);
    const e = Math.min(e0, s + limit);
    const spans: TextSpan[] = [];
    // First run that ends after s (runs are sorted by offset).
    let lo = 0;
    let hi = v.runStart.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v.runEnd[mid] <= s) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < v.runStart.length && v.runStart[k] < e; k++) {
      spans.push({ start: Math.max(0, v.runStart[k] - s), end: Math.min(e, v.runEnd[k]) - s, el: this.elements[v.runEl[k]] });
    }
    return { text: v.text.slice(s, e), spans };
  }

  /** Collapsed single-line text. */
  line(node: DomNode, skip: number = F_NOTEXT, limit = 20_000): string {
    return this.text(node, skip, limit).replace(/\s+/g, ' ').trim();
  }

  /** Is `node` inside `ancestor` (or the same)? Constant time for elements. */
  contains(ancestor: DomNode, node: DomNode): boolean {
    if (ancestor === node || ancestor === this.root) return true;
    const a = this.idx(ancestor);
    let b = this.idx(node);
    if (b < 0 && node.parent) b = this.idx(node.parent);
    if (a < 0 || b < 0) return false;
    return a <= b && b < this.endIdx[a];
  }

  /** The deepest element holding both; each step up is a constant-time range test. */
  lowestCommonAncestor(a: El, b: El): El | null {
    let i = this.idx(a);
    const j = this.idx(b);
    if (i < 0 || j < 0) return null;
    while (i >= 0 && !(i <= j && j < this.endIdx[i])) i = this.parentIdx[i];
    return i >= 0 ? this.elements[i] : null;
  }

  /** Elements of a subtree in document order, not descending into subtrees `descend` refuses. */
  *descendants(el: El, descend: (e: El) => boolean = () => true): Generator<El> {
    const from = this.idx(el);
    if (from < 0) return;
    const to = this.endIdx[from];
    for (let i = from + 1; i < to; ) {
      const e = this.elements[i];
      yield e;
      i = descend(e) ? i + 1 : this.endIdx[i];
    }
  }

  /**
   * For every element, the index of its nearest proper ancestor satisfying `test` (-1 when none),
   * computed in one pass over the document.
   */
  nearestAncestorWhere(test: (el: El) => boolean): Int32Array {
    const n = this.elements.length;
    const out = new Int32Array(n);
    const hit = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      hit[i] = test(this.elements[i]) ? 1 : 0;
      const p = this.parentIdx[i];
      out[i] = p < 0 ? -1 : hit[p] ? p : out[p];
    }
    return out;
  }

  isBody(el: El): boolean {
    return el.name === 'body' || el.name === 'html';
  }

  private findTitle(): string {
    const t = this.elements.find((e) => e.name === 'title');
    if (!t) return '';
    return (t.children ?? []).map((c) => c.data ?? '').join('').replace(/\s+/g, ' ').trim().slice(0, 500);
  }

  private findH1(): El | null {
    const bad = F_TRAP | F_HIDDEN | F_NOTEXT;
    for (const e of this.elements) {
      if (e.name === 'h1' && !this.has(e, bad) && this.textLength(e) > 0 && this.line(e, F_NOTEXT, 400).length > 0) return e;
    }
    for (const e of this.elements) {
      if (this.has(e, bad)) continue;
      if ((e.attribs.itemprop ?? '').toLowerCase() === 'name' && e.name !== 'meta' && this.line(e, F_NOTEXT, 400)) return e;
    }
    for (const e of this.elements) {
      if (!e.attribs.class || this.has(e, bad)) continue;
      if (tokensOf(e.attribs.class).some((t) => /^product[-_]{1,2}(?:title|name)$|^product-?title$|^product-?name$/.test(t)) && this.line(e, F_NOTEXT, 400)) return e;
    }
    return null;
  }

  /** "Customers also purchased", "Recently viewed" ... : the section under such a heading is a trap. */
  private markTrapSections(): void {
    const headingClass = /(?:^|[-_\s])(?:title|heading|header|headline)(?:$|[-_\s])/;
    for (const h of this.elements) {
      if (!/^h[2-6]$/.test(h.name) && !(h.attribs.class && headingClass.test(h.attribs.class.toLowerCase()))) continue;
      if (this.has(h, F_TRAP | F_NOTEXT)) continue;
      const len = this.textLength(h);
      if (len === 0 || len > 200) continue;
      const text = this.line(h, F_NOTEXT, 200);
      if (!text || text.length > 80 || !TRAP_HEADING_RE.test(text)) continue;
      // Climb while the wrapper holds little more than the heading.
      let box: El = h;
      for (let i = 0; i < 4; i++) {
        const p = this.parentOf(box);
        if (!p || this.isBody(p)) break;
        if (this.textLength(p) > len + 60) break;
        box = p;
      }
      const section = this.parentOf(box);
      if (!section) continue;
      const holdsProduct = (this.h1 && this.contains(section, this.h1)) || this.isBody(section);
      if (!holdsProduct) {
        this.markSubtree(section, F_TRAP);
        continue;
      }
      // The section also holds the product: only what follows the heading is the trap.
      this.markSubtree(box, F_TRAP);
      for (let s = nextElement(box); s; s = nextElement(s)) {
        if (this.has(s, F_TRAP)) continue;
        if (/^h[1-6]$/.test(s.name) && !TRAP_HEADING_RE.test(this.line(s, F_NOTEXT, 200))) break;
        if (this.h1 && this.contains(s, this.h1)) break;
        this.markSubtree(s, F_TRAP);
      }
    }
  }

  /** The label a buy control shows. */
  controlLabel(e: El): string {
    if (e.name === 'input') return e.attribs.value ?? '';
    return this.line(e, F_NOTEXT, 200) || e.attribs['aria-label'] || e.attribs.title || '';
  }

  private findBuyControl(): El | null {
    const bad = F_TRAP | F_NOTEXT | F_REVIEW | F_CHOICE;
    let fallback: El | null = null;
    const afterH1 = this.h1 ? this.idx(this.h1) : 0;
    let beforeTitle: El | null = null;
    for (let i = 0; i < this.elements.length; i++) {
      const e = this.elements[i];
      if (this.flagArr[i] & bad) {
        i = this.endIdx[i] - 1;
        continue;
      }
      const name = e.name;
      const isControl =
        name === 'button' ||
        (name === 'input' && /^(submit|button)$/i.test(e.attribs.type ?? '')) ||
        (name === 'a' && /\b(btn|button)\b/i.test(e.attribs.class ?? ''));
      if (isControl) {
        const label = this.controlLabel(e);
        if (BUY_TEXT_RE.test(label) || BUY_TEXT_RE.test(e.attribs['aria-label'] ?? '') || /add-?to-?cart|addtocart/i.test(`${e.attribs.id ?? ''} ${e.attribs.name ?? ''}`)) {
          if (this.flagArr[i] & F_HIDDEN) fallback ??= e;
          else if (i >= afterH1) return e;
          else beforeTitle ??= e; // a button above the title is more likely a sticky bar or another widget
        }
      }
      if (!fallback && name === 'form' && /cart/i.test(e.attribs.action ?? '')) fallback = e;
    }
    return beforeTitle ?? fallback;
  }

  private findArea(): El | null {
    const bad = F_TRAP | F_HIDDEN;
    const h1 = this.h1;
    const buy = this.buyControl;
    if (h1 && buy) {
      const lca = this.lowestCommonAncestor(h1, buy);
      if (lca) return lca;
    }
    if (h1) {
      // Climb from the title until the box shows an amount.
      let box: El = h1;
      for (let i = 0; i < 8; i++) {
        const p = this.parentOf(box);
        if (!p) break;
        box = p;
        if (this.isBody(p)) break;
        if (findMoney(this.text(p, bad, 50_000)).length) break;
      }
      return box;
    }
    const main = this.elements.find((e) => (e.name === 'main' || e.name === 'article') && !this.has(e, bad));
    if (main) return main;
    return this.elements.find((e) => e.name === 'body') ?? null;
  }
}
