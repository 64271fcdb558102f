/**
 * The closed-swarm benchmark in quick mode, as a subprocess: it must finish and write
 * security.json with plaintext, encrypted and handshake figures. No timing thresholds: only the
 * shape of the result is checked.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-bench-security-");
const outDir = bench.outDir;


test("bench - security quick run writes security.json with plaintext, encrypted and handshake figures", async () => {
  const { code, out } = await bench.run(["bench/security.ts"], 60_000);
  expect(code, out).toBe(0);
  expect(out).toContain("Closed vs open: targets");
  const result = JSON.parse(readFileSync(join(outDir, "security.json"), "utf8"));
  expect(result.scenario).toBe("security");
  for (const side of [result.plain, result.secure]) {
    expect(isPositive(side.sequentialP50Us)).toBe(true);
    expect(isPositive(side.pipelinedReqPerSec)).toBe(true);
  }
  // The sequential ratio is the median of the rounds' own ratios (one round in quick mode).
  expect(result.sequentialPairs.rounds.length).toBe(result.config.rounds);
  expect(result.sequentialPairs.rounds.every(isPositive)).toBe(true);
  expect(result.ratios.sequentialP50).toBeGreaterThanOrEqual(result.sequentialPairs.lowest);
  expect(result.ratios.sequentialP50).toBeLessThanOrEqual(result.sequentialPairs.highest);
  expect(isPositive(result.sequentialPairs.ofMedians)).toBe(true);
  expect(isPositive(result.handshake.tcpP50Us)).toBe(true);
  expect(isPositive(result.handshake.cpuP50Us)).toBe(true);
  expect(typeof result.targets.handshakeMet).toBe("boolean");
}, 90_000);
