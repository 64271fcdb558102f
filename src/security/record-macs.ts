/**
 * Record MACs: PBFT-style authenticators beside the signature of a conversation record (an event, a
 * broadcast reply), so that a Bun receiver can accept a record as its author's without the Ed25519
 * check (about 44 µs) when a MAC made for it verifies (about 2 µs). docs/security.md#record-macs.
 *
 * - Key binding: each signing node makes an X25519 key pair when it is created and offers its public
 *   key in its `_synapse.hello` answer (`mac_key`, Bun peers only), bound to its Ed25519 identity by a
 *   signature over a domain-separated statement ({@link MAC_KEY_LABEL}, node id, swarm, key, issue
 *   time). A newer binding of an id replaces an older one; an older one is ignored.
 * - Pairwise keys: k(a, b) = HKDF-SHA256(X25519(a, b), salt = {@link PAIR_SALT}, info = both ids and
 *   both public keys, sorted by id), 32 bytes; derived the first time a pair is used, cached (at
 *   most {@link MAX_PAIR_KEYS}, the oldest forgotten first), dropped when the peer's binding
 *   changes or {@link RecordMacs.forget} is called.
 * - Tags: d = SHA-256(m || s) of a record's signed bytes m and its signature s; the tag for
 *   recipient r is the first 16 bytes of HMAC-SHA256(k(author, r), {@link TAG_LABEL} || author id ||
 *   r's id || d) (HMAC-SHA256-128, RFC 4868). Covering s: a relay that swaps the signature makes
 *   every MAC fail (and the signature check then refuses the record).
 * - The vector: one byte {@link VECTOR_VERSION}, then entries of 20 bytes: a hint (the first 4
 *   bytes of the recipient's id) and the tag. A receiver tries every entry with its hint (hints may
 *   collide); a malformed vector, or one of more than {@link MAX_VECTOR_ENTRIES} entries, is ignored.
 *   An author that knows more than `maxRecipients` peers makes none ({@link DEFAULT_MAC_RECIPIENTS}).
 *
 * A MAC under k(a, b) can be made only by a or b: b forging one fools only b. Whatever fails here
 * (no tag, no binding, a wrong tag) falls back to the signature check, so a bad MAC can only cost
 * CPU, never admit a record.
 *
 * @module
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from "node:crypto";
import type { NodeIdentity } from "./identity.ts";
import { ConfigError } from "../errors.ts";
import { equalBytes } from "../util/bytes.ts";
import { canonicalRecord, replyRecord, signatureBytes } from "./record-bytes.ts";
import { sha256Encoded } from "../wire/codec.ts";
import { Bounded } from "./bounded.ts";
import { verifySignature } from "./verification.ts";
import { ENTRY_BYTES, HINT_BYTES, MAX_VECTOR_ENTRIES, TAG_BYTES, VECTOR_VERSION, hintAt, hintOf, readVector } from "./mac-vector.ts";

/** The hello feature of a node that makes and checks record MACs (its binding rides as {@link MAC_KEY_FEATURE}). */
export const MAC_FEATURE = "mac";
/** The hello answer's key holding the node's binding (see {@link RecordMacs.binding}). */
export const MAC_KEY_FEATURE = "mac_key";
/** The label of the signed statement binding an X25519 key to a node id. */
export const MAC_KEY_LABEL = "synapse-p2p mac key v1";
/** HKDF salt of the pairwise keys (fixed, versioned). */
export const PAIR_SALT = "synapse-p2p pair key v1";
/** The label every tag's HMAC input starts with. */
export const TAG_LABEL = "synapse-p2p record mac v1";
/**
 * Known peers past which an author makes no tags at all (default of `recordMacRecipients`). A tag
 * saves one check (about 45 µs) at one recipient, but costs 20 bytes in every copy of its record,
 * and a record travels to every node (about 1.5 copies a node): the bytes a tag costs grow with the
 * swarm, its saving does not. Measured (docs/performance-log.md, "Record MACs"): at 50 peers the tags
 * paid (the broadcast with replies got faster), at 200 they cost twice the CPU and 13 times the
 * bytes of a round. A sample of recipients would not help: each tag costs the same wherever it goes.
 */
export const DEFAULT_MAC_RECIPIENTS = 64;
/** Pairwise keys kept, the oldest forgotten first (memory per pair: docs/performance-log.md, "Record MACs"). */
export const MAX_PAIR_KEYS = 4096;
/** Seconds a pair held is used before the peer's binding is looked at again (see `RecordMacs.pair`). */
export const BINDING_RECHECK = 5;

const X25519_SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
/** Bytes of a binding: version, X25519 public key, issue time (ms, uint64), Ed25519 signature. */
const BINDING_BYTES = 1 + 32 + 8 + 64;
const HEX_ID = /^[0-9a-f]{64}$/;

/** Counters, for tests and the bench. */
export interface RecordMacStats {
  /** Tags made (one per recipient per record). */
  tagsMade: number;
  /** Records accepted by their MAC (no Ed25519 check). */
  macVerified: number;
  /** Records that carried a vector but no MAC that verified for this node (checked by signature). */
  macFailed: number;
  /** Pairwise keys derived. */
  keysDerived: number;
  /** Peers' bindings checked (an Ed25519 check each, once per binding). */
  bindingsChecked: number;
}

/** A peer's verified binding, and the HMACs keyed by the pairwise key derived from it. */
interface Pair {
  /** The binding as last seen (the same bytes again need no check). */
  raw: Uint8Array;
  issuedAt: number;
  /** When (`performance.now()` ms) the peer's binding was last looked at. */
  seenAt: number;
  /**
   * HMAC-SHA256 under the pairwise key, with TAG_LABEL || author id || recipient id taken in, for
   * both directions (`to`: this node's tags for the peer, `from`: the peer's for this node); each
   * tag goes on from a copy (see {@link tag}). Null when the shared secret was degenerate (no MACs
   * with that peer).
   */
  hmacs: { to: TagHasher; from: TagHasher } | null;
  /** The peer's hint (the first 4 bytes of its id, big-endian), as this node's tags for it carry it. */
  hint: number;
}

/** A pair with MACs (its shared secret was not degenerate). */
type KeyedPair = Pair & { hmacs: NonNullable<Pair["hmacs"]> };

/** `pair` when it has MACs, else null. */
function keyed(pair: Pair | undefined): KeyedPair | null {
  return pair?.hmacs ? (pair as KeyedPair) : null;
}

/** The statement a binding's signature covers. */
export function bindingStatement(id: string, swarm: string | null, publicKey: Uint8Array, issuedAt: number): Uint8Array {
  return canonicalRecord(MAC_KEY_LABEL, [id, swarm ?? "", publicKey, issuedAt]);
}

/** Parse a binding (see {@link RecordMacs.binding}); null when it is not one. */
export function readBinding(raw: unknown): { publicKey: Uint8Array; issuedAt: number; sig: Uint8Array } | null {
  if (!(raw instanceof Uint8Array) || raw.length !== BINDING_BYTES || raw[0] !== VECTOR_VERSION) return null;
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const issuedAt = Number(view.getBigUint64(33));
  if (!Number.isSafeInteger(issuedAt)) return null;
  return { publicKey: raw.subarray(1, 33), issuedAt, sig: raw.subarray(41, 105) };
}

/** Where {@link recordDigest} writes (its digest is used at once, never kept). */
const digestOut = new Uint8Array(32);

/**
 * A record's digest for its tags: SHA-256 of its signed bytes and its signature. Bun's one-shot
 * SHA-256 over the two joined: no hasher object per record (0.29 against 0.53 µs a reply's here).
 * The digest is written into one array reused by every call: read it before the next call.
 */
export function recordDigest(bytes: Uint8Array, sig: Uint8Array): Uint8Array {
  const input = new Uint8Array(bytes.length + sig.length);
  input.set(bytes);
  input.set(sig, bytes.length);
  Bun.SHA256.hash(input, digestOut);
  return digestOut;
}

/**
 * {@link recordDigest} of a reply: of its signed bytes (`replyBytes`) and `sig`, encoded and hashed
 * in place, never an array of their own (every node makes it for every reply it checks by MAC).
 * Written into the same reused array: read it before the next call.
 */
export function replyDigest(nonce: string, peerId: string, result: unknown, sig: Uint8Array): Uint8Array {
  return sha256Encoded(replyRecord(nonce, peerId, result), sig, digestOut);
}

function idBytes(id: string): Buffer {
  return Buffer.from(id, "hex");
}

/** Options of {@link RecordMacs}. */
export interface RecordMacsOptions {
  /** This node's identity (the binding is signed with it). */
  identity: NodeIdentity;
  /** This node's swarm (bound into every binding; a peer's binding must name the same). */
  swarm: string | null;
  /** The raw binding peer `id` offered in its hello, if this node has one (null/undefined: none). */
  bindingOf: (id: string) => unknown;
  /** Known peers past which records carry no tags (default {@link DEFAULT_MAC_RECIPIENTS}). */
  maxRecipients?: number;
}

/** One node's record MACs: its X25519 key and binding, the pairwise keys it uses, tags made and checked. */
export class RecordMacs {
  readonly stats: RecordMacStats = { tagsMade: 0, macVerified: 0, macFailed: 0, keysDerived: 0, bindingsChecked: 0 };
  /** This node's binding, offered in its hello answer ({@link MAC_KEY_FEATURE}). */
  readonly binding: Uint8Array;
  readonly id: string;
  readonly maxRecipients: number;
  private readonly privateKey: KeyObject;
  private readonly publicKey: Uint8Array;
  private readonly swarm: string | null;
  /** The first 4 bytes of this node's id, big-endian: the hint of its entries. */
  private readonly hintWord: number;
  private readonly bindingOf: (id: string) => unknown;
  private readonly pairs = new Bounded<Pair>(MAX_PAIR_KEYS);

  /** @throws {ConfigError} when `maxRecipients` is not an integer from 1 to {@link MAX_VECTOR_ENTRIES}. */
  constructor(options: RecordMacsOptions) {
    const { publicKey, privateKey } = generateKeyPairSync("x25519");
    this.privateKey = privateKey;
    this.publicKey = new Uint8Array(publicKey.export({ format: "der", type: "spki" }).subarray(X25519_SPKI_PREFIX.length));
    this.id = options.identity.id;
    this.swarm = options.swarm;
    this.bindingOf = options.bindingOf;
    this.maxRecipients = options.maxRecipients ?? DEFAULT_MAC_RECIPIENTS;
    if (!Number.isSafeInteger(this.maxRecipients) || this.maxRecipients < 1 || this.maxRecipients > MAX_VECTOR_ENTRIES) {
      throw new ConfigError(`recordMacRecipients must be an integer from 1 to ${MAX_VECTOR_ENTRIES}, got ${String(options.maxRecipients)}`);
    }
    this.hintWord = idBytes(this.id).readUInt32BE(0);
    const issuedAt = Date.now();
    const binding = new Uint8Array(BINDING_BYTES);
    binding[0] = VECTOR_VERSION;
    binding.set(this.publicKey, 1);
    new DataView(binding.buffer).setBigUint64(33, BigInt(issuedAt));
    binding.set(options.identity.sign(bindingStatement(this.id, this.swarm, this.publicKey, issuedAt)), 41);
    this.binding = binding;
  }

  /** Forget the pairwise key of `id` (it left, or its binding is no longer trusted). */
  forget(id: string): void {
    this.pairs.delete(id);
  }

  /** Pairwise keys held (for the memory figures). */
  get pairCount(): number {
    return this.pairs.size;
  }

  /**
   * The pair of this node and `id`, its binding checked and its key derived when new or changed;
   * null when `id` offered no valid binding (then no MAC either way). A pair held is used as it is
   * for {@link BINDING_RECHECK} s before the peer's binding is looked at again (a lookup per
   * recipient per record cost more than its tag); `fresh` looks at once (a tag that failed).
   */
  private pair(id: string, fresh = false): KeyedPair | null {
    // A pair held was made for a well-formed id: the id is looked at only when none is.
    const held = this.pairs.get(id);
    if (held === undefined && (id === this.id || !HEX_ID.test(id))) return null;
    const now = performance.now();
    if (held && !fresh && now - held.seenAt < BINDING_RECHECK * 1000) return keyed(held);
    const raw = this.bindingOf(id);
    if (held) held.seenAt = now;
    if (held && (raw === held.raw || raw === undefined || raw === null || sameBytes(raw, held.raw))) return keyed(held);
    const binding = readBinding(raw);
    if (!binding) return keyed(held);
    // An older binding than the one held (a replay) never replaces it.
    if (held && binding.issuedAt <= held.issuedAt) return keyed(held);
    this.stats.bindingsChecked++;
    if (!verifySignature(id, bindingStatement(id, this.swarm, binding.publicKey, binding.issuedAt), binding.sig)) return keyed(held);
    // `raw` is the hello answer's binding, which nothing writes again (a copy out of its frame, or a
    // view of a read at most twice its size: `fastDecode`).
    const key = this.derive(id, binding.publicKey);
    const hmacs = key && { to: tagHasher(key, this.id, id), from: tagHasher(key, id, this.id) };
    const pair: Pair = { raw: raw as Uint8Array, issuedAt: binding.issuedAt, seenAt: now, hmacs, hint: hintOf(id) };
    this.pairs.set(id, pair);
    return keyed(pair);
  }

  /** k(this, id) from `id`'s bound public key; null for a degenerate shared secret (a low-order point). */
  private derive(id: string, peerKey: Uint8Array): Buffer | null {
    let secret: Buffer;
    try {
      secret = diffieHellman({ privateKey: this.privateKey, publicKey: createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, peerKey]), format: "der", type: "spki" }) });
    } catch {
      return null;
    }
    if (secret.every((b) => b === 0)) return null;
    const mine = this.id < id;
    const info = Buffer.concat(mine ? [idBytes(this.id), idBytes(id), this.publicKey, peerKey] : [idBytes(id), idBytes(this.id), peerKey, this.publicKey]);
    this.stats.keysDerived++;
    return Buffer.from(hkdfSync("sha256", secret, PAIR_SALT, info, 32));
  }

  /**
   * The vector of tags of a record this node authored (signed bytes `bytes`, signature `sig`) for
   * the `recipients` it has a binding of; null when none has one, or when there are more than
   * {@link maxRecipients} recipients (see {@link DEFAULT_MAC_RECIPIENTS}: no pair is even derived).
   */
  tags(bytes: Uint8Array, sig: Uint8Array, recipients: readonly string[]): Uint8Array | null {
    if (recipients.length > this.maxRecipients) return null;
    const pairs: KeyedPair[] = [];
    for (const id of recipients) {
      const pair = this.pair(id);
      if (pair) pairs.push(pair);
    }
    if (pairs.length === 0) return null;
    const d = recordDigest(bytes, sig);
    const out = Buffer.alloc(1 + pairs.length * ENTRY_BYTES);
    out[0] = VECTOR_VERSION;
    let at = 1;
    for (const pair of pairs) {
      out.writeUInt32BE(pair.hint, at);
      const t = tag(pair.hmacs.to, d);
      for (let i = 0; i < TAG_BYTES; i++) out[at + HINT_BYTES + i] = t[i]!;
      at += ENTRY_BYTES;
    }
    this.stats.tagsMade += pairs.length;
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  }

  /**
   * {@link check} of a record as it came: false for a malformed author id or signature. `digestOf`:
   * the record's digest ({@link recordDigest} of its signed bytes and the signature given), asked
   * only when the vector holds an entry for this node.
   */
  accepts(author: string, sig: unknown, vector: unknown, digestOf: (sig: Uint8Array) => Uint8Array): boolean {
    const signature = signatureBytes(sig);
    return signature !== null && HEX_ID.test(author) && this.checkDigest(author, signature, vector, digestOf);
  }

  /**
   * True when `vector` holds a MAC of `author` for this node over the record (`bytes`, `sig`): the
   * record is then `author`'s. False otherwise (no vector, a malformed one, no binding of the
   * author, no entry for this node, a wrong tag): the caller checks the signature.
   */
  check(author: string, bytes: Uint8Array, sig: Uint8Array, vector: unknown): boolean {
    return this.checkDigest(author, sig, vector, (s) => recordDigest(bytes, s));
  }

  /** {@link check} of a record whose digest `digestOf` gives (asked once at most). */
  private checkDigest(author: string, sig: Uint8Array, vector: unknown, digestOf: (sig: Uint8Array) => Uint8Array): boolean {
    const entries = readVector(vector);
    if (entries === 0) return false;
    const v = vector as Uint8Array;
    // The hints are compared as one 32-bit word each and the tag in place: no view per entry, nor
    // a DataView per vector (which asks for the vector's `.buffer`, dear for a small array).
    const hint = this.hintWord;
    let digest: Uint8Array | null = null;
    // With the pair held, then (when a tag failed and a held pair was used) with the peer's binding
    // looked at again: the author may have a new key since.
    for (let attempt = 0; attempt < 2; attempt++) {
      const before = this.pairs.get(author);
      const pair = this.pair(author, attempt > 0);
      if (!pair || (attempt > 0 && pair === before)) break;
      let expected: Uint8Array | null = null;
      for (let i = 0, at = 1; i < entries; i++, at += ENTRY_BYTES) {
        if (hintAt(v, at) !== hint) continue;
        expected ??= tag(pair.hmacs.from, (digest ??= digestOf(sig)));
        if (sameTag(expected, v, at + HINT_BYTES)) {
          this.stats.macVerified++;
          return true;
        }
      }
      if (expected === null) break; // no entry for this node: nothing to retry
    }
    this.stats.macFailed++;
    return false;
  }
}

/** Whether the first {@link TAG_BYTES} of `expected` equal `v[at, at + TAG_BYTES)`, in constant time. */
function sameTag(expected: Uint8Array, v: Uint8Array, at: number): boolean {
  let diff = 0;
  for (let i = 0; i < TAG_BYTES; i++) diff |= expected[i]! ^ v[at + i]!;
  return diff === 0;
}

/** A keyed HMAC-SHA256 (Bun's native hasher) that has taken in a tag's fixed prefix. */
type TagHasher = InstanceType<typeof Bun.CryptoHasher>;

/** HMAC-SHA256 under `key`, with TAG_LABEL || author id || recipient id taken in: the start of every tag `author` makes for `recipient`. */
function tagHasher(key: Buffer, author: string, recipient: string): TagHasher {
  const hmac = new Bun.CryptoHasher("sha256", key);
  hmac.update(Buffer.concat([Buffer.from(TAG_LABEL), idBytes(author), idBytes(recipient)]));
  return hmac;
}

/** Where {@link tag} writes (the hasher asks for room for 64 bytes; a tag is used at once, never kept). */
const tagOut = new Uint8Array(64);

/**
 * HMAC-SHA256(key, prefix || digest), from a copy of the pair's keyed hasher that has taken the
 * prefix in ({@link tagHasher}): the standard HMAC, its keyed state made once per pair and
 * direction rather than per tag (a copy and a digest cost less than half a new keyed hasher, which
 * an author pays per recipient and a receiver per record: docs/performance-log.md, "Record MACs").
 * Written into one array reused by every call (no Buffer per tag): read it before the next call.
 */
function tag(hasher: TagHasher, digest: Uint8Array): Uint8Array {
  const hmac = hasher.copy();
  hmac.update(digest);
  hmac.digest(tagOut);
  return tagOut;
}

/** True when `a` holds exactly the bytes of `b`. */
export function sameBytes(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && equalBytes(a, b);
}
