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
 * Where checks run: events' and replies' on the process's signature thread once a node started
 * (`verifyAsync`, `verifier.ts`), in the order asked; membership claims' and artifacts' on the
 * event loop (`verify`). The process-wide keys and caches are in `verification.ts`. Between Bun
 * peers, a record may also carry MACs (`record-macs.ts`): a valid one for this node stands for the
 * signature check of an event or a reply; anything else goes the signature way.
 *
 * Longer than 400 lines: one class is the one door of every kind of record's signing and checking
 * (events, replies, claims, artifacts), and splitting it would split that door.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { ConversationEvent } from "../types.ts";
import { RecordLabel, SIG_KEY, SIGNER_KEY, artifactBytes, eventBytes, gossipClaimBytes, claimBytes, replyBytes, signatureBytes, unsignedMetadata, type GossipClaim, type MemberClaim, type SignedArtifactFields } from "./record-bytes.ts";
import type { NodeIdentity } from "./identity.ts";
import { Bounded, type BoundedSet } from "./bounded.ts";
import type { VerifyService } from "./verifier.ts";
import { recordDigest, replyDigest, sameBytes, type RecordMacs } from "./record-macs.ts";
import { HEX_ID, checking, countChecker, processCache, processClaims, sharedVerifier, verifySignature, type CacheKind } from "./verification.ts";
import { base64Of } from "../util/bytes.ts";

/** The hello feature (and mDNS `ext`) of a node that sends and checks signed records. */
export const SIGNED_FEATURE = "signed";
/** Ids remembered as signers, and verified signatures cached (each bounded; oldest forgotten first). */
export const MAX_KNOWN_SIGNERS = 100_000;
/** A signer's entry before any verified membership claim of it (see `SignedRecords`). */
const NO_CLAIM = Number.NEGATIVE_INFINITY;

/** A gossip member list's members with a verified signed claim: `holds(id)` while it keeps one, `held()` all (see {@link ClaimPort.attach}). */
export type SignedMembers = { holds(id: string): boolean; held(): Iterable<string> };

/** The port gossip membership takes for its members' claims about themselves (null signature: this node cannot sign). */
export interface ClaimPort {
  sign(claim: GossipClaim): Uint8Array | null;
  verify(claim: GossipClaim, sig: unknown): boolean;
  /** The member list keeping the claims it verifies: its signed members are signers with no entry of their own. */
  attach(list: SignedMembers): void;
  /** The list forgot member `id`: among the signers from now on (as a list's are when another is attached). */
  forgot(id: string): void;
}

export * from "./record-bytes.ts";
export { activeCheckers, clearVerificationCaches, sharedVerifier, shareVerifiedSignatures, verifySignature } from "./verification.ts";

/** Options of {@link SignedRecords}. */
export interface SignedRecordsOptions {
  /**
   * The identity this node signs with; null when it cannot sign (a node whose fixed `id` is not its
   * identity's key: its records go out unsigned, as a Python node's).
   */
  identity: NodeIdentity | null;
  /** A closed swarm: every record must be signed, whoever its author. */
  closed: boolean;
  /**
   * Check events' and replies' signatures on the process's signature thread once started
   * ({@link SignedRecords.start}; default true). False: on the event loop, as membership claims are.
   */
  verifyThread?: boolean;
  /** The signature thread's service (default: the process's, {@link sharedVerifier}; tests pass their own). */
  verifier?: Pick<VerifyService, "check" | "acquire" | "release">;
}

/** Counters, for tests and the bench. */
export interface SignedRecordsStats {
  signed: number;
  verified: number;
  /** Records accepted by a record MAC for this node, with no signature check (record-macs.ts). */
  macVerified: number;
  /** Verifications answered from the cache (a copy of a record seen before). */
  cached: number;
  refused: number;
}

/**
 * One node's signing and checking of records. Verified signatures are cached by (signer,
 * signature, digest of the signed bytes) where a cache can answer a later check (`cacheOf`): a
 * membership claim's always, every other record's when several nodes of the process share the
 * cache; a gossip claim's also by signature with its fields (claim-cache.ts). Which ids sign is
 * each node's own.
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
  /** The gossip member list whose members' signed claims count as signers too (see {@link ClaimPort.attach}). */
  private signedMembers: SignedMembers | null = null;
  /** This node's own verified signatures, when the process's are not shared ({@link shareVerifiedSignatures}). */
  private ownVerified: Record<CacheKind, BoundedSet | null> = { records: null, claims: null };
  readonly stats: SignedRecordsStats = { signed: 0, verified: 0, macVerified: 0, cached: 0, refused: 0 };
  /** The last claim signed, and its signature (see {@link signClaim}). */
  #lastClaim: { bytes: Uint8Array; sig: Uint8Array } | null = null;
  /** This node's record MACs (record-macs.ts; set by the node when it signs, `recordMacs`), or null: none made or checked. */
  macs: RecordMacs | null = null;

  /** Whether this checker counts in the process's count of checkers (`activeCheckers`) (from its making until {@link stop}). */
  private active = true;
  /** Whether it checks on the thread: started, with `verifyThread`. */
  private threaded = false;
  private readonly useThread: boolean;
  private readonly verifier: Pick<VerifyService, "check" | "acquire" | "release">;
  /** Its checks on the thread not yet answered, and the last of them (see {@link verifyAsync}). */
  private pending = 0;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(options: SignedRecordsOptions) {
    countChecker(1);
    this.identity = options.identity;
    this.closed = options.closed;
    this.useThread = options.verifyThread ?? true;
    this.verifier = options.verifier ?? sharedVerifier();
    if (this.identity) this.signers.set(this.identity.id, NO_CLAIM);
  }

  /**
   * The node started: {@link verifyAsync} checks on the process's signature thread (with
   * `verifyThread`), and this checker counts again among the process's (after a {@link stop}).
   */
  start(): void {
    if (!this.active) countChecker(1);
    this.active = true;
    if (this.useThread && !this.threaded) this.verifier.acquire();
    this.threaded = this.useThread;
  }

  /**
   * The node stopped: it no longer counts among the process's checkers (a node left alone in its
   * process keeps no cache of records again) nor uses the thread (the last user's stop ends it;
   * checks still on it settle, done inline).
   */
  stop(): void {
    if (this.active) countChecker(-1);
    this.active = false;
    if (this.threaded) this.verifier.release();
    this.threaded = false;
  }

  /** The id this node signs as, or null when it does not sign. */
  get signerId(): string | null {
    return this.identity?.id ?? null;
  }

  /** True when `id` is known to sign its records (this node, or an id seen with a valid signature). */
  knownSigner(id: string): boolean {
    return this.signers.has(id) || this.signedMembers?.holds(id) === true;
  }

  /** Remember `id` as a signer (not one the gossip list keeps signed): only after checking a signature of `id`. */
  noteSigner(id: string): void {
    if (this.signedMembers?.holds(id) !== true) this.signers.set(id, this.signers.get(id) ?? NO_CLAIM);
  }

  /** The newest incarnation of `id`'s verified claims, if any. */
  private newestClaim(id: string): number | undefined {
    const newest = this.signers.get(id);
    return newest === undefined || newest === NO_CLAIM ? undefined : newest;
  }

  /** Ids known to sign (at most {@link MAX_KNOWN_SIGNERS}), not counting the members of an attached member list. */
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
   * Checked on the event loop (see {@link verifyAsync} for the thread); `note` false: not the signer.
   */
  verify(id: string, bytes: Uint8Array, sig: unknown, kind: CacheKind = "records", note = true): boolean {
    const signature = signatureBytes(sig);
    if (!signature || !HEX_ID.test(id)) return false;
    const entry = this.cacheEntry(id, signature, bytes, kind);
    if (entry?.cache.has(entry.key)) return this.passed(id, null, true, note);
    return verifySignature(id, bytes, signature) && this.passed(id, entry, false, note);
  }

  /**
   * {@link verify}, on the process's signature thread once this checker is started with it
   * (`verifyThread`, see {@link start}): a promise then, settling after every check this checker
   * asked before it (a cached answer too), so that records are filed in the order they came.
   */
  verifyAsync(id: string, bytes: Uint8Array, sig: unknown, kind: CacheKind = "records"): boolean | Promise<boolean> {
    if (!this.threaded) return this.verify(id, bytes, sig, kind);
    const signature = signatureBytes(sig);
    if (!signature || !HEX_ID.test(id)) return false;
    const entry = this.cacheEntry(id, signature, bytes, kind);
    if (entry?.cache.has(entry.key)) return this.inOrder(this.passed(id, null, true));
    // The same record on its way to the thread for another node of the process: one check serves both.
    const sameCheck = entry ? checking.get(entry.key) : undefined; // (not `entry &&`: a null entry counted every check as `cached`)
    const check = (sameCheck ?? this.verifier.check(id, bytes, signature)).then((ok) => {
      this.pending--;
      if (entry && checking.get(entry.key) === check) checking.delete(entry.key);
      return ok && this.passed(id, entry, sameCheck !== undefined);
    });
    if (entry && !sameCheck) checking.set(entry.key, check);
    this.pending++;
    this.tail = check;
    return check;
  }

  /** `value`, after the checks in flight when some are (see {@link verifyAsync}). */
  private inOrder<T>(value: T): T | Promise<T> {
    return this.pending > 0 ? this.tail.then(() => value) : value;
  }

  /** Where a verified signature of (id, signature, bytes) is cached, or null where none is kept. */
  private cacheEntry(id: string, signature: Uint8Array, bytes: Uint8Array, kind: CacheKind): { cache: BoundedSet; key: string } | null {
    const cache = this.cacheOf(kind);
    // Only a key can sign; the id and the signature having fixed lengths, their digest with the
    // bytes names one (signer, signature, bytes) and nothing else. The digest itself (32
    // characters), not a readable key: the cache holds one per record checked.
    return cache && { cache, key: createHash("sha256").update(id).update(signature).update(bytes).digest("latin1") };
  }

  /** Note a signature of `id` that verified (answered by the cache: `cached`; `note`: `id` among the signers); true. */
  private passed(id: string, entry: { cache: BoundedSet; key: string } | null, cached: boolean, note = true): true {
    if (cached) this.stats.cached++;
    else this.stats.verified++;
    entry?.cache.add(entry.key);
    if (note) this.noteSigner(id);
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
    return processCache(kind, this.ownVerified);
  }

  /**
   * Why a record of `author` carrying `sig` over `bytes` is refused, or null when it is accepted:
   * a signature present must verify; an absent one is refused in a closed swarm and for an author
   * known to sign.
   */
  refusal(author: string, bytes: () => Uint8Array, sig: unknown, what: string, kind: CacheKind = "records", note = true): string | null {
    if (sig === undefined || sig === null) return this.unsignedRefusal(author, what);
    return this.verdict(this.verify(author, bytes(), sig, kind, note), author, what);
  }

  /**
   * {@link refusal}, the check on the signature thread ({@link verifyAsync}): a promise when a
   * check is on its way. An unsigned record waits for the checks in flight: one of them may make
   * its author known to sign, as it would have before it, checked inline.
   */
  refusalAsync(author: string, bytes: () => Uint8Array, sig: unknown, what: string, mac?: unknown, digest?: (sig: Uint8Array) => Uint8Array): string | null | Promise<string | null> {
    if (sig === undefined || sig === null) return this.unsignedAsync(author, what);
    return this.signedAsync(author, bytes, sig, what, mac, digest);
  }

  /** {@link refusalAsync} of an unsigned record (apart, and without a closure unless checks are in flight: most records of an open swarm). */
  private unsignedAsync(author: string, what: string): string | null | Promise<string | null> {
    return this.pending > 0 ? this.tail.then(() => this.unsignedRefusal(author, what)) : this.unsignedRefusal(author, what);
  }

  /**
   * {@link refusalAsync} of a signed record (`bytes`: its signed bytes, made only for a signature
   * check; `digest`: the digest its MACs cover, where it is made without them, as a reply's).
   */
  private signedAsync(author: string, bytes: () => Uint8Array, sig: unknown, what: string, mac?: unknown, digest?: (sig: Uint8Array) => Uint8Array): string | null | Promise<string | null> {
    // A valid MAC for this node (record-macs.ts) stands for the check; the signature is not cached as verified.
    if (mac !== undefined && mac !== null && this.macs?.accepts(author, sig, mac, digest ?? ((s) => recordDigest(bytes(), s)))) {
      this.stats.macVerified++;
      this.noteSigner(author);
      return this.inOrder(null);
    }
    const ok = this.verifyAsync(author, bytes(), sig);
    return typeof ok === "boolean" ? this.verdict(ok, author, what) : ok.then((yes) => this.verdict(yes, author, what));
  }

  private verdict(ok: boolean, author: string, what: string): string | null {
    if (ok) return null;
    this.stats.refused++;
    return `${what} in the name of ${author.slice(0, 8)} has a signature that does not verify`;
  }

  private unsignedRefusal(author: string, what: string): string | null {
    if (!this.closed && !this.knownSigner(author)) return null;
    this.stats.refused++;
    return `${what} in the name of ${author.slice(0, 8)} is not signed (${this.closed ? "a closed swarm's records must be" : "that node signs its records"})`;
  }

  // ------------------------------------------------------------------ events and replies

  /** `event` with this node's signature in `metadata._sig` (unchanged when it does not sign). */
  signEvent(event: ConversationEvent): ConversationEvent {
    const sig = this.sign(eventBytes(event));
    if (!sig) return event;
    return { ...event, metadata: { ...unsignedMetadata(event.metadata), [SIG_KEY]: base64Of(sig) } };
  }

  /**
   * `metadata` of an artifact described by `fields` (its own metadata included), with this node's
   * signature (`_sig`) and id (`_signer`); unchanged when it does not sign.
   */
  signArtifact(fields: SignedArtifactFields): Record<string, unknown> {
    const id = this.signerId;
    const sig = id === null ? null : this.sign(artifactBytes(id, fields));
    if (id === null || sig === null) return fields.metadata;
    return { ...unsignedMetadata(fields.metadata), [SIGNER_KEY]: id, [SIG_KEY]: base64Of(sig) };
  }

  /**
   * Why an event is refused (see {@link refusal}), or null: a promise when its check went to the
   * signature thread (see {@link refusalAsync}; never before {@link start}).
   */
  eventRefusal(event: ConversationEvent, mac?: unknown): string | null | Promise<string | null> {
    return this.refusalAsync(event.peer.id, () => eventBytes(event), event.metadata[SIG_KEY], `a ${event.kind} event`, mac);
  }

  /** This node's signature of its reply to `nonce`, or null when it does not sign. */
  signReply(nonce: string, result: unknown): Uint8Array | null {
    return this.identity ? this.sign(replyBytes(nonce, this.identity.id, result)) : null;
  }

  /** Why a reply is refused (see {@link refusal}), or null: a promise as for {@link eventRefusal}. */
  replyRefusal(nonce: string, peerId: string, result: unknown, sig: unknown, mac?: unknown): string | null | Promise<string | null> {
    // An unsigned reply (every reply of an open swarm of unsigned nodes) makes no closure for its bytes.
    if (sig === undefined || sig === null) return this.unsignedAsync(peerId, "a broadcast reply");
    // With MACs, the reply's digest is made without its signed bytes as an array of their own (every node does it for every reply).
    return this.refusalAsync(peerId, () => replyBytes(nonce, peerId, result), sig, "a broadcast reply", mac, (s) => replyDigest(nonce, peerId, result, s));
  }

  // ------------------------------------------------------------------ membership claims

  /**
   * Sign this node's claim; null when it does not sign or the claim is not its own. The same claim
   * again (a heartbeat round's calls all carry one) reuses its signature: Ed25519's is the same for
   * the same bytes, and a round to many peers signed once per peer.
   */
  signClaim(claim: MemberClaim): Uint8Array | null {
    if (!this.identity || claim.id !== this.identity.id) return null;
    const bytes = claimBytes(claim), last = this.#lastClaim;
    if (last !== null && sameBytes(last.bytes, bytes)) return last.sig;
    const sig = this.sign(bytes);
    if (sig) this.#lastClaim = { bytes, sig };
    return sig;
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
      verify: (claim, sig) => this.gossipClaimPasses(claim, sig),
      attach: (list) => {
        const before = this.signedMembers;
        this.signedMembers = list;
        if (before !== null && before !== list) for (const id of before.held()) this.noteSigner(id);
      },
      forgot: (id) => this.noteSigner(id),
    };
  }

  /**
   * {@link ClaimPort.verify}: the rule of every record ({@link refusal}). A signature present must
   * verify; none is refused in a closed swarm and for a member known to sign. One that verifies the
   * attached list keeps (it applies every claim that passes): no entry among the signers (`note`
   * false). A signed claim whose every field is that of a claim verified in this process with the
   * same signature is a copy of it (claim-cache.ts, kept where several nodes of the process check):
   * answered as the cache of verified signatures answers one (`cached`), without its bytes or their
   * digest, most of such a check's cost.
   */
  private gossipClaimPasses(claim: GossipClaim, sig: unknown): boolean {
    const note = this.signedMembers === null;
    const signature = signatureBytes(sig);
    const claims = processClaims();
    // A remembered claim's id verified a signature: a key, as `verify` asks of it.
    if (signature !== null && claims?.matches(signature, claim)) return this.passed(claim.id, null, true, note);
    // Unsigned, malformed, or no copy of a remembered claim: checked as every record is.
    if (this.refusal(claim.id, () => gossipClaimBytes(claim), sig ?? null, `a gossip ${claim.state} claim`, "claims", note) !== null) return false;
    // Signed, and its signature verified over its bytes (or found verified): remembered.
    if (signature !== null) claims?.remember(signature, claim);
    return true;
  }
}
