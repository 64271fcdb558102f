/**
 * Record MACs (src/security/record-macs.ts, docs/security.md#record-macs): a record with a valid
 * MAC for its receiver is accepted with no Ed25519 check; every other MAC (random, another pair's,
 * one made by a third member, over a swapped signature, malformed, from a replayed or foreign
 * binding) falls back to the signature, which still refuses a bad one; peers that did not offer
 * `mac` (an older Bun node, a Python node) are sent no MACs.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { createHash, createHmac, createPublicKey, diffieHellman, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { NodeIdentity } from "../../src/security/identity.ts";
import { PAIR_SALT, RecordMacs, TAG_LABEL, readBinding, recordDigest, replyDigest } from "../../src/security/record-macs.ts";
import { ENTRY_BYTES, MAX_VECTOR_ENTRIES, VECTOR_VERSION, keptVector, readVector } from "../../src/security/mac-vector.ts";
import { SignedRecords, replyBytes, verifySignature } from "../../src/security/records.ts";
import { SignatureRoutes } from "../../src/conversation/signing.ts";
import { withoutMac, toWire } from "../../src/conversation/batch-items.ts";
import { itemList } from "../../src/conversation/item-bytes.ts";
import { wiresFor, type Entry } from "../../src/conversation/item-memory.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";
import { setup, until } from "./signed-helpers.ts";
import { PythonNode } from "../interop/python-node.ts";
import { field, keysOf, plain, readStrict, type PyValue } from "../interop/python-strict.ts";

afterEach(stopAll);

/** Node-less parties: each an identity, its MACs, and the bindings it has "seen in hellos". */
function party(swarm: string | null = "lab", seen = new Map<string, Uint8Array>()) {
  const identity = NodeIdentity.generate();
  const macs = new RecordMacs({ identity, swarm, bindingOf: (id) => seen.get(id) });
  return { identity, id: identity.id, macs, seen };
}

/** Each party has seen the others' bindings. */
function meet(...parties: Array<ReturnType<typeof party>>): void {
  for (const p of parties) for (const q of parties) if (p !== q) p.seen.set(q.id, q.macs.binding);
}

/** A reply of `author` (its bytes and signature). */
function signedReply(author: ReturnType<typeof party>, result: unknown = "yes") {
  const bytes = replyBytes("nonce-1", author.id, result);
  return { bytes, sig: author.identity.sign(bytes) };
}

/** A vector of one entry: `hintOf`'s hint and `tag`. */
function vectorOf(hintOf: string, tag: Uint8Array): Uint8Array {
  const out = Buffer.alloc(1 + ENTRY_BYTES);
  out[0] = VECTOR_VERSION;
  out.write(hintOf.slice(0, 8), 1, 4, "hex");
  out.set(tag.subarray(0, 16), 5);
  return new Uint8Array(out);
}

/** A signature thread stand-in that counts the Ed25519 checks asked of it. */
function countingVerifier() {
  const v = {
    checks: 0,
    check: (id: string, bytes: Uint8Array, sig: Uint8Array) => {
      v.checks++;
      return Promise.resolve(verifySignature(id, bytes, sig));
    },
    acquire: () => {},
    release: () => {},
  };
  return v;
}

describe("record MACs - tags and checks", () => {
  test("a valid MAC for the receiver verifies; the vector holds one entry per bound recipient", () => {
    const [a, b, c] = [party(), party(), party()];
    meet(a, b, c);
    const { bytes, sig } = signedReply(a);
    const vector = a.macs.tags(bytes, sig, [b.id, c.id, "f".repeat(64)])!; // the last one has no binding: no entry
    expect(readVector(vector)).toBe(2);
    expect(b.macs.check(a.id, bytes, sig, vector)).toBe(true);
    expect(c.macs.check(a.id, bytes, sig, vector)).toBe(true);
    expect(b.macs.stats.macVerified).toBe(1);
    // Both sides derived the same pairwise key once; the author none for itself.
    expect(a.macs.stats.keysDerived).toBe(2);
    expect(b.macs.stats.keysDerived).toBe(1);
  });

  test("a tag is the specified one, computed here with node:crypto alone: X25519, HKDF-SHA256, HMAC-SHA256 cut to 16 bytes", () => {
    const [a, b] = [party(), party()];
    meet(a, b);
    const { bytes, sig } = signedReply(a);
    const vector = a.macs.tags(bytes, sig, [b.id])!;
    // k(a, b) from a's private key (white box) and b's bound public key, as docs/security.md#record-macs states it.
    const aPrivate = (a.macs as unknown as { privateKey: KeyObject }).privateKey;
    const bKey = readBinding(b.macs.binding)!.publicKey;
    const aKey = readBinding(a.macs.binding)!.publicKey;
    const secret = diffieHellman({ privateKey: aPrivate, publicKey: createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), bKey]), format: "der", type: "spki" }) });
    const ids = (id: string) => Buffer.from(id, "hex");
    const info = Buffer.concat(a.id < b.id ? [ids(a.id), ids(b.id), aKey, bKey] : [ids(b.id), ids(a.id), bKey, aKey]);
    const key = Buffer.from(hkdfSync("sha256", secret, PAIR_SALT, info, 32));
    const d = createHash("sha256").update(bytes).update(sig).digest();
    const expected = createHmac("sha256", key).update(Buffer.from(TAG_LABEL)).update(ids(a.id)).update(ids(b.id)).update(d).digest().subarray(0, 16);
    expect(Buffer.from(vector)).toEqual(Buffer.concat([Buffer.from([VECTOR_VERSION]), ids(b.id).subarray(0, 4), expected]));
    expect(b.macs.check(a.id, bytes, sig, vector)).toBe(true);
  });

  test("forged MACs fail: random, another pair's, one made by a third member, over a swapped signature, for another record", () => {
    const [a, b, c] = [party(), party(), party()];
    meet(a, b, c);
    const { bytes, sig } = signedReply(a);
    // Random tag under b's hint.
    expect(b.macs.check(a.id, bytes, sig, vectorOf(b.id, randomBytes(16)))).toBe(false);
    // a's genuine tag for c, relabelled as b's.
    const forC = a.macs.tags(bytes, sig, [c.id])!;
    expect(b.macs.check(a.id, bytes, sig, vectorOf(b.id, forC.subarray(5, 21)))).toBe(false);
    // c, a member that knows only its own keys, makes "a's" tag for b: under k(c, b), not k(a, b).
    const byC = c.macs.tags(bytes, sig, [b.id])!;
    expect(b.macs.check(a.id, bytes, sig, byC)).toBe(false);
    // A relay that swaps the signature: a's genuine vector no longer verifies.
    const genuine = a.macs.tags(bytes, sig, [b.id])!;
    const swapped = new Uint8Array(sig);
    swapped[0]! ^= 1;
    expect(b.macs.check(a.id, bytes, swapped, genuine)).toBe(false);
    // The same vector on another record of a's.
    const other = signedReply(a, "no");
    expect(b.macs.check(a.id, other.bytes, other.sig, genuine)).toBe(false);
    // The genuine one still passes, and only it.
    expect(b.macs.check(a.id, bytes, sig, genuine)).toBe(true);
    expect(b.macs.stats.macVerified).toBe(1);
    expect(b.macs.stats.macFailed).toBe(5);
  });

  test("hints may collide: every entry with the receiver's hint is tried", () => {
    const [a, b] = [party(), party()];
    meet(a, b);
    const { bytes, sig } = signedReply(a);
    const genuine = a.macs.tags(bytes, sig, [b.id])!;
    const decoy = vectorOf(b.id, randomBytes(16));
    const both = new Uint8Array([...decoy, ...genuine.subarray(1)]);
    expect(readVector(both)).toBe(2);
    expect(b.macs.check(a.id, bytes, sig, both)).toBe(true);
  });

  test("malformed and oversized vectors are ignored", () => {
    const [a, b] = [party(), party()];
    meet(a, b);
    const { bytes, sig } = signedReply(a);
    const genuine = a.macs.tags(bytes, sig, [b.id])!;
    const wrongVersion = new Uint8Array(genuine);
    wrongVersion[0] = 2;
    const truncated = genuine.subarray(0, genuine.length - 1);
    const oversized = new Uint8Array(1 + (MAX_VECTOR_ENTRIES + 1) * ENTRY_BYTES);
    oversized[0] = VECTOR_VERSION;
    oversized.set(genuine.subarray(1), 1); // a valid entry first: still ignored whole
    for (const bad of [wrongVersion, truncated, oversized, new Uint8Array([VECTOR_VERSION]), "tags", 42, null, [genuine], { mac: genuine }]) {
      expect(readVector(bad)).toBe(0);
      expect(keptVector(bad)).toBeNull();
      expect(b.macs.check(a.id, bytes, sig, bad)).toBe(false);
    }
    expect(keptVector(genuine)).toBe(genuine);
  });

  test("bindings: one not signed by the id, one of another swarm, a replayed older one never make a MAC pass", () => {
    const seen = new Map<string, Uint8Array>();
    const b = party("lab", seen);
    const a = party();
    const mallory = party();
    a.seen.set(b.id, b.macs.binding);
    const { bytes, sig } = signedReply(a);
    // Mallory offers its own binding (its key, its signature) in a's name.
    seen.set(a.id, mallory.macs.binding);
    mallory.seen.set(b.id, b.macs.binding);
    expect(b.macs.check(a.id, bytes, sig, mallory.macs.tags(bytes, sig, [b.id]))).toBe(false);
    expect(b.macs.stats.keysDerived).toBe(0);
    // a's binding for another swarm.
    const elsewhere = new RecordMacs({ identity: a.identity, swarm: "other", bindingOf: () => b.macs.binding });
    seen.set(a.id, elsewhere.binding);
    expect(b.macs.check(a.id, bytes, sig, a.macs.tags(bytes, sig, [b.id]))).toBe(false);
    expect(b.macs.stats.keysDerived).toBe(0);

    // a restarts: a newer binding replaces the old one; the old one replayed afterwards changes nothing.
    const old = new RecordMacs({ identity: a.identity, swarm: "lab", bindingOf: () => b.macs.binding });
    seen.set(a.id, old.binding);
    expect(b.macs.check(a.id, bytes, sig, old.tags(bytes, sig, [b.id]))).toBe(true);
    const oldTags = old.tags(bytes, sig, [b.id])!;
    Bun.sleepSync(2); // a later issue time
    const renewed = new RecordMacs({ identity: a.identity, swarm: "lab", bindingOf: () => b.macs.binding });
    seen.set(a.id, renewed.binding);
    expect(b.macs.check(a.id, bytes, sig, renewed.tags(bytes, sig, [b.id]))).toBe(true);
    expect(b.macs.check(a.id, bytes, sig, oldTags)).toBe(false);
    seen.set(a.id, old.binding); // the replay
    expect(b.macs.check(a.id, bytes, sig, oldTags)).toBe(false);
    expect(b.macs.check(a.id, bytes, sig, renewed.tags(bytes, sig, [b.id]))).toBe(true);
  });

  test("past the recipient cap no tags are made (nor keys derived); forget() drops a pair's key", () => {
    const parties = Array.from({ length: 6 }, () => party());
    meet(...parties);
    const [a, ...others] = parties as [ReturnType<typeof party>, ...Array<ReturnType<typeof party>>];
    const capped = new RecordMacs({ identity: a.identity, swarm: "lab", bindingOf: (id) => a.seen.get(id), maxRecipients: 4 });
    for (const o of others) o.seen.set(a.id, capped.binding);
    const { bytes, sig } = signedReply(a);
    expect(capped.tags(bytes, sig, others.map((o) => o.id))).toBeNull(); // 5 recipients, cap 4
    expect(capped.pairCount).toBe(0);
    const vector = capped.tags(bytes, sig, others.slice(0, 4).map((o) => o.id))!;
    expect(readVector(vector)).toBe(4);
    expect(others.filter((o) => o.macs.check(a.id, bytes, sig, vector)).length).toBe(4);
    expect(capped.pairCount).toBe(4);
    capped.forget(others[0]!.id);
    expect(capped.pairCount).toBe(3);
    expect(() => new RecordMacs({ identity: a.identity, swarm: "lab", bindingOf: () => null, maxRecipients: 0 })).toThrow("recordMacRecipients");
  });

  test("a record digest covers the signature", () => {
    const { bytes, sig } = signedReply(party());
    const other = new Uint8Array(sig);
    other[63]! ^= 1;
    expect(Buffer.from(recordDigest(bytes, sig)).equals(Buffer.from(recordDigest(bytes, other)))).toBe(false);
    expect(Buffer.from(recordDigest(bytes, sig)).equals(createHash("sha256").update(bytes).update(sig).digest())).toBe(true);
  });


  test("a reply's digest made in place is the digest of its signed bytes and signature, for any result", () => {
    const sig = randomBytes(64);
    const nonce = "ab".repeat(16);
    const id = "cd".repeat(32);
    const results: unknown[] = [
      null,
      undefined,
      0,
      -7,
      2 ** 40,
      1.5,
      "",
      "ünïcødé 🎉",
      { from: "n1" },
      { z: 1, a: [3, { y: null, b: "x" }] },
      new Uint8Array([1, 2, 3]),
      2n ** 60n, // not written by the hot-path encoder: the general codec's bytes
      "x".repeat(40_000), // past the reused scratch: it grows
      { big: randomBytes(70_000) },
    ];
    for (const result of results) {
      const expected = createHash("sha256").update(replyBytes(nonce, id, result)).update(sig).digest();
      expect(Buffer.from(replyDigest(nonce, id, result, sig)).equals(expected)).toBe(true);
      expect(Buffer.from(recordDigest(replyBytes(nonce, id, result), sig)).equals(expected)).toBe(true);
    }
  });
});

describe("record MACs - in the signature rules (SignedRecords)", () => {
  function checker(p: ReturnType<typeof party>) {
    const verifier = countingVerifier();
    const records = new SignedRecords({ identity: p.identity, closed: false, verifier });
    records.macs = p.macs;
    records.start();
    return { records, verifier };
  }

  test("a reply with a valid MAC is accepted with no Ed25519 check; a forged MAC falls back to the signature, which refuses a bad one", async () => {
    const [a, b, c] = [party(), party(), party()];
    meet(a, b, c);
    const { records, verifier } = checker(b);
    const signed = new SignedRecords({ identity: a.identity, closed: false });
    const sig = signed.signReply("nonce-1", "yes")!;
    const bytes = replyBytes("nonce-1", a.id, "yes");
    try {
      expect(await records.replyRefusal("nonce-1", a.id, "yes", sig, a.macs.tags(bytes, sig, [b.id]))).toBeNull();
      expect(verifier.checks).toBe(0);
      expect(records.stats.macVerified).toBe(1);
      expect(records.knownSigner(a.id)).toBe(true);

      // A MAC made by c (in a's name): the signature decides. Genuine signature: accepted, checked.
      expect(await records.replyRefusal("nonce-1", a.id, "yes", sig, c.macs.tags(bytes, sig, [b.id]))).toBeNull();
      expect(verifier.checks).toBe(1);
      // Another result under a's signature of "yes" and a MAC by c over it: refused.
      const forged = replyBytes("nonce-1", a.id, "forged");
      expect(await records.replyRefusal("nonce-1", a.id, "forged", sig, c.macs.tags(forged, sig, [b.id]))).toContain("does not verify");
      // A random vector and a signature by another key: refused.
      const other = new SignedRecords({ identity: c.identity, closed: false }).signReply("nonce-1", "forged")!;
      expect(await records.replyRefusal("nonce-1", a.id, "forged", other, vectorOf(b.id, randomBytes(16)))).toContain("does not verify");
      expect(verifier.checks).toBe(3);
      expect(records.stats.macVerified).toBe(1);
      // No signature at all, however good the MAC looks: the unsigned rule (a is known to sign).
      expect(await records.replyRefusal("nonce-1", a.id, "yes", null, a.macs.tags(bytes, sig, [b.id]))).toContain("not signed");
    } finally {
      records.stop();
    }
  });

  test("without MACs set up (recordMacs false), a vector is ignored and the signature checked", async () => {
    const [a, b] = [party(), party()];
    meet(a, b);
    const verifier = countingVerifier();
    const records = new SignedRecords({ identity: b.identity, closed: false, verifier });
    records.start();
    const sig = new SignedRecords({ identity: a.identity, closed: false }).signReply("n", 1)!;
    expect(await records.replyRefusal("n", a.id, 1, sig, a.macs.tags(replyBytes("n", a.id, 1), sig, [b.id]))).toBeNull();
    expect(verifier.checks).toBe(1);
    expect(records.stats.macVerified).toBe(0);
    records.stop();
  });
});

describe("record MACs - who is sent them", () => {
  const peer = (id: string): Peer => ({ id, address: `10.0.0.${id}`, port: 9999, swarm: "lab", team: "default", name: id, kind: "node", capabilities: [], last_seen: 0 });

  test("reply keyword arguments: `mac` only to peers that offered it, `sig` only to those that take signatures", async () => {
    const identity = NodeIdentity.generate();
    const records = new SignedRecords({ identity, closed: false });
    const offers: Record<string, { signed: boolean; mac: boolean }> = { "1": { signed: false, mac: false }, "2": { signed: true, mac: false }, "3": { signed: true, mac: true } };
    const routes = new SignatureRoutes(
      {
        call: () => Promise.resolve(null),
        peers: () => [],
        signs: (p) => offers[p.address.slice(7)]!.signed,
        macs: (p) => offers[p.address.slice(7)]!.mac,
      },
      records,
    );
    const sig = records.signReply("n", 1)!;
    const mac = new Uint8Array(1 + ENTRY_BYTES).fill(1);
    const perPeer = routes.replyKwargs(1, sig, mac);
    expect(typeof perPeer).toBe("function");
    const of = async (id: string) => Object.keys(await (perPeer as (p: Peer) => Promise<Record<string, unknown>>)(peer(id))).sort();
    expect(await of("1")).toEqual(["result"]); // a Python peer
    expect(await of("2")).toEqual(["result", "sig"]); // a Bun peer without MACs
    expect(await of("3")).toEqual(["mac", "result", "sig"]);
  });

  test("an author past the recipient cap makes no MACs and lists no peers (they are counted only)", () => {
    const author = party();
    const recipients = Array.from({ length: 3 }, () => party());
    meet(author, ...recipients);
    const records = new SignedRecords({ identity: author.identity, closed: false });
    records.macs = new RecordMacs({ identity: author.identity, swarm: "lab", bindingOf: (id) => author.seen.get(id), maxRecipients: 2 });
    for (const r of recipients) r.seen.set(author.id, records.macs.binding);
    const known = recipients.map((r, i) => ({ ...peer(String(i + 1)), id: r.id }));
    let count = known.length;
    let listed = 0;
    const routes = new SignatureRoutes(
      {
        call: () => Promise.resolve(null),
        peers: () => (listed++, known.slice(0, count)),
        peerCount: () => count,
        signs: () => true,
        macs: () => true,
      },
      records,
    );
    const sig = records.signReply("n", 1)!;
    expect(routes.replyMacs("n", 1, sig)).toBeNull(); // 3 known, cap 2
    expect(listed).toBe(0);
    count = 2;
    const vector = routes.replyMacs("n", 1, sig)!;
    expect(listed).toBe(1);
    expect(readVector(vector)).toBe(2);
    expect(recipients.slice(0, 2).every((r) => r.macs.check(author.id, replyBytes("n", author.id, 1), sig, vector))).toBe(true);
  });

  test("the recipients are listed by id, once while the peers stay the same; a peer added or gone changes them", () => {
    const author = party();
    const recipients = Array.from({ length: 3 }, () => party());
    meet(author, ...recipients);
    const records = new SignedRecords({ identity: author.identity, closed: false });
    records.macs = new RecordMacs({ identity: author.identity, swarm: "lab", bindingOf: (id) => author.seen.get(id) });
    for (const r of recipients) r.seen.set(author.id, records.macs.binding);
    let ids = recipients.slice(0, 2).map((r) => r.id);
    let version = 1;
    let listed = 0;
    const routes = new SignatureRoutes(
      {
        call: () => Promise.resolve(null),
        peers: () => {
          throw new Error("no record is copied when ids are at hand");
        },
        peerCount: () => ids.length,
        peerIds: () => (listed++, [...ids]),
        peersVersion: () => version,
        signs: () => true,
        macs: () => true,
      },
      records,
    );
    const sig = records.signReply("n", 1)!;
    const bytes = replyBytes("n", author.id, 1);
    for (let i = 0; i < 3; i++) expect(readVector(routes.replyMacs("n", 1, sig))).toBe(2);
    expect(listed).toBe(1);
    ids = recipients.map((r) => r.id);
    version++; // a peer came
    const three = routes.replyMacs("n", 1, sig)!;
    expect(listed).toBe(2);
    expect(recipients.every((r) => r.macs.check(author.id, bytes, sig, three))).toBe(true);
    ids = [recipients[2]!.id];
    version++; // two left
    const one = routes.replyMacs("n", 1, sig)!;
    expect(readVector(one)).toBe(1);
    expect(recipients[2]!.macs.check(author.id, bytes, sig, one)).toBe(true);
    expect(recipients[0]!.macs.check(author.id, bytes, sig, one)).toBe(false);
  });

  test("batch items: the remembered wire form keeps MACs for peers that take them; others get it without", () => {
    const p = peer("4");
    const mac = new Uint8Array(1 + ENTRY_BYTES).fill(2);
    const reply = toWire({ kind: "reply", nonce: "n", peer: p, result: 1, sig: new Uint8Array(64), mac });
    const event = toWire({ kind: "event", event: { event_id: "e" } as never, mac });
    const entries = [reply, event].map((wire) => ({ wire }) as Entry);
    expect(wiresFor(entries, () => true)).toEqual([reply, event]);
    const stripped = wiresFor(entries, () => false);
    expect(JSON.stringify(stripped)).not.toContain("mac");
    expect(stripped[0]).toEqual({ reply: { nonce: "n", peer: p, result: 1, sig: new Uint8Array(64) } });
    expect(stripped[1]).toEqual({ event: { event_id: "e" } as never });
    // An item without MACs is sent as it is (no copy).
    const plainWire = toWire({ kind: "reply", nonce: "n", peer: p, result: 1, sig: null });
    expect(withoutMac(plainWire)).toBe(plainWire);
    // Items without MACs: the peer's features are not even asked.
    expect(wiresFor([{ wire: plainWire } as Entry], () => { throw new Error("asked"); })).toEqual([plainWire]);
  });
});

describe("record MACs - between nodes", () => {
  test("replies among Bun nodes are accepted by their MACs; a node with recordMacs false is sent none and checks signatures", async () => {
    const { a, b, d, net, options } = await setup(false);
    // e: a Bun node that makes and takes no MACs; every frame it is sent is looked at.
    const { nodeAt } = await import("./helpers.ts");
    const e = await nodeAt(net, "10.0.0.4", { ...options, recordMacs: false });
    const seen: unknown[] = [];
    for (const name of ["_synapse.conversation.batch", "_synapse.broadcast.reply"]) {
      const endpoint = e.endpoints.get(name)!;
      const handler = endpoint.handler;
      endpoint.handler = (...args: unknown[]) => {
        // A batch's items as bytes (hello feature `item_bytes`) are looked at decoded.
        seen.push(name === "_synapse.conversation.batch" ? [itemList(args[0]), ...args.slice(1)] : args);
        return handler(...args);
      };
    }
    for (let i = 0; i < 2; i++) await e.join({ seeds: ["10.0.0.1:9999"], wait: 0 });
    for (const n of [a, b, d]) await n.join({ seeds: ["10.0.0.4:9999"], wait: 0 });
    await eventually(() => [a, b, d, e].every((n) => n.peers.size === 3), 5000, "e meshed");
    // A first broadcast opens every connection (each node then holds every other's hello).
    const warm = await a.broadcast("nothing.here", "warm");
    await Promise.all([b, d, e].map((n) => n.reply(warm, n.name)));
    await until(async () => (await Promise.all([a, b, d, e].map((n) => n.replies(warm)))).every((r) => r.length === 3), "warm-up replies");

    const before = [a, b, d, e].map((n) => n.records.stats.macVerified);
    const broadcast = await a.broadcast("nothing.here", "question");
    await Promise.all([b, d, e].map((n) => n.reply(broadcast, n.name)));
    await until(async () => (await Promise.all([a, b, d, e].map((n) => n.replies(broadcast)))).every((r) => r.length === 3), "every reply everywhere");
    await Promise.all([a, b, d, e].map((n) => n.conversationLayer.flush()));
    const gained = [a, b, d, e].map((n, i) => n.records.stats.macVerified - before[i]!);
    // a, b and d accept each other's replies by MAC (e's come signed only); e accepts none by MAC.
    expect(gained[3]).toBe(0);
    expect(e.records.macs).toBeNull();
    expect(gained[0]).toBeGreaterThanOrEqual(2); // b's and d's replies at a (a called both: it holds their hellos, they a's)
    expect(gained[1]).toBeGreaterThanOrEqual(1); // a's opening message at b (in the broadcast map)
    expect(gained[2]).toBeGreaterThanOrEqual(1); // and at d
    // Nothing e was sent carried a MAC (batch items nor reply keyword arguments), though it got replies.
    expect(seen.length).toBeGreaterThan(0);
    const hasMac = (v: unknown): boolean =>
      v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && Object.entries(v).some(([k, x]) => k === "mac" || hasMac(x));
    expect(seen.some(hasMac)).toBe(false);
    // A peer that goes offline takes its pair with it (the node forgets its MAC key on `peer.offline`).
    const held = a.records.macs!.pairCount;
    expect(held).toBeGreaterThanOrEqual(2);
    a.events.emit("peer.offline", b.toPeer());
    expect(a.records.macs!.pairCount).toBe(held - 1);
  });

  test("a Python-like peer in the swarm is sent replies and events with no MAC and no signature keyword", async () => {
    const py = new PythonNode({ swarm: "golden" }).start();
    const n1 = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    const n2 = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    for (const n of [n1, n2]) await n.join({ seeds: [`127.0.0.1:${py.port}`, `127.0.0.1:${n1.port}`] });
    await n2.join({ seeds: [`127.0.0.1:${n1.port}`] });
    await eventually(() => n1.peers.size === 2 && n2.peers.size === 2, 5000, "meshed");
    for (let round = 0; round < 2; round++) {
      const b = await n1.broadcast("nothing.here", `q${round}`);
      await n2.reply(b, { round });
      await until(async () => (await n1.replies(b)).length === 1, "the reply at the origin");
      await n2.emitConversationEvent(b, "note", { round });
      await Promise.all([n1, n2].map((n) => n.conversationLayer.flush()));
    }
    // MACs were in play between the Bun nodes...
    expect(n1.records.stats.macVerified).toBeGreaterThan(0);
    // ...and none reached the Python peer: replies carry `result` only, events the wire's keys.
    const replies = py.server.log.filter((r) => r.endpoint === "_synapse.broadcast.reply");
    const events = py.server.log.filter((r) => r.endpoint === "_synapse.conversation.event");
    expect(replies.length).toBeGreaterThan(0);
    expect(events.length).toBeGreaterThan(0);
    for (const r of [...replies, ...events]) {
      const { value } = readStrict(r.raw);
      const kwargs = field(value, "kwargs") as Map<PyValue, PyValue>;
      expect(keysOf(kwargs).filter((k) => k !== "result")).toEqual([]);
      expect(JSON.stringify(plain(field(value, "args")))).not.toContain('"mac"');
    }
  });
});
