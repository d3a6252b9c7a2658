// Seeded randomness for the load model. Math.random cannot be seeded, and the model must give the
// same numbers for the same seed and clock, so every stream of draws comes from its own mulberry32.

/** A uniform draw in [0, 1). */
export type Random = () => number;

/** mulberry32: a 32-bit state PRNG, small and fast, plenty for load shapes (not for secrets). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a over the parts: derives independent seeds, e.g. one per tenant and route. */
export function hashSeed(...parts: Array<string | number>): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join('\u0000')) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Token counts are right-skewed: a lognormal with the given median and log-space sigma (Box-Muller). */
export function lognormal(random: Random, median: number, sigma: number): number {
  // Two draws whatever sigma is, so a degenerate distribution consumes the same draws as any other.
  const u1 = 1 - random();
  const u2 = random();
  const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return median * Math.exp(sigma * normal);
}
