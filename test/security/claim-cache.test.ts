/**
 * The verified gossip claims a process remembers by signature (`security/claim-cache.ts`): a copy
 * of a claim verified in the process is accepted without its signed bytes or a second Ed25519
 * check, and only a copy: the same signature on a claim that differs in any signed field is checked
 * (and refused). Claims of another shape go the way of every record; who must sign is unchanged;
 * the cache is bounded.
 */
import { afterEach, beforeEach, describe, expect, spyOn, test } from "bun:test";
import * as recordBytes from "../../src/security/record-bytes.ts";
import * as verification from "../../src/security/verification.ts";
import { VerifiedClaims } from "../../src/security/claim-cache.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SignedRecords, clearVerificationCaches, gossipClaimBytes, type GossipClaim } from "../../src/security/records.ts";
import { decode, encode } from "../../src/wire/codec.ts";

const member = () => new SignedRecords({ identity: NodeIdentity.generate(), closed: false });
const reader = (closed = false) => new SignedRecords({ identity: null, closed });
/** A claim as SWIM decodes it from the wire: fresh objects and strings each time. */
const travelled = (claim: GossipClaim): GossipClaim => decode(encode(claim)) as GossipClaim;

const META = { swarm: "lab", team: "default", name: "m1", kind: "node", capabilities: ["echo", "sum"] };

let bytesMade: ReturnType<typeof spyOn>;
let ed25519: ReturnType<typeof spyOn>;
beforeEach(() => {
  clearVerificationCaches();
  bytesMade = spyOn(recordBytes, "gossipClaimBytes");
  ed25519 = spyOn(verification, "verifySignature");
});
afterEach(() => {
  bytesMade.mockRestore();
  ed25519.mockRestore();
});

/** A member's signed claim, and a reader that verified it (so the process remembers it). */
function verified(meta: unknown = META, closed = false) {
  const author = member();
  const claim: GossipClaim = { id: author.signerId!, incarnation: 7, state: "alive", address: "10.0.0.1", port: 9999, meta };
  const sig = author.claimPort().sign(claim)!;
  const first = reader(closed);
  expect(first.claimPort().verify(travelled(claim), sig)).toBe(true);
  expect(first.stats).toMatchObject({ verified: 1, cached: 0 });
  bytesMade.mockClear();
  ed25519.mockClear();
  return { author, claim, sig, first };
}

describe("verified gossip claims - copies", () => {
  test("a copy of a verified claim is accepted by any node of the process without its bytes or a second Ed25519 check", () => {
    const { claim, sig, first } = verified();
    const second = reader();
    expect(second.knownSigner(claim.id)).toBe(false);
    expect(second.claimPort().verify(travelled(claim), sig)).toBe(true);
    // Meta's key order, and a map with no prototype, are no change: the bytes sort the keys.
    const reordered = { ...travelled(claim), meta: Object.assign(Object.create(null) as object, { capabilities: ["echo", "sum"], name: "m1", kind: "node", team: "default", swarm: "lab" }) };
    expect(Buffer.from(gossipClaimBytes(reordered)).equals(Buffer.from(gossipClaimBytes(claim)))).toBe(true);
    bytesMade.mockClear();
    expect(first.claimPort().verify(reordered, sig)).toBe(true);
    expect(bytesMade).not.toHaveBeenCalled();
    expect(ed25519).not.toHaveBeenCalled();
    // Counted as the cache of verified signatures counted its answers, and the member noted as a signer.
    expect(second.stats).toMatchObject({ verified: 0, cached: 1, refused: 0 });
    expect(first.stats).toMatchObject({ verified: 1, cached: 1, refused: 0 });
    expect(second.knownSigner(claim.id)).toBe(true);
  });

  test("the signature on a claim that differs in any signed field is checked, and refused", () => {
    const other = member();
    const { claim, sig } = verified();
    const second = reader();
    const variants: Array<Partial<Record<keyof GossipClaim, unknown>>> = [
      { id: other.signerId! },
      { incarnation: 8 },
      { incarnation: 6 },
      { incarnation: "7" },
      { state: "left" },
      { state: "suspect" },
      { address: "10.0.0.66" },
      { address: "10.0.0.1 " },
      { port: 9998 },
      { port: "9999" },
      { meta: undefined },
      { meta: {} },
      { meta: { ...META, swarm: "other" } },
      { meta: { ...META, swarm: null } },
      { meta: { ...META, team: "red" } },
      { meta: { ...META, name: "m2" } },
      { meta: { ...META, kind: "python" } },
      { meta: { ...META, capabilities: ["echo", "sum", "x"] } },
      { meta: { ...META, capabilities: ["echo"] } },
      { meta: { ...META, capabilities: ["sum", "echo"] } },
      { meta: { ...META, capabilities: ["echo", "Sum"] } },
      { meta: { ...META, capabilities: [] } },
      { meta: { ...META, capabilities: "echo,sum" } },
      { meta: { ...META, capabilities: { 0: "echo", 1: "sum" } } },
      { meta: { ...META, extra: "x" } },
      { meta: { ...META, kind: undefined } },
      { meta: (({ kind: _kind, ...rest }) => rest)(META) },
      { meta: { ...META, name: ["m1"] } },
    ];
    for (const [i, change] of variants.entries()) {
      ed25519.mockClear();
      expect({ i, ok: second.claimPort().verify({ ...travelled(claim), ...change } as GossipClaim, sig) }).toEqual({ i, ok: false });
      expect(ed25519).toHaveBeenCalledTimes(1); // went to the signature check, not answered by a cache
    }
    expect(second.stats).toMatchObject({ verified: 0, cached: 0, refused: variants.length });
    // The claim itself still is a copy.
    expect(second.claimPort().verify(travelled(claim), sig)).toBe(true);
    expect(second.stats).toMatchObject({ verified: 0, cached: 1 });
  });

  test("what is remembered is a copy: the verified claim changed afterwards is not accepted with its signature", () => {
    const author = member();
    const claim: GossipClaim = { id: author.signerId!, incarnation: 1, state: "alive", address: "10.0.0.1", port: 1, meta: { ...META, capabilities: [...META.capabilities] } };
    const sig = author.claimPort().sign(claim)!;
    const checker = reader();
    expect(checker.claimPort().verify(claim, sig)).toBe(true);
    (claim.meta as { capabilities: string[] }).capabilities.push("admin");
    expect(checker.claimPort().verify(claim, sig)).toBe(false);
    (claim.meta as { capabilities: string[] }).capabilities.pop();
    (claim.meta as { name: string }).name = "someone else";
    expect(checker.claimPort().verify(claim, sig)).toBe(false);
    claim.meta = { ...META };
    sig[0] ^= 1; // the signature's bytes too
    expect(checker.claimPort().verify(claim, sig)).toBe(false);
    sig[0] ^= 1;
    expect(checker.claimPort().verify(claim, sig)).toBe(true);
    expect(checker.stats).toMatchObject({ verified: 1, cached: 1, refused: 3 });
  });

  test("a claim with no meta is remembered too, and meta added to it is a change", () => {
    const { claim, sig } = verified(null);
    const second = reader();
    const { meta: _meta, ...absent } = travelled(claim); // signed as null too
    expect(second.claimPort().verify(absent, sig)).toBe(true);
    expect(bytesMade).not.toHaveBeenCalled();
    expect(second.claimPort().verify({ ...travelled(claim), meta: {} }, sig)).toBe(false);
    expect(second.claimPort().verify({ ...travelled(claim), meta: META }, sig)).toBe(false);
    expect(second.stats).toMatchObject({ verified: 0, cached: 1, refused: 2 });
  });

  test("a claim of another shape (meta not a member's record) is checked by its bytes, cached as before", () => {
    const { claim, sig } = verified({ ...META, nested: { a: [1, 2] } });
    const second = reader();
    expect(second.claimPort().verify(travelled(claim), sig)).toBe(true);
    expect(bytesMade).toHaveBeenCalledTimes(1); // the cache of verified signatures answered it
    expect(ed25519).not.toHaveBeenCalled();
    expect(second.stats).toMatchObject({ verified: 0, cached: 1 });
    expect(second.claimPort().verify({ ...travelled(claim), meta: { ...META, nested: { a: [1, 3] } } }, sig)).toBe(false);
    // So is a long list, past what an entry may hold.
    const many = verified({ ...META, capabilities: Array.from({ length: 40 }, (_, i) => `c${i}`) });
    expect(reader().claimPort().verify(travelled(many.claim), many.sig)).toBe(true);
    expect(bytesMade).toHaveBeenCalledTimes(1);
  });
});

describe("verified gossip claims - who must sign, unchanged", () => {
  test("open swarm: an unsigned claim of a member never seen signing is believed; once a copy of its signed claim passed, it is refused", () => {
    const { claim, sig } = verified();
    const open = reader();
    expect(open.claimPort().verify(travelled(claim), undefined)).toBe(true);
    expect(open.claimPort().verify(travelled(claim), sig)).toBe(true); // a copy: answered by the cache
    expect(open.stats).toMatchObject({ verified: 0, cached: 1 });
    expect(open.claimPort().verify(travelled(claim), undefined)).toBe(false);
    expect(open.claimPort().verify(travelled(claim), new Uint8Array(0))).toBe(false); // malformed: present, does not verify
    expect(open.stats.refused).toBe(2);
  });

  test("closed swarm: an unsigned claim is refused though the process remembers the member's signed one", () => {
    const { claim, sig } = verified(META, true);
    const closed = reader(true);
    expect(closed.claimPort().verify(travelled(claim), undefined)).toBe(false);
    expect(closed.claimPort().verify(travelled(claim), sig)).toBe(true);
    expect(closed.stats).toMatchObject({ verified: 0, cached: 1, refused: 1 });
  });

  test("a checker whose member list keeps the claims it verifies notes no signer of its own for a copy either", () => {
    const { claim, sig } = verified();
    const swimChecker = reader();
    const port = swimChecker.claimPort();
    port.attach({ holds: () => false, held: () => [] });
    expect(port.verify(travelled(claim), sig)).toBe(true);
    expect(swimChecker.stats.cached).toBe(1);
    expect(swimChecker.knownSigners).toBe(0);
  });
});

describe("verified gossip claims - the cache", () => {
  const claimOf = (author: SignedRecords, i: number): GossipClaim => ({ id: author.signerId!, incarnation: i, state: "alive", address: "10.0.0.1", port: 9999, meta: META });

  test("bounded: past its size the oldest claims are forgotten (and verified again when they come back)", () => {
    const author = member();
    const cache = new VerifiedClaims(4);
    const signed = Array.from({ length: 10 }, (_, i) => ({ claim: claimOf(author, i), sig: author.claimPort().sign(claimOf(author, i))! }));
    for (const { claim, sig } of signed) cache.remember(sig, claim);
    expect(cache.size).toBe(4);
    expect(signed.map(({ claim, sig }) => cache.matches(sig, claim))).toEqual([false, false, false, false, false, false, true, true, true, true]);
    // The process's: as many as the claims' cache of verified signatures (4,096), after which the
    // first claim is checked again (records.test.ts counts it through the stats too).
    const checker = reader();
    const first = signed[0]!;
    expect(checker.claimPort().verify(first.claim, first.sig)).toBe(true);
    for (let i = 0; i < 4_096; i++) {
      const claim = claimOf(author, 100 + i);
      expect(checker.claimPort().verify(claim, author.claimPort().sign(claim))).toBe(true);
    }
    ed25519.mockClear();
    expect(checker.claimPort().verify(first.claim, first.sig)).toBe(true);
    expect(ed25519).toHaveBeenCalledTimes(1);
  });

  test("an entry answers its own signature only: another with the same first bytes (the map's key) is no match", () => {
    const author = member();
    const claim = claimOf(author, 1);
    const sig = author.claimPort().sign(claim)!;
    const cache = new VerifiedClaims(8);
    cache.remember(sig, claim);
    expect(cache.matches(sig, claim)).toBe(true);
    for (const at of [6, 40, 63]) {
      const near = sig.slice();
      near[at] ^= 0x80;
      expect(cache.matches(near, claim)).toBe(false);
    }
    // Remembered by a later claim with a signature of the same key, the first is no longer answered.
    const near = sig.slice();
    near[63] ^= 1;
    cache.remember(near, claimOf(author, 2));
    expect(cache.matches(sig, claim)).toBe(false);
    expect(cache.matches(near, claimOf(author, 2))).toBe(true);
  });

  test("kept only where several checkers of the process share it: a lone node's copies, or unshared ones, are checked by their bytes", async () => {
    // A fresh process: one checker, then a second.
    const script = `
      const { SignedRecords } = await import(${JSON.stringify(new URL("../../src/security/records.ts", import.meta.url).pathname)});
      const { processClaims } = await import(${JSON.stringify(new URL("../../src/security/verification.ts", import.meta.url).pathname)});
      const one = new SignedRecords({ identity: null, closed: false });
      const alone = processClaims() === null;
      const two = new SignedRecords({ identity: null, closed: false });
      const shared = processClaims() !== null;
      two.stop();
      console.log(JSON.stringify({ alone, shared, againAlone: processClaims() === null }));`;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const out = await new Response(child.stdout).text();
    expect(await child.exited).toBe(0);
    expect(JSON.parse(out.trim())).toEqual({ alone: true, shared: true, againAlone: true });
    // Unshared (a bench of what one node's checks cost): every copy is checked by its bytes.
    verification.shareVerifiedSignatures(false);
    try {
      const { claim, sig } = verified();
      const again = reader();
      expect(again.claimPort().verify(travelled(claim), sig)).toBe(true);
      expect(bytesMade).toHaveBeenCalled();
      expect(verification.processClaims()).toBeNull();
    } finally {
      verification.shareVerifiedSignatures(true);
    }
  });
});
