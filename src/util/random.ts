/**
 * A small seedable random source, for simulations and tests that must repeat exactly.
 *
 * This module sits below `wire/` and imports nothing of the package, so any layer may use it.
 *
 * @module
 */

/** mulberry32: uniform floats in [0, 1) from a 32-bit seed; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * At most `n` of `items`, a uniform random sample (all of them, in their order, when there are
 * few); `random`: the source, a seeded one where a run must repeat (a SWIM core's).
 */
export function sample<T>(items: readonly T[], n: number, random: () => number = Math.random): T[] {
  if (items.length <= n) return [...items];
  const copy = [...items];
  // A partial Fisher-Yates shuffle: the first n places end up a uniform sample.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}
