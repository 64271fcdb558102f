/**
 * bench/membership.ts in quick mode, as a subprocess: it must finish, print its table and write a
 * result file of the expected shape. The numbers are not judged (no timing thresholds), except
 * facts that do not depend on speed: every scenario converged and counted heartbeats, and the
 * swarm of processes saw its killed process go offline.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-membership-bench-");
const outDir = bench.outDir;

test("membership - bench quick run writes membership.json with convergence and heartbeat rates", async () => {
  const { code, out } = await bench.run(["bench/membership.ts"], 100_000);
  expect(code, out).toBe(0);
  expect(out).toContain("membership: N nodes joined through one seed");

  const result = JSON.parse(readFileSync(join(outDir, "membership.json"), "utf8"));
  expect(result.scenario).toBe("membership");
  expect(result.environment.quick).toBe(true);
  expect(out).toContain("machine: raw Bun echo ");
  expect(result.environment.rawEchoUs).toBeGreaterThan(0);
  expect(result.scenarios.map((s: { nodes: number }) => s.nodes)).toEqual([20, 50]);
  for (const s of result.scenarios) {
    expect(s.convergenceMs).toBeGreaterThan(0);
    expect(s.convergenceJoins).toBeGreaterThanOrEqual(s.nodes - 1);
    expect(s.heartbeatsPerNodePerSec).toBeGreaterThan(0);
    expect(s.expectedPerNodePerSec).toBeCloseTo((s.nodes - 1) / s.heartbeatInterval, 3);
  }
  // The swarm of processes: converged, counted its membership calls, saw the killed process go.
  expect(out).toContain("membership swarm: N nodes over several processes");
  expect(result.swarm.map((s: { mode: string; nodes: number; processes: number }) => [s.mode, s.nodes, s.processes])).toEqual([["gossip", 30, 2]]);
  for (const s of result.swarm) {
    expect(s.allKnowAll).toBeGreaterThanOrEqual(0);
    // Counted from the last join's start, not its return: never less than the figure above.
    expect(s.allKnowAllFromLastStart).toBeGreaterThanOrEqual(s.allKnowAll);
    expect(s.membershipCallsPerNodePerSec).toBeGreaterThan(0);
    expect(s.heapPerKnownPeer).not.toBeNull();
    expect(s.killed).toBe(14);
    expect(s.offlineEverywhere).toBeGreaterThan(0);
  }
  expect(result.summary.length).toBe(7);
}, 120_000);

test("membership - bench quick swarm with --warm-baseline and --warm-deaths: the workers warm up first, their warm-up nodes see the deaths, and the table says so", async () => {
  const { code, out } = await bench.run(["bench/membership.ts", "--swarm-only", "--warm-baseline", "--warm-deaths", "3"], 100_000);
  expect(code, out).toBe(0);
  expect(out).toContain("warmed baseline with 3 deaths");
  const result = JSON.parse(readFileSync(join(outDir, "membership.json"), "utf8"));
  expect(result.scenarios).toEqual([]);
  expect(result.swarm).toHaveLength(1);
  const [s] = result.swarm;
  expect(s.warmBaseline).toBe(true);
  expect(s.warmDeaths).toBe(3);
  // Every kept warm-up node of both workers dropped the three stopped ones.
  expect(s.warmDeathsSeen).toBe(3);
  expect(s.allKnowAll).toBeGreaterThanOrEqual(0);
  expect(typeof s.heapPerKnownPeer).toBe("number");
  expect(s.killed).toBe(14);
}, 120_000);

test("membership - bench quick swarm with --layout: the workers hold the counts given, the last one's nodes are the ones killed; a layout for no swarm of the run is one line", async () => {
  const { code, out } = await bench.run(["bench/membership.ts", "--swarm-only", "--layout", "19,10", "--join-rate", "15"], 100_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(outDir, "membership.json"), "utf8"));
  expect(result.swarm).toHaveLength(1);
  const [s] = result.swarm;
  expect(s.layout).toEqual([19, 10]);
  expect(s.processes).toBe(2);
  // Paced at 15 a second, the 29 joiners start within 2 s: all of them in the last 5 s of starts,
  // each with its `_synapse.join` call and its wait for the state exchange with the seed after it
  // (gossip mode) timed.
  expect(s.joinStages.joins).toBe(29);
  expect(s.joinStages.call.max).toBeGreaterThan(0);
  expect(s.joinStages.exchange.max).toBeGreaterThan(0);
  expect(out).toContain("swarm gossip 30: the 29 joins of the last 5 s of starts");
  expect(s.killed).toBe(10);
  expect(s.offlineEverywhere).toBeGreaterThan(0);
  expect(s.allKnowAll).toBeGreaterThanOrEqual(0);

  const wrong = await bench.run(["bench/membership.ts", "--swarm-only", "--layout", "20,10"], 30_000);
  expect(wrong.code).toBe(2);
  expect(wrong.out.trim().split("\n").filter((line) => line.includes("--layout"))).toEqual(["--layout 20,10: it is for a swarm of 31 nodes, and this run's are 30 (--sizes)"]);
  expect(wrong.out).not.toContain("    at ");

  const badDeaths = await bench.run(["bench/membership.ts", "--swarm-only", "--warm-deaths", "many"], 30_000);
  expect(badDeaths.code).toBe(2);
  expect(badDeaths.out.trim().split("\n").filter((line) => line.includes("--warm-deaths"))).toEqual([
    "--warm-deaths many: give the number of warm-up nodes to stop, a whole number from 1 to 200 (as 18: at 16 deaths within 10 s a node counts a mass failure)",
  ]);
  expect(badDeaths.out).not.toContain("    at ");
}, 180_000);
