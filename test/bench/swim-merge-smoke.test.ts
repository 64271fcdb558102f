/**
 * The member-merge bench (`bench/lib/swim-merge.ts`) in a small run, as a subprocess: every fresh
 * node learns the whole answer, and the figures have their shape. No timing thresholds.
 */
import { expect, test } from "bun:test";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-merge-bench-");

for (const input of ["buffer", "plain"]) {
  test(`bench - a fresh node merging a push-pull answer (${input} input) reports the CPU per member learnt beside reading the answer alone`, async () => {
    const { code, out } = await bench.run(["bench/lib/swim-merge.ts", "--members", "20", "--joiners", "4", "--input", input], 60_000);
    expect(code, out).toBe(0);
    const result = JSON.parse(out.trim().split("\n").findLast((line) => line.startsWith("{")) ?? "null");
    expect(result).toMatchObject({ members: 20, joiners: 4, input });
    // Every member the seed holds is news to each fresh node: the 20 joiners and the seed itself.
    expect(result.learnt).toBe(4 * 21);
    expect(isPositive(result.answerBytes)).toBe(true);
    expect(isPositive(result.mergeUs)).toBe(true);
    expect(isPositive(result.readUs)).toBe(true);
    // Read from /proc in clock ticks of 10 ms: 0 for so short a run, null where there is no /proc.
    expect(result.mainThreadUs === null || result.mainThreadUs >= 0).toBe(true);
  }, 70_000);
}
