/**
 * A mass join (virtual clock, no real time): what the 500-node swarm bench traced on Nov 30
 * (docs/performance.md, "Issue #12: convergence at 500 and 1,000"): after its catch-up pulls a
 * joiner could still miss a member its seed did not hold alive when it looked.
 */
import { describe, expect, test } from "bun:test";
import { SimNetwork } from "./swim-sim.ts";

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
