import { z } from 'zod';
import { centsSchema, countSchema, dateSchema, vendorIdSchema, type ContractLevel } from './fields.js';

/** `api/{slug}/history-7d.json` and `history-30d.json`: a bare array of daily summaries, by date ascending. */
export function historySchema(level: ContractLevel) {
  const day = z.strictObject({
    date: dateSchema,
    avg_median: centsSchema.nullable(),
    avg_low: centsSchema.nullable(),
    sample_count: countSchema,
    vendors: z.record(vendorIdSchema, z.strictObject({ avg: centsSchema.nullable(), inStock: z.boolean() })),
  });
  return z.array(day).superRefine((days, ctx) => {
    days.forEach((d, i) => {
      if (i > 0 && d.date <= days[i - 1].date) ctx.addIssue({ code: 'custom', path: [i, 'date'], message: 'expected dates in ascending order, each once' });
      if (level === 'published' && d.avg_low !== null && d.avg_median !== null && d.avg_low > d.avg_median) {
        ctx.addIssue({ code: 'custom', path: [i, 'avg_low'], message: 'expected avg_low <= avg_median' });
      }
    });
  });
}

export type HistoryFile = z.infer<ReturnType<typeof historySchema>>;
export type HistoryDay = HistoryFile[number];
