/**
 * A node's checker of signed records keeps no entry of its own for a gossip member whose signed
 * claim SWIM's member list keeps: the list answers "does it sign?" while it holds the claim, and
 * hands the member over to the checker's signers when it forgets it (or when a new list takes its
 * place), so that what the node knows of who signs is what it knew before, with one id-keyed
 * entry per member fewer.
 */
import { describe, expect, test } from "bun:test";
import { SwimCore } from "../../src/membership/swim.ts";
import type { MemberUpdate } from "../../src/membership/swim-types.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords, gossipClaimBytes } from "../../src/security/records.ts";

const N = 12;

function signedAlive(who: NodeIdentity, i: number, incarnation = 1): MemberUpdate {
  const claim: MemberUpdate = { id: who.id, incarnation, state: "alive", address: "10.0.0.9", port: 9000 + i, meta: { name: `m${i}` } };
  return { ...claim, sig: who.sign(gossipClaimBytes(claim)) };
}

describe("signers held by the member list", () => {
  test("members the list keeps signed count as signers with no entry of their own; forgotten ones (and a replaced list's) are handed over", () => {
    const records = new SignedRecords({ identity: null, closed: false });
    const port = records.claimPort();
    let now = 0;
    const timers: Array<() => void> = [];
    const ports = { now: () => now, schedule: (_: number, fn: () => void) => (timers.push(fn), () => {}), send: () => Promise.reject(new Error("no network")), claims: port };
    const swim = new SwimCore({ id: "self", address: "h", port: 1 }, ports, { deadRetention: 10 });
    const members = Array.from({ length: N }, () => NodeIdentity.generate());
    members.forEach((who, i) => expect(swim.learn(signedAlive(who, i))).toBe(true));
    // The structure: no entry among the signers, and every member still known to sign.
    expect(records.knownSigners).toBe(0);
    for (const who of members) expect(records.knownSigner(who.id)).toBe(true);
    // What else they sign (an event, a reply) adds no entry either while the list keeps them.
    const bytes = new TextEncoder().encode("a record");
    expect(records.verify(members[1]!.id, bytes, members[1]!.sign(bytes))).toBe(true);
    expect(records.knownSigners).toBe(0);
    // Known to sign, so an unsigned claim of one of them is refused, as before.
    const { sig: _sig, ...unsigned } = signedAlive(members[0]!, 0, 2);
    expect(swim.learn(unsigned)).toBe(false);
    expect(records.knownSigner(NodeIdentity.generate().id)).toBe(false);

    // They die (half of them first, half after); past the retention the list forgets them at its
    // next reshuffle (a probe round that finds no live member reshuffles at once).
    const deathOf = (i: number): MemberUpdate => ({ id: members[i]!.id, incarnation: 1, state: "dead", address: "10.0.0.9", port: 9000 + i, from: members[(i + 1) % N]!.id });
    for (let i = 0; i < N / 2; i++) expect(swim.learn(deathOf(i))).toBe(true);
    now = 100;
    for (let i = N / 2; i < N; i++) expect(swim.learn(deathOf(i))).toBe(true);
    swim.start();
    timers[0]!(); // the first probe round
    for (const [i, who] of members.entries()) expect(swim.member(who.id) === undefined).toBe(i < N / 2);
    expect(records.knownSigners).toBe(N / 2);
    for (const who of members) expect(records.knownSigner(who.id)).toBe(true);
    swim.stop();

    // A new list (a restarted node's core) takes the port: the old one's members are handed over.
    const next = new SwimCore({ id: "self", address: "h", port: 1 }, ports);
    expect(records.knownSigners).toBe(N);
    for (const who of members) expect(records.knownSigner(who.id)).toBe(true);
    next.stop();
  });

  test("an unsigned claim of a member never seen signing is still believed in an open swarm, and the member is not taken for a signer", () => {
    const records = new SignedRecords({ identity: null, closed: false });
    const swim = new SwimCore({ id: "self", address: "h", port: 1 }, { now: () => 0, schedule: () => () => {}, send: () => Promise.reject(new Error("no network")), claims: records.claimPort() });
    const who = NodeIdentity.generate();
    const { sig: _sig, ...unsigned } = signedAlive(who, 0);
    expect(swim.learn(unsigned)).toBe(true);
    expect(records.knownSigner(who.id)).toBe(false);
    // Its first signed claim makes it one (held by the list).
    expect(swim.learn(signedAlive(who, 0, 2))).toBe(true);
    expect(records.knownSigner(who.id)).toBe(true);
    expect(records.knownSigners).toBe(0);
    swim.stop();
  });
});
