/**
 * Records kept for full-state answers (virtual clock): a node answering many whole states in a
 * moment (a mass join) makes and encodes each member's record once (`swim-records.ts`).
 */
import { describe, expect, test } from "bun:test";
import { DigestSlots, writeDigest } from "../../src/membership/swim-digest.ts";
import type { MemberUpdate, SwimConfig, SwimPushPull } from "../../src/membership/swim-types.ts";
import { toWire } from "../../src/membership/swim-wire.ts";
import { SimNetwork } from "./swim-sim.ts";

const QUIET: Partial<SwimConfig> = { gossipNodes: 0, maxPiggybackBytes: 1, pushPullInterval: 10_000, joinPage: 0 };

const member = (i: number, incarnation = 1): MemberUpdate => ({ id: `m${i}`, incarnation, state: "alive", address: "10.0.0.2", port: 20_000 + i, meta: { name: `m${i}` } });

/** A joiner's request: its own claim and (`digest`) the digest of holding nothing else. */
function joinerRequest(i: number, digest: boolean): Record<string, unknown> {
  const claim: MemberUpdate = { ...member(1000 + i), id: `j${i}` };
  const request: Record<string, unknown> = { kind: "push_pull", from: claim.id, join: false, members: [claim] };
  if (digest) {
    request.digest = writeDigest({ id: claim.id, incarnation: 1, leaving: false, version: 0, slots: new DigestSlots(), selfUpdate: () => claim, claim: () => claim, update: (m) => m, apply: () => false });
  }
  return request;
}

/** A node holding 40 members. */
function holder(): { net: SimNetwork; core: SimNetwork["nodes"][number]["core"] } {
  const net = new SimNetwork(QUIET);
  const node = net.add();
  for (let i = 0; i < 40; i++) node.core.learn(member(i));
  return { net, core: node.core };
}

/** The packed bytes of each record of `answer` but the answerer's own claim, by member id. */
function packedById(answer: SwimPushPull): Map<string, Uint8Array> {
  const wire = toWire(answer, { pack: true, reads: false }).members as Uint8Array[];
  return new Map(answer.members.map((u, i) => [u.id, wire[i]!] as const).filter(([id]) => id.startsWith("m")));
}

describe("swim core - records kept for full-state answers", () => {
  for (const digest of [true, false]) {
    test(`answers within a probe interval share each record and its encoding (${digest ? "digest" : "whole state"} asked for)`, async () => {
      const { net, core } = holder();
      const first = (await core.handle(joinerRequest(1, digest))) as SwimPushPull;
      const second = (await core.handle(joinerRequest(2, digest))) as SwimPushPull;
      const a = packedById(first);
      const b = packedById(second);
      expect(a.size).toBe(40);
      expect(b.size).toBe(40);
      // The same bytes object: encoded once, not once per answer (made afresh, each answer encoded its own).
      for (const [id, bytes] of a) expect(b.get(id)).toBe(bytes);
      // Kept records are frozen: nobody changes what their kept bytes say.
      expect(first.members.every((u) => Object.isFrozen(u))).toBe(true);
      // A record that changed is made anew; the others stay shared.
      core.learn(member(7, 2));
      const third = packedById((await core.handle(joinerRequest(3, digest))) as SwimPushPull);
      expect(third.get("m7")).not.toBe(a.get("m7"));
      expect(third.get("m8")).toBe(a.get("m8"));
      // A probe interval later the kept records are dropped: none held, the next answer makes its own.
      await net.clock.run(1.5);
      const later = packedById((await core.handle(joinerRequest(4, digest))) as SwimPushPull);
      expect(later.get("m8")).not.toBe(a.get("m8"));
      expect(later.get("m8")).toEqual(a.get("m8")!);
    });
  }
});
