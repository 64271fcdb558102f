import { describe, expect, test } from "bun:test";
import { Suspicion, BroadcastQueue } from "../../src/membership/swim-queue.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { estimateBytes, leanDeathBytes } from "../../src/membership/swim-read.ts";
import type { MemberUpdate, SwimClaim } from "../../src/membership/swim-types.ts";
import { forgetPacked, packUpdate } from "../../src/membership/swim-wire.ts";
import { joinedPair, SimNetwork, type SimNode } from "./swim-sim.ts";

/** `count` nodes that all joined through the first one, run until every node sees every other alive. */
async function swarm(count: number, net = new SimNetwork()): Promise<SimNetwork> {
  const first = net.add();
  for (let i = 1; i < count; i++) {
    const node = net.add();
    void node.core.join({ id: first.id, address: "10.0.0.1", port: first.port });
  }
  const took = await net.runUntil(() => net.converged(), 120);
  expect(net.converged()).toBe(true);
  expect(took).toBeLessThan(120);
  return net;
}

const everSaw = (viewer: SimNode, subject: SimNode, state: string): boolean => viewer.changes.some(([id, s]) => id === subject.id && s === state);

describe("swim core - failure detection", () => {
  test("a node that stops answering is suspected, then dead at every other node", async () => {
    const net = await swarm(6);
    const [victim, ...rest] = net.nodes.slice(2).concat(net.nodes.slice(0, 2));
    net.kill(victim!);
    await net.runUntil(() => rest.every((n) => net.view(n, victim!) === "dead"), 120);
    for (const n of rest) {
      expect(net.view(n, victim!)).toBe("dead");
      expect(everSaw(n, victim!, "suspect")).toBe(true);
      // Nobody else was ever taken for dead.
      for (const other of rest) if (other !== n) expect(everSaw(n, other, "dead")).toBe(false);
    }
    const total = rest.reduce((sum, n) => sum + n.core.stats().suspects, 0);
    expect(total).toBeGreaterThan(0);
    expect(rest.reduce((sum, n) => sum + n.core.stats().deathsDeclared, 0)).toBeGreaterThan(0);
    expect(rest.reduce((sum, n) => sum + n.core.stats().indirectProbes, 0)).toBeGreaterThan(0);
    expect(rest[0]!.core.stats().dead).toBe(1);
  });

  test("a slow node whose acks come after the probe timeout (within the interval) is never suspected", async () => {
    const net = await swarm(5);
    const slow = net.nodes[3]!;
    slow.answerDelay = 0.7; // probeTimeout 0.5, probeInterval 1
    await net.clock.run(60);
    for (const n of net.nodes) if (n !== slow) expect(everSaw(n, slow, "suspect")).toBe(false);
    // The late acks did trigger indirect probes, which is what kept the verdict open.
    expect(net.nodes.reduce((sum, n) => sum + n.core.stats().indirectProbes, 0)).toBeGreaterThan(0);
    expect(net.converged()).toBe(true);
  });

  test("a node unreachable from one member but reachable from others is kept alive through indirect probes", async () => {
    const net = await swarm(5);
    const [a, , , t] = net.nodes;
    net.link(a!, t!, true);
    await net.clock.run(60);
    expect(everSaw(a!, t!, "suspect")).toBe(false);
    expect(net.view(a!, t!)).toBe("alive");
    expect(a!.core.stats().indirectAcks).toBeGreaterThan(0);
    expect(a!.core.stats().probesFailed).toBe(0);
  });
});

describe("swim core - refutation and updates", () => {
  test("a suspected node refutes with a higher incarnation and stays alive everywhere", async () => {
    const net = await swarm(5);
    const [a, , target] = net.nodes;
    a!.core.learn({ id: target!.id, incarnation: 0, state: "suspect", address: "10.0.0.1", port: target!.port, from: a!.id });
    expect(net.view(a!, target!)).toBe("suspect");
    await net.runUntil(() => net.converged() && net.nodes.every((n) => n === target || n.core.member(target!.id)!.incarnation >= 1), 60);
    expect(target!.core.stats().refutations).toBeGreaterThanOrEqual(1);
    expect(target!.core.stats().incarnation).toBeGreaterThanOrEqual(1);
    for (const n of net.nodes) if (n !== target) expect(n.core.member(target!.id)).toMatchObject({ state: "alive" });
    expect(net.nodes.some((n) => everSaw(n, target!, "dead"))).toBe(false);
  });

  test("duplicate and old updates are ignored, and reported once", async () => {
    const net = new SimNetwork();
    const a = net.add();
    const alive: MemberUpdate = { id: "x", incarnation: 3, state: "alive", address: "10.0.0.9", port: 9999, meta: { name: "x" } };
    const gossip = { kind: "gossip", from: "y", updates: [alive] };
    expect(await a.core.handle(gossip)).toMatchObject({ kind: "ack", from: a.id });
    const before = a.core.stats();
    await a.core.handle(gossip);
    await a.core.handle({ ...gossip, updates: [{ ...alive, incarnation: 2 }, { ...alive, state: "suspect", incarnation: 1 }, { ...alive, state: "dead", incarnation: 2 }] });
    const after = a.core.stats();
    expect(after.updatesApplied).toBe(before.updatesApplied);
    expect(after.updatesIgnored).toBe(before.updatesIgnored + 4);
    expect(a.changes).toEqual([["x", "alive"]]);
    expect(a.core.member("x")).toMatchObject({ incarnation: 3, state: "alive" });
    // A rumour about a stranger does not introduce it.
    await a.core.handle({ ...gossip, updates: [{ ...alive, id: "z", state: "suspect" }] });
    expect(a.core.member("z")).toBeUndefined();
  });

  test("malformed messages and updates are dropped and counted, never thrown", async () => {
    const net = new SimNetwork();
    const a = net.add();
    for (const bad of [null, 7, "ping", [], { kind: "ping" }, { kind: "nope", from: "y", updates: [] }, { kind: "ping", from: "y", updates: "x", target: a.id }, { kind: "ping_req", from: "y", updates: [], target: { id: "t" } }]) {
      expect(await a.core.handle(bad)).toBeNull();
    }
    const answer = await a.core.handle({ kind: "gossip", from: "y", updates: [{ id: "", incarnation: 0 }, { id: "q", incarnation: -1, state: "alive", address: "h", port: 1 }, { id: "w", incarnation: 0, state: "alive", address: "h", port: 2 }] });
    expect(answer?.kind).toBe("ack");
    expect(a.core.member("w")?.state).toBe("alive");
    expect(a.core.stats().malformed).toBe(8 + 2);
  });

  test("a leaving node is seen as left, not dead, and is not probed any more", async () => {
    const net = await swarm(4);
    const leaver = net.nodes[1]!;
    const done = leaver.core.leave(1);
    await net.clock.run(1);
    await done;
    net.kill(leaver);
    await net.runUntil(() => net.nodes.every((n) => n === leaver || net.view(n, leaver) === "left"), 30);
    for (const n of net.nodes) if (n !== leaver) expect(net.view(n, leaver)).toBe("left");
    expect(net.nodes.some((n) => everSaw(n, leaver, "suspect"))).toBe(false);
  });

  test("claims: own alive updates are signed, and a claim that does not verify is refused", async () => {
    const signed: SwimClaim[] = [];
    const claims = {
      sign: (claim: SwimClaim) => (signed.push(claim), new TextEncoder().encode(`by:${claim.id}`)),
      verify: (claim: SwimClaim, sig: Uint8Array | undefined) => sig !== undefined && new TextDecoder().decode(sig) === `by:${claim.id}`,
    };
    const { net, a, b } = await joinedPair({ claims });
    expect(net.converged()).toBe(true);
    expect(signed.some((c) => c.id === b.id && c.state === "alive")).toBe(true);
    const forged: MemberUpdate = { id: "mallory", incarnation: 9, state: "alive", address: "10.0.0.66", port: 1 };
    await a.core.handle({ kind: "gossip", from: b.id, updates: [forged, { ...forged, sig: new TextEncoder().encode("by:someone") }] });
    expect(a.core.member("mallory")).toBeUndefined();
    expect(a.core.stats().badClaims).toBe(2);
    // A forged `left` about b is refused too; b stays alive at a.
    await a.core.handle({ kind: "gossip", from: "x", updates: [{ id: b.id, incarnation: 5, state: "left", address: "10.0.0.1", port: b.port }] });
    expect(net.view(a, b)).toBe("alive");
  });
});

describe("swim core - dissemination", () => {
  test("50 cores joined through one seed converge, with a bounded number of messages per node per second", async () => {
    const net = await swarm(50, new SimNetwork({}, 7));
    const start = net.clock.now;
    const sentBefore = [...net.sent.values()].reduce((a, b) => a + b, 0);
    await net.clock.run(30);
    const perNodePerSecond = ([...net.sent.values()].reduce((a, b) => a + b, 0) - sentBefore) / 50 / (net.clock.now - start);
    // Steady state: one probe per interval plus the occasional push-pull, independent of N.
    expect(perNodePerSecond).toBeLessThan(3);
    expect(net.converged()).toBe(true);
    expect(net.nodes.every((n) => n.core.stats().alive === 49)).toBe(true);
  });

  test("steady load per node does not grow with the swarm (50 and 200 cores)", async () => {
    const perNode: number[] = [];
    for (const n of [50, 200]) {
      const net = new SimNetwork({}, 21, 0.005, false);
      const first = net.add();
      for (let i = 1; i < n; i++) void net.add().core.join({ address: "10.0.0.1", port: first.port });
      await net.runUntil(() => net.nodes.every((x) => x.core.stats().alive === n - 1 && x.core.stats().queued === 0), 120, 0.5);
      expect(net.nodes.every((x) => x.core.stats().alive === n - 1)).toBe(true);
      const before = [...net.sent.values()].reduce((a, b) => a + b, 0);
      await net.clock.run(20);
      perNode.push(([...net.sent.values()].reduce((a, b) => a + b, 0) - before) / n / 20);
    }
    // One probe a second and an occasional push-pull, whatever N: the mesh would be N - 1 a second.
    expect(perNode[0]!).toBeLessThan(1.5);
    expect(perNode[1]!).toBeLessThan(1.5);
    // Virtual time, but 250 cores' joins take seconds of real CPU: past bun's 5 s on a loaded machine.
  }, 60_000);

  test("push-pull alone catches up nodes that missed every update", async () => {
    // No piggybacking at all (a zero byte budget): only full-state exchanges carry news.
    const net = new SimNetwork({ maxPiggybackBytes: 0, pushPullInterval: 5 }, 3);
    const first = net.add();
    for (let i = 1; i < 8; i++) void net.add().core.join({ address: "10.0.0.1", port: first.port });
    await net.clock.run(1);
    // Node 1 joined before the others: it has only heard of the seed so far.
    expect(net.nodes[1]!.core.stats().alive).toBeLessThan(7);
    await net.runUntil(() => net.converged(), 120);
    expect(net.converged()).toBe(true);
    expect(net.nodes.reduce((sum, n) => sum + n.core.stats().updatesSent, 0)).toBe(0);
    expect(net.nodes.reduce((sum, n) => sum + n.core.stats().pushPulls, 0)).toBeGreaterThan(8);
  });

  test("a partition between two halves is detected on both sides, and heals after the link comes back", async () => {
    const net = await swarm(6, new SimNetwork({ pushPullInterval: 5 }, 11));
    const left = net.nodes.slice(0, 3);
    const right = net.nodes.slice(3);
    for (const a of left) for (const b of right) net.link(a, b, true);
    await net.runUntil(() => left.every((a) => right.every((b) => net.view(a, b) === "dead" && net.view(b, a) === "dead")), 300);
    for (const a of left) for (const b of right) expect(net.view(a, b)).toBe("dead");
    for (const a of left) for (const b of right) net.link(a, b, false);
    await net.runUntil(() => net.converged(), 300);
    expect(net.converged()).toBe(true);
    // The counts by state, kept as states change, match a recount after all that.
    for (const n of net.nodes) {
      const recount = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const m of n.core.members()) recount[m.state]++;
      expect(n.core.stats()).toMatchObject(recount);
    }
  });
});

describe("swim core - parts", () => {
  test("suspicion shrinks from max towards min with independent confirmations", () => {
    const s = new Suspicion(100, 4, 24, 2, "a");
    expect(s.deadline).toBe(124);
    expect(s.confirm("a")).toBe(false);
    expect(s.confirm("b")).toBe(true);
    expect(s.deadline).toBeLessThan(124);
    expect(s.deadline).toBeGreaterThan(104);
    expect(s.confirm("c")).toBe(true);
    expect(s.deadline).toBe(104);
    expect(s.confirm("d")).toBe(false);
    expect(new Suspicion(0, 4, 24, 0, "a").deadline).toBe(4);
  });

  test("the broadcast queue sends fewest-sent first, within its budget, each a bounded number of times", () => {
    const q = new BroadcastQueue((u) => estimateBytes(u));
    const u = (id: string, incarnation = 0): MemberUpdate => ({ id, incarnation, state: "alive", address: "h", port: 1 });
    q.push(u("a"));
    q.push(u("b"));
    expect(q.take(1000, 2).map((x) => x.id)).toEqual(["b", "a"]);
    q.push(u("c"));
    q.push(u("a", 1)); // replaces the queued a
    expect(q.size).toBe(3);
    const size = estimateBytes(u("a"));
    expect(q.take(size * 2, 2).map((x) => `${x.id}${x.incarnation}`)).toEqual(["a1", "c0"]);
    // All sent once now: newest first; each reaches its limit of two and leaves.
    expect(q.take(10_000, 2).map((x) => x.id)).toEqual(["a", "c", "b"]);
    expect(q.size).toBe(0);
    expect(q.take(10_000, 2)).toEqual([]);
  });

  test("the queue's size estimate of an update: its keys, values and nested meta, as before the allocation-free walk", () => {
    const update: MemberUpdate = { id: "node-1", incarnation: 7, state: "alive", address: "127.0.0.1", port: 9000, meta: { name: "n", caps: ["a", "bc"], deep: { a: { b: { c: { d: { e: 1 } } } } } }, sig: new Uint8Array(64) };
    // Each key its length + 1, a string its length + 3, a number 9, bytes their length + 3, a map
    // or list 3 + its entries, anything nested deeper than 4 levels 16 (`c`'s value here).
    const meta = 3 + (4 + 1 + 4) + (4 + 1 + (3 + 4 + 5)) + (4 + 1 + (3 + 1 + 1 + (3 + 1 + 1 + (3 + 1 + 1 + 16))));
    expect(estimateBytes(update)).toBe(3 + 12 + 21 + 14 + 20 + 14 + (4 + 1 + meta) + (3 + 1 + 67));
    // An array's holes count nothing; inherited keys nothing.
    expect(estimateBytes([1, , "ab"])).toBe(3 + 9 + 5);
    expect(estimateBytes(Object.create({ inherited: 1 }))).toBe(3);
    // A lean death's size without its array: the same estimate as of `[id, incarnation]`.
    for (const [id, incarnation] of [["", 0], ["node-1", 7], ["x".repeat(64), 2 ** 40]] as const) expect(leanDeathBytes(id)).toBe(estimateBytes([id, incarnation]));
  });

  test("a stopped core holds no timers", async () => {
    const net = new SimNetwork();
    const a = net.add();
    a.core.stop();
    expect(a.core.running).toBe(false);
    const core = new SwimCore({ id: "solo", address: "h", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")) });
    expect(core.stats()).toMatchObject({ alive: 0, incarnation: 0, probesSent: 0 });
  });
});

describe("swim core - the meta it keeps", () => {
  test("keepMeta is asked for news only: the member holds what it returns, copies of old news are not passed to it", () => {
    const kept: unknown[] = [];
    const core = new SwimCore(
      { id: "self", address: "h", port: 1 },
      { now: () => 0, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")), keepMeta: (meta) => (kept.push(meta), { ...(meta as object), kept: true }) },
    );
    const alive = (incarnation: number): MemberUpdate => ({ id: "m", incarnation, state: "alive", address: "h", port: 2, meta: { name: "m" } });
    core.learn(alive(1));
    expect(core.member("m")?.meta).toEqual({ name: "m", kept: true });
    core.learn(alive(1)); // old news
    expect(kept).toHaveLength(1);
    core.learn(alive(2));
    expect(kept).toHaveLength(2);
    expect(core.member("m")?.meta).toEqual({ name: "m", kept: true });
  });
});

describe("swim core - broadcast queue bounds", () => {
  test("past its capacity the queue drops the most-sent, oldest update, and keeps its lists consistent", () => {
    const q = new BroadcastQueue(() => 10, 3);
    const u = (id: string): MemberUpdate => ({ id, incarnation: 0, state: "alive", address: "h", port: 1 });
    q.push(u("a"));
    q.push(u("b"));
    expect(q.take(10, 5).map((x) => x.id)).toEqual(["b"]); // b sent once
    q.push(u("c"));
    q.push(u("d")); // full: b (the most sent) goes
    expect(q.size).toBe(3);
    expect(q.take(1000, 5).map((x) => x.id)).toEqual(["d", "c", "a"]);
    q.push(u("e")); // full again: the oldest of the once-sent (a) goes
    expect(q.take(1000, 5).map((x) => x.id).sort()).toEqual(["c", "d", "e"]);
    for (const id of ["c", "d", "e"]) q.delete(id);
    expect(q.size).toBe(0);
    expect(q.take(1000, 5)).toEqual([]);
  });

  test("the queue keeps at most its budget of taken updates encoded: past it the least recently taken are released, and dropped packed bytes are encoded again", () => {
    const released: string[] = [];
    const q = new BroadcastQueue(() => 100, 4096, { bytes: 1000, release: (x) => void released.push(x.id) });
    const u = (i: number): MemberUpdate => ({ id: `m${i}`, incarnation: 1, state: "alive", address: "10.0.0.1", port: 9000 + i, meta: { name: `m${i}` } });
    for (let i = 0; i < 50; i++) q.push(u(i));
    const first = q.take(2000, 10).map((x) => x.id); // 20 taken: 1,000 bytes over the budget
    expect(first).toHaveLength(20);
    expect(q.encodedBytes).toBe(1000);
    expect(released).toHaveLength(10);
    for (const id of released) expect(first).toContain(id);
    const second = q.take(1000, 10).map((x) => x.id); // 10 not taken yet: the other 10 of the first take go
    expect(second.some((id) => first.includes(id))).toBe(false);
    expect(q.encodedBytes).toBe(1000);
    expect(released).toHaveLength(20);
    expect(new Set(released)).toEqual(new Set(first));
    // Updates that leave the queue (their last transmission) are not released: their bytes go with them.
    for (let i = 0; i < 20; i++) q.take(100_000, 1);
    expect(q.size).toBe(0);
    expect(q.encodedBytes).toBe(0);
    expect(released).toHaveLength(20);
    // What a release does to the packed form: the same update is encoded again, to the same bytes.
    const x = u(99);
    const bytes = packUpdate(x);
    expect(packUpdate(x)).toBe(bytes);
    forgetPacked(x);
    const again = packUpdate(x);
    expect(again).not.toBe(bytes);
    expect(again).toEqual(bytes);
  });

  test("an update taken again is the most recently taken: released after those not taken since", () => {
    const released: string[] = [];
    const q = new BroadcastQueue(() => 100, 4096, { bytes: 200, release: (x) => void released.push(x.id) });
    const u = (id: string): MemberUpdate => ({ id, incarnation: 1, state: "alive", address: "10.0.0.1", port: 9000 });
    for (const id of ["a", "b", "c"]) q.push(u(id));
    // One a take, newest first: c, b, then a (past the budget: c, the least recently taken, released).
    expect([q.take(100, 10), q.take(100, 10), q.take(100, 10)].map((t) => t.map((x) => x.id))).toEqual([["c"], ["b"], ["a"]]);
    expect(released).toEqual(["c"]);
    // b again (a is held by "x", so the take skips it): b is now newer than a.
    q.heardFrom("a", 1, "alive", "x");
    expect(q.take(100, 10, "x").map((x) => x.id)).toEqual(["b"]);
    expect(released).toEqual(["c"]);
    expect(q.encodedBytes).toBe(200);
    // c again, encoded anew: past the budget, a goes (b was taken after it).
    q.heardFrom("b", 1, "alive", "x");
    expect(q.take(100, 10, "x").map((x) => x.id)).toEqual(["c"]);
    expect(released).toEqual(["c", "a"]);
    expect(q.encodedBytes).toBe(200);
    // Deleting taken entries unlinks them: nothing is released twice, nothing is left counted.
    q.delete("b");
    q.delete("c");
    expect(q.encodedBytes).toBe(0);
    q.push(u("d"));
    expect(q.take(1000, 10).map((x) => x.id).sort()).toEqual(["a", "d"]);
    expect(q.encodedBytes).toBe(200);
    expect(released).toEqual(["c", "a"]);
  });
});
