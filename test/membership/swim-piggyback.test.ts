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
import { packUpdate } from "../../src/membership/swim-wire.ts";

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
