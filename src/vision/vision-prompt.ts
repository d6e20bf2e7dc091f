import { Type, type Schema } from '@google/genai';

/** The product the screenshot should show. */
export interface VisionCoin {
  /** Catalogue slug, e.g. `ase`. */
  slug: string;
  /** Catalogue name, e.g. `American Silver Eagle 1 oz`. */
  name: string;
  /** `gold`, `silver`, `platinum`, `palladium` or `goldback`. */
  metal: string;
  /** Troy ounces of metal per unit (goldback: notes per unit). */
  weightOz: number;
}

/** Per-vendor reading hints, from config/vendors.json. Every field is optional; the defaults say what they mean. */
export interface VisionHints {
  /** Which row of a quantity/price table to read. Default: the 1-unit row. */
  quantityRow?: string;
  /** Which payment column to read when the page shows several. Default: check/wire when shown. */
  paymentColumn?: string;
  /** Pre-order counts as in stock at this vendor. Default false. */
  preorderInStock?: boolean;
}

export interface VisionPromptInput {
  coin: VisionCoin;
  /** Vendor id, e.g. `apmex`. */
  vendor: string;
  /** Plausible USD price of one unit, from spot; null when spot is unknown. */
  priceRange: { min: number; max: number } | null;
  hints?: VisionHints;
}

export const DEFAULT_QUANTITY_ROW = 'the 1-unit row (quantity 1, or the smallest quantity tier such as "1-19")';
export const DEFAULT_PAYMENT_COLUMN = 'the check/wire column if the page shows several payment columns, else the only price shown';

const usd = (n: number): string => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** Names cannot break the fixed `Coin:` line the fake server parses: no line breaks, no parentheses in the slug. */
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').trim();

/**
 * The instruction sent with the screenshot. Its second line is always `Coin: <name> (<slug>) at <vendor>`
 * (parsePromptTarget reads it back, so a local fake can answer with the fleet's truth).
 */
export function buildVisionPrompt(input: VisionPromptInput): string {
  const { coin, vendor, priceRange, hints = {} } = input;
  const preorder = hints.preorderInStock
    ? '- "Pre-order" counts as IN stock at this vendor (in_stock true) when the pre-order can be placed now.'
    : '- "Pre-order", "coming soon" and "backorder" mean NOT in stock (in_stock false) at this vendor.';
  return [
    'You read one screenshot of a precious-metals dealer product page and report what it shows.',
    `Coin: ${oneLine(coin.name)} (${oneLine(coin.slug).replace(/[()]/g, '')}) at ${oneLine(vendor)}`,
    `Metal: ${coin.metal}. Weight: ${coin.weightOz} troy oz per unit.`,
    priceRange
      ? `Plausible price of ONE unit from today's spot: ${usd(priceRange.min)} to ${usd(priceRange.max)}. A price far outside this range is probably another product, a spot ticker or a bulk total: then look again, and if no price for one unit is shown, answer price null.`
      : 'No plausible price range is known: read the price exactly as shown.',
    '',
    'Price:',
    '- Report the price of ONE unit of this exact product, in US dollars, as a number without "$" or commas.',
    `- Quantity: read ${oneLine(hints.quantityRow ?? DEFAULT_QUANTITY_ROW)}.`,
    `- Payment: read ${oneLine(hints.paymentColumn ?? DEFAULT_PAYMENT_COLUMN)}.`,
    '- Ignore spot price tickers, "as low as" badges, prices of other products (carousels, menus, "you may also like"), totals and struck-out old prices.',
    '- If no price for this product is visible, price is null.',
    '',
    'Stock:',
    '- "Out of stock", "sold out", "unavailable" or a "notify me" / "email me when available" button instead of a buy button: NOT in stock (in_stock false).',
    preorder,
    '- An enabled "add to cart" / "buy now" button for this product: IN stock (in_stock true).',
    '- Text in reviews, menus or other products does not count. If stock cannot be told, in_stock is null.',
    '- stock_label: the stock or availability text exactly as shown near the buy button, or null.',
    '',
    'confidence: an integer 0 to 100, how sure you are that price and in_stock are right for this exact product.',
    'Answer only with JSON: {"price": number|null, "in_stock": boolean|null, "stock_label": string|null, "confidence": integer}.',
  ].join('\n');
}

/** The structured answer Gemini must give (GenerateContentConfig.responseSchema). */
export const VISION_RESPONSE_SCHEMA: Schema = {
  type: Type.OBJECT,
  properties: {
    price: { type: Type.NUMBER, nullable: true, description: 'USD price of ONE unit of the product, or null when none is visible' },
    in_stock: { type: Type.BOOLEAN, nullable: true, description: 'whether the product can be bought now, or null when it cannot be told' },
    stock_label: { type: Type.STRING, nullable: true, description: 'the stock text as shown on the page, or null' },
    confidence: { type: Type.INTEGER, minimum: 0, maximum: 100, description: 'how sure the reading is, 0 to 100' },
  },
  required: ['price', 'in_stock', 'stock_label', 'confidence'],
  propertyOrdering: ['price', 'in_stock', 'stock_label', 'confidence'],
};

/** The target named by a vision prompt's `Coin: <name> (<slug>) at <vendor>` line, or null when there is none. */
export function parsePromptTarget(prompt: string): { coinName: string; coin: string; vendor: string } | null {
  const m = /^Coin: (.+) \(([^()\n]+)\) at (\S[^\n]*)$/m.exec(prompt);
  if (!m) return null;
  return { coinName: m[1]!.trim(), coin: m[2]!.trim(), vendor: m[3]!.trim() };
}
