import { esc, scriptJson } from './parts.js';

/** Present on `<html>` once the app shell has rendered the product: a browser tier's `waitForSelector` for app-shell vendors. */
export const APP_READY_SELECTOR = 'html[data-app-state="ready"]';

/** A product page cut into what an app shell's script puts into its document. */
export interface AppShellPage {
  /** Inner HTML of the page's `<head>` (title, canonical link, meta tags, JSON-LD, theme CSS), charset meta left out. */
  head: string;
  /** Attributes of the page's `<body>` as written in its markup (e.g. `class="page-product"`). */
  bodyAttrs: string;
  /** Inner HTML of the page's `<body>`. */
  body: string;
}

/** Cuts a full product page (as a page style renders it) into head, body attributes and body. */
export function appShellPage(html: string): AppShellPage {
  const head = /<head>([\s\S]*?)<\/head>/i.exec(html)?.[1] ?? '';
  const body = /<body\b([^>]*)>([\s\S]*)<\/body>/i.exec(html);
  return {
    head: head.replace(/<meta charset="[^"]*">\s*/i, '').trim(),
    bodyAttrs: (body?.[1] ?? '').trim(),
    body: (body?.[2] ?? html).trim(),
  };
}

export interface AppShellInput {
  /** The dealer's display name, the only thing the shell's own title says. */
  vendorName: string;
  /** Same-origin URL (path and query) of the product JSON the script fetches. */
  apiUrl: string;
}

/**
 * What a single-page shop answers before its script runs: a title, a spinner and a script; no product, no price.
 * The script fetches the product JSON and renders the vendor's usual product page into the document, then
 * marks `<html data-app-state="ready">` (or `"error"` with a message when the JSON cannot be had).
 */
export function renderAppShell(i: AppShellInput): string {
  const script = `(function(){
var root=document.getElementById('app');
function fail(){document.documentElement.setAttribute('data-app-state','error');if(root)root.textContent='Something went wrong loading this page. Please refresh.';}
fetch(${scriptJson(i.apiUrl)},{headers:{accept:'application/json'},credentials:'same-origin'}).then(function(r){if(!r.ok)throw new Error('HTTP '+r.status);return r.json();}).then(function(d){
var page=d.page;var old=document.querySelector('title');if(old)old.remove();
document.head.insertAdjacentHTML('beforeend',page.head);
var tpl=document.createElement('template');tpl.innerHTML='<div '+page.bodyAttrs+'></div>';
var attrs=tpl.content.firstChild.attributes;for(var k=0;k<attrs.length;k++)document.body.setAttribute(attrs[k].name,attrs[k].value);
document.body.innerHTML=page.body;
document.documentElement.setAttribute('data-app-state','ready');
}).catch(fail);
})();`;
  return `<!DOCTYPE html>
<html lang="en-US" data-app-state="loading">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(i.vendorName)}</title>
<style>#app{min-height:100vh}.app-spinner{margin:30vh auto;width:40px;height:40px;border:4px solid #ddd;border-top-color:#0b3d6e;border-radius:50%;animation:spin 1s linear infinite}@keyframes spin{to{transform:rotate(360deg)}}</style>
</head>
<body>
<noscript>You need to enable JavaScript to run this app.</noscript>
<div id="app"><div class="app-spinner" role="status" aria-label="Loading"></div></div>
<script>${script}</script>
</body>
</html>
`;
}
