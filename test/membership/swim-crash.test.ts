/**
 * A killed process's members, found quickly on loaded nodes (virtual clock, no real time): what
 * the 500-node swarm bench traced on Nov 30 (docs/performance-log.md): a crash's first verdict came
 * seconds after its first suspicion, because suspicions grew no confirmations from the nodes that
 * held them on another node's word, a refused member's suspicion waited again for every moment
 * its suspecter's event loop was blocked, and a doubted death waited for helpers' nacks when the
 * node's own ping had found the member's port closed. And from the 1,000-node kill (Dec 1): a
 * refused send to a suspect is its verdict, and a ping lost with a connection the crash closed is
 * sent again (a refused ping is a verdict of its own: swim-health.test.ts). And from s28: a node
 * that doubted many deaths settles them by probes under way together.
 */
import { describe, expect, test } from "bun:test";
import type { MemberUpdate, SwimMessage } from "../../src/membership/swim-types.ts";
import { convergedSwarm, readWholeMessage, SimNetwork, type SimNode } from "./swim-sim.ts";

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

  test("many doubted deaths are settled by probes under way together, not four at a time", async () => {
    // A one-way latency of 0.25 s: each probe's refused ping takes that long, as on a loaded node.
    const net = await swarm(30, new SimNetwork({}, 1, 0.25));
    const [a, c] = net.nodes as [SimNode, SimNode];
    const victims = net.nodes.slice(10, 26);
    for (const v of victims) a.core.heardFrom(v.id); // heard from a moment ago: c's verdicts are doubted at a
    for (const v of victims) net.kill(v, true);
    const doubts = a.core.stats().deathsDoubted;
    await a.core.handle({ kind: "gossip", from: c.id, updates: victims.map((v) => about(a, v, "dead", c.id)) });
    expect(a.core.stats().deathsDoubted - doubts).toBe(victims.length);
    // The probes under way together: their refusals come back within about one latency. (Four or
    // five at a time settled five by then; the member this node was probing in its round already,
    // its ping lost with the kill, is settled by that probe's timeout.)
    await net.clock.run(0.4);
    expect(victims.filter((v) => net.view(a, v) === "dead").length).toBeGreaterThanOrEqual(victims.length - 1);
    await net.runUntil(() => victims.every((v) => net.view(a, v) === "dead"), 10, 0.01);
    for (const v of victims) expect(net.view(a, v)).toBe("dead");
  });

  test("a member held suspect on another node's word is dead at this node's first send its port refuses, not after the suspicion", async () => {
    const net = await swarm(6);
    const [a, c] = net.nodes as [SimNode, SimNode];
    const victim = net.nodes[5]!;
    net.kill(victim, true);
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, victim, "suspect", c.id)] });
    expect(net.view(a, victim)).toBe("suspect");
    const declared = a.core.stats().deathsDeclared;
    const at = net.clock.now;
    // a tells the suspect of its suspicion (one gossip message, as a reminder does): refused.
    void a.core.remind(victim.id);
    await net.runUntil(() => net.view(a, victim) === "dead", 10, 0.005);
    expect(net.view(a, victim)).toBe("dead");
    expect(a.core.stats().deathsDeclared - declared).toBe(1);
    // Two latencies (10 ms), where the suspicion would have run 4 s at least.
    expect(net.clock.now - at).toBeLessThan(0.05);
  });

  test("a probe whose ping is lost with a connection the member's crash closed sends it again, and the refused connect is the verdict: no helper asked", async () => {
    const net = await swarm(6);
    const [a, c] = net.nodes as [SimNode, SimNode];
    const victim = net.nodes[5]!;
    a.core.heardFrom(victim.id); // so that c's verdict is doubted at a, and a probes the victim at once
    net.kill(victim, true, 10); // each node's first send to it within 10 s fails as on a closed connection
    const indirect = a.core.stats().indirectProbes;
    const at = net.clock.now;
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, victim, "dead", c.id)] });
    expect(a.core.stats().deathsDoubted).toBe(1);
    await net.runUntil(() => net.view(a, victim) === "dead", 10, 0.005);
    expect(net.view(a, victim)).toBe("dead");
    // The lost ping, then the refused one: four latencies. Without the second ping, a asked
    // helpers and waited out its probe interval (1 s) before the doubt was settled.
    expect(a.core.stats().indirectProbes - indirect).toBe(0);
    expect(net.clock.now - at).toBeLessThan(0.1);
  });

  test("another member's confirmation of a suspicion is passed on twice, this node's own the full count", async () => {
    const net = await swarm(6, new SimNetwork({ retransmitMult: 6 }));
    const [a, c, d, e] = net.nodes as [SimNode, SimNode, SimNode, SimNode];
    const victim = net.nodes[5]!;
    for (const n of net.nodes) n.core.stop(); // no timers: a's only messages are its answers below
    // Counted in the answers to e's pings: an answer to the member that sent a the news does not carry it back.
    const carried = async (from: string): Promise<number> => {
      let count = 0;
      for (let i = 0; i < 12; i++) {
        const ack = await a.core.handle({ kind: "ping", from: e.id, target: a.id, updates: [] });
        const updates = ack && "updates" in ack ? ack.updates : [];
        if (updates.some((u) => u.id === victim.id && u.state === "suspect" && u.from === from)) count++;
      }
      return count;
    };
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, victim, "suspect", c.id)] });
    // A suspicion goes 6 times (6 x ceil(log10(7)), retransmitMult 6 here), none of them in the answer to the gossip that brought it.
    expect(await carried(c.id)).toBe(6);
    await a.core.handle({ kind: "gossip", from: d.id, updates: [about(a, victim, "suspect", d.id)] });
    expect(a.core.stats().confirmations).toBe(1);
    expect(await carried(d.id)).toBe(2); // twice
  });

  test("a death another member relayed is passed on in full; in a mass failure (16 deaths within the resend window) 6 times; this node's own verdict, the full count", async () => {
    // retransmitMult 6: at 21 members the full count, 6 x ceil(log10(22)) = 12, stands past the mass failure's cap of 6.
    const net = await swarm(21, new SimNetwork({ retransmitMult: 6 }));
    const [a, c, e] = net.nodes as [SimNode, SimNode, SimNode];
    const many = net.nodes.slice(3, 19);
    const [relayed, killed] = net.nodes.slice(19) as [SimNode, SimNode];
    for (const n of net.nodes) n.core.stop();
    await net.clock.run(30); // a heard from nobody lately: no death is doubted
    const deathOf = (updates: readonly MemberUpdate[], d: SimNode) => updates.some((u) => u.id === d.id && u.state === "dead");
    // Counted in the answers to e's pings (no answer to c, who sent the deaths, carries them back).
    const carried = async (d: SimNode): Promise<number> => {
      let count = 0;
      for (let i = 0; i < 20; i++) {
        const ack = await a.core.handle({ kind: "ping", from: e.id, target: a.id, updates: [] });
        if (ack && "updates" in ack && deathOf(ack.updates, d)) count++;
      }
      return count;
    };
    // One death relayed: the full count.
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, many[0]!, "dead", c.id)] });
    expect(await carried(many[0]!)).toBe(12);
    // Fifteen more within the window make sixteen: the next one relayed goes 6 times.
    await a.core.handle({ kind: "gossip", from: c.id, updates: many.slice(1).map((d) => about(a, d, "dead", c.id)) });
    await net.clock.run(1);
    await a.core.handle({ kind: "gossip", from: c.id, updates: [about(a, relayed, "dead", c.id)] });
    expect(net.view(a, relayed)).toBe("dead");
    expect(await carried(relayed)).toBe(6);
    // Its own verdict, in the same mass failure: a's probe finds the killed member's port closed
    // (dead at once), and a gossips that in its requests, the only messages sent (the others'
    // timers are stopped).
    const sent = { count: 0 };
    for (const node of net.nodes.slice(1)) {
      const handle = node.core.handle.bind(node.core);
      node.core.handle = (raw: unknown) => {
        const message = readWholeMessage(raw);
        if (message?.from === a.id && "updates" in message && deathOf(message.updates, killed)) sent.count++;
        return handle(raw);
      };
    }
    net.kill(killed, true);
    const declared = a.core.stats().deathsDeclared;
    a.core.start();
    await net.runUntil(() => net.view(a, killed) === "dead", 9, 0.05);
    expect(net.view(a, killed)).toBe("dead");
    expect(a.core.stats().deathsDeclared).toBe(declared + 1);
    await net.clock.run(20);
    expect(sent.count).toBeGreaterThan(6);
    expect(sent.count).toBeLessThanOrEqual(12);
  });

  test("a member that dropped this node's connection is probed at once: dead on its refused ping, without its turn or a helper; a live one acks and stays", async () => {
    const net = await swarm(12);
    const [a, live] = net.nodes as [SimNode, SimNode];
    const victim = net.nodes[11]!;
    net.kill(victim, true); // a killed process: its connections closed, its port refuses
    const before = a.core.stats();
    const at = net.clock.now;
    expect(a.core.dropped(victim.id)).toBe(true);
    await net.runUntil(() => net.view(a, victim) === "dead", 10, 0.005);
    expect(net.view(a, victim)).toBe("dead");
    // One ping, refused: two latencies; its turn in the round could be eleven probe intervals away.
    expect(net.clock.now - at).toBeLessThan(0.05);
    const after = a.core.stats();
    expect(after.droppedProbes - before.droppedProbes).toBe(1);
    expect(after.deathsRefused - before.deathsRefused).toBe(1);
    expect(after.indirectProbes - before.indirectProbes).toBe(0);
    expect(after.suspects - before.suspects).toBe(0);
    // Held dead now: nothing more to do (the pool asks no one else); an unknown id is not this node's.
    expect(a.core.dropped(victim.id)).toBe(true);
    expect(a.core.dropped("nobody")).toBe(false);
    expect(a.core.stats().droppedProbes).toBe(after.droppedProbes);
    // A live member whose connection broke answers the probe and stays alive.
    expect(a.core.dropped(live.id)).toBe(true);
    await net.clock.run(2);
    expect(net.view(a, live)).toBe("alive");
    expect(a.core.stats().droppedProbes).toBe(after.droppedProbes + 1);
    expect(a.core.stats().suspects).toBe(before.suspects);
  });

  test("probes of members that dropped connections are bounded: past the cap the pool is told no, so that another node sharing it may probe", async () => {
    const net = await swarm(12);
    const a = net.nodes[0]!;
    const silent = net.nodes.slice(4); // eight members that answer nothing: their probes wait out their timeout
    for (const n of silent) net.kill(n);
    const taken = silent.map((n) => a.core.dropped(n.id));
    const first = taken.indexOf(false);
    // Every one up to the cap was taken (four or five, as the round's own probe is under way or not), none after it.
    expect(first).toBeGreaterThanOrEqual(4);
    expect(first).toBeLessThanOrEqual(5);
    expect(taken.slice(first).every((t) => !t)).toBe(true);
    expect(a.core.stats().droppedProbes).toBe(first);
  });
});
