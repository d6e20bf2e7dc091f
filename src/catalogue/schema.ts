import { z } from 'zod';
import { slugSchema, vendorIdSchema } from '../contract/names.js';
import { METALS } from './target.js';

/** The floor and ceiling of a scrape interval, in whole minutes (catalogue `interval_minutes`, SCRAPE_INTERVAL_MINUTES). */
export const MIN_INTERVAL_MINUTES = 1;
export const MAX_INTERVAL_MINUTES = 1440;
const INTERVAL_MESSAGE = `expected whole minutes from ${MIN_INTERVAL_MINUTES} to ${MAX_INTERVAL_MINUTES} (e.g. 15); remove it to use SCRAPE_INTERVAL_MINUTES`;

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
    /**
     * Optional per-target scrape interval, overriding the poller's default: whole minutes from 1 (the floor: no
     * dealer is polled more often, and BullMQ needs a real interval) to 1440 (a day), like SCRAPE_INTERVAL_MINUTES.
     */
    interval_minutes: z
      .number({ message: INTERVAL_MESSAGE })
      .int(INTERVAL_MESSAGE)
      .min(MIN_INTERVAL_MINUTES, INTERVAL_MESSAGE)
      .max(MAX_INTERVAL_MINUTES, INTERVAL_MESSAGE)
      .optional(),
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
  /** Confirms an edit that drops most targets at once: the number of enabled targets it leaves (shrink-guard.ts). */
  accept_shrink_to: z.number({ message: 'expected the number of enabled targets the edit leaves' }).int('expected a whole number').min(0, 'expected 0 or more').optional(),
  coins: z.record(slugSchema, coinSchema),
});

export type CatalogueFile = z.infer<typeof catalogueSchema>;
export type ProviderEntry = z.infer<typeof providerSchema>;
