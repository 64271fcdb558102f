/**
 * bench/sim/membership-sim.ts in quick mode, as a subprocess, and the chart drawn from what it
 * wrote. The simulation runs on a virtual clock with seeded randomness, so its facts do not depend
 * on the machine's speed: the swarm converges, nobody alive is suspected in the steady window, a
 * node sends about one probe and answers about one per second whatever N, the killed node is dead
 * everywhere; the mesh's load is 2 (N - 1) messages per node per second.
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { quickBench } from "../helpers/bench.ts";
import { chart, gossipSteadyMessages, type SimResults } from "../../bench/sim/chart.ts";

const bench = quickBench("synapse-membership-sim-");

test("membership sim - quick run: SWIM cores converge, detect a kill, load flat in N; the chart draws it", async () => {
  const { code, out } = await bench.run(["bench/sim/membership-sim.ts"], 100_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(bench.outDir, "membership-sim.json"), "utf8")) as SimResults & Record<string, unknown>;
  expect(result.scenario).toBe("membership-sim");
  const gossip = result.gossip as unknown as Array<Record<string, number | null>>;
  expect(gossip.map((g) => g.nodes)).toEqual([50, 200]);
  for (const g of gossip) {
    expect(g.allKnowAll).not.toBeNull();
    expect(g.joinKnown99).not.toBeNull();
    expect(g.deadEverywhere).not.toBeNull();
    expect(g.falseSuspicions).toBe(0);
    expect(g.falseDeaths).toBe(0);
    // One probe sent and one answered per second, plus the rare push-pull.
    expect(g.msgsPerNodePerSec!).toBeGreaterThan(1.5);
    expect(g.msgsPerNodePerSec!).toBeLessThan(3);
  }
  for (const m of result.mesh as unknown as Array<{ nodes: number; msgsPerNodePerSec: number }>) expect(m.msgsPerNodePerSec).toBeCloseTo(2 * (m.nodes - 1), 3);
  const model = result.model as unknown as Array<{ nodes: number; p99: number }>;
  expect(model.map((m) => m.nodes)).toEqual([50, 200, 1000]);
  for (const m of model) expect(m.p99).toBeGreaterThan(0);
  expect(gossipSteadyMessages(1000, result.config)).toBeCloseTo(2 + 2 / (30 * 6), 6);

  const svg = chart(result);
  expect(svg).toStartWith("<svg ");
  expect(svg.match(/<path /g)?.length).toBe(7); // four time series, three load series
}, 120_000);
