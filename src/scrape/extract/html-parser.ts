/**
 * A small, linear HTML parser for the extractor.
 *
 * Why not htmlparser2 alone: its open-element stack is an array it `unshift`s into, which costs the
 * current depth on every tag, so 150,000 unclosed `<span><b><i>` take minutes. This parser keeps
 * the stack with push/pop, finds a closing tag's element through per-name open counts (a stray
 * `</td>` costs nothing), caps nesting depth (at the cap a new element closes the deepest one and
 * becomes its sibling), and every forward search consumes what it scanned, so the parse is linear.
 *
 * The tree has the shape of domhandler's (type, name, attribs, children, parent, prev, next,
 * data), so cheerio can run vendor CSS selectors over the very same nodes. Tree building follows
 * htmlparser2's HTML rules (implied closes such as <td> closing <td>, void elements, raw-text
 * script/style/title/textarea, self-closing only in svg/math), which is what the extractor was
 * written against; it does not attempt HTML5 tree construction (no foster parenting).
 */
/** A node of the parsed tree, shaped like domhandler's so that cheerio can select over it. */
export interface DomNode {
  type: string;
  name?: string;
  attribs?: Record<string, string>;
  children?: DomNode[];
  parent: DomNode | null;
  /** Previous and next sibling nodes. */
  prev: DomNode | null;
  next: DomNode | null;
  data?: string;
  /** Text nodes only: `data` with whitespace collapsed, filled in on first use. */
  text?: string;
  /** Elements only: the position in document order. */
  idx?: number;
}

export interface El extends DomNode {
  name: string;
  attribs: Record<string, string>;
  children: DomNode[];
  idx: number;
}

/** Deeper nesting than this is flattened (real pages stay well under 100). */
export const MAX_DEPTH = 1024;

const VOID = new Set([
  'area', 'base', 'basefont', 'br', 'col', 'command', 'embed', 'frame', 'hr', 'img', 'input', 'isindex', 'keygen', 'link', 'meta', 'param', 'source', 'track', 'wbr',
]);
/** Elements whose content is text up to the matching end tag; the second set has entities decoded. */
const RAW_TEXT = new Set(['script', 'style', 'title', 'textarea']);
const RAW_DECODED = new Set(['title', 'textarea']);
const FOREIGN = new Set(['svg', 'math']);
/** Elements that flow inside a line; every other element starts a new line of text. */
export const INLINE_TAGS = new Set([
  'a', 'abbr', 'b', 'bdi', 'bdo', 'big', 'cite', 'code', 'data', 'del', 'dfn', 'em', 'font', 'i', 'ins', 'kbd', 'label',
  'mark', 'q', 's', 'samp', 'small', 'span', 'strike', 'strong', 'sub', 'sup', 'time', 'tt', 'u', 'var', 'wbr',
]);

const FORM_TAGS = new Set(['input', 'option', 'optgroup', 'select', 'button', 'datalist', 'textarea']);
const P_TAG = new Set(['p']);
const TABLE_SECTION = new Set(['thead', 'tbody']);
const DD_DT = new Set(['dd', 'dt']);
const RT_RP = new Set(['rt', 'rp']);
/** Opening the key closes open elements of the value set at the top of the stack (htmlparser2's table). */
const OPEN_IMPLIES_CLOSE = new Map<string, Set<string>>([
  ['tr', new Set(['tr', 'th', 'td'])],
  ['th', new Set(['th'])],
  ['td', new Set(['thead', 'th', 'td'])],
  ['body', new Set(['head', 'link', 'script'])],
  ['li', new Set(['li'])],
  ['option', new Set(['option'])],
  ['optgroup', new Set(['optgroup', 'option'])],
  ['dd', DD_DT],
  ['dt', DD_DT],
  ['rt', RT_RP],
  ['rp', RT_RP],
  ['tbody', TABLE_SECTION],
  ['tfoot', TABLE_SECTION],
  ...['select', 'input', 'output', 'button', 'datalist', 'textarea'].map((t): [string, Set<string>] => [t, FORM_TAGS]),
  ...['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'address', 'article', 'aside', 'blockquote', 'details', 'div', 'dl', 'fieldset', 'figcaption', 'figure', 'footer', 'form', 'header', 'hr', 'main', 'nav', 'ol', 'pre', 'section', 'table', 'ul'].map(
    (t): [string, Set<string>] => [t, P_TAG],
  ),
]);

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '\u00a9', reg: '\u00ae', trade: '\u2122',
  ndash: '\u2013', mdash: '\u2014', minus: '\u2212', hyphen: '\u2010', lsquo: '\u2018', rsquo: '\u2019', sbquo: '\u201a',
  ldquo: '\u201c', rdquo: '\u201d', bdquo: '\u201e', hellip: '\u2026', bull: '\u2022', middot: '\u00b7', times: '\u00d7',
  divide: '\u00f7', frac12: '\u00bd', half: '\u00bd', frac14: '\u00bc', frac34: '\u00be', frac13: '\u2153', frac15: '\u2155',
  frac18: '\u215b', deg: '\u00b0', cent: '\u00a2', pound: '\u00a3', euro: '\u20ac', yen: '\u00a5', dollar: '$', laquo: '\u00ab',
  raquo: '\u00bb', lsaquo: '\u2039', rsaquo: '\u203a', sect: '\u00a7', para: '\u00b6', plusmn: '\u00b1', micro: '\u00b5',
  rarr: '\u2192', larr: '\u2190', uarr: '\u2191', darr: '\u2193', hearts: '\u2665', star: '\u2606', starf: '\u2605',
  check: '\u2713', cross: '\u2717', thinsp: '\u2009', ensp: '\u2002', emsp: '\u2003', zwnj: '\u200c', zwj: '\u200d',
  lrm: '\u200e', rlm: '\u200f', shy: '\u00ad', sup1: '\u00b9', sup2: '\u00b2', sup3: '\u00b3', ordm: '\u00ba', ordf: '\u00aa',
  iexcl: '\u00a1', iquest: '\u00bf', eacute: '\u00e9', egrave: '\u00e8', ecirc: '\u00ea', aacute: '\u00e1', agrave: '\u00e0',
  acirc: '\u00e2', auml: '\u00e4', ouml: '\u00f6', uuml: '\u00fc', oacute: '\u00f3', iacute: '\u00ed', uacute: '\u00fa',
  ntilde: '\u00f1', ccedil: '\u00e7', szlig: '\u00df', Eacute: '\u00c9', colon: ':', comma: ',', period: '.', sol: '/',
  num: '#', percnt: '%', excl: '!', quest: '?', lpar: '(', rpar: ')', plus: '+', equals: '=', semi: ';', commat: '@',
  verbar: '|', vert: '|', lowbar: '_', ast: '*', Tab: '\t', NewLine: '\n',
};
const ENTITY_RE = /&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z][A-Za-z0-9]{1,31}));?/g;

/** Decodes numeric and common named character references; unknown names stay as written. */
export function decodeEntities(s: string): string {
  if (s.indexOf('&') < 0) return s;
  return s.replace(ENTITY_RE, (whole, dec: string | undefined, hex: string | undefined, name: string | undefined) => {
    if (name !== undefined) return Object.prototype.hasOwnProperty.call(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name] : whole;
    const cp = dec !== undefined ? Number(dec) : parseInt(hex!, 16);
    if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(cp);
  });
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

export interface ParsedDocument {
  root: DomNode;
  /** Every element in document order (element i has idx i). */
  elements: El[];
  /** Per element: its parent element's idx, or -1 under the root. */
  parents: Int32Array;
  /** True when nesting deeper than MAX_DEPTH was flattened. */
  flattened: boolean;
}

export function parseHtml(html: string, maxDepth = MAX_DEPTH): ParsedDocument {
  const root: DomNode = { type: 'root', children: [], parent: null, prev: null, next: null, data: undefined, text: undefined, idx: undefined };
  const stack: El[] = [];
  const openCount = new Map<string, number>();
  let foreignDepth = 0;
  let preDepth = 0;
  const isPre = (name: string) => name === 'pre' || name === 'textarea' || name === 'listing' || name === 'plaintext';
  let flattened = false;
  const rawEnd = new Map<string, RegExp>();
  const n = html.length;
  const elements: El[] = [];
  let parents = new Int32Array(1024);

  const top = (): DomNode => (stack.length ? stack[stack.length - 1] : root);
  const append = (parent: DomNode, node: DomNode): void => {
    const kids = parent.children!;
    const last = kids.length ? kids[kids.length - 1] : null;
    node.prev = last;
    node.next = null;
    node.parent = parent;
    if (last) last.next = node;
    kids.push(node);
  };
  const addText = (data: string): void => {
    if (!data) return;
    const parent = top();
    const kids = parent.children!;
    const last = kids.length ? kids[kids.length - 1] : null;
    // Whitespace after a block element, or opening a block element, never shows: a line break
    // separates the text there anyway. Dropping it spares a node per indented tag.
    if (!last || last.type !== 'text') {
      const afterBlock = last ? last.name !== undefined && !INLINE_TAGS.has(last.name) : parent.name !== undefined && !INLINE_TAGS.has(parent.name);
      if (afterBlock && preDepth === 0 && !/[^ \t\n\r\f]/.test(data)) return;
    }
    if (last && last.type === 'text') last.data += data;
    else append(parent, { type: 'text', data, text: undefined, parent: null, prev: null, next: null, idx: undefined });
  };
  const pop = (): El => {
    const el = stack.pop()!;
    openCount.set(el.name, (openCount.get(el.name) ?? 1) - 1);
    if (FOREIGN.has(el.name)) foreignDepth--;
    if (isPre(el.name)) preDepth--;
    return el;
  };
  const open = (name: string, attribs: Record<string, string>, selfClosing: boolean): El => {
    const implied = OPEN_IMPLIES_CLOSE.get(name);
    if (implied) while (stack.length && implied.has(stack[stack.length - 1].name)) pop();
    const isVoid = VOID.has(name) || (selfClosing && foreignDepth > 0);
    if (!isVoid && stack.length >= maxDepth) {
      // At the cap the deepest element is closed first: the new one becomes its sibling and keeps its own content.
      flattened = true;
      pop();
    }
    const el: El = {
      type: name === 'script' ? 'script' : name === 'style' ? 'style' : 'tag',
      name,
      attribs,
      children: [],
      parent: null,
      prev: null,
      next: null,
      data: undefined,
      text: undefined,
      idx: elements.length,
    };
    if (el.idx === parents.length) {
      const grown = new Int32Array(parents.length * 2);
      grown.set(parents);
      parents = grown;
    }
    parents[el.idx] = stack.length ? stack[stack.length - 1].idx : -1;
    elements.push(el);
    append(top(), el);
    if (isVoid) return el;
    stack.push(el);
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
    if (FOREIGN.has(name)) foreignDepth++;
    if (isPre(name)) preDepth++;
    return el;
  };
  const close = (name: string): void => {
    if (VOID.has(name)) {
      if (name === 'br') open('br', {}, false);
      return;
    }
    if (!openCount.get(name)) {
      if (name === 'p') {
        // `</p>` without an open <p> is an empty paragraph, as in browsers.
        const p = open('p', {}, false);
        if (stack.length && stack[stack.length - 1] === p) pop();
      }
      return;
    }
    while (stack.length && pop().name !== name) {
      /* pop implicitly closed elements up to the matching one */
    }
  };

  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      addText(decodeEntities(html.slice(i)));
      break;
    }
    if (lt > i) addText(decodeEntities(html.slice(i, lt)));
    i = lt;
    const c = html.charCodeAt(i + 1);
    if (c === 33 /* ! */ || c === 63 /* ? */) {
      // Comment, doctype, CDATA or processing instruction: nothing the extractor reads.
      if (html.startsWith('<!--', i)) {
        const e = html.indexOf('-->', i + 4);
        i = e < 0 ? n : e + 3;
      } else {
        const e = html.indexOf('>', i + 2);
        i = e < 0 ? n : e + 1;
      }
      continue;
    }
    if (c === 47 /* / */) {
      const c2 = html.charCodeAt(i + 2);
      if (isAlpha(c2)) {
        let j = i + 3;
        while (j < n) {
          const d = html.charCodeAt(j);
          if (isSpace(d) || d === 47 || d === 62) break;
          j++;
        }
        const name = html.slice(i + 2, j).toLowerCase();
        const e = html.indexOf('>', j);
        i = e < 0 ? n : e + 1;
        close(name);
      } else {
        const e = html.indexOf('>', i + 2);
        i = e < 0 ? n : e + 1;
      }
      continue;
    }
    if (!isAlpha(c)) {
      addText('<');
      i++;
      continue;
    }
    // Start tag: name, attributes, `>` or `/>`.
    let j = i + 2;
    while (j < n) {
      const d = html.charCodeAt(j);
      if (isSpace(d) || d === 47 || d === 62) break;
      j++;
    }
    const name = html.slice(i + 1, j).toLowerCase();
    const attribs: Record<string, string> = {};
    let selfClosing = false;
    while (j < n) {
      const d = html.charCodeAt(j);
      if (isSpace(d)) {
        j++;
        continue;
      }
      if (d === 62) {
        j++;
        break;
      }
      if (d === 47) {
        if (html.charCodeAt(j + 1) === 62) {
          selfClosing = true;
          j += 2;
          break;
        }
        j++;
        continue;
      }
      const as = j;
      j++;
      while (j < n) {
        const e = html.charCodeAt(j);
        if (isSpace(e) || e === 61 || e === 62 || e === 47) break;
        j++;
      }
      const attrName = html.slice(as, j).toLowerCase();
      while (j < n && isSpace(html.charCodeAt(j))) j++;
      let value = '';
      if (html.charCodeAt(j) === 61 /* = */) {
        j++;
        while (j < n && isSpace(html.charCodeAt(j))) j++;
        const q = html.charCodeAt(j);
        if (q === 34 || q === 39) {
          const e = html.indexOf(q === 34 ? '"' : "'", j + 1);
          value = html.slice(j + 1, e < 0 ? n : e);
          j = e < 0 ? n : e + 1;
        } else {
          const vs = j;
          while (j < n) {
            const e = html.charCodeAt(j);
            if (isSpace(e) || e === 62) break;
            j++;
          }
          value = html.slice(vs, j);
        }
      }
      // The first of duplicate attributes wins; `__proto__` would replace the object's prototype.
      if (attrName !== '__proto__' && !Object.prototype.hasOwnProperty.call(attribs, attrName)) attribs[attrName] = decodeEntities(value);
    }
    i = j;
    const el = open(name, attribs, selfClosing);
    if (RAW_TEXT.has(name) && !selfClosing && i < n) {
      let re = rawEnd.get(name);
      if (!re) {
        re = new RegExp(`</${name}(?=[\\s/>]|$)`, 'gi');
        rawEnd.set(name, re);
      }
      re.lastIndex = i;
      const m = re.exec(html);
      const end = m ? m.index : n;
      const raw = html.slice(i, end);
      if (raw) {
        const text: DomNode = { type: 'text', data: RAW_DECODED.has(name) ? decodeEntities(raw) : raw, text: undefined, parent: null, prev: null, next: null, idx: undefined };
        append(el, text);
      }
      if (m) {
        const e = html.indexOf('>', end + 2);
        i = e < 0 ? n : e + 1;
      } else {
        i = n;
      }
      if (stack.length && stack[stack.length - 1] === el) pop();
    }
  }
  return { root, elements, parents: parents.subarray(0, elements.length), flattened };
}
