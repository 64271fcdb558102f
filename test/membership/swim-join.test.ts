/**
 * A mass join on loaded nodes (virtual clock, no real time): what the 500-node swarm bench traced
 * on Nov 30 (docs/performance.md, "Issue #12: convergence at 500"): joiners whose exchange with a
 * slow seed timed out never took the seed's state nor pulled what changed there, and each join
 * again asked the loaded seed for its whole state once more.
 */
import { describe, expect, test } from "bun:test";
import { SimNetwork } from "./swim-sim.ts";

describe("swim core - joins through a slow seed", () => {
  test("a join answered after its wait still takes the seed's state and catches up; a join meanwhile sends no second exchange", async () => {
    // No gossip and no piggybacked updates: only exchanges with the seed carry members.
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1 });
    const seed = net.add();
    const at = { id: seed.id, address: "10.0.0.1", port: seed.port };
    const early = [net.add(), net.add()];
    for (const n of early) void n.core.join(at);
    await net.runUntil(() => early.every((n) => net.view(seed, n) === "alive"), 5);
    // The seed answers 2 s late (a mass join's load); the joiner waits 1 s.
    seed.answerDelay = 2;
    const joiner = net.add();
    const first = joiner.core.join(at, 1);
    await net.clock.run(1.5);
    expect(await first).toBe(false);
    expect(joiner.core.joinedWith(seed.id)).toBe(false);
    // Joined again (the next rejoin round) while the first exchange is still under way: it waits
    // for that exchange's answer, which now comes within its wait.
    const again = joiner.core.join(at, 1);
    await net.clock.run(1);
    expect(await again).toBe(true);
    expect(joiner.core.stats().joins).toBe(1);
    expect(joiner.core.joinedWith(seed.id)).toBe(true);
    for (const n of early) expect(net.view(joiner, n)).toBe("alive");
    // And the catch-up runs: a member that joins the seed afterwards reaches the joiner by a pull.
    seed.answerDelay = 0;
    const late = net.add();
    void late.core.join(at);
    await net.runUntil(() => net.view(joiner, late) === "alive", 10);
    expect(net.view(joiner, late)).toBe("alive");
    expect(joiner.core.stats().catchUps).toBeGreaterThan(0);
  });
});

describe("swim core - after the catch-up", () => {
  test("a joiner whose pulls ended exchanges full state once with another member, and learns what its seed never held", async () => {
    // No gossip, no piggybacked updates, no periodic push-pull within the test: only the joins,
    // the pulls and the exchange after them carry members.
    const net = new SimNetwork({ gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000 });
    const seed = net.add();
    const other = net.add();
    void other.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(seed, other) === "alive", 5);
    // A member that joined through `other` only: the seed never hears of it.
    const hidden = net.add();
    void hidden.core.join({ id: other.id, address: "10.0.0.1", port: other.port });
    await net.runUntil(() => net.view(other, hidden) === "alive", 5);
    const joiner = net.add();
    void joiner.core.join({ id: seed.id, address: "10.0.0.1", port: seed.port });
    await net.runUntil(() => net.view(joiner, hidden) === "alive", 20);
    expect(net.view(seed, hidden)).toBeUndefined();
    expect(net.view(joiner, hidden)).toBe("alive");
    // One exchange after the pulls, no more: the pulls ended, and nothing repeats it.
    const pushPulls = joiner.core.stats().pushPulls;
    await net.clock.run(20);
    expect(joiner.core.stats().pushPulls).toBe(pushPulls);
  });
});
