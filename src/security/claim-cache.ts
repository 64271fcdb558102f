/**
 * Gossip claims verified in this process, remembered by signature with the fields it was verified
 * over (records.ts, `claimPort`). A SWIM alive or left claim that is news reaches every node of a
 * process that runs many (a bench's 250) about the same time, so nearly every check of it is a copy
 * of one already verified; the cache of verified signatures (verification.ts) answers it too, but
 * its key costs the claim's signed bytes (a MessagePack encoding) and their digest, most of a
 * cached check. Here a check compares the claim's fields with the verified ones instead.
 *
 * Sound because equal fields are equal signed bytes: the whole signature and every field
 * `gossipClaimBytes` covers (id, incarnation, state, address, port, meta) are compared, and a claim
 * is remembered only in a shape whose bytes its fields decide: strings, whole numbers (-0, equal to
 * 0, encodes as 0), and meta absent or a plain map of the keys gossip carries, each a string, null
 * or a list of strings (its key order is sorted away in the bytes, so it is not compared). A claim
 * of any other shape is never remembered, and one that matches nothing here goes the way of every
 * record (its bytes, the cache of verified signatures, then Ed25519).
 *
 * @module
 */
import { latin1String } from "../util/bytes.ts";
import { Bounded } from "./bounded.ts";
import type { GossipClaim } from "./record-bytes.ts";

/** A meta value a remembered claim may hold: what a member's record carries (`metaOf` in membership/gossip-records.ts). */
type MetaValue = string | null | readonly string[];

/** A signature and the fields it was verified over, copied (see {@link VerifiedClaims.remember}). */
interface VerifiedClaim {
  /** The signature's bytes as a latin1 string (80 bytes of heap; a `Uint8Array` of them takes 112). */
  sig: string;
  id: string;
  incarnation: number;
  state: string;
  address: string;
  port: number;
  /** Meta's entries (no prototype: only its own keys answer), or null for none (absent and null sign alike). */
  meta: Record<string, MetaValue> | null;
  /** How many entries {@link meta} has. */
  metaKeys: number;
}

/**
 * The meta keys a remembered claim may carry: those of a member's record in gossip (`metaOf`). A
 * key the canonical bytes or the encoder treat apart (`__proto__`, `constructor`, `toJSON`, ...) is
 * none of them, so a claim whose meta holds one goes the way of every record.
 */
const META_KEYS: ReadonlySet<string> = new Set(["swarm", "team", "name", "kind", "capabilities"]);
/** Most entries of a remembered claim's list (capabilities): a longer one is checked by its bytes. */
const MAX_LIST = 32;
/**
 * Most characters of a remembered claim's strings (one more for each): a member's claim in gossip
 * takes about 130, its id 64 of them. It bounds what an entry holds, since a claim is remembered
 * whatever member signed it (in an open swarm anyone can make a key and sign claims).
 */
const MAX_CHARS = 512;

/**
 * Verified gossip claims by signature, oldest forgotten first. An entry holds a copy of the
 * signature, the copied fields and meta, and the claim's strings (shared with the claim, not
 * copied): about 700 bytes for a member's claim as gossip carries it, at most about 2 KB
 * ({@link MAX_CHARS}, {@link MAX_LIST}); measured with the strings held by the entry alone.
 */
export class VerifiedClaims {
  private readonly claims: Bounded<VerifiedClaim, number>;
  constructor(max: number) {
    this.claims = new Bounded<VerifiedClaim, number>(max);
  }

  /**
   * True when `claim` with signature `sig` (64 bytes) is a claim verified with it: the same
   * signature, and every signed field the same.
   */
  matches(sig: Uint8Array, claim: GossipClaim): boolean {
    const kept = this.claims.get(keyOf(sig));
    return (
      kept !== undefined &&
      sameSig(kept.sig, sig) &&
      // `===` on numbers: the kept ones are whole, and -0 (equal to 0) encodes as 0 does.
      claim.id === kept.id &&
      claim.incarnation === kept.incarnation &&
      claim.state === kept.state &&
      claim.address === kept.address &&
      claim.port === kept.port &&
      sameMeta(kept, claim.meta)
    );
  }

  /**
   * Remember `claim`, whose signature `sig` (64 bytes) was just verified over its bytes (or found
   * in the cache of verified signatures), when its shape lets its fields stand for its bytes. The
   * signature and fields are copied, so that a change to either after the check changes nothing here.
   */
  remember(sig: Uint8Array, claim: GossipClaim): void {
    const { id, incarnation, state, address, port } = claim;
    if (typeof id !== "string" || typeof state !== "string" || typeof address !== "string") return;
    if (!Number.isInteger(incarnation) || !Number.isInteger(port)) return;
    let meta: Record<string, MetaValue> | null = null;
    let metaKeys = 0;
    let chars = id.length + state.length + address.length + 3;
    const given = claim.meta;
    if (given !== undefined && given !== null) {
      if (!plainMap(given)) return;
      meta = Object.create(null) as Record<string, MetaValue>;
      for (const name of Object.keys(given)) {
        if (!META_KEYS.has(name)) return;
        const value = given[name];
        if (value === null) meta[name] = null;
        else if (typeof value === "string") {
          meta[name] = value;
          chars += value.length + 1;
        } else {
          const list = stringList(value);
          if (list === null) return;
          meta[name] = list;
          for (const s of list) chars += s.length + 1;
        }
        metaKeys++;
      }
    }
    if (chars > MAX_CHARS) return;
    const bytes = latin1String(sig);
    this.claims.set(keyOf(sig), { sig: bytes, id, incarnation, state, address, port, meta, metaKeys });
  }

  /** Claims remembered (at most the bound given). */
  get size(): number {
    return this.claims.size;
  }
}

/**
 * The key of signature `sig`: its first 6 bytes as a number. A string of its 64 bytes cost more to
 * make and hash than the rest of a check; two signatures with the same first bytes (one in 2^48)
 * share a key, the later one's claim kept, and an entry answers only its own signature
 * ({@link sameSig}).
 */
function keyOf(sig: Uint8Array): number {
  return sig[0]! * 2 ** 40 + sig[1]! * 2 ** 32 + (((sig[2]! << 24) | (sig[3]! << 16) | (sig[4]! << 8) | sig[5]!) >>> 0);
}

/** True when signature `sig` has the bytes `kept` holds (as latin1), every byte compared. */
function sameSig(kept: string, sig: Uint8Array): boolean {
  if (kept.length !== sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (kept.charCodeAt(i) !== sig[i]) return false;
  return true;
}

/** True for a map as the encoder writes it and the canonical bytes sort it: a plain object, or one with no prototype. */
function plainMap(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A frozen copy of `value` when it is a plain list of at most {@link MAX_LIST} strings (no holes), else null. */
function stringList(value: unknown): readonly string[] | null {
  if (!Array.isArray(value) || Object.getPrototypeOf(value) !== Array.prototype || value.length > MAX_LIST) return null;
  const list: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const s: unknown = value[i];
    if (typeof s !== "string") return null;
    list.push(s);
  }
  return Object.freeze(list);
}

/** True when `meta` signs as the remembered claim's meta: the same own keys, each with the same value. */
function sameMeta(kept: VerifiedClaim, meta: unknown): boolean {
  if (kept.meta === null) return meta === undefined || meta === null;
  if (!plainMap(meta)) return false;
  const names = Object.keys(meta);
  if (names.length !== kept.metaKeys) return false;
  // Own keys, as many as the kept ones and each among them (`kept.meta` has no prototype): the same keys.
  for (const name of names) {
    const want = kept.meta[name];
    const value = meta[name];
    if (want === undefined) return false;
    if (typeof want === "string" || want === null) {
      if (value !== want) return false;
    } else if (!sameList(want, value)) return false;
  }
  return true;
}

/** True when `value` is a plain list of exactly the strings of `want`, in order. */
function sameList(want: readonly string[], value: unknown): boolean {
  if (!Array.isArray(value) || value.length !== want.length || Object.getPrototypeOf(value) !== Array.prototype) return false;
  for (let i = 0; i < want.length; i++) if (value[i] !== want[i]) return false;
  return true;
}
