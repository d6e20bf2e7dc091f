import { esc, scriptJson } from './parts.js';

export interface ScriptChallengeInput {
  /** Host of the dealer's real site, shown as Cloudflare shows it. */
  host: string;
  /** Cookie the script sets: name, value and the path it is scoped to (the vendor's prefix). */
  cookie: { name: string; value: string; path: string };
  /** How long the script "checks the browser" before it sets the cookie and reloads, in ms. */
  delayMs: number;
  rayId: string;
}

/**
 * A Cloudflare-like JavaScript challenge ("Just a moment..."): the script computes the clearance, stores it in a
 * cookie and reloads the page. The clearance is never written out whole, so a client without JavaScript stays here.
 */
export function renderScriptChallenge(i: ScriptChallengeInput): string {
  // The value travels reversed and in pieces; the script reassembles it (a reader of the markup alone gets nowhere).
  const pieces = (i.cookie.value.split('').reverse().join('').match(/.{1,3}/g) ?? []).map((p) => p.split('').map((c) => c.charCodeAt(0) + 1));
  const script = `(function(){var p=${scriptJson(pieces)};var v='';for(var a=0;a<p.length;a++)for(var b=0;b<p[a].length;b++)v+=String.fromCharCode(p[a][b]-1);v=v.split('').reverse().join('');
function go(){document.cookie=${scriptJson(`${i.cookie.name}=`)}+v+${scriptJson(`; path=${i.cookie.path}; SameSite=Lax`)};location.reload();}
${i.delayMs > 0 ? `setTimeout(go,${Math.floor(i.delayMs)});` : 'go();'}})();`;
  return `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1"><style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15;color:#313131;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial}.main-content{margin:8rem auto;max-width:60rem;padding-left:1.5rem}.h2{font-size:1.5rem;font-weight:500;line-height:2.25rem}</style></head>
<body class="no-js"><div class="main-wrapper" role="main"><div class="main-content"><h1 class="zone-name-title h1">${esc(i.host)}</h1><h2 id="challenge-running" class="h2">Checking your browser before accessing ${esc(i.host)}.</h2><noscript><div id="challenge-error-title"><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></div></noscript><div id="challenge-body-text" class="core-msg spacer">${esc(i.host)} needs to review the security of your connection before proceeding.</div></div></div>
<script>${script}</script>
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="ray-id">Ray ID: <code>${esc(i.rayId)}</code></div><div class="text-center" id="footer-text">Performance &amp; security by Cloudflare</div></div></div></body></html>
`;
}
