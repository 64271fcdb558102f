/**
 * Signed records: conversation events, broadcast replies, membership claims and artifacts carry
 * their author's Ed25519 signature, so that no node can speak in another's name. The node id is the
 * hex of the author's public key, so the id a record names is the key that verifies it.
 *
 * What is signed, byte for byte, is in `record-bytes.ts` (re-exported here).
 *
 * Where signatures travel (docs/security.md):
 * - an event: `metadata._sig` (base64), which Python passes through unchanged;
 * - a reply: the Bun-only keyword argument `sig` of `_synapse.broadcast.reply` (only to peers whose
 *   hello offered {@link SIGNED_FEATURE}, or in a closed swarm), and `metadata._sig` of the `reply`
 *   event each node files;
 * - a membership claim: the Bun-only keyword argument `sig` of `_synapse.heartbeat` and
 *   `_synapse.join` (same rule);
 * - an artifact: `metadata._sig` and `metadata._signer` of its descriptor.
 *
 * Who must sign: a record whose author is known to sign (this node; an id seen with a valid
 * signature; every author in a closed swarm) and carries no valid signature is refused. An author
 * never seen signing may be a Python node, whose unsigned records stay accepted in an open swarm.
 *
 * @module
 */
import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import type { ConversationEvent } from "../types.ts";
import { RecordLabel, SIG_KEY, SIGNER_KEY, artifactBytes, eventBytes, gossipClaimBytes, claimBytes, replyBytes, signatureBytes, unsignedMetadata, type GossipClaim, type MemberClaim, type SignedArtifactFields } from "./record-bytes.ts";
import type { NodeIdentity } from "./identity.ts";

/** The hello feature (and mDNS `ext`) of a node that sends and checks signed records. */
export const SIGNED_FEATURE = "signed";
/** Ids remembered as signers, and verified signatures cached (each bounded; oldest forgotten first). */
export const MAX_KNOWN_SIGNERS = 100_000;
/**
 * Verified signatures cached, by kind of record: events and replies (cached only for the other
 * nodes of a process, see `SignedRecords.cacheOf`: a node drops its own further copies before the
 * check); a membership claim is checked only when it is news, so the claims' cache serves the
 * nodes of one process (a bench's 250) checking the same news about the same time, and stays
 * small however many members the swarm has.
 */
const MAX_CACHED_VERIFICATIONS = { records: 50_000, claims: 4_096 } as const;

/** Which cache of verified signatures a check uses (see {@link MAX_CACHED_VERIFICATIONS}). */
type CacheKind = keyof typeof MAX_CACHED_VERIFICATIONS;
/**
 * Public keys kept ready (least recently used forgotten first). Making one from its id costs about
 * 6 µs, a tenth of a check, and a key held costs about 300 bytes: the authors active at a time fit,
 * a swarm's every member need not (a node of 10,000 would hold 3 MB of keys it uses once).
 */
const MAX_CACHED_KEYS = 2_048;

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const HEX_ID = /^[0-9a-f]{64}$/;
/** A signer's entry before any verified membership claim of it (see `SignedRecords`). */
const NO_CLAIM = Number.NEGATIVE_INFINITY;

/** The port gossip membership takes for its members' claims about themselves (null signature: this node cannot sign). */
export interface ClaimPort {
  sign(claim: GossipClaim): Uint8Array | null;
  verify(claim: GossipClaim, sig: unknown): boolean;
}

export * from "./record-bytes.ts";

/** Ed25519 keys by node id (null: the id is no key), shared by every verifier of the process. */
let keyCache: Bounded<KeyObject | null> | null = null;

/**
 * Verified signatures (by signer, signature and hash of the bytes), shared by every verifier of the
 * process, as the keys are: a verification is a pure function of those three, and a process that
 * runs many nodes (a shared pool, a bench's 250 nodes) otherwise checks each member's claim once
 * per node (about 150 µs each: 250,000 checks for 1,000 members).
 */
let verifiedCache: Record<CacheKind, BoundedSet | null> = { records: null, claims: null };
/** Whether {@link verifiedCache} is shared (see {@link shareVerifiedSignatures}). */
let sharingVerified = true;
/** {@link SignedRecords} made in this process: one node's alone has no use for a cache of records. */
let checkers = 0;

/**
 * Whether the nodes of this process share what they verified (default true: a verification is a
 * pure function of signer, signature and bytes, so one check serves every node of the process).
 * A benchmark of what signing costs one node turns it off, so that each node of a process that
 * runs many checks every record for itself, as a node on a machine of its own does.
 */
export function shareVerifiedSignatures(on: boolean): void {
  sharingVerified = on;
  verifiedCache = { records: null, claims: null };
}

/** The Ed25519 key whose hex is `id`, or null when `id` is not one. */
function publicKeyOf(id: string): KeyObject | null {
  keyCache ??= new Bounded<KeyObject | null>(MAX_CACHED_KEYS);
  let key = keyCache.get(id);
  if (key !== undefined) return key;
  key = null;
  if (HEX_ID.test(id)) {
    try {
      key = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(id, "hex")]), format: "der", type: "spki" });
    } catch {
      key = null; // not a point on the curve
    }
  }
  keyCache.set(id, key);
  return key;
}

/**
 * Forget the process's cached keys and verified signatures (as a process that has checked nothing
 * yet): for benchmarks that measure what a node holds per peer, and tests.
 */
export function clearVerificationCaches(): void {
  keyCache = null;
  verifiedCache = { records: null, claims: null };
}

/** True when `sig` (bytes or base64) is the signature of `bytes` by the node whose id is `id`. */
export function verifySignature(id: string, bytes: Uint8Array, sig: unknown): boolean {
  const signature = signatureBytes(sig);
  const key = signature ? publicKeyOf(id) : null;
  if (!signature || !key) return false;
  try {
    return verify(null, bytes, key, signature);
  } catch {
    return false;
  }
}

/** A bounded set that forgets its least recently added or touched entry first. */
class BoundedSet {
  private readonly set = new Set<string>();
  constructor(private readonly max: number) {}
  has(key: string): boolean {
    return this.set.has(key);
  }
  add(key: string): void {
    this.set.delete(key);
    this.set.add(key);
    if (this.set.size > this.max) this.set.delete(this.set.values().next().value as string);
  }
}

/** A bounded map that forgets its oldest entry first. */
class Bounded<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(key: string): V | undefined {
    return this.map.get(key);
  }
  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  get size(): number {
    return this.map.size;
  }
}

/** Options of {@link SignedRecords}. */
export interface SignedRecordsOptions {
  /**
   * The identity this node signs with; null when it cannot sign (a node whose fixed `id` is not its
   * identity's key: its records go out unsigned, as a Python node's).
   */
  identity: NodeIdentity | null;
  /** A closed swarm: every record must be signed, whoever its author. */
  closed: boolean;
}

/** Counters, for tests and the bench. */
export interface SignedRecordsStats {
  signed: number;
  verified: number;
  /** Verifications answered from the cache (a copy of a record seen before). */
  cached: number;
  refused: number;
}

/**
 * One node's signing and checking of records. Verified signatures are cached by (signer,
 * signature, digest of the signed bytes) where a cache can answer a later check (`cacheOf`): a
 * membership claim's always, every other record's when several nodes of the process share the
 * cache. Which ids sign is each node's own.
 */
export class SignedRecords {
  /** Whether every record must be signed. */
  readonly closed: boolean;
  private readonly identity: NodeIdentity | null;
  /**
   * Ids known to sign, each with the newest incarnation of its verified membership claims
   * ({@link NO_CLAIM} before one): one map, since a node of a big swarm holds an entry per member.
   */
  private readonly signers = new Bounded<number>(MAX_KNOWN_SIGNERS);
  /** This node's own verified signatures, when the process's are not shared ({@link shareVerifiedSignatures}). */
  private ownVerified: Record<CacheKind, BoundedSet | null> = { records: null, claims: null };
  readonly stats: SignedRecordsStats = { signed: 0, verified: 0, cached: 0, refused: 0 };

  constructor(options: SignedRecordsOptions) {
    checkers++;
    this.identity = options.identity;
    this.closed = options.closed;
    if (this.identity) this.signers.set(this.identity.id, NO_CLAIM);
  }

  /** The id this node signs as, or null when it does not sign. */
  get signerId(): string | null {
    return this.identity?.id ?? null;
  }

  /** True when `id` is known to sign its records (this node, or an id seen with a valid signature). */
  knownSigner(id: string): boolean {
    return this.signers.has(id);
  }

  /** Remember `id` as a signer: call it only after checking a signature of `id` (an artifact's). */
  noteSigner(id: string): void {
    this.signers.set(id, this.signers.get(id) ?? NO_CLAIM);
  }

  /** The newest incarnation of `id`'s verified claims, if any. */
  private newestClaim(id: string): number | undefined {
    const newest = this.signers.get(id);
    return newest === undefined || newest === NO_CLAIM ? undefined : newest;
  }

  /** Ids known to sign (at most {@link MAX_KNOWN_SIGNERS}). */
  get knownSigners(): number {
    return this.signers.size;
  }

  /** Sign `bytes` as this node; null when it does not sign. */
  sign(bytes: Uint8Array): Uint8Array | null {
    if (!this.identity) return null;
    this.stats.signed++;
    return this.identity.sign(bytes);
  }

  /**
   * True when `sig` is `id`'s valid signature of `bytes` (and then `id` is remembered as a signer);
   * `kind` picks the cache of verified signatures (a membership claim's, or every other record's).
   */
  verify(id: string, bytes: Uint8Array, sig: unknown, kind: CacheKind = "records"): boolean {
    const signature = signatureBytes(sig);
    // Only a key can sign; the id and the signature having fixed lengths, their digest with the
    // bytes names one (signer, signature, bytes) and nothing else.
    if (!signature || !HEX_ID.test(id)) return false;
    const cache = this.cacheOf(kind);
    // The digest itself (32 characters), not a readable key: the cache holds one per record checked.
    const entry = cache && { cache, key: createHash("sha256").update(id).update(signature).update(bytes).digest("latin1") };
    if (entry?.cache.has(entry.key)) {
      this.stats.cached++;
      this.noteSigner(id);
      return true;
    }
    if (!verifySignature(id, bytes, signature)) return false;
    this.stats.verified++;
    entry?.cache.add(entry.key);
    this.noteSigner(id);
    return true;
  }

  /**
   * The cache of verified signatures a check of `kind` uses, or null for none. A node drops its
   * own further copies of an event or a reply before their check (by the log's event ids and the
   * reply book's (nonce, replier) keys), so a cache of the records it checked would answer only
   * other nodes of the process: it is kept only where it is shared and more than one node checks.
   * Without it a check costs no digest of the signed bytes (a twentieth of a verification) and
   * no cache entry.
   */
  private cacheOf(kind: CacheKind): BoundedSet | null {
    if (kind === "records" && !(sharingVerified && checkers > 1)) return null;
    const caches = sharingVerified ? verifiedCache : this.ownVerified;
    return (caches[kind] ??= new BoundedSet(MAX_CACHED_VERIFICATIONS[kind]));
  }

  /**
   * Why a record of `author` carrying `sig` over `bytes` is refused, or null when it is accepted:
   * a signature present must verify; an absent one is refused in a closed swarm and for an author
   * known to sign.
   */
  refusal(author: string, bytes: () => Uint8Array, sig: unknown, what: string, kind: CacheKind = "records"): string | null {
    if (sig !== undefined && sig !== null) {
      if (this.verify(author, bytes(), sig, kind)) return null;
      this.stats.refused++;
      return `${what} in the name of ${author.slice(0, 8)} has a signature that does not verify`;
    }
    if (this.closed || this.signers.has(author)) {
      this.stats.refused++;
      return `${what} in the name of ${author.slice(0, 8)} is not signed (${this.closed ? "a closed swarm's records must be" : "that node signs its records"})`;
    }
    return null;
  }

  // ------------------------------------------------------------------ events and replies

  /** `event` with this node's signature in `metadata._sig` (unchanged when it does not sign). */
  signEvent(event: ConversationEvent): ConversationEvent {
    const sig = this.sign(eventBytes(event));
    if (!sig) return event;
    return { ...event, metadata: { ...unsignedMetadata(event.metadata), [SIG_KEY]: Buffer.from(sig).toString("base64") } };
  }

  /**
   * `metadata` of an artifact described by `fields` (its own metadata included), with this node's
   * signature (`_sig`) and id (`_signer`); unchanged when it does not sign.
   */
  signArtifact(fields: SignedArtifactFields): Record<string, unknown> {
    const id = this.signerId;
    const sig = id === null ? null : this.sign(artifactBytes(id, fields));
    if (id === null || sig === null) return fields.metadata;
    return { ...unsignedMetadata(fields.metadata), [SIGNER_KEY]: id, [SIG_KEY]: Buffer.from(sig).toString("base64") };
  }

  /** Why an event is refused (see {@link refusal}), or null. */
  eventRefusal(event: ConversationEvent): string | null {
    return this.refusal(event.peer.id, () => eventBytes(event), event.metadata[SIG_KEY], `a ${event.kind} event`);
  }

  /** This node's signature of its reply to `nonce`, or null when it does not sign. */
  signReply(nonce: string, result: unknown): Uint8Array | null {
    return this.identity ? this.sign(replyBytes(nonce, this.identity.id, result)) : null;
  }

  /** Why a reply is refused (see {@link refusal}), or null. */
  replyRefusal(nonce: string, peerId: string, result: unknown, sig: unknown): string | null {
    return this.refusal(peerId, () => replyBytes(nonce, peerId, result), sig, "a broadcast reply");
  }

  // ------------------------------------------------------------------ membership claims

  /** Sign this node's claim; null when it does not sign or the claim is not its own. */
  signClaim(claim: MemberClaim): Uint8Array | null {
    if (!this.identity || claim.id !== this.identity.id) return null;
    return this.sign(claimBytes(claim));
  }

  /** True when `sig` is the claimed member's own signature of the claim. */
  verifyClaim(claim: MemberClaim, sig: unknown): boolean {
    return this.verify(claim.id, claimBytes(claim), sig, "claims");
  }

  /**
   * True when `claim` is no newer than the newest claim of its member already verified here (its
   * incarnation, the record's `last_seen`, at most that one's): a replay, or a copy of a claim
   * already counted. Such a claim is no news of life (docs/security.md#replays).
   */
  claimStale(claim: MemberClaim): boolean {
    if (claim.incarnation === undefined) return false;
    const newest = this.newestClaim(claim.id);
    return newest !== undefined && claim.incarnation <= newest;
  }

  /**
   * Why a membership claim is refused, or null. `changes` tells whether believing it would change
   * a known peer's entry (its address or port). A claim with a signature must verify, and may not
   * move the entry when its incarnation is older than the member's newest verified claim. An
   * unsigned one is refused in a closed swarm; for a member known to sign, it is refused when it
   * would change the entry (a known peer's entry moves only by its owner's signature).
   */
  claimRefusal(claim: MemberClaim, sig: unknown, changes: boolean): string | null {
    if (sig !== undefined && sig !== null) {
      if (!this.verifyClaim(claim, sig)) {
        this.stats.refused++;
        return `the claim of ${claim.id.slice(0, 8)} has a signature that does not verify`;
      }
      if (claim.incarnation === undefined) return null;
      // A genuine claim older than one already seen is a replay (or a clock gone back): it may
      // still say "alive", never move the member back to where it was.
      const newest = this.newestClaim(claim.id);
      if (newest !== undefined && claim.incarnation < newest) {
        if (!changes) return null;
        this.stats.refused++;
        return `the claim of ${claim.id.slice(0, 8)} is older than one already seen (a replay?)`;
      }
      this.signers.set(claim.id, claim.incarnation);
      return null;
    }
    if (this.closed || (changes && this.signers.has(claim.id))) {
      this.stats.refused++;
      return `the claim of ${claim.id.slice(0, 8)} is not signed by it${this.closed ? " (a closed swarm's claims must be)" : ""}`;
    }
    return null;
  }

  /**
   * The signing and checking of gossip membership's self-claims (SWIM `alive` and `left` updates a
   * member makes about itself, {@link ClaimPort}): this node signs its own; a claim about a member
   * is believed under the rule of every record ({@link refusal}).
   */
  claimPort(): ClaimPort {
    return {
      sign: (claim) => (claim.id === this.signerId ? this.sign(gossipClaimBytes(claim)) : null),
      // The rule of every record: a signature present must verify; none is refused in a closed
      // swarm and for a member known to sign.
      verify: (claim, sig) => this.refusal(claim.id, () => gossipClaimBytes(claim), sig ?? null, `a gossip ${claim.state} claim`, "claims") === null,
    };
  }
}
