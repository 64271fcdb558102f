/**
 * A member declared dead by mistake hears of it from the first member it talks to, and refutes
 * (virtual clock, no real time). Before, gossip went to live members only and the answers it got
 * said nothing about its death once the queues had sent it on: it stayed dead everywhere until its
 * next full-state exchange (docs/performance-log.md, issue #12 at 1,000 nodes).
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { MemberUpdate } from "../../src/membership/swim-types.ts";
import { readWhole } from "../../src/membership/swim-wire.ts";
import { convergedSwarm, type SimNode } from "./swim-sim.ts";
import { startNode, stopAll } from "./fixtures.ts";
import type { NodeOptions } from "../../src/node.ts";

afterEach(stopAll);

/** Member `v` as `viewer` holds it, in `state`, said by `from`. */
function about(viewer: SimNode, v: SimNode, state: MemberUpdate["state"], from: string): MemberUpdate {
  const m = viewer.core.member(v.id)!;
  return { id: v.id, incarnation: m.incarnation, state, address: m.address, port: m.port, from };
}

describe("swim core - the dead refute", () => {
  test("a live member held dead everywhere is told by the answer to its next message, and is alive everywhere again within a few probe intervals", async () => {
    const net = await convergedSwarm(12);
    const victim = net.nodes[11]!;
    const rest = net.nodes.slice(0, 11);
    // Paused (it sends nothing) while the others declare it dead and their queues send that on.
    victim.core.stop();
    // Every other node declares it dead on its own word (no doubt: each is the author).
    for (const n of rest) await n.core.handle({ kind: "gossip", from: rest[0]!.id === n.id ? rest[1]!.id : rest[0]!.id, updates: [about(n, victim, "dead", n.id)] });
    for (const n of rest) expect(net.view(n, victim)).toBe("dead");
    const before = victim.core.stats().refutations;
    // Let every queue send the death on (12 transmissions, 3 per 0.2 s round): after that, only an
    // answer to the victim's own messages can tell it. Then the victim carries on.
    await net.clock.run(3);
    victim.core.start();
    const took = await net.runUntil(() => rest.every((n) => net.view(n, victim) === "alive"), 25, 0.1);
    expect(victim.core.stats().refutations).toBeGreaterThan(before);
    for (const n of rest) expect(net.view(n, victim)).toBe("alive");
    // Its next probe (one a second) is answered with its death; its refutation then spreads by
    // gossip in a second or two. Without the answer it waited for its next full exchange (30 s).
    expect(took).toBeLessThan(5);
  });

  test("an answer to a member held suspect carries its suspicion first, after the queue sent it on", async () => {
    const net = await convergedSwarm(4);
    const [a, b] = net.nodes as [SimNode, SimNode];
    const suspect = net.nodes[3]!;
    net.kill(suspect); // silent: it refutes nothing meanwhile
    await a.core.handle({ kind: "gossip", from: b.id, updates: [about(a, suspect, "suspect", a.id)] });
    // The queue sends it 6 times, 3 a round: gone from a's queue well before the suspicion ends (4 s).
    await net.clock.run(1.5);
    expect(net.view(a, suspect)).toBe("suspect");
    expect(a.core.stats().queued).toBe(0);
    const answer = await a.core.handle({ kind: "gossip", from: suspect.id, updates: [] });
    expect(answer?.kind).toBe("ack");
    const first = answer && "updates" in answer ? answer.updates[0] : undefined;
    expect(first).toMatchObject({ id: suspect.id, state: "suspect" });
  });
});

const GOSSIP: NodeOptions = { swarm: "lab", bind: "127.0.0.1", heartbeatInterval: 0.3, peerTimeout: 3 };

describe("gossip bridge - the dead refute", () => {
  test("a message from a member held dead, from its own address, is answered with its death instead of refused", async () => {
    const a = await startNode({ ...GOSSIP, name: "a" });
    const b = await startNode({ ...GOSSIP, name: "b" });
    const gossip = a.membership.gossip!;
    const claimB = b.membership.gossip!.core!.introduction();
    // a meets b first-hand, then holds it dead (its own verdict: no doubt).
    await gossip.receive("gossip", { kind: "gossip", from: b.id, updates: [claimB] }, "127.0.0.1");
    expect(a.peers.has(b.id)).toBe(true);
    const dead = { id: b.id, incarnation: claimB.incarnation, state: "dead", address: claimB.address, port: claimB.port, from: a.id };
    gossip.core!.learn(dead as MemberUpdate);
    expect(gossip.core!.member(b.id)?.state).toBe("dead");
    expect(a.peers.has(b.id)).toBe(false);
    // From another address: refused as before.
    await expect(gossip.receive("gossip", { kind: "gossip", from: b.id, updates: [] }, "10.9.9.9")).rejects.toMatchObject({ code: "bad_request" });
    for (const kind of ["gossip", "ping_req"] as const) {
      const message = kind === "gossip" ? { kind, from: b.id, updates: [] } : { kind, from: b.id, target: { id: a.id, address: "127.0.0.1", port: a.port }, updates: [] };
      const answer = (await gossip.receive(kind, message, "127.0.0.1")) as { kind: string; updates: unknown[] };
      const first = readWhole(answer.updates[0]);
      expect(first).toMatchObject({ id: b.id, state: "dead" });
    }
    // b takes it, refutes, and its refutation (its own claim at its own address) makes it alive at a again.
    const refuted = b.membership.gossip!.core!;
    refuted.learn(dead as MemberUpdate);
    expect(refuted.stats().refutations).toBe(1);
    await gossip.receive("gossip", { kind: "gossip", from: b.id, updates: [refuted.introduction()] }, "127.0.0.1");
    expect(gossip.core!.member(b.id)?.state).toBe("alive");
    expect(a.peers.has(b.id)).toBe(true);
  });
});
