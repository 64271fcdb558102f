/**
 * Lean deaths (`swim-wire.ts`, negotiated by `swim_lean`): a death piggybacked to a peer that reads
 * them is `[id, incarnation]` alone, so a message's budget carries more of a mass death; a peer
 * that does not read them never gets one. With them, a request's filter of recent deaths and the
 * pulls of a mass failure. On the simulation's virtual clock (no real time).
 */
import { describe, expect, test } from "bun:test";
import { Gossip, swimConfig } from "../../src/membership/gossip.ts";
import { leanDeath, PackedUpdate, packUpdate, readInbound, readMessage, toWire, wantsLean } from "../../src/membership/swim-wire.ts";
import { filterHolds, isDeathFilter, RecentDeaths } from "../../src/membership/swim-deaths.ts";
import { BroadcastQueue } from "../../src/membership/swim-queue.ts";
import { estimateBytes } from "../../src/membership/swim-read.ts";
import { seededRandom, type MemberUpdate, type SwimAnswer, type SwimMessage, type SwimPorts, type SwimTarget } from "../../src/membership/swim-types.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { SWIM_FEATURE, SWIM_LEAN_FEATURE, SWIM_PACKED_FEATURE } from "../../src/wire/protocol.ts";
import { fakeGossipHost } from "./fakes.ts";
import { convergedSwarm, SimClock, SimNetwork, type SimNode } from "./swim-sim.ts";

const id = "d".repeat(64);
const death: MemberUpdate = { id, incarnation: 1_764_590_000, state: "dead", address: "127.0.0.1", port: 40001, from: "a".repeat(64) };

describe("swim lean deaths - the wire", () => {
  test("a death's lean bytes are its own: encoding others (and packing other updates) leaves them as they were", () => {
    const first = { ...death, id: "e".repeat(64) };
    const bytes = leanDeath(first);
    const copy = Uint8Array.from(bytes);
    leanDeath({ ...death, id: "f".repeat(64), incarnation: 7 });
    packUpdate({ ...death, id: "0".repeat(64), state: "alive", meta: { name: "x".repeat(300) } });
    expect(Uint8Array.from(leanDeath(first))).toEqual(copy);
    expect(decode(bytes)).toEqual(["e".repeat(64), death.incarnation]);
  });

  test("a death goes as [id, incarnation], under half its packed size, and reads back with the holder's address", () => {
    const bytes = leanDeath(death);
    expect(leanDeath(death)).toBe(bytes);
    expect(decode(bytes)).toEqual([id, death.incarnation]);
    expect(bytes.length * 2).toBeLessThan(packUpdate(death).length);
    const read = readInbound(decode(encode(bytes)));
    expect(read).toBeInstanceOf(PackedUpdate);
    expect(read).toMatchObject({ id, incarnation: death.incarnation, state: "dead" });
    // News only about a member held: without it, nothing to read.
    expect((read as PackedUpdate).read()).toBeNull();
    expect((read as PackedUpdate).read(undefined, { id: "other", address: "h", port: 1 })).toBeNull();
    expect((read as PackedUpdate).read(undefined, { id, address: "10.0.0.3", port: 7 })).toEqual({ id, incarnation: death.incarnation, state: "dead", address: "10.0.0.3", port: 7 });
    // Not exactly an id and an incarnation: malformed.
    for (const bad of [encode([id, 1, "x"]), encode([7, 1]), encode([id, -1]), encode([id])]) expect(readInbound(bad.slice())).toBeNull();
  });

  test("toWire makes only deaths lean, only when asked, never in a push-pull; a request asks for them", () => {
    const alive: MemberUpdate = { id: "x", incarnation: 3, state: "alive", address: "10.0.0.9", port: 9 };
    const suspect: MemberUpdate = { ...death, state: "suspect" };
    const message = { kind: "gossip" as const, from: "a", updates: [alive, death, suspect] };
    const lean = toWire(message, { pack: true, lean: true, reads: false }) as { updates: Uint8Array[] };
    expect(lean.updates).toEqual([packUpdate(alive), leanDeath(death), packUpdate(suspect)]);
    expect((toWire(message, { pack: true, reads: false }) as { updates: Uint8Array[] }).updates[1]).toBe(packUpdate(death));
    // Lean implies packed: a peer that does not read the packed form gets maps.
    expect((toWire(message, { pack: false, lean: true, reads: false }) as { updates: unknown[] }).updates[1]).toEqual(death);
    const state = toWire({ kind: "push_pull", from: "a", join: false, members: [death] }, { pack: true, lean: true, reads: false }) as { members: Uint8Array[] };
    expect(state.members[0]).toEqual(packUpdate(death));
    expect(wantsLean(toWire(message, { pack: true, reads: true }))).toBe(true);
    expect(wantsLean(toWire(message, { pack: true, reads: true, readsLean: false }))).toBe(false);
    expect(wantsLean({ ...message, lean: true })).toBe(false); // not without packed
    expect(readMessage(decode(encode(lean)))?.message).toMatchObject({ kind: "gossip", updates: [{ id: "x" }, { id, state: "dead" }, { id, state: "suspect" }] });
  });
});

/** `count` converged nodes whose piggyback budget is `budget` bytes. */
async function swarmWithBudget(count: number, budget: number, seed = 3): Promise<SimNetwork> {
  return convergedSwarm(count, new SimNetwork({ maxPiggybackBytes: budget }, seed));
}

/** Deaths of `killed` in each message `node` handles (requests only), in order. */
function deathsPerMessage(node: SimNode, killed: Set<string>): number[] {
  const counts: number[] = [];
  const handle = node.core.handle.bind(node.core);
  node.core.handle = (raw: unknown) => {
    const message = readMessage(raw)?.message;
    if (message && message.kind !== "push_pull") counts.push(message.updates.filter((u) => u.state === "dead" && killed.has(u.id)).length);
    return handle(raw);
  };
  return counts;
}

describe("swim lean deaths - a mass death", () => {
  test("a message to a peer that reads lean deaths carries more deaths within the budget; one that does not never gets one", async () => {
    const budget = 600;
    const net = await swarmWithBudget(40, budget);
    const survivors = net.nodes.slice(0, 15);
    const victims = net.nodes.slice(15);
    // A third of the survivors run a Bun version before lean deaths (packed, not lean).
    for (const n of survivors.slice(10)) n.leans = false;
    const killed = new Set(victims.map((v) => v.id));
    const seen = new Map(survivors.map((n) => [n, deathsPerMessage(n, killed)]));
    for (const v of victims) net.kill(v, true);
    await net.runUntil(() => survivors.every((n) => victims.every((v) => net.view(n, v) === "dead")), 60);
    for (const n of survivors) for (const v of victims) expect(net.view(n, v)).toBe("dead");
    // As many deaths as fit the budget at their packed size, as the queue measures them (estimateBytes: 80 bytes
    // here for a death relayed without its author, as one learnt lean is; 18 lean).
    const v = victims[0]!;
    const full = Math.floor(budget / estimateBytes({ id: v.id, incarnation: 0, state: "dead", address: "10.0.0.1", port: v.port }));
    const most = (nodes: SimNode[]) => Math.max(...nodes.flatMap((n) => seen.get(n)!));
    expect(most(survivors.slice(0, 10))).toBeGreaterThan(full);
    expect(most(survivors.slice(10))).toBeLessThanOrEqual(full);
    expect(net.leanReceived).toBeGreaterThan(0);
    expect(net.leanToOld).toBe(0);
    // No false death among the survivors.
    for (const n of survivors) for (const other of survivors) if (other !== n) expect(n.changes.some(([m, s]) => m === other.id && s === "dead")).toBe(false);
  });

  test("a lean death taken keeps the member's address and names no author; one about the receiver itself is refuted", async () => {
    const net = await swarmWithBudget(4, 8192);
    const [a, b, c] = net.nodes as [SimNode, SimNode, SimNode];
    const held = c.core.member(b.id)!;
    const { address, port } = held;
    // b's earlier suspicion at c named an author: the lean death does not keep it.
    await c.core.handle({ kind: "gossip", from: a.id, updates: [packUpdate({ id: b.id, incarnation: held.incarnation, state: "suspect", address, port, from: a.id })] });
    expect(c.core.member(b.id)?.from).toBe(a.id);
    await c.core.handle({ kind: "gossip", from: a.id, updates: [leanDeath({ id: b.id, incarnation: held.incarnation, state: "dead", address: "ignored", port: 1 })], packed: true, lean: true });
    expect(c.core.member(b.id)).toMatchObject({ state: "dead", address, port });
    expect(c.core.member(b.id)?.from).toBeUndefined();
    const incarnation = a.core.stats().incarnation;
    await a.core.handle({ kind: "gossip", from: c.id, updates: [leanDeath({ id: a.id, incarnation, state: "dead", address: "", port: 0 })] });
    expect(a.core.stats().incarnation).toBeGreaterThan(incarnation);
    expect(a.core.stats().refutations).toBeGreaterThan(0);
  });
});

describe("swim lean deaths - the gossip bridge", () => {
  test("a request carries lean deaths only to a peer whose hello offered swim_lean and swim_packed, and an answer only to a request that asked", async () => {
    const victim: MemberUpdate = { id: "v", incarnation: 2, state: "alive", address: "127.0.0.1", port: 3 };
    const cases = [
      [{ [SWIM_FEATURE]: true, [SWIM_PACKED_FEATURE]: true }, false],
      [{ [SWIM_FEATURE]: true, [SWIM_LEAN_FEATURE]: true }, false],
      [{ [SWIM_FEATURE]: true, [SWIM_PACKED_FEATURE]: true, [SWIM_LEAN_FEATURE]: true }, true],
    ] as const;
    for (const [features, lean] of cases) {
      const { host, calls } = fakeGossipHost("self", features);
      const gossip = new Gossip(host, swimConfig({ heartbeatInterval: 1, heartbeatTimeout: 1, peerTimeout: 4, maxPeers: 10 }));
      gossip.start();
      try {
        gossip.core!.learn(victim);
        gossip.core!.learn({ ...victim, state: "dead", from: "self" });
        await gossip.core!.remind("v", 0.2);
        const told = calls.map((c) => c.args[0] as { kind: string; updates?: unknown[]; lean?: boolean }).find((m) => m.kind === "gossip")!;
        expect(told.lean).toBe(true);
        const first = told.updates!.find((u) => readInbound(u)?.id === "v");
        expect(first instanceof Uint8Array && first[0] === 0x92).toBe(lean);
      } finally {
        gossip.stop();
      }
    }
  });
});

describe("swim lean deaths - the filter of recent deaths", () => {
  test("ids put in are always held; an empty filter holds none; a malformed one is not read", () => {
    const recent = new RecentDeaths();
    const ids = Array.from({ length: 250 }, (_, i) => `${i}`.padStart(64, "k"));
    ids.forEach((id, i) => recent.add(id, i / 100));
    const late = new RecentDeaths();
    for (const id of ids) late.add(id, 10);
    late.add("new one", 10);
    for (let salt = 0; salt < 20; salt++) {
      const filter = recent.filter(0, ["doubted"], salt * 7919);
      expect(isDeathFilter(filter)).toBe(true);
      expect(filter.length).toBe(4 + 512);
      // Nothing held is ever named missing; the one not held is, whatever the salt.
      expect(late.missing(filter, 0, 1000)).toEqual(["new one"]);
    }
    const empty = new RecentDeaths().filter(0, [], 1);
    expect(empty.length).toBe(4);
    expect(late.missing(empty, 0, 1000).length).toBe(251);
    expect(late.missing(empty, 0, 5).length).toBe(5);
    // Only the window asked.
    expect(recent.missing(empty, 2, 1000).length).toBe(50);
    // A filter forgets what is older than its own window.
    recent.filter(2, [], 1);
    expect(recent.size).toBe(50);
    recent.filter(100, [], 1);
    expect(recent.size).toBe(0);
    for (const bad of [new Uint8Array(3), new Uint8Array(4 + 48), new Uint8Array(4 + 16), "x", null]) expect(isDeathFilter(bad)).toBe(false);
  });

  test("atLeast counts the deaths taken since a time (what tells a mass failure)", () => {
    const recent = new RecentDeaths();
    expect(recent.atLeast(1, 0)).toBe(false);
    for (let i = 0; i < 20; i++) recent.add(`m${i}`, i);
    expect(recent.atLeast(20, 0)).toBe(true);
    expect(recent.atLeast(21, 0)).toBe(false);
    expect(recent.atLeast(16, 4)).toBe(true); // taken at 4 to 19
    expect(recent.atLeast(16, 4.5)).toBe(false);
    expect(recent.atLeast(1, 19)).toBe(true);
    expect(recent.atLeast(1, 19.5)).toBe(false);
    // Not a count of deaths: false, not a look past the remembered ones.
    expect(recent.atLeast(0, 0)).toBe(false);
  });
});

describe("swim lean deaths - the filter's bits", () => {
  test("are those the module header specifies (what other Bun versions read): FNV-1a pairs mixed with the salt, 3 bits each", () => {
    // Written again from the header, apart from the module's code.
    const mix = (h: number) => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    };
    const fnv = (id: string, basis: number) => {
      let h = basis;
      for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    const ids = Array.from({ length: 5 }, (_, i) => `${i}`.padStart(64, "d"));
    const salt = 0xdeadbeef;
    const recent = new RecentDeaths();
    for (const id of ids) recent.add(id, 1);
    const filter = recent.filter(0, ["doubted"], salt);
    const expected = new Uint8Array(4 + 32); // 6 ids × 16 bits: the smallest filter, 32 bytes
    new DataView(expected.buffer).setUint32(0, salt);
    for (const id of [...ids, "doubted"]) {
      const a = mix(fnv(id, 0x811c9dc5) ^ salt);
      const b = mix(fnv(id, 0x01000193 ^ 0x5bd1e995) ^ Math.imul(salt, 0x9e3779b9)) | 1;
      for (let i = 0; i < 3; i++) {
        const bit = ((a + Math.imul(i, b)) >>> 0) & (32 * 8 - 1);
        expected[4 + (bit >>> 3)]! |= 1 << (bit & 7);
      }
    }
    expect([...filter]).toEqual([...expected]);
  });
});

describe("swim lean deaths - recent deaths added to answers", () => {
  /** A converged swarm of `count`, `away` out of it (no message in or out, its core stopped) while the last `killed` of it are killed. */
  async function missedKill(count: number, killed: number, awayFor: number, seed = 7): Promise<{ net: SimNetwork; away: SimNode; victims: SimNode[]; rest: SimNode[] }> {
    const net = await convergedSwarm(count, new SimNetwork({}, seed));
    const away = net.nodes[1]!;
    const victims = net.nodes.slice(count - killed);
    const rest = net.nodes.filter((n) => n !== away && !victims.includes(n));
    away.up = false;
    away.core.stop();
    for (const v of victims) net.kill(v, true);
    await net.clock.run(awayFor);
    for (const n of rest) for (const v of victims) expect(net.view(n, v)).toBe("dead");
    away.up = true;
    away.core.start();
    return { net, away, victims, rest };
  }

  const resent = (nodes: SimNode[]): number => nodes.reduce((n, r) => n + r.core.stats().deathsResent, 0);

  test("a node that missed a mass death takes it whole from the first answers to its requests, not one probe at a time", async () => {
    const { net, away, victims, rest } = await missedKill(24, 8, 4);
    expect(victims.filter((v) => net.view(away, v) === "dead").length).toBe(0);
    const before = resent(rest);
    const waited = await net.runUntil(() => victims.every((v) => net.view(away, v) === "dead"), 30, 0.05);
    for (const v of victims) expect(net.view(away, v)).toBe("dead");
    // Its first requests' answers (a probe interval holds a probe and five gossip rounds), not its own
    // probes of each (15 virtual s with no deaths added to answers, Dec 5, s55).
    expect(waited).toBeLessThanOrEqual(2 * away.core.config.probeInterval);
    // Added to the answers, but for those an answer carried already (a survivor still had them queued).
    expect(resent(rest) - before).toBeGreaterThan(0);
    expect(away.core.stats().deathsDeclared).toBeLessThan(victims.length);
  });

  test("a node that holds the deaths, or does not read lean deaths, is sent none; a death the asker holds is never added", async () => {
    const { net, away, rest } = await missedKill(24, 8, 4);
    await net.clock.run(3);
    // Every survivor holds every death now: nothing more is added.
    const settled = resent(rest);
    await net.clock.run(3);
    expect(resent(rest)).toBe(settled);
    expect(resent([away])).toBe(0);
    // A node before lean deaths sends no filter, and gets none added.
    const old = await missedKill(24, 8, 4, 8);
    old.away.leans = false;
    const before = resent(old.rest);
    await old.net.clock.run(1);
    expect(resent(old.rest)).toBe(before);
  });
});

describe("swim lean deaths - deaths the asker holds left out of answers", () => {
  test("filterHolds reads a filter for one id at a time: every id put in, few others; null for a filter of none", () => {
    const recent = new RecentDeaths();
    const ids = Array.from({ length: 250 }, (_, i) => `${i}`.padStart(64, "h"));
    for (const id of ids) recent.add(id, 1);
    const others = Array.from({ length: 2000 }, (_, i) => `${i}`.padStart(64, "o"));
    for (let salt = 1; salt <= 5; salt++) {
      const holds = filterHolds(recent.filter(0, ["doubted"], salt * 104_729))!;
      for (const id of ids) expect(holds(id)).toBe(true);
      expect(holds("doubted")).toBe(true);
      // 16 bits an id, 3 set: about one false positive in 200 ids (2,000 tried: 10 expected).
      expect(others.filter(holds).length).toBeLessThan(40);
      // The same answers as the answerer's own reading of the filter (`missing`).
      const filter = recent.filter(0, [], salt);
      const probe = new RecentDeaths();
      for (const id of others.slice(0, 300)) probe.add(id, 1);
      const missing = new Set(probe.missing(filter, 0, 1000));
      const read = filterHolds(filter)!;
      for (const id of others.slice(0, 300)) expect(read(id)).toBe(!missing.has(id));
    }
    expect(filterHolds(new RecentDeaths().filter(0, [], 9))).toBeNull();
  });

  test("filterHolds with the answerer's own recent deaths answers as without them, for ids among them and not", () => {
    const asker = new RecentDeaths();
    const answerer = new RecentDeaths();
    const ids = Array.from({ length: 600 }, (_, i) => `${i}`.padStart(64, "d"));
    // The asker holds the first 300; the answerer took 200 of them and 200 others (its hashes made once, at add).
    for (const id of ids.slice(0, 300)) asker.add(id, 1);
    for (const id of ids.slice(100, 500)) answerer.add(id, 1);
    for (let salt = 1; salt <= 5; salt++) {
      const filter = asker.filter(0, [], salt * 7919);
      const plain = filterHolds(filter)!;
      const known = filterHolds(filter, answerer)!;
      for (const id of ids) expect(known(id)).toBe(plain(id));
      for (const id of ids.slice(0, 300)) expect(known(id)).toBe(true);
    }
    // Deaths the answerer forgot (past its window, or pushed out) are hashed as any other id.
    answerer.filter(2, [], 1);
    expect(answerer.entryOf(ids[100]!)).toBeUndefined();
    expect(filterHolds(asker.filter(0, [], 3), answerer)!(ids[100]!)).toBe(true);
  });

  test("a death taken twice keeps its later entry; forgetting the earlier one keeps the later", () => {
    const recent = new RecentDeaths();
    recent.add("a".repeat(64), 1);
    recent.add("b".repeat(64), 2);
    recent.add("a".repeat(64), 3);
    expect(recent.entryOf("a".repeat(64))?.at).toBe(3);
    recent.filter(2.5, [], 1); // forgets the deaths taken before 2.5: a's first, b
    expect(recent.entryOf("a".repeat(64))?.at).toBe(3);
    expect(recent.entryOf("b".repeat(64))).toBeUndefined();
    expect(recent.size).toBe(1);
    for (let i = 0; i < 1024; i++) recent.add(`${i}`.padStart(64, "c"), 4);
    expect(recent.entryOf("a".repeat(64))).toBeUndefined(); // pushed out by the 1,025th
    expect(recent.entryOf("0".padStart(64, "c"))?.at).toBe(4);
  });

  test("the queue leaves out a death the receiver holds and counts it as one of its sends; an alive claim is never left out", () => {
    const queue = new BroadcastQueue(() => 10);
    const up = (id: string, state: "alive" | "dead"): MemberUpdate => ({ id, incarnation: 1, state, address: "127.0.0.1", port: 1 });
    queue.push(up("alive-1", "alive"));
    for (const id of ["dead-1", "dead-2", "dead-3"]) queue.push(up(id, "dead"));
    const held = new Set(["dead-1", "dead-3", "alive-1"]);
    const first = queue.take(1000, 2, "x", false, (id) => held.has(id));
    expect(first.map((u) => u.id).sort()).toEqual(["alive-1", "dead-2"]);
    // Every one of the four counts one send now (the receiver had the two left out): one more each and they are done.
    expect(queue.take(1000, 2, "y").map((u) => u.id).sort()).toEqual(["alive-1", "dead-1", "dead-2", "dead-3"]);
    expect(queue.size).toBe(0);
    // Sent at most once: held by the receiver, it leaves the queue without going out.
    queue.push(up("dead-4", "dead"));
    expect(queue.take(1000, 1, "x", false, (id) => id === "dead-4")).toEqual([]);
    expect(queue.size).toBe(0);
  });

  test("an answer leaves out the deaths the asker's filter holds, counted; a request without a filter still gets them", async () => {
    const net = await swarmWithBudget(30, 8192);
    const [a, b, c, f] = net.nodes as [SimNode, SimNode, SimNode, SimNode];
    await net.clock.run(2);
    // Two members c has not heard from lately (a death of one it had would be doubted: a suspicion).
    const [d, e] = net.nodes.slice(4).filter((n) => (c.core.member(n.id)?.heard ?? Number.NEGATIVE_INFINITY) < net.clock.now - 5) as [SimNode, SimNode];
    const lean = (n: SimNode) => leanDeath({ id: n.id, incarnation: c.core.member(n.id)!.incarnation, state: "dead", address: "", port: 0 });
    // c takes d's and e's deaths from a (queued to be relayed).
    await c.core.handle({ kind: "gossip", from: a.id, updates: [lean(d), lean(e)], packed: true, lean: true });
    expect(c.core.member(d.id)?.state).toBe("dead");
    expect(c.core.member(e.id)?.state).toBe("dead");
    const heldBy = new RecentDeaths();
    heldBy.add(d.id, 0);
    const deaths = heldBy.filter(0, [], 77);
    const before = c.core.stats().deathsHeld;
    const answer = await c.core.handle({ kind: "gossip", from: b.id, updates: [], deaths, packed: true, lean: true });
    const updatesOf = (a: SwimAnswer | null): MemberUpdate[] => (a !== null && a.kind !== "push_pull" ? a.updates : []);
    const dead = updatesOf(answer).filter((u) => u.state === "dead").map((u) => u.id);
    expect(dead).toContain(e.id);
    expect(dead).not.toContain(d.id);
    expect(c.core.stats().deathsHeld - before).toBe(1);
    // f's request carries no filter: d's death (one of its sends counted for b, which had it) goes in its answer.
    const toF = await c.core.handle({ kind: "gossip", from: f.id, updates: [], packed: true, lean: true });
    expect(updatesOf(toF).map((u) => u.id)).toContain(d.id);
    expect(c.core.stats().deathsHeld - before).toBe(1);
  });
});

describe("swim lean deaths - pulls in a mass failure", () => {
  const member = (i: number, state: MemberUpdate["state"] = "alive"): MemberUpdate => ({ id: `m${i}`, incarnation: 1, state, address: "10.0.0.2", port: 20_000 + i, ...(state === "dead" ? { from: "m0" } : {}) });

  /** A core of 40 members on a virtual clock; every request it sends is answered at once with an ack carrying `answer(request)`. */
  function rig(answer: (to: SwimTarget, message: SwimMessage) => MemberUpdate[] = () => [], leans = true) {
    const clock = new SimClock();
    const sent: Array<{ at: number; to: SwimTarget; message: SwimMessage & { deaths?: Uint8Array } }> = [];
    const ports: SwimPorts = {
      now: () => clock.now,
      schedule: (delay, fn) => clock.schedule(delay, fn),
      random: seededRandom(3),
      readsLean: () => leans,
      send: (to, message) => {
        sent.push({ at: clock.now, to, message });
        return Promise.resolve({ kind: "ack", from: to.id, updates: answer(to, message) });
      },
    };
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports);
    core.start();
    for (let i = 0; i < 40; i++) core.learn(member(i));
    return { clock, sent, core };
  }

  const pulls = (sent: ReturnType<typeof rig>["sent"]) => sent.filter((s) => s.message.kind === "gossip" && s.message.updates.length === 0);

  test("with nothing queued, once a probe interval: a request of its filter alone, whose answer brings the deaths it lacks; none once the mass failure is past", async () => {
    let missing: MemberUpdate | null = null;
    const { clock, sent, core } = rig((_, message) => (message.kind === "gossip" && message.updates.length === 0 && missing ? [missing] : []));
    await clock.run(5);
    expect(core.stats().queued).toBe(0);
    expect(pulls(sent)).toHaveLength(0); // no mass failure: no pulls
    // 18 deaths in one message (a mass failure: 16 taken dead or more; a death of a member heard from a moment ago is doubted), gossiped on until the queue is empty.
    await core.handle({ kind: "gossip", from: "m0", updates: Array.from({ length: 18 }, (_, i) => member(20 + i, "dead")) });
    await clock.run(3);
    expect(core.stats().queued).toBe(0);
    const first = pulls(sent);
    expect(first.length).toBeGreaterThanOrEqual(1);
    // Each carries the filter of this node's recent deaths, to a live member.
    for (const p of first) {
      expect(isDeathFilter(p.message.deaths)).toBe(true);
      expect(core.member(p.to.id!)?.state).toBe("alive");
    }
    // The next answer brings a death this node lacked: taken at the next pull, within a probe interval.
    missing = member(38, "dead");
    const pulled = core.stats().deathPulls;
    await clock.run(core.config.probeInterval + 0.01);
    expect(core.stats().deathPulls).toBe(pulled + 1);
    expect(core.member("m38")?.state).toBe("dead");
    missing = null;
    // Once a probe interval (its own probes aside), until 10 probe intervals after the deaths.
    await clock.run(20);
    const all = pulls(sent);
    const gaps = all.slice(1).map((p, i) => p.at - all[i]!.at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(core.config.probeInterval - 1e-9);
    expect(all.at(-1)!.at).toBeLessThanOrEqual(3 + 5 + 10 * core.config.probeInterval + core.config.probeInterval);
    const stopped = all.length;
    await clock.run(30);
    expect(pulls(sent)).toHaveLength(stopped);
    expect(core.stats().deathPulls).toBe(stopped);
  });

  test("a node with news queued sends its gossip (each request carries the filter), not pulls; one that reads no lean deaths is never pulled from", async () => {
    const { clock, sent, core } = rig();
    await clock.run(5);
    await core.handle({ kind: "gossip", from: "m0", updates: Array.from({ length: 18 }, (_, i) => member(20 + i, "dead")) });
    // The queue's deaths going out: gossip with updates, no pull in the meantime.
    const before = pulls(sent).length;
    while (core.stats().queued > 0 && clock.now < 20) {
      await clock.run(0.05);
      if (core.stats().queued > 0) expect(pulls(sent)).toHaveLength(before);
    }
    expect(before).toBe(0);
    await clock.run(core.config.probeInterval + 0.01);
    expect(pulls(sent).length).toBeGreaterThan(0); // then, with nothing queued, pulls
    // Members that read no lean deaths (older Bun nodes, or none told): no filter to send them, no pull.
    const old = rig(() => [], false);
    await old.clock.run(5);
    await old.core.handle({ kind: "gossip", from: "m0", updates: Array.from({ length: 18 }, (_, i) => member(20 + i, "dead")) });
    await old.clock.run(15);
    expect(old.core.stats().queued).toBe(0);
    expect(pulls(old.sent)).toHaveLength(0);
    expect(old.core.stats().deathPulls).toBe(0);
  });
});
