/**
 * A killed process's members, found quickly on loaded nodes (virtual clock, no real time): what
 * the 500-node swarm bench traced on Nov 30 (docs/performance.md): a crash's first verdict came
 * seconds after its first suspicion, because suspicions grew no confirmations from the nodes that
 * held them on another node's word, a refused member's suspicion waited again for every moment
 * its suspecter's event loop was blocked (tested with the other refused-suspicion cases in
 * swim-health.test.ts), and a doubted death waited for helpers' nacks when the
 * node's own ping had found the member's port closed.
 */
import { describe, expect, test } from "bun:test";
import type { MemberUpdate, SwimMessage } from "../../src/membership/swim-types.ts";
import { convergedSwarm, readWholeMessage, type SimNetwork, type SimNode } from "./swim-sim.ts";

const swarm = convergedSwarm;

/** Member `d` as `viewer` holds it, as an update in `state` said by `from`. */
function about(viewer: SimNode, d: SimNode, state: MemberUpdate["state"], from: string): MemberUpdate {
  const m = viewer.core.member(d.id)!;
  return { id: d.id, incarnation: m.incarnation, state, address: m.address, port: m.port, from };
}

/** Record every message the nodes handle (their updates read whole). */
function tapAll(net: SimNetwork): SwimMessage[] {
  const seen: SwimMessage[] = [];
  for (const node of net.nodes) {
    const handle = node.core.handle.bind(node.core);
    node.core.handle = (raw: unknown) => {
      const message = readWholeMessage(raw);
      if (message) seen.push(message);
      return handle(raw);
    };
  }
  return seen;
}

describe("swim core - a crash on loaded nodes", () => {
  test("a node that holds a member suspect on another node's word and fails its own probe of it confirms the suspicion, and spreads that", async () => {
    const net = await swarm(6);
    const victim = net.nodes[5]!;
    const rest = net.nodes.slice(0, 5);
    const seen = tapAll(net);
    net.kill(victim); // silent: no refused connects to hurry anything
    // Everyone hears of a suspicion by a node of no account first ("z"): nobody suspects it on its own.
    for (const n of rest) await n.core.handle({ kind: "gossip", from: "z", updates: [about(n, victim, "suspect", "z")] });
    for (const n of rest) expect(net.view(n, victim)).toBe("suspect");
    const start = net.clock.now;
    await net.runUntil(() => rest.every((n) => net.view(n, victim) === "dead"), 60, 0.05);
    for (const n of rest) expect(net.view(n, victim)).toBe("dead");
    // Each live node's failed probe confirmed the suspicion (without it: no confirmation at all).
    expect(rest.reduce((sum, n) => sum + n.core.stats().confirmations, 0)).toBeGreaterThan(0);
    // ... and told others so, in its own name.
    const own = seen.filter((m) => "updates" in m && m.updates.some((u) => u.id === victim.id && u.state === "suspect" && u.from === m.from));
    expect(own.length).toBeGreaterThan(0);
    // Confirmed, the suspicion times out at its minimum (4 s) rather than its maximum (6 x 4 s)
    // at the latest node, within one round of probes (5 members: 5 s) of the first suspicion.
    expect(net.clock.now - start).toBeLessThan(4 + 5 + 1);
  });

  test("a doubted death whose own ping is refused is settled at once, without waiting for slow helpers' nacks", async () => {
    const net = await swarm(6);
    const [a, c] = net.nodes as [SimNode, SimNode];
    const victim = net.nodes[5]!;
    // Every helper answers late (0.4 s), within the probe interval: waiting for them costs that much.
    for (const n of net.nodes) n.answerDelay = 0.4;
    a.core.heardFrom(victim.id);
    net.kill(victim, true);
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, victim, "dead", c.id)] });
    expect(a.core.stats().deathsDoubted).toBe(1);
    expect(net.view(a, victim)).toBe("suspect");
    const doubtedAt = net.clock.now;
    await net.runUntil(() => net.view(a, victim) === "dead", 10, 0.01);
    expect(net.view(a, victim)).toBe("dead");
    // The refused ping comes back after two latencies (10 ms); a helper's nack after 0.4 s more.
    expect(net.clock.now - doubtedAt).toBeLessThan(0.2);
  });
});
