/**
 * A refuted suspicion or death is corrected where it is repeated, and a refuted suspicion does not
 * run out (virtual clock, no real time). In the 1,000-node mass join (Dec 1, s13, docs/performance-log.md)
 * every member held dead by mistake had refuted already: the nodes holding its death had missed
 * the refutation's gossip, and kept repeating the death (or a suspicion, whose timer then declared
 * it) while nodes that knew better said nothing.
 */
import { describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import { Corrections } from "../../src/membership/swim-members.ts";
import type { MemberUpdate, SwimMessage } from "../../src/membership/swim-types.ts";
import { readWhole } from "../../src/membership/swim-wire.ts";
import { convergedSwarm, gossipRounds, lateUntilAware, PACE_FANOUT, readWholeMessage, SimClock, SimNetwork, type SimNode } from "./swim-sim.ts";

/** Member `v` as `viewer` holds it, in `state` at `incarnation` (default: the one held), said by `from`. */
function about(viewer: SimNode, v: SimNode, state: MemberUpdate["state"], from: string, incarnation?: number): MemberUpdate {
  const m = viewer.core.member(v.id)!;
  return { id: v.id, incarnation: incarnation ?? m.incarnation, state, address: m.address, port: m.port, from };
}

/** The updates of an answer, read whole. */
function updatesOf(answer: unknown): MemberUpdate[] {
  const list = (answer as { updates?: unknown[] } | null)?.updates ?? [];
  return list.map((u) => readWhole(u)).filter((u): u is MemberUpdate => u !== null);
}

/**
 * Three converged nodes where `m` refuted a suspicion (now one incarnation higher) and `a` knows it,
 * while `b` was down (it still holds the old incarnation), and every queue has sent the refutation
 * on: `old` is the incarnation the suspicion was about.
 */
async function refuted(): Promise<{ net: SimNetwork; a: SimNode; b: SimNode; m: SimNode; old: number }> {
  const net = await convergedSwarm(3);
  const [a, b, m] = net.nodes as [SimNode, SimNode, SimNode];
  const old = a.core.member(m.id)!.incarnation;
  // b is down for 2 s (not long enough for the others' suspicion of it to run out: 4 s).
  b.up = false;
  b.core.stop();
  await m.core.handle({ kind: "gossip", from: a.id, updates: [about(a, m, "suspect", a.id)] });
  await net.runUntil(() => a.core.member(m.id)?.incarnation === old + 1, 1, 0.05);
  expect(a.core.member(m.id)).toMatchObject({ state: "alive", incarnation: old + 1 });
  // Every queue sends the refutation on (6 times, 2 members a round) meanwhile.
  await net.clock.run(2);
  b.up = true;
  b.core.start();
  expect(b.core.member(m.id)).toMatchObject({ state: "alive", incarnation: old });
  return { net, a, b, m, old };
}

describe("swim core - refuted news is corrected", () => {
  test("an ack to a message that repeats a refuted death or suspicion carries the newer record first (after every queue sent it on)", async () => {
    const { a, b, m, old } = await refuted();
    // Without the correction, nothing about m would be in a's answers any more.
    const plain = await a.core.handle({ kind: "gossip", from: b.id, updates: [] });
    expect(updatesOf(plain).some((u) => u.id === m.id)).toBe(false);
    for (const state of ["dead", "suspect"] as const) {
      const answer = await a.core.handle({ kind: "gossip", from: b.id, updates: [about(a, m, state, b.id, old)] });
      expect(updatesOf(answer)[0]).toMatchObject({ id: m.id, state: "alive", incarnation: old + 1 });
    }
    // A ping's ack too, and a nack.
    const ping = await a.core.handle({ kind: "ping", from: b.id, target: a.id, updates: [about(a, m, "dead", b.id, old)] });
    expect(updatesOf(ping)[0]).toMatchObject({ id: m.id, state: "alive", incarnation: old + 1 });
    const nack = await a.core.handle({ kind: "ping", from: b.id, target: "someone else", updates: [about(a, m, "dead", b.id, old)] });
    expect(updatesOf(nack)[0]).toMatchObject({ id: m.id, state: "alive", incarnation: old + 1 });
    // The member itself answers an old accusation with its current claim (it refuted before).
    const own = await m.core.handle({ kind: "gossip", from: b.id, updates: [about(a, m, "suspect", b.id, old)] });
    expect(updatesOf(own)[0]).toMatchObject({ id: m.id, state: "alive", incarnation: old + 1 });
    // A death at the incarnation held here is news, not a refuted one: nothing to correct.
    const current = await a.core.handle({ kind: "gossip", from: b.id, updates: [about(a, m, "suspect", b.id)] });
    expect(updatesOf(current).some((u) => u.id === m.id && u.state === "alive")).toBe(false);
    expect(a.core.stats().corrections).toBe(4);
  });

  test("a node whose own verdict was refuted while it was away is told at once by the members it talks to, not at the next full exchange", async () => {
    const { net, a, b, m, old } = await refuted();
    // b declares m dead itself (a suspicion of its own ran out), at the incarnation m refuted.
    b.core.learn(about(b, m, "dead", b.id));
    expect(net.view(b, m)).toBe("dead");
    const took = await net.runUntil(() => net.view(b, m) === "alive", 10, 0.05);
    expect(b.core.member(m.id)).toMatchObject({ state: "alive", incarnation: old + 1 });
    // b's gossip of the death reached a or m, whose ack told b (or b's answer to a message of
    // theirs held it, and they told b): within a gossip round. Without the correction b held it
    // dead until a full exchange (here m's pull after its join, 2 s later; the periodic one comes
    // every 30 s, minutes apart in a large swarm).
    expect(took).toBeLessThan(0.5);
    expect(a.core.stats().corrections).toBeGreaterThan(0);
  });

  test("an answer that holds a refuted death is answered with the newer record, in a message of its own", async () => {
    const clock = new SimClock();
    const sent: Array<{ to: string | undefined; message: SwimMessage }> = [];
    let answer: unknown = null;
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (delay, fn) => clock.schedule(delay, fn),
      send: async (to, message) => {
        sent.push({ to: to.id, message: readWholeMessage(message) ?? message });
        return message.kind === "push_pull" ? answer : { kind: "ack", from: to.id, updates: [] };
      },
    });
    const claim = (id: string, port: number, incarnation: number): MemberUpdate => ({ id, incarnation, state: "alive", address: "10.0.0.1", port, meta: { name: id } });
    core.start();
    core.learn(claim("b", 2, 1));
    core.learn(claim("m", 3, 8));
    // Two members new here: their claims are gossiped at once (and at the configured pace). Not
    // what is looked at below.
    await clock.run(0.5);
    sent.length = 0;
    // b answers a full exchange with its view: m suspect at an incarnation m has refuted since. A
    // message of its own for that: no (others' suspicions are corrected in acks only).
    answer = { kind: "push_pull", from: "b", join: false, members: [claim("b", 2, 1), { id: "m", incarnation: 7, state: "suspect", address: "10.0.0.1", port: 3, from: "b" }], version: 1 };
    await core.join({ id: "b", address: "10.0.0.1", port: 2 });
    await clock.run(0.01);
    expect(sent.some((s) => s.message.kind === "gossip")).toBe(false);
    // Then m dead there, at that incarnation: told back at once.
    answer = { kind: "push_pull", from: "b", join: false, members: [claim("b", 2, 1), { id: "m", incarnation: 7, state: "dead", address: "10.0.0.1", port: 3, from: "b" }], version: 2 };
    await core.join({ id: "b", address: "10.0.0.1", port: 2 });
    await clock.run(0.01);
    const back = sent.find((s) => s.to === "b" && s.message.kind === "gossip");
    expect(back).toBeDefined();
    const updates = back!.message.kind === "gossip" ? back!.message.updates : [];
    expect(updates[0]).toMatchObject({ id: "m", state: "alive", incarnation: 8 });
    expect(core.member("m")).toMatchObject({ state: "alive", incarnation: 8 });
    expect(core.stats().corrections).toBe(1);
    core.stop();
  });
});

describe("swim core - a suspicion at a newer incarnation", () => {
  test("replaces the suspicion held (the member refuted it) with a timeout of its own, rather than confirming it", async () => {
    // One core, a, whose suspicions run out after 1 s at most; x and y never answer, b and c ack.
    // No other node's verdict can reach a (a swarm's gossip raced a's timers), and a makes no probe
    // of its own (a probe interval of 1,000 s): only the timers decide.
    const clock = new SimClock();
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (delay, fn) => clock.schedule(delay, fn),
      send: (to) => (to.id === "x" || to.id === "y" ? new Promise(() => {}) : Promise.resolve({ kind: "ack", from: to.id, updates: [] })),
    }, { suspicionMaxTimeout: 1, suspicionMaxMult: 2, probeInterval: 1000 });
    core.start();
    const ports: Record<string, number> = { b: 2, c: 3, x: 4, y: 5 };
    const about = (id: string, incarnation: number, state: "alive" | "suspect", from?: string): MemberUpdate => ({ id, incarnation, state, address: "10.0.0.1", port: ports[id]!, meta: { name: id }, ...(from ? { from } : {}) });
    for (const id of Object.keys(ports)) core.learn(about(id, 1, "alive"));
    await core.handle({ kind: "gossip", from: "b", updates: [about("x", 1, "suspect", "b")] });
    await clock.run(0.9);
    expect(core.member("x")?.state).toBe("suspect");
    // x refuted elsewhere and was suspected again there (by c); y is suspected first now, by c too.
    const from = clock.now;
    await core.handle({ kind: "gossip", from: "c", updates: [about("x", 2, "suspect", "c"), about("y", 1, "suspect", "c")] });
    expect(core.member("x")).toMatchObject({ state: "suspect", incarnation: 2 });
    const deadAt = new Map<string, number>();
    for (let t = 0; t < 600 && deadAt.size < 2; t++) {
      await clock.run(0.01);
      for (const id of ["x", "y"]) if (core.member(id)?.state === "dead" && !deadAt.has(id)) deadAt.set(id, clock.now);
    }
    // x's new suspicion ran as long as y's (each one suspecter, from the same moment). Confirming the
    // refuted one instead made x dead 0.9 s sooner: its timer had started then.
    expect(deadAt.size).toBe(2);
    expect(deadAt.get("x")! - from).toBeGreaterThan(0.9);
    expect(Math.abs(deadAt.get("x")! - deadAt.get("y")!)).toBeLessThan(0.05);
    expect(core.member("x")?.incarnation).toBe(2);
    core.stop();
  });
});


describe("swim core - a refuted death spreads at the configured pace", () => {
  test("a node whose local health stretches its gossip rounds gossips the refutation of a death it held at once and every gossipInterval, as the death", async () => {
    // Many transmissions per update, so that the queue holds the news through the rounds counted.
    const net = await convergedSwarm(6, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    const [a, , , , , x] = net.nodes as [SimNode, SimNode, SimNode, SimNode, SimNode, SimNode];
    await lateUntilAware(net, a, 2, true);
    const awareness = a.core.stats().awareness;
    expect(awareness).toBeGreaterThanOrEqual(2);
    // x is away (it hears nothing, so refutes nothing), a holds it dead (its own verdict), and the
    // gossip that hurried is over (10 rounds, 2 s).
    x.up = false;
    x.core.stop();
    a.core.learn(about(a, x, "dead", a.id));
    await net.clock.run(2.5);
    // The stretched pace first: (awareness + 1) x 0.2 s per round, at most one round in 0.45 s.
    expect(0.2 * (awareness + 1)).toBeGreaterThan(0.45);
    expect(await gossipRounds(net, a, 0.45)).toBeLessThanOrEqual(1);
    // x refutes (its claim at a higher incarnation reaches a): a round at once, then every 0.2 s
    // (three in 0.45 s; a round whose one member is x, who told a, carries nothing).
    await x.core.handle({ kind: "gossip", from: a.id, updates: [about(a, x, "dead", a.id)] });
    await a.core.handle({ kind: "gossip", from: x.id, updates: [x.core.introduction()] });
    expect(a.core.member(x.id)?.state).toBe("alive");
    expect(await gossipRounds(net, a, 0.45)).toBeGreaterThanOrEqual(2);
  });

  test("a node that refutes its own death gossips its claim at once and every gossipInterval, however stretched its rounds", async () => {
    const net = await convergedSwarm(6, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    const [a, x] = net.nodes as [SimNode, SimNode];
    await lateUntilAware(net, x, 2, true);
    const awareness = x.core.stats().awareness;
    expect(0.2 * (awareness + 1)).toBeGreaterThan(0.45);
    await x.core.handle({ kind: "gossip", from: a.id, updates: [about(a, x, "dead", a.id)] });
    expect(x.core.stats().refutations).toBe(1);
    expect(await gossipRounds(net, x, 0.45)).toBeGreaterThanOrEqual(2);
  });
});

describe("swim core - a member new here spreads at the configured pace", () => {
  test("a node whose local health stretches its gossip rounds gossips a newcomer's claim at once and every gossipInterval", async () => {
    const net = await convergedSwarm(6, new SimNetwork({ retransmitMult: 30, gossipNodes: PACE_FANOUT }));
    const [a] = net.nodes as [SimNode];
    await lateUntilAware(net, a, 2, true);
    const awareness = a.core.stats().awareness;
    // The hurried rounds of the swarm's own joins are over (the join ends 10 s and more before).
    expect(0.2 * (awareness + 1)).toBeGreaterThan(0.45);
    expect(await gossipRounds(net, a, 0.45)).toBeLessThanOrEqual(1);
    // A node joins: its own claim reaches a in a message, news here (its own: the full count; a
    // claim relayed while a's health is down goes 3 times, one round's worth).
    const n = net.add();
    await a.core.handle({ kind: "gossip", from: n.id, updates: [n.core.introduction()] });
    expect(a.core.member(n.id)?.state).toBe("alive");
    // Rounds at once, 0.2 and 0.4 s later (a round whose one member is n, who told a, carries
    // nothing): more than the one stretched round.
    expect(await gossipRounds(net, a, 0.45)).toBeGreaterThanOrEqual(2);
  });
});

describe("swim core - corrections cost nothing where none is found", () => {
  test("a message's Corrections makes no list of its own until a correction is added", () => {
    const none = new Corrections(), other = new Corrections();
    // Every message received makes one; most find nothing, and share one empty, frozen list.
    expect(none.updates).toBe(other.updates);
    expect(Object.isFrozen(none.updates)).toBe(true);
    const update: MemberUpdate = { id: "a".repeat(64), incarnation: 2, state: "alive", address: "127.0.0.1", port: 1 };
    none.add(update);
    expect(none.updates).toEqual([update]);
    expect(other.updates).toEqual([]);
  });
});

describe("swim core - a suspicion that runs out", () => {
  /**
   * A core (`a`, with members `b` and `m`) on a virtual clock whose sends `answer` decides; m held
   * suspect at incarnation 5 on b's word. Its suspicion runs out after 1 to 2 s.
   */
  function suspecting(answer: (to: string | undefined, message: SwimMessage, now: number) => Promise<unknown>) {
    const clock = new SimClock();
    const pings: number[] = [];
    const core = new SwimCore({ id: "a", address: "10.0.0.1", port: 1 }, {
      now: () => clock.now,
      schedule: (delay, fn) => clock.schedule(delay, fn),
      send: (to, message) => {
        const read = readWholeMessage(message) ?? message;
        if (to.id === "m" && read.kind === "ping") pings.push(clock.now);
        return answer(to.id, read, clock.now);
      },
    }, { suspicionMaxTimeout: 1, suspicionMaxMult: 2, probeInterval: 1000 });
    core.start();
    const claim = (id: string, port: number, incarnation: number): MemberUpdate => ({ id, incarnation, state: "alive", address: "10.0.0.1", port, meta: { name: id } });
    core.learn(claim("b", 2, 1));
    core.learn(claim("m", 3, 5));
    core.learn({ id: "m", incarnation: 5, state: "suspect", address: "10.0.0.1", port: 3, from: "b" });
    return { clock, core, pings, claim };
  }

  test("pings the suspect once more before the verdict: a live member's ack carries its refutation, and it stays alive", async () => {
    // m answers only pings, with its refutation first (as an answer to its suspicion does); its
    // gossip acks carry nothing (the refutation never reached a otherwise).
    const { clock, core, pings, claim } = suspecting(async (to, message) => ({ kind: "ack", from: to, updates: to === "m" && message.kind === "ping" ? [claim("m", 3, 6)] : [] }));
    await clock.run(5);
    expect(core.member("m")).toMatchObject({ state: "alive", incarnation: 6 });
    expect(pings.length).toBe(1);
    expect(pings[0]).toBeGreaterThanOrEqual(1);
    expect(core.stats()).toMatchObject({ lastPings: 1, deathsDeclared: 0 });
    core.stop();
  });

  test("declares a suspect that does not answer that ping dead, a probe timeout later", async () => {
    const { clock, core, pings } = suspecting((to, message) => (to === "m" && message.kind === "ping" ? new Promise(() => {}) : Promise.resolve({ kind: "ack", from: to, updates: [] })));
    await clock.run(5);
    expect(core.member("m")?.state).toBe("dead");
    expect(pings.length).toBe(1);
    expect(core.stats()).toMatchObject({ lastPings: 1, deathsDeclared: 1 });
    core.stop();
  });
});
