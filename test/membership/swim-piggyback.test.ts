/**
 * What piggybacking costs a node: rumor mongering with feedback (`BroadcastQueue.echo`: a copy of
 * queued news that another member gossips to this node counts as one of the update's
 * transmissions, so that a node stops relaying what the members around it are already spreading;
 * a mass join's gossip was mostly such copies), and what the queue keeps packed between messages.
 */
import { describe, expect, test } from "bun:test";
import { BroadcastQueue } from "../../src/membership/swim-queue.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate } from "../../src/membership/swim-types.ts";
import { leanDeath, packUpdate, readWhole, toWire } from "../../src/membership/swim-wire.ts";

const update = (id: string, incarnation = 1, state: MemberUpdate["state"] = "alive"): MemberUpdate => ({ id, incarnation, state, address: "10.0.0.2", port: 9000 });

describe("swim core - gossip with feedback", () => {
  test("a copy of the queued news counts as a transmission; older news or another state does not", () => {
    const q = new BroadcastQueue(() => 10);
    q.push(update("a"));
    q.push(update("b"));
    expect(q.take(1000, 3).map((u) => u.id).sort()).toEqual(["a", "b"]); // each sent once, limit 3
    q.echo("a", 0, "alive", "x"); // older: not the same news
    q.echo("a", 1, "dead", "x"); // another state: not the same news
    q.echo("c", 1, "alive", "x"); // nothing queued about it
    expect(q.size).toBe(2);
    q.echo("a", 1, "alive", "x"); // a's second transmission, done by another member
    expect(q.size).toBe(2);
    q.echo("a", 1, "alive", "y"); // its third: the limit, a leaves the queue
    expect(q.size).toBe(1);
    expect(q.take(1000, 3).map((u) => u.id)).toEqual(["b"]);
    // An update's own cap bounds it the same way.
    q.push(update("d"), 1);
    q.echo("d", 1, "alive", "x");
    expect(q.take(1000, 3).map((u) => u.id)).toEqual(["b"]);
  });

  test("a message to the member that sent this node an update last does not carry that update", () => {
    const q = new BroadcastQueue(() => 10);
    q.push(update("a"));
    q.push(update("b"));
    q.heardFrom("a", 1, "alive", "x");
    q.heardFrom("b", 2, "alive", "x"); // not the queued update (incarnation 1): b goes to x too
    expect(q.take(1000, 5, "x").map((u) => u.id)).toEqual(["b"]);
    expect(q.take(1000, 5, "y").map((u) => u.id).sort()).toEqual(["a", "b"]);
    q.echo("b", 1, "alive", "y"); // the latest to send b here
    expect(q.take(1000, 5, "y").map((u) => u.id)).toEqual(["a"]);
  });

  test("a relayed newcomer's claim goes neither back to its senders nor on after the copies they sent", async () => {
    // retransmitMult 6 (the default is 4): a few members' limit, 6 × ⌈log10(N + 1)⌉ = 6, is the relayed claim's cap.
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => new Promise(() => {}) }, { retransmitMult: 6 });
    const claim = update("newcomer");
    const carries = (answer: Awaited<ReturnType<typeof core.handle>>): boolean => answer?.kind === "ack" && answer.updates.some((u) => u.id === "newcomer");
    // Relayed by s0 (6 transmissions here at most): the ack to s0 does not carry it back.
    expect(carries(await core.handle({ kind: "gossip", from: "s0", updates: [claim] }))).toBe(false);
    expect(core.member("newcomer")?.state).toBe("alive");
    // Two more members gossip the same claim: two of its six transmissions, done by them.
    for (const from of ["s1", "s2"]) expect(carries(await core.handle({ kind: "gossip", from, updates: [claim] }))).toBe(false);
    // Acks to a member that sent nothing carry it the four times left, then it is done.
    const carried: boolean[] = [];
    for (let i = 0; i < 6; i++) carried.push(carries(await core.handle({ kind: "gossip", from: "z", updates: [] })));
    expect(carried).toEqual([true, true, true, true, false, false]);
    expect(core.stats().queued).toBe(0);
  });

  test("copies of a death gossiped to this node do not shorten its own gossip of it", async () => {
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => new Promise(() => {}) }, { retransmitMult: 6 });
    core.learn(update("gone"));
    await core.handle({ kind: "gossip", from: "z", updates: [] }); // the first-hand claim goes out once
    const death: MemberUpdate = { ...update("gone"), state: "dead", from: "s0" };
    await core.handle({ kind: "gossip", from: "s0", updates: [death] });
    expect(core.member("gone")?.state).toBe("dead");
    let carried = 0;
    const count = (answer: Awaited<ReturnType<typeof core.handle>>): void => void (answer?.kind === "ack" && answer.updates.some((u) => u.id === "gone" && u.state === "dead") && carried++);
    for (const from of ["s1", "s2", "s3"]) count(await core.handle({ kind: "gossip", from, updates: [{ ...death, from }] }));
    for (let i = 0; i < 10; i++) count(await core.handle({ kind: "gossip", from: "z", updates: [] }));
    // 2 members: 6 × ⌈log10(3)⌉ = 6 transmissions, all of them this node's own (3 if the copies counted).
    expect(carried).toBe(6);
  });
});

describe("swim core - the queue's packed updates", () => {
  test("a queue of 600 updates (90 KB) is packed once: each update taken again carries the bytes packed at its first take", async () => {
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => new Promise(() => {}) });
    for (let i = 0; i < 600; i++) core.learn({ ...update(`m${i}`), meta: { name: `m${i}`, team: "t".repeat(100) } });
    const packed = new Map<MemberUpdate, Uint8Array>();
    let again = 0;
    let repacked = 0;
    // Acks to empty gossip: each takes the fewest-sent updates that fit a message (8 KB), as toWire packs them.
    for (let i = 0; i < 60; i++) {
      const answer = await core.handle({ kind: "gossip", from: "s", updates: [] });
      for (const u of answer?.kind === "ack" ? answer.updates : []) {
        const bytes = packUpdate(u);
        const before = packed.get(u);
        if (before !== undefined) {
          again++;
          if (before !== bytes) repacked++;
        }
        packed.set(u, bytes);
      }
    }
    expect(again).toBeGreaterThan(600); // every update was taken at least twice
    expect(repacked).toBe(0);
  });
});

describe("swim core - a relay goes on as the bytes it came in", () => {
  const core = (): SwimCore => new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => new Promise(() => {}) });
  /** The updates of an ack `c` gives a member that sent it nothing (what it gossips now). */
  const gossiped = async (c: SwimCore): Promise<MemberUpdate[]> => {
    const ack = await c.handle({ kind: "gossip", from: "z", updates: [] });
    return ack?.kind === "ack" ? ack.updates : [];
  };

  test("a relayed claim, suspicion or death in the packed form is queued with its bytes as they came: no encoding of its own", async () => {
    const c = core();
    // The sender's packed bytes (another object: the sender's own update).
    const claim: MemberUpdate = { ...update("newcomer"), meta: { name: "n", capabilities: ["a", "b"] } };
    const claimBytes = packUpdate({ ...claim });
    await c.handle({ kind: "gossip", from: "s0", updates: [claimBytes] });
    const relayed = (await gossiped(c)).find((u) => u.id === "newcomer")!;
    expect(relayed).toMatchObject({ id: "newcomer", incarnation: 1, state: "alive", meta: claim.meta });
    expect(packUpdate(relayed)).toBe(claimBytes);
    // A suspicion of it at the same incarnation, with its author: the same.
    const suspicionBytes = packUpdate({ ...update("newcomer", 1, "suspect"), from: "s1" });
    await c.handle({ kind: "gossip", from: "s1", updates: [suspicionBytes] });
    const suspicion = (await gossiped(c)).find((u) => u.id === "newcomer")!;
    expect(suspicion).toMatchObject({ state: "suspect", from: "s1" });
    expect(packUpdate(suspicion)).toBe(suspicionBytes);
    // The bytes go on the wire as they came.
    const wire = toWire({ kind: "gossip", from: "self", updates: [suspicion] }, { pack: true, reads: true });
    expect(wire.updates).toEqual([suspicionBytes]);
  });

  test("what is not what came (a death taken as a suspicion, a lean death's packed form, the map form) is encoded anew", async () => {
    const c = core();
    await c.handle({ kind: "gossip", from: "s0", updates: [packUpdate(update("m"))] });
    // A death in the map form (no bytes came): encoded here.
    await c.handle({ kind: "gossip", from: "s1", updates: [{ ...update("m", 2, "dead"), from: "s1" }] });
    const death = (await gossiped(c)).find((u) => u.id === "m")!;
    expect(death.state).toBe("dead");
    const encoded = packUpdate(death);
    expect(readWhole(encoded)).toMatchObject({ id: "m", incarnation: 2, state: "dead", from: "s1" });
    // A lean death: its bytes go on as they came to peers that read lean deaths; its packed form (for the others) is encoded here.
    const d = core();
    await d.handle({ kind: "gossip", from: "s0", updates: [packUpdate(update("m"))] });
    const lean = leanDeath(update("m", 3, "dead"));
    await d.handle({ kind: "gossip", from: "s1", updates: [lean] });
    const leanRelayed = (await gossiped(d)).find((u) => u.id === "m")!;
    expect(leanRelayed).toMatchObject({ state: "dead", incarnation: 3 });
    expect(leanDeath(leanRelayed)).toBe(lean);
    expect(toWire({ kind: "gossip", from: "self", updates: [leanRelayed] }, { pack: true, reads: true, lean: true }).updates).toEqual([lean]);
    expect(packUpdate(leanRelayed)).not.toBe(lean);
    expect(readWhole(packUpdate(leanRelayed))).toMatchObject({ id: "m", incarnation: 3, state: "dead" });
    // A death of a member this node heard from a moment ago is taken as a suspicion: not the bytes that said dead.
    const e = core();
    await e.handle({ kind: "gossip", from: "m", updates: [packUpdate(update("m"))] });
    e.heardFrom("m");
    const deathBytes = packUpdate({ ...update("m", 1, "dead"), from: "s1" });
    await e.handle({ kind: "gossip", from: "s1", updates: [deathBytes] });
    const doubted = (await gossiped(e)).find((u) => u.id === "m")!;
    expect(doubted.state).toBe("suspect");
    expect(packUpdate(doubted)).not.toBe(deathBytes);
    expect(readWhole(packUpdate(doubted))).toMatchObject({ id: "m", state: "suspect" });
  });

  test("a relay queued with its bytes counts against the queue's budget of encoded updates", () => {
    const released: string[] = [];
    const q = new BroadcastQueue(() => 100, 4096, { bytes: 200, release: (x) => void released.push(x.id) });
    q.push(update("a"), Number.POSITIVE_INFINITY, true);
    q.push(update("b"), Number.POSITIVE_INFINITY, true);
    expect(q.encodedBytes).toBe(200);
    expect(released).toEqual([]);
    q.push(update("c"), Number.POSITIVE_INFINITY, true);
    expect(released).toEqual(["a"]);
    expect(q.encodedBytes).toBe(200);
    // One queued without bytes counts only once taken.
    q.push(update("d"));
    expect(q.encodedBytes).toBe(200);
  });
});
