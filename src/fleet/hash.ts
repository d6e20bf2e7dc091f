/** 32-bit FNV-1a followed by a murmur3 finaliser: a stable, well-spread hash of a string. */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // FNV alone spreads similar keys badly in the low bits; the finaliser mixes them.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1) fixed by the seed and the key parts: the same inputs always give the same draw. */
export function unit(seed: number, ...parts: Array<string | number>): number {
  return hash32(`${seed}|${parts.join('|')}`) / 2 ** 32;
}

/** A number in [min, max) fixed by the seed and the key parts. */
export function between(min: number, max: number, seed: number, ...parts: Array<string | number>): number {
  return min + (max - min) * unit(seed, ...parts);
}

/** A seeded stream of numbers in [0, 1) (mulberry32), for draws whose order does not matter (latency). */
export function stream(seed: number): () => number {
  let a = hash32(`stream|${seed}`);
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
