/**
 * The process-wide side of signature checks (records.ts): Ed25519 public keys kept ready by node
 * id, the caches of verified signatures the nodes of a process share, the count of checkers in
 * use, and the signature thread (verifier.ts) the nodes of the process share.
 *
 * @module
 */
import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { signatureBytes } from "./record-bytes.ts";
import { Bounded, BoundedSet } from "./bounded.ts";
import { VerifiedClaims } from "./claim-cache.ts";
import { VerifyService } from "./verifier.ts";

/**
 * Verified signatures cached, by kind of record: events and replies (cached only for the other
 * nodes of a process, see `SignedRecords.cacheOf`: a node drops its own further copies before the
 * check); a membership claim is checked only when it is news, so the claims' cache serves the
 * nodes of one process (a bench's 250) checking the same news about the same time, and stays
 * small however many members the swarm has.
 */
const MAX_CACHED_VERIFICATIONS = { records: 50_000, claims: 4_096 } as const;

/** Which cache of verified signatures a check uses (see {@link MAX_CACHED_VERIFICATIONS}). */
export type CacheKind = keyof typeof MAX_CACHED_VERIFICATIONS;
/**
 * Public keys kept ready (least recently used forgotten first). Making one from its id costs about
 * 6 µs, a tenth of a check, and a key held costs about 300 bytes: the authors active at a time fit,
 * a swarm's every member need not (a node of 10,000 would hold 3 MB of keys it uses once).
 */
const MAX_CACHED_KEYS = 2_048;

const ED25519_SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
export const HEX_ID = /^[0-9a-f]{64}$/;
/** Ed25519 keys by node id (null: the id is no key), shared by every verifier of the process. */
let keyCache: Bounded<KeyObject | null> | null = null;

/**
 * Verified signatures (by signer, signature and hash of the bytes), shared by every verifier of the
 * process, as the keys are: a verification is a pure function of those three, and a process that
 * runs many nodes (a shared pool, a bench's 250 nodes) otherwise checks each member's claim once
 * per node (about 150 µs each: 250,000 checks for 1,000 members).
 */
let verifiedCache: Record<CacheKind, BoundedSet | null> = { records: null, claims: null };
/**
 * Verified gossip claims by signature, with the fields it was verified over (claim-cache.ts): in
 * front of the claims' cache of {@link verifiedCache}, shared and bounded as it is.
 */
let verifiedClaims: VerifiedClaims | null = null;
/** Whether {@link verifiedCache} is shared (see {@link shareVerifiedSignatures}). */
let sharingVerified = true;
/**
 * `SignedRecords` of this process in use (made, and not stopped): one node's alone has no use
 * for a cache of records.
 */
let checkers = 0;
/** Checks on their way to the thread, by cache key (see `SignedRecords.verifyAsync`). */
export const checking = new Map<string, Promise<boolean>>();
/** The process's signature thread (see verifier.ts), made on first use. */
let verifier: VerifyService | null = null;

/** The signature thread shared by the nodes of this process (docs/security.md#cost). */
export function sharedVerifier(): VerifyService {
  return (verifier ??= new VerifyService((id, bytes, sig) => verifySignature(id, bytes, sig)));
}

/** SignedRecords of this process in use (see `SignedRecords.stop`): for tests. */
export function activeCheckers(): number {
  return checkers;
}

/**
 * Whether the nodes of this process share what they verified (default true: a verification is a
 * pure function of signer, signature and bytes, so one check serves every node of the process).
 * A benchmark of what signing costs one node turns it off, so that each node of a process that
 * runs many checks every record for itself, as a node on a machine of its own does.
 */
export function shareVerifiedSignatures(on: boolean): void {
  sharingVerified = on;
  verifiedCache = { records: null, claims: null };
  verifiedClaims = null;
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
  verifiedClaims = null;
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

/** Count a `SignedRecords` in use (1) or stopped (-1). */
export function countChecker(delta: 1 | -1): void {
  checkers += delta;
}

/**
 * The cache of verified signatures a check of `kind` uses (`own`: the checker's, when the process
 * does not share them), or null for none: see `SignedRecords.cacheOf`.
 */
export function processCache(kind: CacheKind, own: Record<CacheKind, BoundedSet | null>): BoundedSet | null {
  if (kind === "records" && !(sharingVerified && checkers > 1)) return null;
  const caches = sharingVerified ? verifiedCache : own;
  return (caches[kind] ??= new BoundedSet(MAX_CACHED_VERIFICATIONS[kind]));
}

/**
 * The verified gossip claims the checks of this process share, or null where none is kept: where
 * the process does not share what it verified, or runs one checker. A node checks a claim only
 * when it is news to it, so only the other nodes of its process ask again (an entry holds about
 * 700 bytes, against the 32 of a digest: a node alone in its process would keep one per member
 * for nothing). Bounded as the claims' cache of verified signatures.
 */
export function processClaims(): VerifiedClaims | null {
  if (!sharingVerified || checkers <= 1) return null;
  return (verifiedClaims ??= new VerifiedClaims(MAX_CACHED_VERIFICATIONS.claims));
}
