/**
 * The parsed page and what every rule needs to know about its elements: which ones are traps
 * (header/nav tickers, mega-menus, carousels, "customers also purchased", footers, "as low as"
 * badges), hidden, reviews, struck-out prices or form choices, and where the product area is.
 *
 * Parsing uses cheerio's htmlparser2 build (fast and linear on pathological nesting); every walk
 * here is iterative, so deeply nested garbage cannot overflow the stack.
 */
import { load, type CheerioAPI } from 'cheerio/slim';
import { findMoney } from './money.js';

export interface DomNode {
  type: string;
  name?: string;
  attribs?: Record<string, string>;
  children?: DomNode[];
  parent: DomNode | null;
  data?: string;
}

export interface El extends DomNode {
  name: string;
  attribs: Record<string, string>;
  children: DomNode[];
}

/** Element flags; a flag of an element holds for its whole subtree. */
export const F_TRAP = 1; // never read prices or stock from here
export const F_HIDDEN = 2; // hidden attribute, display:none, aria-hidden
export const F_REVIEW = 4; // reviews, Q&A, testimonials: no stock evidence from here
export const F_STRUCK = 8; // <s>, <del>, compare-at / was prices
export const F_CHOICE = 16; // <select>/<option>: other variants, not this one
export const F_NOTEXT = 32; // script, style, template ...

const SKIP_TAGS = new Set(['script', 'style', 'noscript', 'template', 'svg', 'iframe', 'object', 'head', 'title', 'meta', 'link']);
const INLINE_TAGS = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'big', 'cite', 'code', 'data', 'del', 'dfn', 'em', 'font', 'i', 'ins', 'kbd', 'label',
  'mark', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time', 'tt', 'u', 'var', 'wbr',
]);

const TRAP_TOKEN_RE = new RegExp(
  String.raw`(?:^|[-_])(?:mega-?menus?|menus?|navbar|navigation|nav|ticker|tickers|spot-?prices?|spot-?ticker|spot-?bar|spotprices?|metal-?prices|live-?prices|carousel|swiper|slick|owl|splide|glide|related|recommend|recommended|recommendations|upsells?|cross-?sells?|also-?(?:bought|purchased|viewed|like)|customers-?also|similar|recently-?viewed|recent-?views|footer|site-?header|global-?header|masthead|breadcrumbs?|as-?low-?as|aslowas|low-?price-?badge|mini-?cart|minicart|cart-?drawer|newsletter|cookies?)(?:$|[-_])`,
);
const TRAP_SUBSTRING_RE = /megamenu|spotprice|spotticker|pricesticker|relatedproduct|alsobought|alsopurchased|customersalso|recentlyviewed|aslowas|carousel|swiper|crosssell|upsell/;
const REVIEW_TOKEN_RE = /(?:^|[-_])(?:reviews?|testimonials?|comments?|questions?|answers?|qa|q-?and-?a|faqs?|ugc)(?:$|[-_])|review|testimonial|yotpo|trustpilot|bazaarvoice|judgeme|okendo|stamped|feefo/;
const STRUCK_TOKEN_RE = /compare-?at|compareat|was-?price|old-?price|price-?old|price-?was|strike|line-?through|msrp|list-?price|price--compare|crossed|retail-?price/;
const HIDDEN_TOKENS = new Set(['hidden', 'd-none', 'is-hidden', 'hide', 'u-hidden', 'display-none', 'js-hidden', 'sr-only-focusable-hidden']);
export const TRAP_HEADING_RE =
  /customers (?:also|who)|also (?:bought|purchased|viewed|like)|you (?:may|might) (?:also )?(?:like|enjoy)|similar (?:products|items)|related (?:products|items)|recently viewed|frequently bought|people (?:also|who)|popular (?:products|items)|trending|top sellers|best ?sellers|featured products|more from|compare with similar|complete the set|shop (?:more|similar)|other products/i;

const ROLE_TRAP = new Set(['navigation', 'menu', 'menubar']);
const ROLE_TRAP_OUTSIDE_MAIN = new Set(['banner', 'contentinfo']);

export function isElement(n: DomNode | null | undefined): n is El {
  return !!n && (n.type === 'tag' || n.type === 'script' || n.type === 'style') && typeof n.name === 'string';
}

function classTokens(el: El): string[] {
  const cls = `${el.attribs.class ?? ''} ${el.attribs.id ?? ''}`.toLowerCase();
  return cls.split(/\s+/).filter(Boolean);
}

function ownFlags(el: El, inMain: boolean): number {
  const name = el.name.toLowerCase();
  let f = 0;
  if (SKIP_TAGS.has(name)) f |= F_NOTEXT;
  if (name === 'nav') f |= F_TRAP;
  if ((name === 'header' || name === 'footer') && !inMain) f |= F_TRAP;
  const role = (el.attribs.role ?? '').toLowerCase();
  if (ROLE_TRAP.has(role) || (!inMain && ROLE_TRAP_OUTSIDE_MAIN.has(role))) f |= F_TRAP;
  if (name === 's' || name === 'del' || name === 'strike') f |= F_STRUCK;
  if (name === 'select' || name === 'option' || name === 'datalist') f |= F_CHOICE;
  const a = el.attribs;
  if (a.hidden !== undefined || (a['aria-hidden'] ?? '').toLowerCase() === 'true') f |= F_HIDDEN;
  const style = a.style;
  if (style && /display\s*:\s*none|visibility\s*:\s*hidden/i.test(style)) f |= F_HIDDEN;
  const itemprop = (a.itemprop ?? '').toLowerCase();
  if (itemprop === 'review' || itemprop === 'reviews' || /schema\.org\/review/i.test(a.itemtype ?? '')) f |= F_REVIEW;
  for (const t of classTokens(el)) {
    if (HIDDEN_TOKENS.has(t)) f |= F_HIDDEN;
    if (TRAP_TOKEN_RE.test(t) || TRAP_SUBSTRING_RE.test(t.replace(/[-_]/g, ''))) f |= F_TRAP;
    if (REVIEW_TOKEN_RE.test(t)) f |= F_REVIEW;
    if (STRUCK_TOKEN_RE.test(t)) f |= F_STRUCK;
  }
  return f;
}

const MAIN_TAGS = new Set(['main', 'article']);

export class Page {
  /** cheerio over the same tree, for selector-based vendor rules. */
  readonly $: CheerioAPI;
  readonly root: DomNode;
  /** Every element in document order. */
  readonly elements: El[] = [];
  readonly order = new Map<El, number>();
  readonly flags = new Map<El, number>();
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

  constructor(html: string) {
    const $ = load(html);
    this.$ = $;
    this.root = $.root()[0] as unknown as DomNode;
    this.index();
    this.title = this.findTitle();
    const h1 = this.findH1();
    this.h1 = h1;
    this.h1Text = h1 ? this.text(h1, F_NOTEXT) : '';
    this.markTrapSections();
    this.buyControl = this.findBuyControl();
    this.area = this.findArea();
  }

  private index(): void {
    const stack: [DomNode, number, boolean][] = [[this.root, 0, false]];
    while (stack.length) {
      const [node, inherited, inMain] = stack.pop()!;
      let flags = inherited;
      let main = inMain;
      if (isElement(node)) {
        const name = node.name.toLowerCase();
        flags |= ownFlags(node, inMain);
        if (MAIN_TAGS.has(name) || /schema\.org\/product/i.test(node.attribs.itemtype ?? '')) main = true;
        this.order.set(node, this.elements.length);
        this.elements.push(node);
        this.flags.set(node, flags);
        if (name === 'meta') {
          const key = (node.attribs.property ?? node.attribs.name ?? node.attribs.itemprop ?? '').toLowerCase();
          if (key && node.attribs.content !== undefined && !this.meta.has(key)) this.meta.set(key, node.attribs.content);
        }
      }
      const kids = node.children;
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push([kids[i], flags, main]);
    }
  }

  flagsOf(el: El): number {
    return this.flags.get(el) ?? 0;
  }

  has(el: El, mask: number): boolean {
    return (this.flagsOf(el) & mask) !== 0;
  }

  /** Sets a flag on an element and its whole subtree. */
  markSubtree(el: El, flag: number): void {
    const stack: DomNode[] = [el];
    while (stack.length) {
      const n = stack.pop()!;
      if (isElement(n)) this.flags.set(n, (this.flags.get(n) ?? 0) | flag);
      if (n.children) for (const c of n.children) stack.push(c);
    }
  }

  /**
   * Text of an element, skipping subtrees with any flag in `skip` (F_NOTEXT is always skipped).
   * Block elements are separated by newlines; whitespace is collapsed per line.
   */
  text(el: DomNode, skip: number = F_NOTEXT, limit = 200_000): string {
    return this.segments(el, skip, limit).text;
  }

  /** Text with the element each stretch came from, for rules that judge where an amount sits. */
  segments(el: DomNode, skip: number = F_NOTEXT, limit = 2_000_000): { text: string; spans: { start: number; end: number; el: El }[] } {
    const mask = skip | F_NOTEXT;
    let out = '';
    const spans: { start: number; end: number; el: El }[] = [];
    // Stack items: a node to visit, or a string to append (block separators after a block closes).
    const stack: (DomNode | string)[] = [el];
    while (stack.length && out.length < limit) {
      const item = stack.pop()!;
      if (typeof item === 'string') {
        out += item;
        continue;
      }
      if (item.type === 'text') {
        const data = (item.data ?? '').replace(/\s+/g, ' ');
        if (data) {
          const parent = item.parent && isElement(item.parent) ? item.parent : null;
          const start = out.length;
          out += data;
          if (parent) spans.push({ start, end: out.length, el: parent });
        }
        continue;
      }
      if (isElement(item)) {
        if (item !== el && (this.flagsOf(item) & mask) !== 0) continue;
        const name = item.name.toLowerCase();
        if (name === 'br') {
          out += '\n';
          continue;
        }
        if (name === 'input') {
          const t = (item.attribs.type ?? '').toLowerCase();
          if ((t === 'submit' || t === 'button') && item.attribs.value) {
            const start = out.length;
            out += ` ${item.attribs.value} `;
            spans.push({ start, end: out.length, el: item });
          }
          continue;
        }
        const block = !INLINE_TAGS.has(name);
        if (block) {
          out += '\n';
          stack.push('\n');
        }
        const kids = item.children;
        if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
        continue;
      }
      if (item.type === 'root' && item.children) {
        for (let i = item.children.length - 1; i >= 0; i--) stack.push(item.children[i]);
      }
    }
    return { text: out, spans };
  }

  /** Collapsed single-line text. */
  line(el: DomNode, skip: number = F_NOTEXT, limit = 20_000): string {
    return this.text(el, skip, limit).replace(/\s+/g, ' ').trim();
  }

  /** Direct element children. */
  childElements(el: DomNode): El[] {
    return (el.children ?? []).filter(isElement);
  }

  contains(ancestor: DomNode, node: DomNode): boolean {
    let n: DomNode | null = node;
    for (let i = 0; n && i < 100_000; i++) {
      if (n === ancestor) return true;
      n = n.parent;
    }
    return false;
  }

  ancestors(el: DomNode): El[] {
    const out: El[] = [];
    let n = el.parent;
    for (let i = 0; n && i < 100_000; i++) {
      if (isElement(n)) out.push(n);
      n = n.parent;
    }
    return out;
  }

  lowestCommonAncestor(a: El, b: El): El | null {
    const set = new Set<DomNode>([a, ...this.ancestors(a)]);
    if (set.has(b)) return b;
    for (const anc of this.ancestors(b)) if (set.has(anc)) return anc;
    return null;
  }

  byTag(name: string): El[] {
    return this.elements.filter((e) => e.name.toLowerCase() === name);
  }

  isBody(el: El): boolean {
    const n = el.name.toLowerCase();
    return n === 'body' || n === 'html';
  }

  private findTitle(): string {
    const t = this.elements.find((e) => e.name.toLowerCase() === 'title');
    if (!t) return '';
    return (t.children ?? []).map((c) => c.data ?? '').join('').replace(/\s+/g, ' ').trim().slice(0, 500);
  }

  private findH1(): El | null {
    const bad = F_TRAP | F_HIDDEN | F_NOTEXT;
    for (const e of this.elements) {
      if (e.name.toLowerCase() === 'h1' && !this.has(e, bad) && this.line(e).length > 0) return e;
    }
    for (const e of this.elements) {
      if (this.has(e, bad)) continue;
      if ((e.attribs.itemprop ?? '').toLowerCase() === 'name' && e.name.toLowerCase() !== 'meta' && this.line(e)) return e;
    }
    for (const e of this.elements) {
      if (this.has(e, bad)) continue;
      if (classTokens(e).some((t) => /^product[-_]{1,2}(?:title|name)$|^product-?title$/.test(t)) && this.line(e)) return e;
    }
    return null;
  }

  /** "Customers also purchased", "Recently viewed" ... : the section under such a heading is a trap. */
  private markTrapSections(): void {
    const headings = this.elements.filter((e) => /^h[2-6]$/.test(e.name.toLowerCase()) || /(?:^|[-_])(?:title|heading|header)(?:$|[-_])/.test((e.attribs.class ?? '').toLowerCase()));
    for (const h of headings) {
      if (this.has(h, F_TRAP | F_NOTEXT)) continue;
      const text = this.line(h, F_NOTEXT, 400);
      if (!text || text.length > 80 || !TRAP_HEADING_RE.test(text)) continue;
      // Climb while the wrapper holds little more than the heading.
      let box: El = h;
      for (let i = 0; i < 4; i++) {
        const p = box.parent;
        if (!isElement(p) || this.isBody(p)) break;
        if (this.line(p, F_NOTEXT, 2000).length > text.length + 40) break;
        box = p;
      }
      const section = box.parent;
      if (!isElement(section)) continue;
      const holdsProduct = (this.h1 && this.contains(section, this.h1)) || this.isBody(section);
      if (!holdsProduct) {
        this.markSubtree(section, F_TRAP);
        continue;
      }
      // The section also holds the product: only what follows the heading is the trap.
      this.markSubtree(box, F_TRAP);
      const siblings = this.childElements(section);
      const start = siblings.indexOf(box);
      for (let i = start + 1; i < siblings.length; i++) {
        const s = siblings[i];
        if (/^h[1-6]$/.test(s.name.toLowerCase()) && !TRAP_HEADING_RE.test(this.line(s))) break;
        if (this.h1 && this.contains(s, this.h1)) break;
        this.markSubtree(s, F_TRAP);
      }
    }
  }

  private findBuyControl(): El | null {
    const bad = F_TRAP | F_NOTEXT | F_REVIEW;
    const buyText = /add (?:to )?(?:cart|bag|basket)|buy (?:it )?now|pre-?order|sold out|out of stock|notify me|currently unavailable/i;
    let fallback: El | null = null;
    for (const e of this.elements) {
      if (this.has(e, bad)) continue;
      const name = e.name.toLowerCase();
      if (name === 'button' || (name === 'input' && /^(submit|button)$/i.test(e.attribs.type ?? '')) || (name === 'a' && /\b(btn|button)\b/i.test(e.attribs.class ?? ''))) {
        const label = name === 'input' ? (e.attribs.value ?? '') : this.line(e, F_NOTEXT, 200);
        if (buyText.test(label) || buyText.test(e.attribs['aria-label'] ?? '')) {
          if (!this.has(e, F_HIDDEN)) return e;
          fallback ??= e;
        }
      }
      if (!fallback && name === 'form' && /cart/i.test(e.attribs.action ?? '')) fallback = e;
    }
    return fallback;
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
        const p = box.parent;
        if (!isElement(p)) break;
        box = p;
        if (this.isBody(p)) break;
        if (findMoney(this.text(p, bad, 50_000)).length) break;
      }
      return box;
    }
    const main = this.elements.find((e) => MAIN_TAGS.has(e.name.toLowerCase()) && !this.has(e, bad));
    if (main) return main;
    return this.elements.find((e) => e.name.toLowerCase() === 'body') ?? null;
  }
}

/** Normalised text for phrase tests: lower case, one space. */
export function norm(s: string): string {
  return s.toLowerCase().replace(/[\u2010-\u2015]/g, '-').replace(/\s+/g, ' ').trim();
}
