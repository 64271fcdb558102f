/**
 * The ids of the members a list holds dead or left (`gone-ids.ts`): a set of strings in one
 * array, and what the member list tells by it (a copy of a death about a member held dead is old
 * news, told without a lookup in the member map; anything else goes the usual way).
 */
import { describe, expect, test } from "bun:test";
import { GoneIds } from "../../src/membership/gone-ids.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { seededRandom, type MemberUpdate, type SwimPorts } from "../../src/membership/swim-types.ts";
import { CountingStore } from "./fakes.ts";
import { SimClock } from "./swim-sim.ts";

describe("gone ids - the set", () => {
  test("holds what a Set holds through 20,000 random adds and deletes (ids long, short, empty, alike)", () => {
    const random = seededRandom(5);
    const pool = ["", "a", "ab", "self", ...Array.from({ length: 600 }, (_, i) => (i % 3 === 0 ? `f${String(i).padStart(62, "0")}f` : `${(i * 2654435761) >>> 0}`.padEnd(64, "x")))];
    const gone = new GoneIds();
    const model = new Set<string>();
    for (let step = 0; step < 20_000; step++) {
      // Copies of the strings, not the pool's own objects: a hit compares their characters then.
      const id = [...pool[Math.floor(random() * pool.length)]!].join("");
      if (random() < 0.6) {
        gone.add(id);
        model.add(id);
      } else expect(gone.delete(id)).toBe(model.delete(id));
      if (step % 97 === 0) for (const each of pool) expect(gone.has(each)).toBe(model.has(each));
    }
    expect(gone.size).toBe(model.size);
    for (const each of pool) expect(gone.has(each)).toBe(model.has(each));
  });
});

describe("gone ids - the member list's old news", () => {
  const member = (i: number, state: MemberUpdate["state"] = "alive", incarnation = 1): MemberUpdate => ({ id: `m${i}`, incarnation, state, address: "10.0.0.2", port: 20_000 + i, ...(state === "dead" || state === "suspect" ? { from: "m0" } : {}) });

  function rig() {
    const store = new CountingStore<MemberUpdate>();
    const ports: SwimPorts = { now: () => 100, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")), members: store, random: seededRandom(2) };
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { deadRetention: 30 });
    for (let i = 0; i < 20; i++) core.learn(member(i));
    return { core, store };
  }

  test("copies of a death (or a suspicion, at any incarnation) of a member held dead are ignored without a lookup; an alive claim at a newer incarnation still refutes it", async () => {
    const { core, store } = rig();
    await core.handle({ kind: "gossip", from: "m1", updates: [member(5, "dead")] });
    expect(core.member("m5")?.state).toBe("dead");
    // The lookups of a message carrying nothing (its sender's), then of one carrying four copies.
    store.gets = 0;
    await core.handle({ kind: "gossip", from: "m2", updates: [] });
    const perMessage = store.gets;
    const ignored = core.stats().updatesIgnored;
    store.gets = 0;
    await core.handle({ kind: "gossip", from: "m2", updates: [member(5, "dead"), member(5, "dead", 7), member(5, "suspect", 9), member(5, "left")] });
    expect(core.stats().updatesIgnored).toBe(ignored + 4);
    expect(store.gets).toBe(perMessage);
    expect(core.member("m5")).toMatchObject({ state: "dead", incarnation: 1 });
    // It comes back (a newer incarnation): news, and its next death is news too.
    await core.handle({ kind: "gossip", from: "m5", updates: [member(5, "alive", 2)] });
    expect(core.member("m5")).toMatchObject({ state: "alive", incarnation: 2 });
    await core.handle({ kind: "gossip", from: "m3", updates: [member(5, "dead", 2)] });
    expect(core.member("m5")).toMatchObject({ state: "dead", incarnation: 2 });
  });

  test("a member that left, and one forgotten after deadRetention: deaths of them stay old news; a member learnt again is news, and so is its death", async () => {
    const clock = new SimClock();
    const ports: SwimPorts = {
      now: () => clock.now,
      schedule: (delay, fn) => clock.schedule(delay, fn),
      send: (to) => Promise.resolve({ kind: "ack", from: to.id, updates: [] }),
      random: seededRandom(4),
    };
    const core = new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { deadRetention: 10 });
    core.start();
    for (let i = 0; i < 20; i++) core.learn(member(i));
    await core.handle({ kind: "gossip", from: "m1", updates: [member(6, "left")] });
    expect(core.member("m6")?.state).toBe("left");
    const ignored = core.stats().updatesIgnored;
    await core.handle({ kind: "gossip", from: "m1", updates: [member(6, "dead", 3)] });
    expect(core.stats().updatesIgnored).toBe(ignored + 1);
    expect(core.member("m6")?.state).toBe("left");
    // Forgotten past deadRetention (the probe order's reshuffle), then met again alive.
    await clock.run(60);
    expect(core.member("m6")).toBeUndefined();
    core.learn(member(6, "alive", 4));
    expect(core.member("m6")).toMatchObject({ state: "alive", incarnation: 4 });
    await core.handle({ kind: "gossip", from: "m1", updates: [member(6, "dead", 4)] });
    expect(core.member("m6")?.state).toBe("dead");
    core.stop();
  });
});
