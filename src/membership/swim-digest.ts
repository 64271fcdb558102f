/**
 * Digest push-pulls between Bun peers: a full-state exchange that sends what the other side lacks,
 * not everything.
 *
 * A request carries `digest`: one entry per member the sender holds (itself included), a 48-bit
 * hash of the member's id, its incarnation and its state, 15 bytes each (a member record is about
 * 150). A node that reads it answers with its own claim and only the members the sender lacks
 * (alive ones) or holds older (a lower incarnation, or the same incarnation in an earlier state:
 * alive, then suspect, then dead or left), and names in `want` the hashes of the members it lacks
 * or holds older itself; the sender then pushes those records (a push-pull with `since`, whose
 * answer is what changed since). An older Bun node ignores `digest` and answers its whole state,
 * as before; the sender merges it as ever.
 *
 * A hash collision (two ids with one hash: about 1 in 10^8 exchanges at 1,000 members) at worst
 * withholds one record from one exchange; gossip and the next exchange carry it.
 *
 * @module
 */
import { MAX_UPDATES } from "./swim-read.ts";
import type { MemberUpdate, SwimPushPull, SwimState } from "./swim-types.ts";

/** A member as {@link DigestList} holds it: its record, with its version and the {@link idHash} of its id (made once, kept with it). */
export type DigestMember = MemberUpdate & { readonly version: number; readonly hash: number };

/** What a digest is made from and answered with: the member list (`swim-members.ts`), as far as needed here. */
export interface DigestList {
  readonly id: string;
  readonly incarnation: number;
  readonly leaving: boolean;
  readonly version: number;
  readonly members: { readonly size: number; forEach(each: (m: DigestMember) => void): void };
  selfUpdate(state: "alive" | "left"): Readonly<MemberUpdate>;
  /** This node's own current claim (alive, or left once leaving). */
  claim(): Readonly<MemberUpdate>;
  /** A member's record as an update (wire fields only). */
  update(m: DigestMember): Readonly<MemberUpdate>;
  apply(u: MemberUpdate): boolean;
}

/** Bytes of a digest entry: the id's hash (6), the incarnation (float64, 8), the state (1). */
export const DIGEST_ENTRY = 15;
/** Bytes of a `want` entry: the id's hash. */
export const WANT_ENTRY = 6;

/** State codes in a digest entry. */
const CODE: Record<SwimState, number> = { alive: 0, suspect: 1, dead: 2, left: 3 };
/** How far along a state is at one incarnation (a later one overrides an earlier one): alive, suspect, gone. */
const RANK = [0, 1, 2, 2] as const;

/** A 48-bit hash of a member id (two 32-bit multiplicative hashes over its UTF-16 code units). */
export function idHash(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 13;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 16;
  return (a >>> 16) * 0x1_0000_0000 + (b >>> 0);
}

function putHash(view: DataView, at: number, hash: number): void {
  view.setUint16(at, Math.floor(hash / 0x1_0000_0000));
  view.setUint32(at + 2, hash >>> 0);
}

function getHash(view: DataView, at: number): number {
  return view.getUint16(at) * 0x1_0000_0000 + view.getUint32(at + 2);
}

/** The digest of everything `list` holds, this node's own claim included. */
export function writeDigest(list: DigestList): Uint8Array {
  const bytes = new Uint8Array((list.members.size + 1) * DIGEST_ENTRY);
  const view = new DataView(bytes.buffer);
  const put = (at: number, hash: number, incarnation: number, state: SwimState): void => {
    putHash(view, at, hash);
    view.setFloat64(at + 6, incarnation);
    view.setUint8(at + 14, CODE[state]);
  };
  put(0, idHash(list.id), list.incarnation, list.leaving ? "left" : "alive");
  let at = DIGEST_ENTRY;
  list.members.forEach((m) => {
    put(at, m.hash, m.incarnation, m.state);
    at += DIGEST_ENTRY;
  });
  return bytes;
}

/** True for a digest as the network may carry it (whole entries, at most {@link MAX_UPDATES}). */
export function isDigest(raw: unknown): raw is Uint8Array {
  return raw instanceof Uint8Array && raw.length % DIGEST_ENTRY === 0 && raw.length / DIGEST_ENTRY <= MAX_UPDATES;
}

/** True for a `want` list as the network may carry it. */
export function isWant(raw: unknown): raw is Uint8Array {
  return raw instanceof Uint8Array && raw.length % WANT_ENTRY === 0 && raw.length / WANT_ENTRY <= MAX_UPDATES;
}

/** True when (incarnation, rank) `a` is news over `b`. */
function newer(aIncarnation: number, aRank: number, bIncarnation: number, bRank: number): boolean {
  return aIncarnation > bIncarnation || (aIncarnation === bIncarnation && aRank > bRank);
}

/**
 * The answer to a push-pull that carried `digest`: this node's own claim, then the members the
 * asker lacks (alive ones: a rumour about a stranger is dropped anyway) or holds older, with `want`
 * naming those this node lacks or holds older. The asker's view of this node, when it is a
 * suspicion or a death at this node's incarnation or later, is refuted first (a whole state carried
 * it, and the refutation went back in the answer).
 */
export function answerDigest(list: DigestList, digest: Uint8Array): SwimPushPull {
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  const count = digest.length / DIGEST_ENTRY;
  // Entry index by hash (the first one, should the asker list a hash twice).
  const index = new Map<number, number>();
  for (let i = count - 1; i >= 0; i--) index.set(getHash(view, i * DIGEST_ENTRY), i);
  const incarnation = (i: number): number => view.getFloat64(i * DIGEST_ENTRY + 6);
  const rank = (i: number): number => RANK[view.getUint8(i * DIGEST_ENTRY + 14) & 3]!;
  const matched = new Uint8Array(count);
  const self = index.get(idHash(list.id));
  if (self !== undefined) {
    matched[self] = 1;
    const about = incarnation(self);
    // The asker holds this node suspect, dead or left: refute it (a new incarnation) before answering.
    if (rank(self) > 0 && Number.isSafeInteger(about) && about >= list.incarnation && !list.leaving) {
      list.apply({ ...list.selfUpdate("alive"), incarnation: about, state: "suspect" });
    }
  }
  const members: MemberUpdate[] = [list.claim()];
  const want: number[] = [];
  list.members.forEach((m) => {
    const hash = m.hash;
    const i = index.get(hash);
    if (i === undefined) {
      if (m.state === "alive") members.push(list.update(m));
      return;
    }
    matched[i] = 1;
    const mine = RANK[CODE[m.state]];
    if (newer(m.incarnation, mine, incarnation(i), rank(i))) members.push(list.update(m));
    else if (newer(incarnation(i), rank(i), m.incarnation, mine)) want.push(hash);
  });
  // Members the asker holds alive and this node has never heard of.
  for (let i = 0; i < count; i++) if (matched[i] === 0 && rank(i) === 0) want.push(getHash(view, i * DIGEST_ENTRY));
  const answer: SwimPushPull = { kind: "push_pull", from: list.id, join: false, members, version: list.version };
  if (want.length > 0) answer.want = writeWant(want);
  return answer;
}

function writeWant(hashes: number[]): Uint8Array {
  const bytes = new Uint8Array(hashes.length * WANT_ENTRY);
  const view = new DataView(bytes.buffer);
  hashes.forEach((h, i) => putHash(view, i * WANT_ENTRY, h));
  return bytes;
}

/** The records of `list` that an answer's `want` names (see {@link answerDigest}). */
export function wanted(list: DigestList, want: Uint8Array): MemberUpdate[] {
  const view = new DataView(want.buffer, want.byteOffset, want.byteLength);
  const hashes = new Set<number>();
  for (let at = 0; at < want.length; at += WANT_ENTRY) hashes.add(getHash(view, at));
  const out: MemberUpdate[] = [];
  list.members.forEach((m) => {
    if (hashes.has(m.hash)) out.push(list.update(m));
  });
  return out;
}
