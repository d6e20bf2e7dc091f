import { z } from 'zod';
import { slugSchema, vendorIdSchema } from '../contract/names.js';
import { METALS } from './target.js';

const httpUrl = z
  .string()
  .refine((s) => /^https?:\/\/[^\s/]+/i.test(s) && URL.canParse(s), { message: 'expected an http(s) URL' });

/** One vendor entry of a coin. Unknown fields are kept (the real file carries more than we read). */
export const providerSchema = z
  .looseObject({
    id: vendorIdSchema,
    /** Display name; older catalogues omit it (the id stands in). */
    name: z.string().min(1, 'expected a non-empty name').optional(),
    enabled: z.boolean({ message: 'expected true or false' }).default(true),
    url: httpUrl.optional(),
    urls: z.array(httpUrl).min(1, 'expected at least one URL').optional(),
    /** Optional per-target scrape interval, overriding the poller's default. */
    interval_minutes: z.number().positive('expected minutes > 0').optional(),
  })
  .superRefine((p, ctx) => {
    if (p.enabled && !p.url && !p.urls) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'an enabled provider needs `url` or `urls`' });
    }
  });

export const coinSchema = z.looseObject({
  name: z.string().min(1, 'expected a non-empty name'),
  metal: z
    .string()
    .transform((m) => m.toLowerCase())
    .pipe(z.enum(METALS, { message: `expected one of ${METALS.join(', ')}` })),
  weight_oz: z.number({ message: 'expected a number of troy ounces' }).positive('expected a weight > 0'),
  providers: z.array(providerSchema).superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      if (seen.has(p.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `vendor "${p.id}" is listed twice` });
      seen.add(p.id);
    });
  }),
});

/** The real `providers.json` format: `{coins: {slug: {name, metal, weight_oz, providers: [...]}}}`. */
export const catalogueSchema = z.looseObject({
  coins: z.record(slugSchema, coinSchema),
});

export type CatalogueFile = z.infer<typeof catalogueSchema>;
export type ProviderEntry = z.infer<typeof providerSchema>;
