/**
 * The memory benchmark in quick mode, as a subprocess: it must finish and write memory.json with
 * every phase's figure. The numbers themselves are not checked (no thresholds), only that each
 * was measured and that the pools kept the connections they should.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-bench-memory-");

test("bench - memory quick run writes memory.json with the heap per known peer of every phase", async () => {
  const { code, out } = await bench.run(["bench/memory.ts"], 120_000);
  expect(code, out).toBe(0);
  expect(out).toContain("Heap per known peer");
  const result = JSON.parse(readFileSync(join(bench.outDir, "memory.json"), "utf8"));
  expect(result.scenario).toBe("memory");
  expect(result.results.length).toBe(1);
  const r = result.results[0];
  expect(r.peers).toBe(500);
  for (const key of ["knownBytesPerPeer", "settledBytesPerPeer", "connectedUnlimitedBytesPerPeer", "connectedDefaultBytesPerPeer", "idleAgainBytesPerPeer"]) {
    expect(isPositive(r[key]), key).toBe(true);
  }
  // Every peer was called: the unlimited pool kept them all; the default one at most its cap.
  expect(r.unlimitedOpen).toBe(500);
  expect(r.defaultOpen).toBeLessThanOrEqual(256);
  expect(result.summary.length).toBe(3);
}, 150_000);
