/**
 * SWIM's counters summed over many nodes (the highest local-health score instead of a sum), as the
 * multi-process membership bench reports them: per worker, then over the workers.
 *
 * @module
 */
import type { SwimStats } from "../../src/membership/swim-types.ts";

/** The counters summed. */
export type SwimTotals = Pick<SwimStats, "probesSent" | "probesFailed" | "suspects" | "deathsDeclared" | "refutations" | "awareness">;

/** The sum of `all` (null entries: nodes without SWIM, skipped). */
export function sumSwim(all: Iterable<SwimTotals | null>): SwimTotals {
  const t: SwimTotals = { probesSent: 0, probesFailed: 0, suspects: 0, deathsDeclared: 0, refutations: 0, awareness: 0 };
  for (const s of all) {
    if (!s) continue;
    t.probesSent += s.probesSent;
    t.probesFailed += s.probesFailed;
    t.suspects += s.suspects;
    t.deathsDeclared += s.deathsDeclared;
    t.refutations += s.refutations;
    t.awareness = Math.max(t.awareness, s.awareness);
  }
  return t;
}

/** What happened between `a` and `b` (the score: `b`'s). */
export function diffSwim(a: SwimTotals, b: SwimTotals): SwimTotals {
  return {
    probesSent: b.probesSent - a.probesSent,
    probesFailed: b.probesFailed - a.probesFailed,
    suspects: b.suspects - a.suspects,
    deathsDeclared: b.deathsDeclared - a.deathsDeclared,
    refutations: b.refutations - a.refutations,
    awareness: b.awareness,
  };
}
