import { z } from 'zod';

/**
 * Field schemas shared by the published files. Two levels:
 * - `contract`: what the frontend reads; accepts the real March 2026 files.
 * - `published`: the contract plus our deliberate fixes (one window format, required `enabled_coins`, ...).
 */
export type ContractLevel = 'contract' | 'published';

/** Coin slug (`ase`) and vendor id (`apmex`): the one definition in names.ts, shared with the catalogue and the row checks. */
export { slugSchema, vendorIdSchema } from './names.js';

/** A USD amount with at most two decimals (prices are published in cents). */
export const centsSchema = z
  .number({ message: 'expected a number' })
  .refine((n) => Number.isFinite(n) && n >= 0, { message: 'expected a finite amount >= 0' })
  .refine((n) => Math.round(n * 100) / 100 === n, { message: 'expected an amount with at most 2 decimals (cents)' });

/** ISO-8601 UTC instant with `Z`, with or without milliseconds (generated_at, stale_since). */
export const instantSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/, 'expected an ISO time like 2026-03-15T20:23:02.057Z');

/** UTC date `YYYY-MM-DD`. */
export const dateSchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');

const PUBLISHED_WINDOW = /^\d{4}-\d{2}-\d{2}T\d{2}:(00|15|30|45):00Z$/;
const CONTRACT_WINDOW = /^\d{4}-\d{2}-\d{2}T\d{2}:(00|15|30|45):00(\.000)?Z$/;

/** A 15-minute window start. The March 2026 files mixed `:00Z` and `:00.000Z`; we publish only `:00Z`. */
export function windowSchema(level: ContractLevel) {
  return level === 'published'
    ? z.string().regex(PUBLISHED_WINDOW, 'expected a window start YYYY-MM-DDTHH:MM:00Z on a quarter hour')
    : z.string().regex(CONTRACT_WINDOW, 'expected a window start on a quarter hour');
}

/** Confidence 0..100, or null when unknown (stale fills). */
export const confidenceSchema = z.number().int('expected an integer').min(0).max(100).nullable();

/** Non-negative integer (counts). */
export const countSchema = z.number().int('expected an integer').min(0, 'expected a count >= 0');
