import { z } from 'zod';

/** Faults a target or a whole vendor can be given; see faults.ts for what each one sends. */
export const FAULTS = ['403', '404', '429', '500', 'slow', 'truncated', 'challenge', 'crash'] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * A change to what the fleet serves. Absent fields keep their current value; `null` clears an override.
 * - `price`: the 1-unit check/wire price to advertise instead of the model's.
 * - `inStock`, `preorder`: availability shown on the page.
 * - `latencyMs`: fixed delay per request instead of the fleet's latency range.
 * - `fault`: what to send instead of the page; `faultTimes`: only for the next N requests (default: until cleared).
 * - `wrongProduct`: serve a normal-looking page for another weight of the coin (e.g. the 1/10 oz version).
 */
export interface Patch {
  price?: number | null;
  inStock?: boolean | null;
  preorder?: boolean | null;
  latencyMs?: number | null;
  fault?: Fault | null;
  faultTimes?: number;
  wrongProduct?: boolean | null;
}

const patchSchema = z.strictObject({
  price: z.number().finite().positive('expected a price > 0').nullable().optional(),
  inStock: z.boolean().nullable().optional(),
  preorder: z.boolean().nullable().optional(),
  latencyMs: z.number().finite().min(0, 'expected milliseconds >= 0').nullable().optional(),
  fault: z.enum(FAULTS, { message: `expected one of ${FAULTS.join(', ')} or null` }).nullable().optional(),
  faultTimes: z.number().int('expected a whole number').positive('expected a count > 0').optional(),
  wrongProduct: z.boolean().nullable().optional(),
});

/** Input the fleet refuses; the message says which field and why (admin endpoints answer it with a 400). */
export class FleetInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetInputError';
  }
}

/** Checks a patch from code or from an admin request; throws FleetInputError naming the field. */
export function parsePatch(input: unknown, what = 'patch'): Patch {
  const parsed = patchSchema.safeParse(input ?? {});
  if (!parsed.success) throw new FleetInputError(`bad ${what}: ${describeIssues(parsed.error)}`);
  return parsed.data as Patch;
}

/** Zod issues as `field.path: message; ...`, so that every refusal names the field. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}
