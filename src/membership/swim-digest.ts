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

/** A member as {@link DigestList} holds it: its record, with its version, the {@link idHash} of its id (made once, kept with it) and its place in {@link DigestSlots}. */
export type DigestMember = MemberUpdate & { readonly version: number; readonly hash: number; slot: number };

/** What a digest is made from and answered with: the member list (`swim-members.ts`), as far as needed here. */
export interface DigestList {
  readonly id: string;
  readonly incarnation: number;
  readonly leaving: boolean;
  readonly version: number;
  /** Every member's digest entry, kept as the list changes. */
  readonly slots: DigestSlots;
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

/** The digest of everything `list` holds, this node's own claim first: one copy of its slots' bytes. */
export function writeDigest(list: DigestList): Uint8Array {
  const slots = list.slots;
  const bytes = new Uint8Array((slots.size + 1) * DIGEST_ENTRY);
  putEntry(new DataView(bytes.buffer), 0, idHash(list.id), list.incarnation, CODE[list.leaving ? "left" : "alive"]);
  bytes.set(slots.bytes(), DIGEST_ENTRY);
  return bytes;
}

function putEntry(view: DataView, at: number, hash: number, incarnation: number, code: number): void {
  putHash(view, at, hash);
  view.setFloat64(at + 6, incarnation);
  view.setUint8(at + 14, code);
}

/**
 * Every member's digest entry, kept by the member list as it changes (`MemberList`), each beside
 * the member it is of (the member knows its place: `slot`). A digest is then one copy of these bytes,
 * and an answer reads them in order, touching a member's record only to send it. Walking the
 * records instead (a map of 1,000 entries and the objects they point to, spread over a heap that
 * holds 250 nodes' lists, as a worker of the 1,000-node bench does) took 205 µs a digest and 470 µs
 * an answer in a micro-benchmark of that layout (40 and 80 µs for one list alone); 64 and 79 µs now.
 */
export class DigestSlots<M extends DigestMember = DigestMember> {
  #bytes = new Uint8Array(16 * DIGEST_ENTRY);
  #view = new DataView(this.#bytes.buffer);
  readonly #members: M[] = [];

  /** Members held. */
  get size(): number {
    return this.#members.length;
  }

  /** The entries, in slot order (a view: read it before the list changes again). */
  bytes(): Uint8Array {
    return this.#bytes.subarray(0, this.#members.length * DIGEST_ENTRY);
  }

  /** The entries as a `DataView` over {@link bytes}' buffer (entry `i` at `i * DIGEST_ENTRY`). */
  get view(): DataView {
    return this.#view;
  }

  /** The member in slot `i`. */
  member(i: number): M {
    return this.#members[i]!;
  }

  /** `m` is new to the list: its entry goes last. */
  add(m: M): void {
    const slot = this.#members.length;
    if ((slot + 1) * DIGEST_ENTRY > this.#bytes.length) {
      const grown = new Uint8Array(this.#bytes.length * 2);
      grown.set(this.#bytes);
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#members.push(m);
    m.slot = slot;
    this.set(m);
  }

  /** `m`'s incarnation or state changed: its entry says so. */
  set(m: M): void {
    if (this.#members[m.slot] !== m) return;
    putEntry(this.#view, m.slot * DIGEST_ENTRY, m.hash, m.incarnation, CODE[m.state]);
  }

  /** `m` is forgotten: the last entry takes its place. */
  delete(m: M): void {
    const slot = m.slot;
    if (this.#members[slot] !== m) return;
    const last = this.#members.pop()!;
    m.slot = -1;
    if (last === m) return;
    this.#members[slot] = last;
    last.slot = slot;
    const from = this.#members.length * DIGEST_ENTRY;
    this.#bytes.copyWithin(slot * DIGEST_ENTRY, from, from + DIGEST_ENTRY);
  }
}

/** True for a digest as the network may carry it (whole entries, at most {@link MAX_UPDATES}). */
export function isDigest(raw: unknown): raw is Uint8Array {
  return raw instanceof Uint8Array && raw.length % DIGEST_ENTRY === 0 && raw.length / DIGEST_ENTRY <= MAX_UPDATES;
}

/** True for a `want` list as the network may carry it. */
export function isWant(raw: unknown): raw is Uint8Array {
  return raw instanceof Uint8Array && raw.length % WANT_ENTRY === 0 && raw.length / WANT_ENTRY <= MAX_UPDATES;
}

/**
 * A digest's entries by hash, the first one should the asker list a hash twice: open addressing in
 * a typed array (about twice the entries' count), not a `Map` of a thousand numbers made for every
 * answer (two thirds of an answer's time in a micro-benchmark once the walk read the slots).
 */
class EntryIndex {
  readonly #table: Int32Array;
  readonly #mask: number;
  /** 32 less the table's bits: a multiplicative hash's top bits pick the first place. */
  readonly #shift: number;

  constructor(
    private readonly view: DataView,
    count: number,
  ) {
    let bits = 4;
    while (1 << bits < 2 * count) bits++;
    this.#table = new Int32Array(1 << bits);
    this.#mask = (1 << bits) - 1;
    this.#shift = 32 - bits;
    for (let i = count - 1; i >= 0; i--) this.#put(i);
  }

  /** The entry of `hash`, or -1. */
  get(hash: number): number {
    const table = this.#table;
    for (let at = this.#start(hash); ; at = (at + 1) & this.#mask) {
      const held = table[at]!;
      if (held === 0) return -1;
      if (getHash(this.view, (held - 1) * DIGEST_ENTRY) === hash) return held - 1;
    }
  }

  /** Entry `i` (held as `i + 1`; 0 is empty), over an entry of the same hash put before it (a later one). */
  #put(i: number): void {
    const hash = getHash(this.view, i * DIGEST_ENTRY);
    const table = this.#table;
    for (let at = this.#start(hash); ; at = (at + 1) & this.#mask) {
      const held = table[at]!;
      if (held === 0 || getHash(this.view, (held - 1) * DIGEST_ENTRY) === hash) {
        table[at] = i + 1;
        return;
      }
    }
  }

  #start(hash: number): number {
    return Math.imul((hash >>> 0) ^ Math.floor(hash / 0x1_0000_0000), 0x9e3779b1) >>> this.#shift;
  }
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
  const index = new EntryIndex(view, count);
  const incarnation = (i: number): number => view.getFloat64(i * DIGEST_ENTRY + 6);
  const rank = (i: number): number => RANK[view.getUint8(i * DIGEST_ENTRY + 14) & 3]!;
  const matched = new Uint8Array(count);
  const self = index.get(idHash(list.id));
  if (self >= 0) {
    matched[self] = 1;
    const about = incarnation(self);
    // The asker holds this node suspect, dead or left: refute it (a new incarnation) before answering.
    if (rank(self) > 0 && Number.isSafeInteger(about) && about >= list.incarnation && !list.leaving) {
      list.apply({ ...list.selfUpdate("alive"), incarnation: about, state: "suspect" });
    }
  }
  const members: MemberUpdate[] = [list.claim()];
  const want: number[] = [];
  // This node's members from its slots: a record is read only to be sent.
  const slots = list.slots;
  const own = slots.view;
  for (let s = 0, at = 0; s < slots.size; s++, at += DIGEST_ENTRY) {
    const hash = getHash(own, at);
    const code = own.getUint8(at + 14) & 3;
    const i = index.get(hash);
    if (i < 0) {
      if (code === CODE.alive) members.push(list.update(slots.member(s)));
      continue;
    }
    matched[i] = 1;
    const mine = RANK[code], held = own.getFloat64(at + 6);
    if (newer(held, mine, incarnation(i), rank(i))) members.push(list.update(slots.member(s)));
    else if (newer(incarnation(i), rank(i), held, mine)) want.push(hash);
  }
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
  const slots = list.slots;
  for (let s = 0; s < slots.size; s++) if (hashes.has(getHash(slots.view, s * DIGEST_ENTRY))) out.push(list.update(slots.member(s)));
  return out;
}
