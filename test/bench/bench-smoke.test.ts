/**
 * The RPC benchmark in quick mode, as a subprocess: it must finish and write a result file with the
 * expected fields. No timing thresholds: the numbers themselves are not checked, only their shape.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-bench-");
const outDir = bench.outDir;
const runQuick = bench.run;

test("bench - rpc quick run writes rpc.json with raw, client and codec figures", async () => {
  const { code, out } = await runQuick(["bench/rpc.ts"], 60_000);
  expect(code, out).toBe(0);
  expect(out).toContain("Client vs raw: targets");

  const result = JSON.parse(readFileSync(join(outDir, "rpc.json"), "utf8"));
  expect(result.scenario).toBe("rpc");
  expect(result.environment.quick).toBe(true);
  expect(result.environment.cores).toBeGreaterThan(0);
  for (const side of [result.raw, result.client, result.rawCoalesced]) {
    expect(isPositive(side.sequential.p50Us)).toBe(true);
    expect(side.sequential.p99Us).toBeGreaterThanOrEqual(side.sequential.p50Us);
    expect(side.sequential.samples).toBeGreaterThan(0);
    for (const batch of result.config.batches) expect(isPositive(side.pipelined[batch].reqPerSec)).toBe(true);
  }
  expect(isPositive(result.ratios.sequentialP50)).toBe(true);
  expect(isPositive(result.ratios.worstThroughput)).toBe(true);
  expect(typeof result.targets.sequentialMet).toBe("boolean");
  expect(typeof result.targets.throughputMet).toBe("boolean");
  for (const message of ["request", "response"]) {
    const c = result.codec[message];
    for (const key of ["encodeGeneralNs", "encodeFastNs", "decodeGeneralNs", "decodeFastNs", "encodeRecordsNs", "decodeRecordsNs"]) {
      expect(isPositive(c[key])).toBe(true);
    }
    expect(c.bytes).toBeGreaterThan(40);
  }
  expect(result.summary.length).toBeGreaterThan(0);
}, 90_000);

test("bench - the runner runs a named scenario and records it in index.json", async () => {
  const { code, out } = await runQuick(["bench/index.ts", "rpc"], 60_000);
  expect(code, out).toBe(0);
  const index = JSON.parse(readFileSync(join(outDir, "index.json"), "utf8"));
  expect(index.scenarios.map((s: { scenario: string }) => s.scenario)).toEqual(["rpc"]);
  expect(index.scenarios[0].ok).toBe(true);
  expect(index.scenarios[0].resultFile).toBe(join(outDir, "rpc.json"));
  expect(index.scenarios[0].summary.length).toBeGreaterThan(0);
}, 90_000);

test("bench - the runner refuses an unknown scenario", async () => {
  const { code, out } = await runQuick(["bench/index.ts", "no-such-scenario"], 30_000);
  expect(code).toBe(2);
  expect(out).toContain("unknown scenario");
}, 60_000);

test("bench - the fault run (quick): members killed mid-ask and restarted on their SQLite file lose nothing they acknowledged", async () => {
  const { code, out } = await runQuick(["bench/soak/soak.ts", "--fault", "--minutes", "0.1"], 90_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(outDir, "soak-fault.json"), "utf8"));
  expect(result.scenario).toBe("soak-fault");
  expect(result.asks).toBeGreaterThan(0);
  expect(result.kills).toBeGreaterThan(0);
  expect(result.lost).toBe(0);
  expect(result.samples.length).toBeGreaterThan(0);
  for (const sample of result.samples) expect(sample.rssKiB.length).toBe(result.members);
}, 120_000);
