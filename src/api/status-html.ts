/**
 * The status page as one server-rendered HTML document: no build step, no external assets, every value escaped.
 * It refreshes itself (a small inline script swaps the content, keeping the grid's scroll; a meta refresh without
 * scripts). Cells carry data-coin, data-vendor and data-state for people's tools and the browser tests.
 */
import { CELL_STATES, type CellState } from './cell-state.js';
import type { BranchStatus, FeedStatus, GridCell, PollerStatus, RecordStatus, StatusData } from './status-data.js';
import { newestFailedWrite } from '../recovery/pending-backlog.js';

/** Escapes text for HTML content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `$1,234.56`; a dash for none. */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** Compact age for cells: `45s`, `12m`, `3h`, `2d`. */
export function shortAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Readable age: `45 s`, `12 min`, `3 h 5 min`, `2 d 4 h`. */
export function longAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return 'never';
  const s = Math.floor(Math.max(0, ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** `1.2 s`, `850 ms`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '?';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/** `2026-12-07 08:23:05 UTC`. */
function utc(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const shortSha = (sha: string | null | undefined) => (sha ? sha.slice(0, 7) : '');

/** Names and rules of the states, for the legend and the summary. */
export const STATE_INFO: Record<CellState, { label: string; rule: string }> = {
  fresh: { label: 'fresh', rule: 'in stock, read within 2 scrape intervals' },
  stale: { label: 'stale', rule: 'last read succeeded, but longer ago than 2 intervals' },
  out_of_stock: { label: 'out of stock', rule: 'page read, dealer says out of stock (its price shown)' },
  blocked: { label: 'blocked', rule: 'bot wall: the dealer refuses our requests' },
  failing: { label: 'failing', rule: 'last attempts failed (network, 5xx, 404, no price...)' },
  rejected: { label: 'rejected', rule: 'price refused by the spot check (below melt or above the premium ceiling)' },
  never: { label: 'not scraped yet', rule: 'no attempt by this poller yet' },
  unlisted: { label: 'not listed', rule: 'the catalogue has no such coin at this dealer' },
};

export interface RenderOptions {
  /** Seconds between refreshes; 0: none. */
  refreshSeconds: number;
  /** The `refresh` query parameter as asked, kept by the page's links. */
  refreshParam?: number;
}

const refreshQuery = (options: RenderOptions) => (options.refreshParam !== undefined ? `&refresh=${encodeURIComponent(options.refreshParam)}` : '');

/** The whole page. */
export function renderStatusPage(data: StatusData, options: RenderOptions): string {
  const title = `${data.poller} status · StakTrakr poller`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
${options.refreshSeconds > 0 ? `<noscript><meta http-equiv="refresh" content="${esc(options.refreshSeconds)}"></noscript>` : ''}
<style>${CSS}</style>
</head>
<body data-refresh-seconds="${esc(options.refreshSeconds)}">
${renderContent(data, options)}
${options.refreshSeconds > 0 ? `<script>${SCRIPT}</script>` : ''}
</body>
</html>
`;
}

/** The page's body content (`#status`), which the refresh swaps. */
export function renderContent(data: StatusData, options: RenderOptions): string {
  return `<div id="status" data-generated-at="${esc(data.generatedAt)}" data-poller="${esc(data.poller)}" data-view="${esc(data.view)}">
<header>
<h1>StakTrakr poller <span class="who">${esc(data.poller)}</span></h1>
<p class="meta">as of ${esc(utc(data.generatedAt))} · scrape interval ${esc(longAge(data.intervalMs))}, fresh within ${esc(longAge(data.freshForMs))} · ${
    options.refreshSeconds > 0 ? `refreshes every ${esc(options.refreshSeconds)} s` : 'no automatic refresh'
  }<span id="refresh-note"></span> · <a href="status${data.view === data.poller ? '' : `?poller=${encodeURIComponent(data.view)}`}">JSON</a></p>
${renderSummary(data)}
</header>
<div class="overview">
${renderPublishing(data, refreshQuery(options))}
<div class="side">
${renderFeeds(data.feeds)}
${renderRecovery(data)}
</div>
</div>
${renderGrid(data, options)}
</div>`;
}

function renderSummary(data: StatusData): string {
  const items = CELL_STATES.filter((s) => s !== 'unlisted' && data.summary[s] > 0).map(
    (s) => `<li class="chip s-${s}" data-state="${s}" data-count="${data.summary[s]}">${data.summary[s]} ${esc(STATE_INFO[s].label)}</li>`,
  );
  const total = CELL_STATES.filter((s) => s !== 'unlisted').reduce((n, s) => n + data.summary[s], 0);
  return `<ul class="summary" aria-label="targets of ${esc(data.view)} by state"><li class="chip total">${total} targets of ${esc(data.view)}</li>${items.join('')}</ul>`;
}

function badge(state: string, text: string): string {
  return `<span class="badge b-${esc(state)}">${esc(text)}</span>`;
}

function branchCell(b: BranchStatus): string {
  if (b.state === 'missing') return `${badge('missing', 'not yet published')}`;
  if (b.state === 'error') return `${badge('error', 'cannot read')} <span class="err">${esc(b.error ?? '')}</span>`;
  return `${badge(b.state, b.state)} <span title="${esc(utc(b.committedAt))}">${esc(longAge(b.ageMs))} ago</span> <code>${esc(shortSha(b.sha))}</code>`;
}

function recordCell(r: RecordStatus | null, failures: number | null, none: string): string {
  if (!r) return `<span class="muted">${esc(none)}</span>`;
  const when = `<span title="${esc(utc(r.endedAt))}">${esc(longAge(r.ageMs))} ago</span>`;
  const fails = failures ? ` <span class="muted">(${failures} failed so far)</span>` : '';
  if (!r.ok) return `${badge('error', 'failed')} ${when}, after ${esc(duration(r.ms))}: <span class="err">${esc(r.error ?? 'unknown error')}</span>${fails}`;
  const result = r.committed ? `commit <code>${esc(shortSha(r.sha))}</code>` : 'nothing new, no commit';
  return `${when}, took <span class="dur">${esc(duration(r.ms))}</span>, ${result}${fails}`;
}

function stateCounts(states: Record<CellState, number>): string {
  const parts = CELL_STATES.filter((s) => s !== 'unlisted' && states[s] > 0).map((s) => `<span class="mini s-${s}" data-state="${s}">${states[s]} ${esc(STATE_INFO[s].label)}</span>`);
  return parts.length ? parts.join(' ') : '<span class="muted">no targets yet</span>';
}

function pollerRow(p: PollerStatus, data: StatusData, refresh: string): string {
  const none = !data.publishLog.available ? 'publish log unavailable' : p.self ? 'none yet' : 'recorded on its own host';
  const scrapes =
    p.scrapes.state === 'none'
      ? '<span class="muted">no price read yet</span>'
      : `${badge(p.scrapes.state, p.scrapes.state)} <span title="${esc(utc(p.scrapes.lastSuccessAt))}">${esc(longAge(p.scrapes.ageMs))} ago</span>`;
  return `<tr data-poller="${esc(p.id)}" data-branch-state="${esc(p.branch.state)}" data-scrape-state="${esc(p.scrapes.state)}"${p.self ? ' class="self"' : ''}>
<th scope="row"><a href="?poller=${encodeURIComponent(p.id)}${esc(refresh)}">${esc(p.id)}</a>${p.self ? ' <span class="muted">(this)</span>' : ''}</th>
<td data-label="Branch head" class="branch">${branchCell(p.branch)}</td>
<td data-label="Last export" class="export">${recordCell(p.lastExport, p.exportFailures, none)}</td>
<td data-label="Newest price" class="scrapes">${scrapes}</td>
<td data-label="Targets" class="states">${stateCounts(p.scrapes.states)}</td>
</tr>`;
}

function renderPublishing(data: StatusData, refresh: string): string {
  const m = data.main;
  const none = data.publishLog.available ? 'none recorded here' : 'publish log unavailable';
  const newest = m.newestDataAt ? `newest price on main ${esc(longAge(m.newestDataAgeMs))} old` : '';
  return `<section class="panel" id="publishing">
<h2>Pollers and publishing</h2>
<table class="pollers">
<thead><tr><th scope="col">Poller</th><th scope="col">Branch head</th><th scope="col">Last export</th><th scope="col">Newest price</th><th scope="col">Targets</th></tr></thead>
<tbody>
${data.pollers.map((p) => pollerRow(p, data, refresh)).join('\n')}
<tr data-poller="main" data-branch-state="${esc(m.branch.state)}" class="main">
<th scope="row">main</th>
<td data-label="Branch head" class="branch">${branchCell(m.branch)}</td>
<td class="merge" colspan="3">last merge ${recordCell(m.lastMerge, m.mergeFailures, none)}${newest ? ` · <span class="newest">${newest}</span>` : ''}</td>
</tr>
</tbody>
</table>
${data.publishLog.available ? '' : `<p class="muted small">Publish log: ${esc(data.publishLog.error ?? 'unavailable')}</p>`}
</section>`;
}

function feedItem(f: FeedStatus): string {
  const age = f.ageMs !== null ? ` <span title="${esc(utc(f.lastAt))}">${esc(longAge(f.ageMs))} ago</span>` : '';
  const label = f.state === 'configured' ? 'configured' : f.state === 'missing' ? 'no feed' : f.state;
  return `<li data-feed="${esc(f.id)}" data-state="${esc(f.state)}"><span class="fname">${esc(f.name)}</span> ${badge(f.state, label)}${age}<br><span class="muted small">${esc(f.detail)}</span></li>`;
}

function renderFeeds(feeds: FeedStatus[]): string {
  return `<section class="panel" id="feeds"><h2>Feeds</h2><ul class="feeds">${feeds.map(feedItem).join('')}</ul></section>`;
}

function renderRecovery(data: StatusData): string {
  const r = data.recovery;
  if ('error' in r && r.error !== undefined) {
    return `<section class="panel" id="recovery" data-rows="unknown"><h2>Recovery log</h2><p>${badge('error', 'cannot read')} <span class="err">${esc(r.error)}</span></p></section>`;
  }
  const b = r as Exclude<StatusData['recovery'], { error: string }>;
  let body: string;
  if (b.markers.length === 0) {
    body = `${badge('fresh', 'no backlog')} every row logged reached the database`;
  } else {
    const alive = b.markers.filter((m) => m.alive === true).length;
    const gone = b.markers.filter((m) => m.alive === false).length;
    const who = [alive ? `${alive} running process${alive > 1 ? 'es' : ''} wait${alive > 1 ? '' : 's'} for the database` : '', gone ? `${gone} from stopped process${gone > 1 ? 'es' : ''}: the next start replays them` : '']
      .filter(Boolean)
      .join('; ');
    const failed = newestFailedWrite(b.markers);
    body = `${badge('stale', 'backlog')} <b class="rows">${b.approximate ? '~' : ''}${b.rows}</b> row${b.rows === 1 ? '' : 's'} waiting to be replayed since <span title="${esc(utc(b.since))}">${esc(longAge(Date.parse(data.generatedAt) - Date.parse(b.since ?? data.generatedAt)))} ago</span>${who ? ` (${esc(who)})` : ''}${failed ? `<br>last failed write: <span class="err">${esc(failed.error)}</span>` : ''}`;
  }
  return `<section class="panel" id="recovery" data-rows="${'markers' in r ? r.rows : 0}" data-markers="${'markers' in r ? r.markers.length : 0}"><h2>Recovery log</h2><p>${body}</p><p class="muted small">${esc(b.dir)}: ${b.logFiles} file${b.logFiles === 1 ? '' : 's'}, ${esc(Math.round(b.logBytes / 1024))} KiB</p></section>`;
}

function cellText(c: GridCell): { main: string; sub: string } {
  switch (c.state) {
    case 'fresh':
      return { main: usd(c.price), sub: shortAge(c.ageMs) };
    case 'stale':
      return { main: usd(c.price), sub: c.ageMs === null ? 'no price' : `${shortAge(c.ageMs)} old` };
    case 'out_of_stock':
      return { main: usd(c.price), sub: `out · ${shortAge(c.ageMs)}` };
    case 'blocked':
      return { main: usd(c.price), sub: `walled ${shortAge(c.sinceMs)}` };
    case 'failing':
      return { main: usd(c.price), sub: `×${c.failures} · ${shortAge(c.sinceMs)}` };
    case 'rejected':
      return { main: usd(c.price), sub: `rejected ${usd(c.rejectedPrice)}` };
    case 'never':
      return { main: '—', sub: 'not yet' };
    default:
      return { main: '', sub: '' };
  }
}

function cellTitle(c: GridCell, coinName: string, vendorName: string): string {
  const lines = [`${coinName} at ${vendorName}: ${STATE_INFO[c.state].label}`];
  if (c.state === 'unlisted') return lines.join('\n');
  if (c.since) lines.push(`since ${utc(c.since)} (${longAge(c.sinceMs)} ago), ${c.failures} failed attempt${c.failures === 1 ? '' : 's'} in a row`);
  if (c.rejectedPrice !== null) lines.push(`refused price ${usd(c.rejectedPrice)}`);
  if (c.reason) lines.push(`reason: ${c.reason}`);
  lines.push(c.priceAt ? `last price ${usd(c.price)} read ${utc(c.priceAt)} (${longAge(c.ageMs)} ago)` : 'no price read yet');
  if (c.lastAttemptAt) lines.push(`last attempt ${utc(c.lastAttemptAt)}: ${c.outcome}`);
  return lines.join('\n');
}

function renderGrid(data: StatusData, options: RenderOptions): string {
  const { coins, vendors, cells } = data.grid;
  const byKey = new Map(cells.map((c) => [`${c.coin}:${c.vendor}`, c]));
  const vendorName = new Map(vendors.map((v) => [v.id, v.name]));
  const refresh = refreshQuery(options);
  const views = data.views
    .map((v) => (v === data.view ? `<b aria-current="page">${esc(v)}</b>` : `<a href="?poller=${encodeURIComponent(v)}${esc(refresh)}">${esc(v)}</a>`))
    .join(' ');
  const rows = coins.map((coin) => {
    const tds = vendors.map((v) => {
      const c = byKey.get(`${coin.slug}:${v.id}`)!;
      const text = cellText(c);
      const attrs = [
        `class="cell s-${c.state}"`,
        `data-coin="${esc(coin.slug)}"`,
        `data-vendor="${esc(v.id)}"`,
        `data-state="${c.state}"`,
        c.price !== null ? `data-price="${esc(c.price.toFixed(2))}"` : '',
        c.priceAt ? `data-price-at="${esc(c.priceAt)}"` : '',
        c.since ? `data-since="${esc(c.since)}"` : '',
        c.failures ? `data-failures="${c.failures}"` : '',
        `title="${esc(cellTitle(c, coin.name, vendorName.get(v.id) ?? v.id))}"`,
      ].filter(Boolean);
      const shot = c.screenshot ? `<a class="shot" href="${esc(c.screenshot.url)}" target="_blank" rel="noopener" title="screenshot taken ${esc(utc(c.screenshot.at))}" aria-label="screenshot of ${esc(coin.name)} at ${esc(vendorName.get(v.id) ?? v.id)}">&#128247;</a>` : '';
      return `<td ${attrs.join(' ')}>${text.main || text.sub ? `<span class="p">${esc(text.main)}${shot}</span><span class="a">${esc(text.sub)}</span>` : shot}</td>`;
    });
    return `<tr><th scope="row" class="coin" data-coin="${esc(coin.slug)}" title="${esc(coin.slug)} (${esc(coin.metal)})">${esc(coin.name)}</th>${tds.join('')}</tr>`;
  });
  const legend = CELL_STATES.map((s) => `<li data-state="${s}"><span class="swatch s-${s}" aria-hidden="true"></span><b>${esc(STATE_INFO[s].label)}</b>: ${esc(STATE_INFO[s].rule)}</li>`).join('');
  return `<section class="panel" id="targets">
<h2>Targets of ${esc(data.view)} <span class="views">poller: ${views}</span></h2>
<ul class="legend" aria-label="legend">${legend}</ul>
<div class="grid-scroll" tabindex="0" aria-label="coins by dealer">
<table class="grid">
<thead><tr><th scope="col" class="coin corner">Coin</th>${vendors.map((v) => `<th scope="col" data-vendor="${esc(v.id)}" title="${esc(v.id)}">${esc(v.name)}</th>`).join('')}</tr></thead>
<tbody>
${rows.join('\n')}
</tbody>
</table>
</div>
<p class="muted small">Each cell: the last price read and its age. Failing, blocked and rejected cells count the failed attempts in a row and say since when (the first failure of the streak). Hover a cell for the reason; &#128247; opens the latest screenshot the browser tier took of the page.</p>
</section>`;
}

/** The error page (the database cannot be read): refreshes too, so it recovers by itself. */
export function renderErrorPage(poller: string, message: string, refreshSeconds: number): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(poller)} status · database unreachable</title>
${refreshSeconds > 0 ? `<meta http-equiv="refresh" content="${esc(refreshSeconds)}">` : ''}
<style>${CSS}</style></head>
<body><div id="status" data-error="database"><h1>StakTrakr poller <span class="who">${esc(poller)}</span></h1>
<p>${badge('error', 'database unreachable')} <span class="err">${esc(message)}</span></p>
<p class="muted">Rows wait in the recovery log meanwhile; this page retries every ${esc(refreshSeconds)} s.</p></div></body></html>
`;
}

const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;
--fresh:#cdf0d5;--fresh-fg:#0b5a22;--stale:#ffeaa0;--stale-fg:#5f4300;--oos:#d5dfea;--oos-fg:#26394d;
--blocked:#e2d3fb;--blocked-fg:#46238a;--failing:#ffc9c4;--failing-fg:#84160f;--rejected:#ffd5a6;--rejected-fg:#713400;--never-fg:#6e7781}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
#status{max-width:1440px;margin:0 auto;padding:10px 16px 16px}
a{color:#0a59c9}
h1{font-size:18px;margin:0}
h1 .who{font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
h2{font-size:14px;margin:0 0 6px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.meta{color:var(--muted);margin:2px 0 8px;font-size:12px}
.muted{color:var(--muted)}
.small{font-size:11.5px}
.err{color:var(--failing-fg);overflow-wrap:anywhere}
.summary{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 10px;padding:0;list-style:none}
.chip{padding:2px 9px;border-radius:999px;font-size:12px;font-weight:600}
.chip.total{background:#fff;border:1px solid var(--line)}
.overview{display:grid;grid-template-columns:minmax(0,2.1fr) minmax(0,1fr);gap:10px;margin-bottom:10px;align-items:start}
.side{display:grid;gap:10px;min-width:0}
.panel{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 10px;min-width:0;overflow-wrap:anywhere}
.panel p{margin:4px 0}
table.pollers{border-collapse:collapse;width:100%;font-size:12.5px}
table.pollers th,table.pollers td{text-align:left;padding:4px 6px;border-top:1px solid var(--line);vertical-align:top}
table.pollers thead th{border-top:0;color:var(--muted);font-weight:600;font-size:11.5px}
table.pollers tr.self th[scope=row]{font-weight:700}
.badge{display:inline-block;padding:0 6px;border-radius:4px;font-size:11.5px;font-weight:600;white-space:nowrap}
.b-fresh{background:var(--fresh);color:var(--fresh-fg)}
.b-stale{background:var(--stale);color:var(--stale-fg)}
.b-missing,.b-configured,.b-none{background:#e8ebef;color:#3d4751}
.b-error{background:var(--failing);color:var(--failing-fg)}
.mini{display:inline-block;padding:0 5px;border-radius:4px;font-size:11px;margin:0 2px 2px 0;white-space:nowrap}
ul.feeds{list-style:none;margin:0;padding:0}
ul.feeds li{padding:3px 0;border-top:1px solid var(--line)}
ul.feeds li:first-child{border-top:0}
.fname{font-weight:600}
.views{font-weight:400;font-size:12.5px;margin-left:8px}
.views a,.views b{margin-left:4px}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;list-style:none;margin:0 0 8px;padding:0;font-size:11.5px;color:var(--muted)}
.legend b{color:var(--fg);font-weight:600}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px;vertical-align:-2px;margin-right:4px;border:1px solid rgba(0,0,0,.12)}
.grid-scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;border:1px solid var(--line);border-radius:6px;max-width:100%}
table.grid{border-collapse:separate;border-spacing:0;font-size:12px;width:100%}
table.grid th,table.grid td{border-right:1px solid #fff;border-bottom:1px solid #fff}
table.grid thead th{background:#fff;font-weight:600;font-size:11.5px;padding:4px;vertical-align:bottom;text-align:right;min-width:88px;border-bottom:1px solid var(--line);overflow-wrap:normal}
table.grid th.coin{position:sticky;left:0;z-index:2;background:#fff;text-align:left;font-weight:500;min-width:150px;max-width:230px;padding:2px 8px;box-shadow:1px 0 0 var(--line);line-height:1.2}
table.grid thead th.coin{z-index:3;vertical-align:bottom}
td.cell{padding:2px 6px;text-align:right;white-space:nowrap;height:34px;vertical-align:middle}
td.cell .p{display:block;font-weight:600;font-variant-numeric:tabular-nums;line-height:1.2}
td.cell a.shot{margin-left:3px;font-size:10px;text-decoration:none;opacity:.7}
td.cell .a{display:block;font-size:10.5px;line-height:1.2;opacity:.9}
.s-fresh{background:var(--fresh);color:var(--fresh-fg)}
.s-stale{background:var(--stale);color:var(--stale-fg)}
.s-out_of_stock{background:var(--oos);color:var(--oos-fg)}
.s-blocked{background:var(--blocked);color:var(--blocked-fg)}
.s-failing{background:var(--failing);color:var(--failing-fg)}
.s-rejected{background:var(--rejected);color:var(--rejected-fg)}
.s-never{background:#fff;color:var(--never-fg);box-shadow:inset 0 0 0 1px #c5ccd3}
.s-unlisted{background:repeating-linear-gradient(45deg,#f4f6f8,#f4f6f8 4px,#e6eaee 4px,#e6eaee 8px)}
body.offline #refresh-note{color:var(--failing-fg);font-weight:600}
@media (max-width:1000px){.overview{grid-template-columns:minmax(0,1fr)}}
@media (max-width:640px){
#status{padding:8px}
h1{font-size:16px}
table.pollers thead{display:none}
table.pollers tr{display:block;border-top:1px solid var(--line);padding:4px 0}
table.pollers th,table.pollers td{display:block;border:0;padding:1px 2px}
table.pollers td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:11px}
table.grid th.coin{min-width:104px;max-width:120px;font-size:11px;padding:2px 4px}
table.grid thead th{min-width:76px}
td.cell{padding:2px 4px}
}
`;

// Swaps #status for a fresh copy every N seconds (keeping the grid's horizontal scroll); says so when it cannot.
const SCRIPT = `(function(){
var s=+document.body.getAttribute('data-refresh-seconds')||0;if(!s)return;
function tick(){
fetch(location.href,{headers:{Accept:'text/html'},cache:'no-store'}).then(function(r){return r.text().then(function(t){
var doc=new DOMParser().parseFromString(t,'text/html');var next=doc.getElementById('status');var cur=document.getElementById('status');
if(!next||!cur)throw new Error('HTTP '+r.status);
var sc=cur.querySelector('.grid-scroll');var left=sc?sc.scrollLeft:0;
cur.replaceWith(document.importNode(next,true));
var ns=document.querySelector('#status .grid-scroll');if(ns)ns.scrollLeft=left;
document.title=doc.title;document.body.classList.remove('offline');
});}).catch(function(e){document.body.classList.add('offline');var n=document.getElementById('refresh-note');
if(n)n.textContent=' · could not refresh at '+new Date().toLocaleTimeString()+' ('+(e&&e.message||e)+')';
}).then(function(){setTimeout(tick,s*1000);});}
setTimeout(tick,s*1000);})();`;
