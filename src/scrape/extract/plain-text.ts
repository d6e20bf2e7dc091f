/**
 * Page text without markup (a browser tier's `innerText`, a copied page) turned into minimal HTML,
 * so that the same rules read it: one <p> per line, table rows as their tab-separated cells, the
 * line that names the product as <h1>, "Customers also purchased"-style lines as <h2> (so the
 * section under them is a trap), and buy-button labels as <button>.
 */
import type { ProductIdentity } from '../../catalogue/target.js';
import { TRAP_HEADING_RE } from './dom.js';
import { judgeName } from './page-kind.js';

/** True when the start of the input holds no tag at all. */
export function isPlainText(input: string): boolean {
  return !/<[a-zA-Z!/?]/.test(input.slice(0, 65_536));
}

/** Lines that are buy-button labels. "Sold out" alone stays text: in a text dump it may be a menu badge. */
const BUTTON_RE = /^(?:add to (?:cart|bag|basket)|buy (?:it )?now|pre-?order(?: now)?|notify me(?: when available)?)$/i;
/** Breadcrumb separators: a breadcrumb names the product too, but it is not the title. */
const CRUMBS_RE = /[›»>]|\s\/\s/;

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const MAX_TITLE_LINE = 2_000;
const NAME_STOPWORDS = new Set(['oz', 'coin', 'coins', 'bar', 'round', 'the', 'of', 'and', 'gold', 'silver', 'platinum', 'palladium']);

function nameWords(s: string): Set<string> {
  return new Set(s.toLowerCase().split(/[^a-z]+/).filter((w) => w.length > 2 && !NAME_STOPWORDS.has(w)));
}

/**
 * The line to treat as the title: the first that names this product, else the first that names
 * another weight, metal or pack of a product with the catalogue's name (a wrong-product page). A
 * menu entry such as "1/10 oz Gold Eagle" shares too little of the name to be taken for it.
 */
function titleLine(lines: string[], product: ProductIdentity): number {
  const want = nameWords(product.coinName);
  let other = -1;
  // The title is near the top; looking further would cost a name check on every line of a huge dump.
  for (let i = 0; i < lines.length && i < MAX_TITLE_LINE; i++) {
    const line = lines[i];
    if (line.length > 200 || CRUMBS_RE.test(line)) continue;
    const verdict = judgeName(line, product);
    if (verdict === 'ok') return i;
    if (verdict !== null && other < 0) {
      const words = nameWords(line);
      let shared = 0;
      for (const w of want) if (words.has(w)) shared++;
      if (shared >= Math.min(2, want.size)) other = i;
    }
  }
  return other;
}

export function plainTextToHtml(text: string, product: ProductIdentity): string {
  const out: string[] = ['<html><body><main>'];
  const lines = text
    .split(/\r?\n/)
    .map((raw) => raw.replace(/[ \u00a0]+/g, ' ').trim())
    .filter(Boolean);
  const title = titleLine(lines, product);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const html = escapeHtml(line);
    if (i === title) {
      out.push(`<h1>${html}</h1>`);
    } else if (line.length <= 80 && TRAP_HEADING_RE.test(line)) {
      out.push(`<h2>${html}</h2>`);
    } else if (BUTTON_RE.test(line)) {
      out.push(`<button>${html}</button>`);
    } else if (line.includes('\t')) {
      out.push(`<div class="row">${line.split('\t').map((cell) => `<span>${escapeHtml(cell.trim())}</span> `).join('')}</div>`);
    } else {
      out.push(`<p>${html}</p>`);
    }
  }
  out.push('</main></body></html>');
  return out.join('\n');
}
