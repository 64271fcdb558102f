/**
 * bench/lib/membership-worker.ts: a worker's nodes join only when told to. The paced join
 * (`--join-rate`) paces the `join` command; nodes made with their seeds joined them by themselves
 * a heartbeat interval after `start` (seed discovery's rejoin round), so every node of the swarm
 * joined at once, before the paced joins began.
 */
import { afterEach, expect, test } from "bun:test";
import { Worker as BenchWorker, joinSlots } from "../../bench/lib/membership-swarm.ts";
import { Node } from "../../src/index.ts";

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

test("membership bench worker - started nodes stay unjoined until the join command, then join the seed", async () => {
  const options = { swarm: "bench-worker-test", heartbeatInterval: 0.2, peerTimeout: 2, membership: "gossip" as const };
  const seed = new Node({ ...options, bind: "127.0.0.1", name: "seed" });
  await seed.start();
  cleanup.push(() => seed.stop({ leave: false }));
  const worker = new BenchWorker();
  cleanup.push(() => {
    worker.proc.kill();
    return worker.proc.exited;
  });
  await worker.ask({ type: "start", count: 3, seeds: [`127.0.0.1:${seed.port}`], options, name: "t0" }, "started", 20);
  // Five heartbeat intervals: seed discovery's rejoin round would have joined the seed by now.
  await Bun.sleep(1000);
  const before = await worker.ask({ type: "status", heap: false }, "status", 20);
  expect(before.maxKnown).toBe(0);
  expect(seed.membership.table.size).toBe(0);

  await worker.ask({ type: "join", rate: 0 }, "joined", 20);
  const limit = Date.now() + 10_000;
  let after = await worker.ask({ type: "status", heap: false }, "status", 20);
  while (after.minKnown !== 3 && Date.now() < limit) {
    await Bun.sleep(100);
    after = await worker.ask({ type: "status", heap: false }, "status", 20);
  }
  // Each node knows the seed and the worker's two others.
  expect(after.minKnown).toBe(3);
  expect(seed.membership.table.size).toBe(3);
}, 30_000);

test("the paced join interleaves the workers in proportion to their sizes", () => {
  // Equal sizes: one node of each in turn, as before layouts.
  expect(joinSlots([2, 2, 2])).toEqual([
    [0, 3],
    [1, 4],
    [2, 5],
  ]);
  // 375, 374 and 250: every place taken once, each worker's places spread over the whole join.
  const slots = joinSlots([375, 374, 250]);
  expect(slots.map((s) => s.length)).toEqual([375, 374, 250]);
  expect(new Set(slots.flat()).size).toBe(999);
  expect(Math.max(...slots.flat())).toBe(998);
  for (const s of slots) {
    expect(s[0]!).toBeLessThan(3);
    expect(s[s.length - 1]!).toBeGreaterThan(995);
    // No gap longer than five places (the smallest worker takes one place in four): at 25 joins a second, a join every 0.2 s at least.
    for (let i = 1; i < s.length; i++) expect(s[i]! - s[i - 1]!).toBeLessThanOrEqual(5);
  }
});
