/**
 * `security/records.ts` on its own: the canonical bytes (independent of key order, of how a number
 * travelled, of `undefined`), the claim port a membership protocol takes (SWIM's alive and join
 * claims), the rules of who must sign, and the verification cache.
 */
import { describe, expect, test } from "bun:test";
import { decode, encode } from "../../src/wire/codec.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { RecordLabel, SignedRecords, canonicalRecord, shareVerifiedSignatures, claimBytes, eventBytes, gossipClaimBytes, signatureText, verifySignature, type GossipClaim, type MemberClaim } from "../../src/security/records.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Peer } from "../../src/types.ts";

const records = () => new SignedRecords({ identity: NodeIdentity.generate(), closed: false });

describe("signed records - canonical bytes", () => {
  test("the same values in another key order, after a round trip, or with undefined for nil give the same bytes", () => {
    const a = canonicalRecord(RecordLabel.Event, [{ b: 1, a: [1.5, { y: null, x: "s" }] }]);
    const b = canonicalRecord(RecordLabel.Event, [{ a: [1.5, { x: "s", y: undefined }], b: 1 }]);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    const travelled = decode(encode({ a: [1.5, { x: "s", y: null }], b: 1.0 }));
    expect(Buffer.from(canonicalRecord(RecordLabel.Event, [travelled])).equals(Buffer.from(a))).toBe(true);
    // Another label, another meaning: no signature passes for another record type.
    expect(Buffer.from(canonicalRecord(RecordLabel.Reply, [{ b: 1, a: [1.5, { y: null, x: "s" }] }])).equals(Buffer.from(a))).toBe(false);
  });

  test("values already in canonical form are encoded in place, to the bytes the copying encoder gave", () => {
    // The bytes these values had before parts already in canonical form were kept rather than
    // copied (a signature made by either version verifies under the other).
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { z: 1, a: [undefined, { d: 2, c: 1 }] });
    const nested = { q: 1, p: 0 };
    const unsorted = { "10": 1, "9": 2, b: { y: 1, x: 2 }, a: [3, { k: undefined }] };
    const values = [{ from: "peer1" }, unsorted, nullProto, [1, [2, nested]]];
    const bytes = canonicalRecord(RecordLabel.Reply, values);
    expect(Buffer.from(bytes).toString("hex")).toBe(
      "95b473796e617073652d703270207265706c7920763181a466726f6da5706565723184a13902a2313001a161920381a16bc0a16282a17802a1790182a16192c082a16301a16402a17a019201920282a17000a17101",
    );
    // Nothing given is changed, and a map already sorted encodes as its sorted copy does.
    expect(Object.keys(unsorted)).toEqual(["9", "10", "b", "a"]);
    expect(Object.keys(nested)).toEqual(["q", "p"]);
    const sortedAlready = { a: 1, b: [{ c: null, d: "x" }] };
    expect(Buffer.from(canonicalRecord(RecordLabel.Event, [sortedAlready])).equals(Buffer.from(canonicalRecord(RecordLabel.Event, [{ b: [{ d: "x", c: null }], a: 1 }])))).toBe(true);
  });

  test("an event's signature survives a trip through the wire and breaks on any covered field", () => {
    const r = records();
    const peer: Peer = { id: r.signerId!, address: "10.0.0.1", port: 1, swarm: "s", team: "default", name: "n", kind: "node", capabilities: [], last_seen: 1 };
    const event = r.signEvent(makeEvent({ conversationId: "c", kind: "note", peer, payload: { n: 1, bytes: new Uint8Array([1, 2]) }, metadata: { m: true } }));
    const checker = new SignedRecords({ identity: null, closed: true });
    const travelled = decode(encode(event)) as typeof event;
    expect(checker.eventRefusal(travelled)).toBeNull();
    const changes: Array<Partial<typeof event>> = [
      { conversation_id: "d" },
      { event_id: "other" },
      { kind: "task.done" },
      { payload: { n: 2, bytes: new Uint8Array([1, 2]) } },
      { parent_id: "p" },
      { created_at: event.created_at + 1 },
      { metadata: { ...event.metadata, m: false } },
      { peer: { ...peer, name: "someone else" } },
    ];
    for (const change of changes) expect(checker.eventRefusal({ ...travelled, ...change })).toContain("does not verify");
    // Outside the signature: the author's address (the author's membership says where it is).
    expect(checker.eventRefusal({ ...travelled, peer: { ...peer, address: "10.0.0.2" } })).toBeNull();
    expect(eventBytes(event).length).toBeGreaterThan(0);
  });
});

describe("signed records - the gossip claim port (SWIM's alive and left updates) and membership claims", () => {
  test("a member's own claim verifies; any changed field (state and meta included), another key or another member's claim does not", () => {
    const member = records();
    const port = member.claimPort();
    const claim: GossipClaim = { id: member.signerId!, incarnation: 7, state: "alive", address: "10.0.0.1", port: 9999, meta: { name: "m", swarm: "lab", capabilities: ["x"] } };
    const sig = port.sign(claim)!;
    expect(sig).toHaveLength(64);
    const other = new SignedRecords({ identity: null, closed: false }).claimPort();
    expect(other.verify(claim, sig)).toBe(true);
    const changes: Array<Partial<GossipClaim>> = [{ address: "10.0.0.66" }, { port: 9998 }, { incarnation: 8 }, { state: "left" }, { meta: { name: "m", swarm: "lab", capabilities: ["x", "y"] } }, { meta: undefined }];
    for (const change of changes) expect(other.verify({ ...claim, ...change }, sig)).toBe(false);
    expect(port.sign({ ...claim, id: "ab".repeat(32) })).toBeNull(); // a node signs only claims about itself
    expect(other.verify(claim, "not a signature")).toBe(false);
    // The key order of meta is not part of the signature (canonical bytes).
    expect(other.verify({ ...claim, meta: { capabilities: ["x"], swarm: "lab", name: "m" } }, sig)).toBe(true);
    expect(gossipClaimBytes(claim)).toEqual(gossipClaimBytes({ ...claim }));
  });

  test("an unsigned gossip claim: believed from a member never seen signing in an open swarm, refused once it signed, always refused in a closed swarm", () => {
    const member = records();
    const claim: GossipClaim = { id: member.signerId!, incarnation: 1, state: "alive", address: "10.0.0.1", port: 9999 };
    const open = new SignedRecords({ identity: null, closed: false }).claimPort();
    expect(open.verify(claim, undefined)).toBe(true);
    expect(open.verify(claim, member.claimPort().sign(claim))).toBe(true);
    expect(open.verify({ ...claim, state: "left" }, undefined)).toBe(false); // known to sign now
    const closed = new SignedRecords({ identity: null, closed: true }).claimPort();
    expect(closed.verify(claim, undefined)).toBe(false);
    expect(closed.verify(claim, member.claimPort().sign(claim))).toBe(true);
    expect(claimBytes({ id: claim.id, address: "a", port: 1, swarm: null, team: null }).length).toBeGreaterThan(0);
  });

  test("a signature one node of the process verified is not checked again by another, which still learns that the member signs", () => {
    const member = records();
    const claim: GossipClaim = { id: member.signerId!, incarnation: 3, state: "alive", address: "10.0.0.1", port: 9999 };
    const sig = member.claimPort().sign(claim);
    const first = new SignedRecords({ identity: null, closed: false });
    const second = new SignedRecords({ identity: null, closed: false });
    expect(first.claimPort().verify(claim, sig)).toBe(true);
    expect(first.stats.verified).toBe(1);
    expect(second.knownSigner(claim.id)).toBe(false);
    expect(second.claimPort().verify(claim, sig)).toBe(true);
    expect(second.stats).toMatchObject({ verified: 0, cached: 1 });
    expect(second.knownSigner(claim.id)).toBe(true);
    // The cache holds good signatures only: a changed claim is checked (and refused) by each.
    expect(second.claimPort().verify({ ...claim, port: 9998 }, sig)).toBe(false);
  });

  test("with sharing off (benchmarks of a node's own cost), each node checks for itself, and still only once", () => {
    const member = records();
    const claim: GossipClaim = { id: member.signerId!, incarnation: 4, state: "alive", address: "10.0.0.1", port: 9999 };
    const sig = member.claimPort().sign(claim);
    shareVerifiedSignatures(false);
    try {
      const first = new SignedRecords({ identity: null, closed: false });
      const second = new SignedRecords({ identity: null, closed: false });
      for (const node of [first, second, first, second]) expect(node.claimPort().verify(claim, sig)).toBe(true);
      expect(first.stats).toMatchObject({ verified: 1, cached: 1 });
      expect(second.stats).toMatchObject({ verified: 1, cached: 1 });
    } finally {
      shareVerifiedSignatures(true);
    }
  });

  test("with sharing off, a node's events and replies are checked each time they reach the check (its copies are dropped before it), its claims are cached", () => {
    const author = records();
    const sig = author.signReply("n", { ok: 1 });
    const claim: GossipClaim = { id: author.signerId!, incarnation: 5, state: "alive", address: "10.0.0.1", port: 9999 };
    const claimSig = author.claimPort().sign(claim);
    shareVerifiedSignatures(false);
    try {
      const reader = new SignedRecords({ identity: null, closed: false });
      for (let i = 0; i < 2; i++) expect(reader.replyRefusal("n", author.signerId!, { ok: 1 }, sig)).toBeNull();
      expect(reader.replyRefusal("n", author.signerId!, { ok: 2 }, sig)).toContain("does not verify");
      expect(reader.stats).toMatchObject({ verified: 2, cached: 0, refused: 1 });
      for (let i = 0; i < 2; i++) expect(reader.claimPort().verify(claim, claimSig)).toBe(true);
      expect(reader.stats).toMatchObject({ verified: 3, cached: 1 });
    } finally {
      shareVerifiedSignatures(true);
    }
  });

  test("claims are cached apart from other records, in a cache whose size does not grow with the swarm", () => {
    const member = records();
    const reader = new SignedRecords({ identity: null, closed: false });
    const claimAt = (incarnation: number): GossipClaim => ({ id: member.signerId!, incarnation, state: "alive", address: "10.0.0.1", port: 9999 });
    const first = claimAt(1_000_000);
    const firstSig = member.claimPort().sign(first);
    expect(reader.claimPort().verify(first, firstSig)).toBe(true);
    expect(reader.claimPort().verify(first, firstSig)).toBe(true);
    expect(reader.stats).toMatchObject({ verified: 1, cached: 1 });
    // 4,096 other claims later the first one has been forgotten: checked again, and still good.
    for (let i = 0; i < 4_096; i++) expect(reader.claimPort().verify(claimAt(i), member.claimPort().sign(claimAt(i)))).toBe(true);
    expect(reader.stats).toMatchObject({ verified: 4_097, cached: 1 });
    expect(reader.claimPort().verify(first, firstSig)).toBe(true);
    expect(reader.stats).toMatchObject({ verified: 4_098, cached: 1 });
    // Only a key signs: an id that is not one is refused before anything is looked up.
    expect(reader.verify("not a key", new Uint8Array(1), firstSig)).toBe(false);
  });

  test("who must sign: closed swarm always; open swarm only a member known to sign, and only for a move", () => {
    const member = records();
    const claim: MemberClaim = { id: member.signerId!, address: "10.0.0.1", port: 9999, swarm: "lab", team: "default" };
    const open = new SignedRecords({ identity: null, closed: false });
    expect(open.claimRefusal(claim, undefined, true)).toBeNull(); // never seen signing: a Python node, believed
    expect(open.claimRefusal(claim, member.signClaim(claim), true)).toBeNull();
    expect(open.knownSigner(claim.id)).toBe(true);
    expect(open.claimRefusal(claim, undefined, false)).toBeNull(); // no move: liveness only
    expect(open.claimRefusal({ ...claim, address: "10.0.0.66" }, undefined, true)).toContain("not signed");
    const closed = new SignedRecords({ identity: null, closed: true });
    expect(closed.claimRefusal(claim, undefined, false)).toContain("closed swarm");
    expect(closed.claimRefusal(claim, member.signClaim(claim), false)).toBeNull();
  });
});

describe("signed records - checks", () => {
  test("copies are checked once (the cache), a node's own unsigned records are refused, malformed signatures stay present", () => {
    const author = records();
    const reader = new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
    const sig = author.signReply("n", { ok: 1 });
    for (let i = 0; i < 5; i++) expect(reader.replyRefusal("n", author.signerId!, { ok: 1 }, sig)).toBeNull();
    expect(reader.stats).toMatchObject({ verified: 1, cached: 4 });
    expect(reader.replyRefusal("n", reader.signerId!, { ok: 1 }, undefined)).toContain("not signed");
    expect(signatureText(undefined)).toBeUndefined();
    expect(signatureText("garbage")).toBe("");
    expect(reader.replyRefusal("n", "ab".repeat(32), 1, signatureText("garbage"))).toContain("does not verify");
    expect(verifySignature("not hex", new Uint8Array(1), sig)).toBe(false);
  });
});
