/**
 * SWIM's counters summed over many nodes (the highest local-health score instead of a sum), as the
 * multi-process membership bench reports them: per worker, then over the workers.
 *
 * @module
 */
import type { SwimStats } from "../../src/membership/swim-types.ts";

/** The counters summed. */
export type SwimTotals = Pick<SwimStats, "probesSent" | "probesFailed" | "suspects" | "confirmations" | "deathsDeclared" | "deathsRefused" | "deathsRefusedSuspect" | "deathsSettled" | "refusedSends" | "deathsDoubted" | "evidenceProbes" | "droppedProbes" | "deathsResent" | "deathsHeld" | "deathPulls" | "refutations" | "corrections" | "lastPings" | "lateProbes" | "gossipSent" | "stalls" | "messagesReceived" | "updatesSent" | "updatesApplied" | "updatesIgnored" | "pushPulls" | "sumExchanges" | "sumDoubts" | "joins" | "catchUps" | "catchUpsRefused" | "catchUpsMoved" | "awareness">

/** The counters that add up (all but the score). */
const SUMMED = ["probesSent", "probesFailed", "suspects", "confirmations", "deathsDeclared", "deathsRefused", "deathsRefusedSuspect", "deathsSettled", "refusedSends", "deathsDoubted", "evidenceProbes", "droppedProbes", "deathsResent", "deathsHeld", "deathPulls", "refutations", "corrections", "lastPings", "lateProbes", "gossipSent", "stalls", "messagesReceived", "updatesSent", "updatesApplied", "updatesIgnored", "pushPulls", "sumExchanges", "sumDoubts", "joins", "catchUps", "catchUpsRefused", "catchUpsMoved"] as const;

/** The sum of `all` (null entries: nodes without SWIM, skipped). */
export function sumSwim(all: Iterable<SwimTotals | null>): SwimTotals {
  const t = { ...Object.fromEntries(SUMMED.map((k) => [k, 0])), awareness: 0 } as SwimTotals;
  for (const s of all) {
    if (!s) continue;
    for (const k of SUMMED) t[k] += s[k];
    t.awareness = Math.max(t.awareness, s.awareness);
  }
  return t;
}

/** What happened between `a` and `b` (the score: `b`'s). */
export function diffSwim(a: SwimTotals, b: SwimTotals): SwimTotals {
  const t = { ...b };
  for (const k of SUMMED) t[k] = b[k] - a[k];
  return t;
}
