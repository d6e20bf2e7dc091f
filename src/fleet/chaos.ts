import { z } from 'zod';
import { hash32, stream } from './hash.js';
import { describeIssues, FleetInputError } from './patch.js';

/** What chaos sends instead of a page: a bot wall (403 challenge), a 429, a 500, or no answer at all. */
export const CHAOS_FAULTS = ['wall', '429', '500', 'hang'] as const;
export type ChaosFault = (typeof CHAOS_FAULTS)[number];

/**
 * Random faults over the whole fleet, on top of (and below) the patched ones.
 * - `rates`: per-request probabilities of a '429' (Retry-After), a '500', a `hang` (never answers); default 0 each, sum <= 1.
 * - `walls`: vendor id -> share of its requests answered with a 403 bot challenge (1 = every page); default none.
 * - `seed`: seed of the draws; default the fleet seed. The same seed gives the same sequence of draws per vendor.
 */
export interface FleetChaos {
  rates?: { '429'?: number; '500'?: number; hang?: number };
  walls?: Record<string, number>;
  seed?: number;
}

const probability = z.number().min(0, 'expected a probability in [0, 1]').max(1, 'expected a probability in [0, 1]');

const chaosSchema = z.strictObject({
  rates: z
    .strictObject({ '429': probability.optional(), '500': probability.optional(), hang: probability.optional() })
    .refine((r) => (r['429'] ?? 0) + (r['500'] ?? 0) + (r.hang ?? 0) <= 1, 'expected probabilities that sum to at most 1')
    .optional(),
  walls: z.record(z.string(), probability).optional(),
  seed: z.number().finite().optional(),
});

/** Checks chaos from code or an admin request (walls must name vendors of the fleet); null and undefined mean none. */
export function parseChaos(input: unknown, vendors: ReadonlySet<string> | ReadonlyMap<string, unknown>, what = 'chaos'): FleetChaos | null {
  if (input === null || input === undefined) return null;
  const parsed = chaosSchema.safeParse(input);
  if (!parsed.success) throw new FleetInputError(`bad ${what}: ${describeIssues(parsed.error)}`);
  const unknown = Object.keys(parsed.data.walls ?? {}).filter((v) => !vendors.has(v));
  if (unknown.length) {
    throw new FleetInputError(`bad ${what}: ${unknown.map((v) => `walls.${v}`).join(', ')}: unknown vendor, expected one of ${[...vendors.keys()].join(', ')}`);
  }
  return parsed.data;
}

/**
 * The chaos fault of each request, or null. Each vendor has its own seeded stream and every request takes two
 * draws from it (wall, then rate) whatever the outcome, so the n-th request of a vendor always meets the same draws.
 */
export function chaosDice(chaos: FleetChaos, fleetSeed: number): (vendor: string) => ChaosFault | null {
  const seed = chaos.seed ?? fleetSeed;
  const walls = chaos.walls ?? {};
  const { '429': tooMany = 0, '500': serverError = 0, hang = 0 } = chaos.rates ?? {};
  const streams = new Map<string, () => number>();
  return (vendor) => {
    let next = streams.get(vendor);
    if (!next) streams.set(vendor, (next = stream(hash32(`chaos|${seed}|${vendor}`))));
    const wallDraw = next();
    const rateDraw = next();
    if (wallDraw < (Object.hasOwn(walls, vendor) ? walls[vendor] : 0)) return 'wall';
    if (rateDraw < tooMany) return '429';
    if (rateDraw < tooMany + serverError) return '500';
    if (rateDraw < tooMany + serverError + hang) return 'hang';
    return null;
  };
}
