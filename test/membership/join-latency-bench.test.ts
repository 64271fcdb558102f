/**
 * bench/join-latency.ts in quick mode, as a subprocess: it must finish, print its table and write a
 * result file of the expected shape. The numbers are not judged (no timing thresholds); what does
 * not depend on speed is: every joiner knew the seed and its members when `join()` returned.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-join-latency-bench-");

test("join latency - bench quick run times join() through a delayed seed beside the same link's round trip", async () => {
  const { code, out } = await bench.run(["bench/join-latency.ts", "--delay", "5"], 60_000);
  expect(code, out).toBe(0);
  expect(out).toContain("join() through a seed 5 ms away each way (5 joins, medians)");
  const result = JSON.parse(readFileSync(join(bench.outDir, "join-latency.json"), "utf8"));
  expect(result).toMatchObject({ scenario: "join-latency", delayMs: 5, joins: 5, members: 4, incomplete: 0 });
  for (const key of ["roundTripMs", "firstCallMs", "joinMs"]) {
    expect(result[key]).toHaveLength(5);
    expect(result[key].every(isPositive)).toBe(true);
  }
  expect(result.summary.map((r: { unit: string }) => r.unit)).toEqual(["ms", "ms"]);
});

test("join latency - a flag without a number is one line that says what to give", async () => {
  const { code, out } = await bench.run(["bench/join-latency.ts", "--delay", "soon"], 30_000);
  expect(code).toBe(2);
  expect(out.trim()).toBe("--delay takes a number (got soon); e.g. --delay 10");
});
