import { z } from 'zod';
import { slugSchema, vendorIdSchema } from './fields.js';

const productUrlSchema = z.string().regex(/^https?:\/\/\S+$/i, 'expected an http(s) URL');

/** `api/providers.json`: `{slug: {vendorId: productUrl}}`, plus an optional `_vendor_meta` that we never write. */
export function providersSchema() {
  return z
    .record(z.string(), z.unknown())
    .superRefine((file, ctx) => {
      for (const [key, value] of Object.entries(file)) {
        if (key === '_vendor_meta') {
          if (!value || typeof value !== 'object' || Array.isArray(value)) ctx.addIssue({ code: 'custom', path: [key], message: 'expected an object' });
          continue;
        }
        const slug = slugSchema.safeParse(key);
        if (!slug.success) ctx.addIssue({ code: 'custom', path: [key], message: slug.error.issues[0].message });
        const links = z.record(vendorIdSchema, productUrlSchema).safeParse(value);
        if (!links.success) for (const issue of links.error.issues) ctx.addIssue({ code: 'custom', path: [key, ...issue.path.map(String)], message: issue.message });
      }
    })
    .transform((file) => file as ProvidersFile);
}

/** slug -> vendor -> product URL. */
export type ProvidersFile = Record<string, Record<string, string>>;
