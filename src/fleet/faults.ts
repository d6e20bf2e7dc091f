import type { ServerResponse } from 'node:http';
import { hash32 } from './hash.js';
import { esc, spotTicker } from './pages/parts.js';
import type { SpotTick } from './pages/types.js';
import type { FleetVendor } from './routes.js';

/** Every fleet page is HTML in UTF-8, as the dealers send it. */
export const HTML_TYPE = 'text/html; charset=utf-8';

/** How long a 429 asks the client to wait, in seconds. */
export const RETRY_AFTER_SECONDS = 2;

/** Share of the body a truncated response sends before the connection drops. */
const TRUNCATE_SHARE = 0.4;

let rayCounter = 0;
/** A Cloudflare Ray ID: 16 hex digits and a data-centre code. */
function rayId(): string {
  const n = ++rayCounter;
  return `${hash32(`ray${n}`).toString(16).padStart(8, '0')}${hash32(`ray${n}b`).toString(16).padStart(8, '0')}-IAD`;
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(status, { 'content-type': HTML_TYPE, 'content-length': String(body.length), 'cache-control': 'no-cache, private', ...headers });
  res.end(body);
}

/** Headers, a Content-Length for the whole page, part of the body, then a dropped connection. */
export function sendTruncated(res: ServerResponse, html: string): void {
  const body = Buffer.from(html, 'utf8');
  res.writeHead(200, { 'content-type': HTML_TYPE, 'content-length': String(body.length) });
  res.write(body.subarray(0, Math.floor(body.length * TRUNCATE_SHARE)), () => res.socket?.destroy());
}

/**
 * The product page with a script that allocates until its tab runs out of memory: a browser's tab dies (the browser
 * tier reports `tab_crashed` and the job is retried); plain HTTP never runs the script and reads the page.
 */
export function withTabCrash(html: string): string {
  const script = '<script>const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random()));</script>';
  return html.includes('</body>') ? html.replace('</body>', `${script}</body>`) : html + script;
}

/** Cloudflare firewall block (error 1020), status 403. */
export function sendAccessDenied(res: ServerResponse, host: string): void {
  const ray = rayId();
  const html = `<!DOCTYPE html>
<html class="no-js" lang="en-US"><head><title>Access denied | ${esc(host)} used Cloudflare to restrict access</title><meta charset="UTF-8"><meta name="robots" content="noindex, nofollow"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css"></head>
<body><div id="cf-wrapper"><div id="cf-error-details" class="p-0"><header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8"><h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark leading-tight mr-2"><span class="cf-error-type">Error</span> <span class="cf-error-code">1020</span></h1><span class="inline-block sm:block font-mono text-15 lg:text-sm lg:leading-relaxed">Ray ID: ${ray} &bull;</span><h2 class="text-gray-600 leading-1.3 text-3xl font-light">Access denied</h2></header>
<section class="w-240 lg:w-full mx-auto mb-8 lg:px-8"><div id="what-happened-section" class="w-1/2 md:w-full"><h2 class="text-3xl leading-tight font-normal mb-4 text-black-dark antialiased">What happened?</h2><p>This website is using a security service to protect itself from online attacks. The site owner may have set restrictions that prevent you from accessing the site.</p></div></section>
<div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left border-solid border-0 border-t border-gray-300"><p class="text-13"><span class="cf-footer-item sm:block sm:mb-1">Cloudflare Ray ID: <strong class="font-semibold">${ray}</strong></span> <span class="cf-footer-separator sm:hidden">&bull;</span> <span class="cf-footer-item sm:block sm:mb-1">Performance &amp; security by Cloudflare</span></p></div></div></div></body></html>
`;
  sendHtml(res, 403, html, { server: 'cloudflare', 'cf-ray': ray });
}

/** Cloudflare managed challenge ("Just a moment..."): no product, no price; 403 when it walls off a bot. */
export function sendChallenge(res: ServerResponse, host: string, path: string, status: 200 | 403 | 503): void {
  const ray = rayId();
  const token = hash32(`${path}${ray}`).toString(36);
  const html = `<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title><meta http-equiv="Content-Type" content="text/html; charset=UTF-8"><meta http-equiv="X-UA-Compatible" content="IE=Edge"><meta name="robots" content="noindex,nofollow"><meta name="viewport" content="width=device-width,initial-scale=1"><style>*{box-sizing:border-box;margin:0;padding:0}html{line-height:1.15;-webkit-text-size-adjust:100%;color:#313131;font-family:system-ui,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial}body{display:flex;flex-direction:column;height:100vh;min-height:100vh}.main-content{margin:8rem auto;max-width:60rem;padding-left:1.5rem}.h2{font-size:1.5rem;font-weight:500;line-height:2.25rem}</style><meta http-equiv="refresh" content="390"></head>
<body class="no-js"><div class="main-wrapper" role="main"><div class="main-content"><h1 class="zone-name-title h1">${esc(host)}</h1><h2 id="challenge-running" class="h2">Checking your browser before accessing ${esc(host)}.</h2><noscript><div id="challenge-error-title"><div class="h2"><span id="challenge-error-text">Enable JavaScript and cookies to continue</span></div></div></noscript><div id="challenge-body-text" class="core-msg spacer">${esc(host)} needs to review the security of your connection before proceeding.</div>
<form id="challenge-form" action="${esc(path)}${path.includes('?') ? '&amp;' : '?'}__cf_chl_f_tk=${token}" method="POST" enctype="application/x-www-form-urlencoded"><input type="hidden" name="md" value="${token}${ray}"><input type="hidden" name="r" value="${ray}"></form></div></div>
<script>(function(){window._cf_chl_opt={cvId:'3',cZone:"${esc(host)}",cType:'managed',cNounce:'${hash32(ray) % 100000}',cRay:'${ray.slice(0, 16)}',cHash:'${token}',cFPWv:'b',cTTimeMs:'1000',cMTimeMs:'390000',cTplV:5,cRq:{ru:'${Buffer.from(path).toString('base64')}',ra:'TW96aWxsYS81LjA=',rm:'R0VU',d:'',t:'MTcwMDAwMDAwMC4wMDAwMDA='}};var cpo=document.createElement('script');cpo.src='/cdn-cgi/challenge-platform/h/b/orchestrate/chl_page/v1?ray=${ray.slice(0, 16)}';window._cf_chl_opt.cOgUHash=location.hash===''&&location.href.indexOf('#')!==-1?'#':location.hash;document.getElementsByTagName('head')[0].appendChild(cpo);}());</script>
<div class="footer" role="contentinfo"><div class="footer-inner"><div class="clearfix diagnostic-wrapper"><div class="ray-id">Ray ID: <code>${ray.slice(0, 16)}</code></div></div><div class="text-center" id="footer-text">Performance &amp; security by <a rel="noopener noreferrer" href="https://www.cloudflare.com?utm_source=challenge&amp;utm_campaign=m" target="_blank">Cloudflare</a></div></div></div></body></html>
`;
  sendHtml(res, status, html, { server: 'cloudflare', 'cf-ray': ray, 'cf-mitigated': 'challenge' });
}

/** Rate limit: status 429 with Retry-After. */
export function sendTooManyRequests(res: ServerResponse, vendorName: string): void {
  const html = `<!DOCTYPE html><html lang="en"><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1><p>You have sent too many requests to ${esc(vendorName)} in a given amount of time. Please try again in a few seconds.</p></body></html>\n`;
  sendHtml(res, 429, html, { 'retry-after': String(RETRY_AFTER_SECONDS) });
}

/** The shop's own error page, status 500. */
export function sendServerError(res: ServerResponse, vendorName: string): void {
  const html = `<!DOCTYPE html><html lang="en"><head><title>Error 500 | ${esc(vendorName)}</title></head><body><main class="error-page"><h1>There has been an error processing your request</h1><p>Internal Server Error. Error log record number: ${hash32(String(Date.now())).toString(16)}</p><p><a href="/">Return to the home page</a></p></main></body></html>\n`;
  sendHtml(res, 500, html);
}

/** The dealer's 404 page: still its ticker and menu links, but "Page not found" and no product. */
export function sendNotFound(res: ServerResponse, vendor: FleetVendor | undefined, spot: SpotTick[]): void {
  const name = vendor?.name ?? 'Store';
  const ticker = vendor ? spotTicker({ spot, vendor }, 'spot-ticker') : '';
  const home = vendor ? `/${vendor.id}/` : '/';
  const html = `<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>404 Page Not Found | ${esc(name)}</title><meta name="robots" content="noindex"></head>
<body class="cms-no-route"><header class="site-header">${ticker}<a class="logo" href="${home}">${esc(name)}</a></header>
<main class="page-not-found"><h1>Page not found</h1><p>Sorry, the product you are looking for could not be found (product not found). It may have been discontinued or moved.</p><ul><li><a href="${home}">Go to the home page</a></li><li><a href="${home}search">Search our catalog</a></li><li><a href="${home}gold">Shop Gold</a></li><li><a href="${home}silver">Shop Silver</a></li></ul></main>
<footer class="site-footer"><p>&copy; 2026 ${esc(name)}</p></footer></body></html>
`;
  sendHtml(res, 404, html);
}
