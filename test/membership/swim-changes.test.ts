/**
 * A catch-up pull is answered from the log of the list's changes (`swim-changes.ts`): exactly the
 * members whose record changed after the asker's version, as a walk of every member found them,
 * at the cost of the changes made since, not of the list's size; and the log stays bounded however
 * often the same few members change.
 */
import { describe, expect, test } from "bun:test";
import { ChangeLog, LOG_SLACK } from "../../src/membership/swim-changes.ts";
import { SwimCore } from "../../src/membership/swim.ts";
import { seededRandom, type MemberStore, type MemberUpdate, type SwimPorts, type SwimPushPull } from "../../src/membership/swim-types.ts";
import { CountingStore } from "./fakes.ts";

const member = (i: number, incarnation = 1): MemberUpdate => ({ id: `m${i}`, incarnation, state: "alive", address: "10.0.0.2", port: 20_000 + i, meta: { name: `m${i}` } });

/** A core with no network; its timers are kept in `timers` (run by hand), its clock is `clock.now`. */
function rig(members?: MemberStore<MemberUpdate>): { core: SwimCore; clock: { now: number }; timers: Array<() => void> } {
  const clock = { now: 0 };
  const timers: Array<() => void> = [];
  const ports: SwimPorts = { now: () => clock.now, schedule: (_, fn) => (timers.push(fn), () => {}), send: () => Promise.reject(new Error("no network")), ...(members ? { members } : {}) };
  return { core: new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { deadRetention: 10, maxMembers: 100_000 }), clock, timers };
}

/** `core`'s answer to a catch-up pull from member `m0` (held already: the request changes nothing) asking for what changed after `since`. */
async function catchUp(core: SwimCore, since: number): Promise<SwimPushPull> {
  const answer = await core.handle({ kind: "push_pull", from: "m0", join: false, members: [core.member("m0") ?? member(0)], since });
  expect(answer?.kind).toBe("push_pull");
  return answer as SwimPushPull;
}

/** What a walk of every member finds: the ids of those whose record changed after `since`. */
const changedSince = (core: SwimCore, since: number): string[] => [...core.members()].filter((m) => m.version > since).map((m) => m.id).sort();

const others = (answer: SwimPushPull): string[] => answer.members.filter((u) => u.id !== "self").map((u) => u.id).sort();

describe("swim core - catch-up answers from the log of changes", () => {
  test("the answer holds exactly the members new, changed, refuted, dead or left since the asker's version, and walks no member to find them", async () => {
    const store = new CountingStore<MemberUpdate>();
    const { core } = rig(store);
    for (let i = 0; i < 1000; i++) core.learn(member(i));
    const all = await catchUp(core, 0);
    expect(all.members).toHaveLength(1001);
    const since = all.version!;
    const expected = new Set<string>();
    const change = (u: MemberUpdate): void => {
      expect(core.learn(u)).toBe(true);
      expect(u.id).not.toBe("m0");
      expected.add(u.id);
    };
    for (let i = 1000; i < 1010; i++) change(member(i)); // new
    for (let i = 1; i < 6; i++) change(member(i, 2)); // a newer alive claim
    for (let i = 10; i < 15; i++) {
      change({ ...member(i), state: "suspect", from: "m1" });
      change(member(i, 2)); // refuted
    }
    for (let i = 20; i < 25; i++) change({ ...member(i), state: "dead", from: "m1" });
    for (let i = 30; i < 35; i++) change({ ...member(i), state: "left" });
    for (let incarnation = 2; incarnation <= 20; incarnation++) change(member(40, incarnation)); // changed often: once in the answer
    store.visits = 0;
    const answer = await catchUp(core, since);
    // Cost: no walk of the store (a walk of every member, before, visited all 1,010).
    expect(store.visits).toBe(0);
    expect(answer.members[0]!.id).toBe("self");
    expect(others(answer)).toEqual([...expected].sort());
    expect(others(answer)).toEqual(changedSince(core, since));
    // Each record as the list holds it now, oldest change first.
    const byId = new Map(answer.members.map((u) => [u.id, u]));
    expect(byId.get("m40")?.incarnation).toBe(20);
    expect(byId.get("m12")).toMatchObject({ state: "alive", incarnation: 2 });
    expect(byId.get("m22")).toMatchObject({ state: "dead", incarnation: 1 });
    expect(byId.get("m31")?.state).toBe("left");
    expect(answer.members.slice(1).map((u) => core.member(u.id)!.version)).toEqual(answer.members.slice(1).map((u) => core.member(u.id)!.version).sort((a, b) => a - b));
    // Nothing changed since the answer's version: nothing but the answerer's claim.
    expect((await catchUp(core, answer.version!)).members.map((u) => u.id)).toEqual(["self"]);
  });

  test("a member forgotten since is not in the answer; one known again under the same id is, as its new record", async () => {
    const { core, clock, timers } = rig();
    for (let i = 0; i < 6; i++) core.learn(member(i));
    const since = (await catchUp(core, 0)).version!;
    for (let i = 0; i < 4; i++) core.learn({ ...member(i), state: "dead", from: "m5" });
    clock.now = 95;
    core.learn({ ...member(4), state: "dead", from: "m5" });
    core.learn({ ...member(5), state: "left" });
    // Past the retention of the first four deaths, the first probe round (no live member) forgets them.
    clock.now = 100;
    const before = timers.length; // the answer above set one (its kept records' window)
    core.start();
    timers[before]!();
    core.stop();
    for (let i = 0; i < 4; i++) expect(core.member(`m${i}`)).toBeUndefined();
    expect(core.size).toBe(2);
    core.learn(member(2, 3));
    core.learn(member(6));
    const answer = await catchUp(core, since);
    // m0 is known again too: the request carried its claim (merged before the answer).
    expect(others(answer)).toEqual(["m0", "m2", "m4", "m5", "m6"]);
    expect(others(answer)).toEqual(changedSince(core, since));
    expect(answer.members.find((u) => u.id === "m2")).toMatchObject({ state: "alive", incarnation: 3 });
  });
});

describe("the log of changes", () => {
  /** A list of `n` members held in a map, changed through a log as `MemberList` does. */
  function list(n: number) {
    const held = new Map<string, { id: string; version: number }>();
    const log = new ChangeLog<{ id: string; version: number }>((m) => held.get(m.id) === m);
    let version = 0;
    const change = (id: string): void => {
      const m = held.get(id) ?? { id, version: 0 };
      held.set(id, m);
      m.version = ++version;
      log.add(m, held.size);
    };
    for (let i = 0; i < n; i++) change(`m${i}`);
    const after = (since: number): string[] => {
      const out: string[] = [];
      log.after(since, (m) => void out.push(m.id));
      return out;
    };
    const walk = (since: number): string[] => [...held.values()].filter((m) => m.version > since).sort((a, b) => a.version - b.version).map((m) => m.id);
    return { held, log, change, after, walk, version: () => version };
  }

  test("many changes of few members: the log stays within one and a half entries per member and its slack, and answers as a walk would", () => {
    const { log, change, after, walk, version } = list(10);
    let longest = 0;
    for (let k = 0; k < 10_000; k++) {
      change(`m${k % 7}`);
      longest = Math.max(longest, log.length);
    }
    expect(longest).toBe(10 + 5 + LOG_SLACK);
    for (const since of [0, 1, version() - 20, version() - 3, version()]) expect(after(since)).toEqual(walk(since));
    expect(after(version() - 3)).toEqual(["m1", "m2", "m3"]); // the last three of 10,000 changes of m0..m6 in turn
  });

  test("members dropped from the list are never answered, and their entries go at the next fit", () => {
    const { held, log, change, after, walk } = list(100);
    for (let i = 0; i < 90; i++) held.delete(`m${i}`);
    expect(after(0)).toEqual(walk(0));
    expect(after(0)).toHaveLength(10);
    log.fit(held.size);
    expect(log.length).toBe(10);
    // An id known again is a new record: answered once, as the new one.
    change("m3");
    expect(after(0)).toEqual([...walk(0)]);
    expect(after(0).at(-1)).toBe("m3");
  });

  test("random changes, drops and returns (seeded): every answer is the walk's, oldest change first", () => {
    const random = seededRandom(7);
    const { held, change, after, walk, version } = list(50);
    for (let round = 0; round < 2000; round++) {
      const id = `m${Math.floor(random() * 80)}`;
      if (random() < 0.1) held.delete(id);
      else change(id);
      if (round % 50 === 0) for (const since of [0, Math.floor(random() * version()), version() - 5, version()]) expect(after(since)).toEqual(walk(since));
    }
  });
});
