import { z } from 'zod';
import { centsSchema, countSchema, instantSchema, slugSchema, windowSchema, type ContractLevel } from './fields.js';

/** `api/latest.json`: one summary line per coin (not read by today's frontend). */
export function globalLatestSchema(level: ContractLevel) {
  const published = level === 'published';
  return z
    .strictObject({
      window_start: published ? windowSchema(level).nullable() : windowSchema(level),
      generated_at: instantSchema,
      coin_count: countSchema,
      coins: z.record(
        slugSchema,
        z.strictObject({
          window_start: windowSchema(level),
          median_price: centsSchema.nullable(),
          lowest_price: centsSchema.nullable(),
          vendor_count: countSchema,
        }),
      ),
    })
    .superRefine((g, ctx) => {
      const n = Object.keys(g.coins).length;
      if (g.coin_count !== n) ctx.addIssue({ code: 'custom', path: ['coin_count'], message: `expected ${n} (the number of coins)` });
    });
}

export type GlobalLatestFile = z.infer<ReturnType<typeof globalLatestSchema>>;
