import type { Metal } from '../catalogue/target.js';
import { round2 } from './money.js';

/** What a page shows about a product: name, metal and weight (troy oz; notes for goldbacks). */
export interface ProductInfo {
  name: string;
  metal: Metal;
  weightOz: number;
}

/** Small sizes cost more per ounce: the premium a fractional sibling carries on top of its share of the price. */
export const FRACTIONAL_EXTRA_PREMIUM = 0.08;

const FRACTIONS: Record<string, number> = { '1/10': 0.1, '1/4': 0.25, '1/2': 0.5 };

/**
 * A smaller sibling of a product, e.g. `American Gold Eagle 1 oz` -> `American Gold Eagle 1/10 oz`,
 * `Generic Silver Bar 10 oz` -> `Generic Silver Bar 1 oz`, `G1 Utah Goldback (1/1000 oz gold)` -> `G½ ... (1/2000 oz gold)`.
 * The wrong-product fault serves it; menus and carousels list it as bait.
 */
export function fractionalVariant(p: ProductInfo, fraction: keyof typeof FRACTIONS = '1/10'): ProductInfo {
  if (p.metal === 'goldback') {
    // Goldbacks come in halves, not tenths.
    const name = p.name.replace(/\bG1\b/, 'G½').replace(/\(1\/1000 oz/, '(1/2000 oz');
    return { name: name === p.name ? `G½ ${p.name}` : name, metal: p.metal, weightOz: p.weightOz / 2 };
  }
  const f = FRACTIONS[fraction];
  const weightOz = Math.round(p.weightOz * f * 10_000) / 10_000;
  const token = /\b(\d+(?:\.\d+)?) oz\b/.exec(p.name);
  if (!token) return { name: `${p.name} (${fraction} oz)`, metal: p.metal, weightOz };
  const n = Number(token[1]);
  const replacement = n === 1 ? `${fraction} oz` : `${+(n * f).toFixed(3)} oz`;
  return { name: p.name.replace(token[0], replacement), metal: p.metal, weightOz };
}

/** The price a dealer asks for a fractional sibling, given the full-size price. */
export function fractionalPrice(fullPrice: number, full: ProductInfo, part: ProductInfo): number {
  return round2(fullPrice * (part.weightOz / full.weightOz) * (1 + FRACTIONAL_EXTRA_PREMIUM));
}

/** URL slug of a product name, as dealers build them. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/½/g, '1-2')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** Products every dealer's menu lists besides the catalogue's, per metal (some labels carry dollar figures). */
export const MENU_EXTRAS: Readonly<Record<Metal, readonly string[]>> = {
  gold: [
    '1 oz Gold Bar (Varied Mint)',
    '1 gram Gold Bar PAMP Suisse Lady Fortuna',
    '5 gram Gold Bar Valcambi',
    '10 oz Gold Bar',
    '1 kilo Gold Bar',
    'Austrian Gold Philharmonic 1 oz',
    'Chinese Gold Panda 30 g',
    'Mexican Gold Libertad 1 oz',
    'British Gold Britannia 1 oz',
    '$20 Saint-Gaudens Double Eagle',
    'Pre-1933 Gold Coins',
    'Gold Coins Under $1,000',
    'Valcambi CombiBar 50 x 1 gram',
    'Gold IRA Approved',
  ],
  silver: [
    '1 kilo Silver Bar',
    '100 oz Silver Bar',
    '5 oz Silver Bar',
    '1 oz Silver Bar (Varied Mint)',
    '90% Junk Silver $1 Face Value',
    'Morgan Silver Dollars',
    'Peace Silver Dollars',
    'Austrian Silver Philharmonic 1 oz',
    'Mexican Silver Libertad 1 oz',
    'America the Beautiful 5 oz Silver',
    'Silver Under $50',
    'Monster Box (500 Coins)',
  ],
  platinum: ['1 oz Platinum Bar (Varied Mint)', 'Canadian Platinum Maple Leaf 1 oz', 'British Platinum Britannia 1 oz', '10 oz Platinum Bar'],
  palladium: ['1 oz Palladium Bar (Varied Mint)', 'Canadian Palladium Maple Leaf 1 oz', 'American Palladium Eagle 1 oz'],
  goldback: ['G5 Goldback Note', 'G10 Goldback Note', 'G25 Goldback Note', 'G50 Goldback Note', 'Goldback Sets and Collections'],
};
