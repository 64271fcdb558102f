/**
 * A member's signature is kept as a latin1 string of its 64 bytes (80 bytes of heap in JSC, where
 * the `Uint8Array` the decoder made took 112), and still goes on the wire as bytes, in both forms
 * of an update: another node verifies the claim it relays.
 */
import { describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate, SwimPorts } from "../../src/membership/swim-types.ts";
import { readMessage, readWhole, toWire } from "../../src/membership/swim-wire.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords, gossipClaimBytes } from "../../src/security/records.ts";
import { decode, encode } from "../../src/wire/codec.ts";

function signedAlive(who: NodeIdentity, port: number): MemberUpdate & { sig: Uint8Array } {
  const claim: MemberUpdate = { id: who.id, incarnation: 1, state: "alive", address: "10.0.0.9", port, meta: { name: "m" } };
  return { ...claim, sig: who.sign(gossipClaimBytes(claim)) };
}

const core = (id: string): SwimCore => {
  const ports: SwimPorts = { now: () => 0, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")), claims: new SignedRecords({ identity: null, closed: false }).claimPort() };
  return new SwimCore({ id, address: "h", port: 1 }, ports);
};

describe("a member's signature kept as a string", () => {
  test("the list keeps the signature's bytes as a string, not the decoded Uint8Array", () => {
    const a = core("a");
    const who = NodeIdentity.generate();
    const claim = signedAlive(who, 9000);
    expect(a.learn(claim)).toBe(true);
    const kept = a.member(who.id)!.sig;
    expect(typeof kept).toBe("string");
    expect(new Uint8Array(Buffer.from(kept as string, "latin1"))).toEqual(new Uint8Array(claim.sig));
    a.stop();
  });

  for (const pack of [true, false]) {
    test(`it goes on the wire as bytes (${pack ? "packed" : "map"} form), and another node verifies the relayed claim`, async () => {
      const a = core("a");
      const who = NodeIdentity.generate();
      const claim = signedAlive(who, 9001);
      a.learn(claim);
      const state = await a.handle({ kind: "push_pull", from: "b", join: false, members: [] });
      const wire = decode(encode(toWire(state!, { pack, reads: false })));
      expect(readMessage(wire)).not.toBeNull();
      const relayed = (wire as { members: unknown[] }).members.map((u) => readWhole(u)).find((u) => u?.id === who.id)!;
      expect(relayed.sig).toBeInstanceOf(Uint8Array);
      expect(new Uint8Array(relayed.sig as Uint8Array)).toEqual(new Uint8Array(claim.sig));
      // The other node takes it: a signature that did not verify would be refused.
      const b = core("b");
      await b.handle(wire);
      expect(b.member(who.id)?.state).toBe("alive");
      expect(b.stats().badClaims).toBe(0);
      // A forged one is refused, as before.
      const forged = signedAlive(NodeIdentity.generate(), 9002);
      const c = core("c");
      expect(c.learn({ ...forged, sig: claim.sig })).toBe(false);
      a.stop();
      b.stop();
      c.stop();
    });
  }
});
