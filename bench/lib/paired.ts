/**
 * Statistics of alternated pairs of benchmark runs (`bench/ab.ts`): on a machine whose speed moves
 * from one half hour to the next, two versions are compared run by run, A then B then B then A...,
 * and judged by their paired differences rather than by two ranges measured at different times.
 *
 * @module
 */
import { seededRandom } from "../../src/util/random.ts";

/** What pairs of one metric say (B against A; a lower value is taken as better only by the reader). */
export interface PairedSummary {
  /** Pairs where both runs gave the metric. */
  pairs: number;
  a: { median: number; min: number; max: number };
  b: { median: number; min: number; max: number };
  /** Pairs where B's value was lower than A's, and higher (ties in neither). */
  bLower: number;
  bHigher: number;
  /** Median of the differences B − A over the pairs. */
  medianDiff: number;
  /** A 90% bootstrap interval of that median (resampling the pairs), low and high. */
  diffInterval: [number, number];
  /** Two-sided sign test of "B lower as often as higher" (ties dropped): the probability of a split at least this uneven. */
  signP: number;
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Two-sided sign test: the probability, with `n` fair coin flips, of `k` or fewer of one side or as many of the other. */
export function signTestP(k: number, n: number): number {
  if (n === 0) return 1;
  const low = Math.min(k, n - k);
  let tail = 0;
  let c = 1; // n choose i, built up
  for (let i = 0; i <= low; i++) {
    if (i > 0) c = (c * (n - i + 1)) / i;
    tail += c;
  }
  return Math.min(1, (2 * tail) / 2 ** n);
}

/**
 * Summarise pairs `(a[i], b[i])` of one metric; a pair with a missing value (null) is left out.
 * `resamples` bootstrap draws (seeded) give the interval of the median difference.
 */
export function summarizePairs(a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>, resamples = 2000, seed = 1): PairedSummary {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i];
    const y = b[i];
    if (x === null || x === undefined || y === null || y === undefined || !Number.isFinite(x) || !Number.isFinite(y)) continue;
    as.push(x);
    bs.push(y);
  }
  const diffs = as.map((x, i) => bs[i]! - x);
  const bLower = diffs.filter((d) => d < 0).length;
  const bHigher = diffs.filter((d) => d > 0).length;
  // Seeded, so that a summary of the same runs is the same.
  const random = seededRandom(seed);
  const medians: number[] = [];
  if (diffs.length > 0) {
    const draw = new Array<number>(diffs.length);
    for (let r = 0; r < resamples; r++) {
      for (let i = 0; i < diffs.length; i++) draw[i] = diffs[Math.floor(random() * diffs.length)]!;
      medians.push(median(draw));
    }
    medians.sort((x, y) => x - y);
  }
  const at = (q: number) => (medians.length === 0 ? Number.NaN : medians[Math.min(medians.length - 1, Math.floor(q * medians.length))]!);
  const range = (values: number[]) => ({ median: median(values), min: values.length ? Math.min(...values) : Number.NaN, max: values.length ? Math.max(...values) : Number.NaN });
  return {
    pairs: diffs.length,
    a: range(as),
    b: range(bs),
    bLower,
    bHigher,
    medianDiff: median(diffs),
    diffInterval: [at(0.05), at(0.95)],
    signP: signTestP(bLower, bLower + bHigher),
  };
}

/** The number a metric spec reads from a run's output: `json:<key>[.<key>...]` on its last JSON line holding it, else a regular expression whose first group is the number (commas dropped). */
export function readMetric(spec: string, output: string): number | null {
  if (spec.startsWith("json:")) {
    const path = spec.slice(5).split(".");
    const lines = output.split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      const start = line.indexOf("{");
      if (start < 0) continue;
      let value: unknown;
      try {
        value = JSON.parse(line.slice(start));
      } catch {
        continue;
      }
      for (const key of path) value = value !== null && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
      if (typeof value === "number" && Number.isFinite(value)) return value;
    }
    return null;
  }
  const match = new RegExp(spec, "m").exec(output);
  if (!match || match[1] === undefined) return null;
  const value = Number(match[1].replace(/,/g, ""));
  return Number.isFinite(value) ? value : null;
}
