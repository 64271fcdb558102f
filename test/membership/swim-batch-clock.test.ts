/**
 * The member list dates what one message (or one merged state) teaches it with one clock read: every
 * member learnt or changed by it gets the same `since`, a time within the message's handling, and
 * the next message's members a later one.
 */
import { describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate, SwimPorts } from "../../src/membership/swim-types.ts";

const member = (i: number, incarnation = 1): MemberUpdate => ({ id: `m${i}`, incarnation, state: "alive", address: "10.0.0.2", port: 20_000 + i, meta: { name: `m${i}` } });

/** A core with no network whose clock moves on by a millisecond at every read (so two reads never agree). */
function rig(): { core: SwimCore; reads: () => number } {
  let now = 100;
  let reads = 0;
  const ports: SwimPorts = { now: () => (reads++, (now += 0.001)), schedule: () => () => {}, send: () => Promise.reject(new Error("no network")) };
  return { core: new SwimCore({ id: "self", address: "10.0.0.1", port: 1 }, ports, { deadRetention: 10, maxMembers: 10_000 }), reads: () => reads };
}

const since = (core: SwimCore, id: string): number => core.member(id)!.since;

describe("swim member list - one clock read for what a message or a state teaches", () => {
  test("members learnt from one gossip message share their since; deaths it brings share one too; the next message's come later", async () => {
    const { core } = rig();
    core.learn(member(0));
    await core.handle({ kind: "gossip", from: "m0", updates: [member(1), member(2), member(3)] });
    const first = since(core, "m1");
    expect([since(core, "m2"), since(core, "m3")]).toEqual([first, first]);
    await core.handle({ kind: "gossip", from: "m0", updates: [member(4), { ...member(1), state: "dead", from: "m0" }, { ...member(2), state: "dead", from: "m0" }] });
    const second = since(core, "m4");
    expect(second).toBeGreaterThan(first);
    expect(core.member("m1")!.state).toBe("dead");
    expect([since(core, "m1"), since(core, "m2")]).toEqual([second, second]);
    // A member the message did not change keeps its time.
    expect(since(core, "m3")).toBe(first);
  });

  test("a merged state's members share their since; a lone learn outside a batch reads the clock itself", async () => {
    const { core, reads } = rig();
    await core.handle({ kind: "push_pull", from: "m0", join: false, members: Array.from({ length: 50 }, (_, i) => member(i)) });
    const at = since(core, "m0");
    for (let i = 1; i < 50; i++) expect(since(core, `m${i}`)).toBe(at);
    const before = reads();
    core.learn(member(99));
    expect(reads()).toBeGreaterThan(before);
    expect(since(core, "m99")).toBeGreaterThan(at);
  });
});
