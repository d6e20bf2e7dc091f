import { z } from 'zod';
import { countSchema, instantSchema, slugSchema, windowSchema, type ContractLevel } from './fields.js';

/** The endpoint table of the manifest: fixed paths, relative to `data/`. */
export const MANIFEST_ENDPOINTS = {
  latest: 'api/latest.json',
  slug_latest: 'api/{slug}/latest.json',
  history_7d: 'api/{slug}/history-7d.json',
  history_30d: 'api/{slug}/history-30d.json',
  providers: 'api/providers.json',
} as const;

const coinMetaSchema = z.strictObject({
  name: z.string().min(1, 'expected a non-empty name'),
  metal: z.string().min(1, 'expected a metal'),
  weight: z.number().positive('expected a weight > 0'),
});

/** `api/manifest.json`: freshness (`generated_at`), the slug list and per-coin display data. */
export function manifestSchema(level: ContractLevel) {
  const published = level === 'published';
  return z
    .strictObject({
      generated_at: instantSchema,
      latest_window: published ? windowSchema(level).nullable() : windowSchema(level),
      window_count: countSchema,
      coin_count: countSchema,
      coins: z.array(slugSchema),
      enabled_coins: published ? z.array(slugSchema) : z.array(slugSchema).optional(),
      coins_meta: published ? z.record(slugSchema, coinMetaSchema) : z.record(slugSchema, coinMetaSchema).optional(),
      endpoints: z.strictObject({
        latest: z.string(),
        slug_latest: z.string(),
        history_7d: z.string(),
        history_30d: z.string(),
        providers: z.string(),
      }),
    })
    .superRefine((m, ctx) => {
      if (m.coin_count !== m.coins.length) ctx.addIssue({ code: 'custom', path: ['coin_count'], message: `expected ${m.coins.length} (the length of coins)` });
      if (!published) return;
      const sorted = [...m.coins].sort();
      if (sorted.some((s, i) => s !== m.coins[i]) || new Set(m.coins).size !== m.coins.length) {
        ctx.addIssue({ code: 'custom', path: ['coins'], message: 'expected sorted, unique slugs' });
      }
      if (JSON.stringify(m.enabled_coins) !== JSON.stringify(m.coins)) {
        ctx.addIssue({ code: 'custom', path: ['enabled_coins'], message: 'expected the same list as coins' });
      }
      for (const slug of Object.keys(m.coins_meta ?? {})) {
        if (!m.coins.includes(slug)) ctx.addIssue({ code: 'custom', path: ['coins_meta', slug], message: 'a coin not listed in coins' });
      }
      for (const [key, path] of Object.entries(MANIFEST_ENDPOINTS)) {
        if (m.endpoints[key as keyof typeof MANIFEST_ENDPOINTS] !== path) {
          ctx.addIssue({ code: 'custom', path: ['endpoints', key], message: `expected "${path}"` });
        }
      }
    });
}

export type ManifestFile = z.infer<ReturnType<typeof manifestSchema>>;

/** The manifest as we publish it: every field present. */
export interface PublishedManifest {
  generated_at: string;
  latest_window: string | null;
  window_count: number;
  coin_count: number;
  coins: string[];
  enabled_coins: string[];
  coins_meta: Record<string, { name: string; metal: string; weight: number }>;
  endpoints: { latest: string; slug_latest: string; history_7d: string; history_30d: string; providers: string };
}
