/** Rounds to cents; the epsilon keeps 1.005 from rounding down through binary error. */
export function round2(n: number): number {
  return Math.round((n + Math.sign(n) * Number.EPSILON) * 100) / 100;
}

/** `5250.5` -> `5,250.50`: thousands separators, always two decimals. */
export function formatAmount(n: number): string {
  const [whole, cents] = Math.abs(round2(n)).toFixed(2).split('.');
  return `${n < 0 ? '-' : ''}${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${cents}`;
}

/** `5250.5` -> `$5,250.50`: how every product page prints its 1-unit price. */
export function formatUsd(n: number): string {
  return `$${formatAmount(n)}`;
}

/** `5250.5` -> `$5,251`: whole dollars, as dealers print badges and menu teasers. */
export function formatUsdWhole(n: number): string {
  return `$${formatAmount(Math.round(n)).slice(0, -3)}`;
}

/** `12.3` -> `+12.30`, `-4` -> `-4.00`: a ticker change. */
export function formatChange(n: number): string {
  return `${n < 0 ? '-' : '+'}${formatAmount(Math.abs(n))}`;
}
