/**
 * The settled-swarm benchmark in quick mode, as a subprocess: it must finish and write a result
 * file whose figures are of the right shape. No timing thresholds: only counts that do not depend
 * on the machine's speed are checked (a node that talks to nobody sends nothing; a settled gossip
 * node probes about once a second).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-settled-");

test("bench - settled quick run writes settled.json with the baseline and the settled gossip swarm", async () => {
  const { code, out } = await bench.run(["bench/settled.ts"], 150_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(bench.outDir, "settled.json"), "utf8"));
  expect(result.scenario).toBe("settled");
  const [base, gossip] = result.results;
  expect(base.phase).toBe("baseline");
  expect(gossip.phase).toBe("gossip");
  for (const r of [base, gossip]) {
    expect(r.nodes).toBe(20);
    expect(isPositive(r.cpuMsPerNodePerSec)).toBe(true);
  }
  expect(base.messagesPerNodePerSec).toBe(0);
  expect(base.settleSeconds).toBeNull();
  expect(base.joinCpuMsPerNode).toBeNull();
  expect(gossip.settleSeconds).toBeGreaterThanOrEqual(0);
  // Joining costs something: at least the join calls and the first probes of 19 members.
  expect(isPositive(gossip.joinCpuMsPerNode)).toBe(true);
  // One probe round a second, stretched by local health on a loaded machine.
  expect(gossip.probesPerNodePerSec).toBeGreaterThan(0);
  expect(gossip.probesPerNodePerSec).toBeLessThanOrEqual(1.5);
  expect(result.summary.length).toBe(3);
}, 180_000);
