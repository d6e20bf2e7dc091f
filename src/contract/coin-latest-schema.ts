import { z } from 'zod';
import { centsSchema, confidenceSchema, dateSchema, instantSchema, slugSchema, vendorIdSchema, windowSchema, type ContractLevel } from './fields.js';

/** `api/{slug}/latest.json`: the current prices of one coin and its last 24 h of windows. */
export function coinLatestSchema(level: ContractLevel) {
  const published = level === 'published';
  const window = windowSchema(level);
  const vendorEntry = z
    .strictObject({
      // The frontend hides a vendor with a null price; we never publish one.
      price: published ? centsSchema : centsSchema.nullable(),
      confidence: confidenceSchema,
      source: z.string().min(1, 'expected a source'),
      inStock: z.boolean(),
      stale: z.literal(true).optional(),
      stale_since: instantSchema.optional(),
    })
    .superRefine((v, ctx) => {
      if (v.stale && !v.stale_since) ctx.addIssue({ code: 'custom', path: ['stale_since'], message: 'a stale entry needs stale_since' });
      if (!v.stale && v.stale_since) ctx.addIssue({ code: 'custom', path: ['stale'], message: 'stale_since without stale: true' });
    });
  const windowEntry = z.strictObject({
    window,
    median: centsSchema,
    low: centsSchema,
    vendors: z.record(vendorIdSchema, centsSchema),
  });
  return z
    .strictObject({
      slug: slugSchema,
      // null only for a configured coin with no data in the retention period.
      window_start: published ? window.nullable() : window,
      median_price: centsSchema.nullable(),
      lowest_price: centsSchema.nullable(),
      vendors: z.record(vendorIdSchema, vendorEntry),
      availability_by_site: z.record(vendorIdSchema, z.boolean()),
      last_known_price_by_site: z.record(vendorIdSchema, centsSchema),
      last_available_date_by_site: z.record(vendorIdSchema, dateSchema),
      windows_24h: z.array(windowEntry),
    })
    .superRefine((c, ctx) => {
      if (c.median_price !== null && c.lowest_price !== null && c.lowest_price > c.median_price) {
        ctx.addIssue({ code: 'custom', path: ['lowest_price'], message: 'expected lowest_price <= median_price' });
      }
      if (!published) return;
      c.windows_24h.forEach((w, i) => {
        if (i > 0 && w.window <= c.windows_24h[i - 1].window) ctx.addIssue({ code: 'custom', path: ['windows_24h', i, 'window'], message: 'expected windows in ascending order, each once' });
        if (w.low > w.median) ctx.addIssue({ code: 'custom', path: ['windows_24h', i, 'low'], message: 'expected low <= median' });
        if (Object.keys(w.vendors).length === 0) ctx.addIssue({ code: 'custom', path: ['windows_24h', i, 'vendors'], message: 'expected at least one vendor price' });
      });
      if (c.window_start === null && (Object.keys(c.vendors).length || c.windows_24h.length)) {
        ctx.addIssue({ code: 'custom', path: ['window_start'], message: 'null window_start with data' });
      }
    });
}

export type CoinLatestFile = z.infer<ReturnType<typeof coinLatestSchema>>;
export type VendorLatestEntry = CoinLatestFile['vendors'][string];
export type WindowEntry = CoinLatestFile['windows_24h'][number];
