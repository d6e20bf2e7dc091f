import { rateDay } from '../goldback-rate.js';
import { formatUsd } from '../money.js';
import { round2 } from '../money.js';
import { esc, htmlDocument, ldJson, spotTicker } from './parts.js';
import type { SpotTick } from './types.js';

/** A dealer's offer shown in the page's "Buy Goldbacks" carousel. */
export interface GoldbackOffer {
  name: string;
  dealer: string;
  href: string;
  price: number;
}

export interface GoldbackRatePageInput {
  /** Today's official rate of one G1 note (the truth the page states). */
  rate: number;
  /** Yesterday's rate: printed as "Previous rate", and in the history table. */
  history: Array<{ atMs: number; rate: number }>;
  /** The time the page is rendered for (its "Updated" date and its wording of the day). */
  atMs: number;
  spot: SpotTick[];
  offers: GoldbackOffer[];
}

/** Denominations the page's table lists, with their gold content (G½ is a real note: half a G1). */
const DENOMINATIONS: Array<[string, number, string]> = [
  ['G\u00bd', 0.5, '1/2000 oz'],
  ['G1', 1, '1/1000 oz'],
  ['G2', 2, '2/1000 oz'],
  ['G5', 5, '5/1000 oz'],
  ['G10', 10, '10/1000 oz'],
  ['G25', 25, '25/1000 oz'],
  ['G50', 50, '50/1000 oz'],
];

const VENDOR = { id: 'goldback', name: 'Goldback', host: 'goldback.com' };

function longDate(atMs: number): string {
  return new Date(atMs).toLocaleDateString('en-US', { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric' });
}

/** Three ways the official page words today's rate; which one shows depends on the day. */
function heroLines(rate: number): string[] {
  const r = formatUsd(rate);
  return [
    `<p class="rate-hero__label">Today's exchange rate</p><p class="rate-hero__value"><span class="rate-hero__unit">1 Goldback</span> = <strong class="rate-hero__amount">${r}</strong> USD</p>`,
    `<p class="rate-hero__value">Current Exchange Rate: <strong class="rate-hero__amount">${r}</strong> per Goldback</p>`,
    `<p class="rate-hero__value">One Goldback (G1) is worth <strong class="rate-hero__amount">${r}</strong> today.</p>`,
  ];
}

/**
 * The official Goldback exchange rate page: today's G1 rate among the traps a reader must pass over: a header gold
 * spot ticker, the previous rate, gold spot in the prose, a table of every denomination's value (G½ first), the rate
 * history and a carousel of dealers' prices.
 */
export function renderGoldbackRatePage(p: GoldbackRatePageInput): string {
  const day = rateDay(p.atMs);
  const hero = heroLines(p.rate)[day % 3];
  const previous = p.history[0];
  const change = previous ? round2(((p.rate - previous.rate) / previous.rate) * 100) : 0;
  const gold = p.spot.find((s) => s.metal === 'gold');
  const rows = DENOMINATIONS.map(
    ([name, notes, content]) => `<tr><td class="denom">${name}</td><td>${content} 24k gold</td><td class="value">${formatUsd(round2(p.rate * notes))}</td></tr>`,
  ).join('');
  const history = p.history.map((h) => `<tr><td>${esc(longDate(h.atMs))}</td><td>${formatUsd(h.rate)}</td></tr>`).join('');
  const offers = p.offers
    .map(
      (o) =>
        `<li class="gb-carousel__slide"><a href="${esc(o.href)}"><span class="gb-carousel__name">${esc(o.name)}</span></a><span class="gb-carousel__dealer">${esc(o.dealer)}</span><span class="gb-carousel__price">As low as ${formatUsd(o.price)}</span><a class="btn gb-carousel__buy" href="${esc(o.href)}">Shop now</a></li>`,
    )
    .join('');
  const ld = { '@context': 'https://schema.org', '@type': 'Organization', name: 'Goldback, Inc.', url: 'https://www.goldback.com/', logo: 'https://www.goldback.com/logo.svg' };
  const body = `<header class="site-header">${spotTicker({ spot: p.spot, vendor: VENDOR }, 'gb-ticker')}<a class="logo" href="/goldback/">Goldback</a>
<nav class="main-nav"><ul><li><a href="/goldback/exchange-rate">Exchange Rate</a></li><li><a href="/goldback/shop">Shop Goldbacks from $5</a></li><li><a href="/goldback/learn">Learn</a></li><li><a href="/goldback/faq">FAQ</a></li></ul></nav></header>
<main class="exchange-rate-page">
<section class="rate-hero">
<h1>Goldback Exchange Rate</h1>
${hero}
<p class="rate-hero__updated">Updated <time datetime="${new Date(p.atMs).toISOString().slice(0, 10)}">${esc(longDate(p.atMs))}</time>, 9:00 AM MT.${previous ? ` Previous rate: ${formatUsd(previous.rate)} (${change >= 0 ? '+' : ''}${change.toFixed(2)}%).` : ''}</p>
<p>The exchange rate is set once a day from the spot price of gold${gold ? ` (gold spot at the time of the update: ${formatUsd(gold.price)}/oz)` : ''} and the cost of making the notes. Each G1 note holds 1/1000 troy ounce of 24k gold.</p>
</section>
<section class="denominations">
<h2>Value of each denomination</h2>
<table class="denominations__table"><thead><tr><th>Denomination</th><th>Gold content</th><th>Value (USD)</th></tr></thead><tbody>${rows}</tbody></table>
</section>
<section class="rate-history">
<h2>Exchange rate history</h2>
<table><thead><tr><th>Date</th><th>Rate</th></tr></thead><tbody>${history}</tbody></table>
</section>
<section class="gb-carousel" aria-label="Buy Goldbacks">
<h2>Buy Goldbacks from authorized dealers</h2>
<ul class="gb-carousel__track">${offers}</ul>
</section>
</main>
<footer class="site-footer"><p>Goldbacks are sold by independent dealers; their prices include a premium over the exchange rate. Free shipping on orders over $199 at most dealers.</p><p>&copy; 2026 Goldback, Inc.</p></footer>`;
  return htmlDocument({ title: 'Goldback Exchange Rate | Goldback', cssPrefix: 'gb', head: ldJson(ld), body });
}
