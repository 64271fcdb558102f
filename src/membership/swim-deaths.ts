/**
 * A node's recent deaths, and the filter of them a request carries between Bun peers that read
 * lean deaths (`swim-wire.ts`), so that the answer adds the recent deaths the asker lacks.
 *
 * A message piggybacks a share of a mass death's news only: with a killed process of 250 nodes
 * at 1,000, a survivor that read few messages while the deaths were fresh missed every copy of a
 * few of them and waited seconds, while the rest of the swarm held them (docs/performance-log.md, s13
 * and s14). With the filter, each request a node makes brings the deaths its answerer took lately
 * that the node lacks, and nothing it holds already.
 *
 * The filter (`deaths` in a ping, ping-req or gossip; a `bin`): 4 bytes of salt (big-endian, new
 * for each request), then a Bloom filter of the ids of the members the sender took dead in the
 * last 2 × {@link RESEND_WINDOW} probe intervals and of those it holds suspect on a death it
 * doubted: 16 bits per id rounded up to a power of two (at least 32 bytes), 3 bits per id at
 * `(a + i × b) mod m` for i = 0, 1, 2, where `a` and `b` are 32-bit mixes of two FNV-1a hashes of
 * the id's UTF-16 code units with the salt. Only the salt when there is none. A fresh salt makes
 * a false positive (about one id in 200 at that size) another id's at the next request: a filter
 * that said "held" for a missing death every time would keep it from its asker for good.
 *
 * The answerer reads the same filter a second way ({@link filterHolds}): the deaths it would
 * piggyback that the filter holds are left out of the answer, as the asker has them already.
 *
 * @module
 */
import { readUint32, writeUint32 } from "../util/bytes.ts";
import { fmix32 } from "../util/hash.ts";

/** Probe intervals back that the deaths an answer adds reach (the asker's filter holds twice as far). */
export const RESEND_WINDOW = 10;

/** Deaths one answer adds, at most (a killed process of 250; about 19 KB lean). */
export const MAX_RESENT = 256;

/** Deaths remembered, at most. */
const MAX_REMEMBERED = 1024;

/** Bits set per id. */
const K = 3;

/** Largest filter read from the network, in bytes (salt included). */
const MAX_FILTER = 4 + 16 * 1024;

interface Entry {
  id: string;
  /** When the member went dead here (seconds). */
  at: number;
  h1: number;
  h2: number;
}

/** The deaths a node took lately, oldest first, with their ids' hashes (made once). */
export class RecentDeaths {
  readonly #entries: Entry[] = [];
  /** The entries by id (the latest, for an id taken dead twice): their hashes, for {@link filterHolds}. */
  readonly #byId = new Map<string, Entry>();

  /** Member `id` went dead here at `at` (seconds). */
  add(id: string, at: number): void {
    const [h1, h2] = hashId(id);
    const entry = { id, at, h1, h2 };
    this.#entries.push(entry);
    this.#byId.set(id, entry);
    if (this.#entries.length > MAX_REMEMBERED) this.#forget(this.#entries.shift()!);
  }

  /** The entry of a death remembered, by id (its hashes made once). */
  entryOf(id: string): Readonly<Entry> | undefined {
    return this.#byId.get(id);
  }

  #forget(entry: Entry): void {
    if (this.#byId.get(entry.id) === entry) this.#byId.delete(entry.id);
  }

  /**
   * True when at least `count` (1 or more) of the deaths remembered were taken at or after `since`:
   * one look, as they are kept oldest first. Fewer remembered is false before any look (every
   * request of a quiet swarm asks: an index below zero there made the compiled code exit once
   * deaths came).
   */
  atLeast(count: number, since: number): boolean {
    if (count < 1 || count > this.#entries.length) return false;
    return this.#entries[this.#entries.length - count]!.at >= since;
  }

  /** The ids of the deaths taken at or after `since`, newest first. */
  *since(since: number): Iterable<string> {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i]!;
      if (e.at < since) return;
      yield e.id;
    }
  }

  /** When the newest death remembered was taken (seconds; -Infinity for none). */
  get latest(): number {
    return this.#entries.at(-1)?.at ?? Number.NEGATIVE_INFINITY;
  }

  /** Deaths remembered now. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * The filter (see the module header) of the deaths taken at or after `since` and of `extra` ids,
   * with `salt`. Deaths taken before `since` are forgotten (a request's filter reaches the
   * furthest back of any use): a quiet swarm holds none.
   */
  filter(since: number, extra: Iterable<string>, salt: number): Uint8Array {
    let old = 0;
    while (old < this.#entries.length && this.#entries[old]!.at < since) old++;
    if (old > 0) for (const e of this.#entries.splice(0, old)) this.#forget(e);
    // No array per id (a request is made several times a second, each with up to a few hundred
    // ids over a mass death: the hashes' pairs were 4 to 5% of a survivor's CPU over a kill).
    let recent = 0;
    for (let i = this.#entries.length - 1; i >= 0 && this.#entries[i]!.at >= since; i--) recent++;
    const others: number[] = [];
    for (const id of extra) {
      const [h1, h2] = hashId(id);
      others.push(h1, h2);
    }
    const count = recent + others.length / 2;
    let bytes = 0;
    if (count > 0) {
      bytes = 32;
      while (bytes * 8 < count * 16 && bytes + 4 < MAX_FILTER) bytes *= 2;
    }
    const out = new Uint8Array(4 + bytes);
    writeUint32(out, 0, salt >>> 0);
    const bits = bytes * 8;
    const salt2 = Math.imul(salt, 0x9e3779b9);
    for (let i = this.#entries.length - recent; i < this.#entries.length; i++) {
      const e = this.#entries[i]!;
      setBits(out, bits, fmix32(e.h1 ^ salt), fmix32(e.h2 ^ salt2) | 1);
    }
    for (let i = 0; i < others.length; i += 2) setBits(out, bits, fmix32(others[i]! ^ salt), fmix32(others[i + 1]! ^ salt2) | 1);
    return out;
  }

  /**
   * The ids of the deaths taken at or after `since` that `filter` does not hold (newest first, at
   * most `max`): all of them when it holds none.
   */
  missing(filter: Uint8Array, since: number, max: number): string[] {
    const salt = readUint32(filter, 0);
    const bits = (filter.length - 4) * 8;
    const out: string[] = [];
    for (let i = this.#entries.length - 1; i >= 0 && out.length < max; i--) {
      const e = this.#entries[i]!;
      if (e.at < since) break;
      if (bits === 0 || !held(filter, bits, salt, e.h1, e.h2)) out.push(e.id);
    }
    return out;
  }
}

/**
 * The salts of a node's filters, one per call: the `n`th a mix of its id's hash (taken once) and
 * `n` (not drawn from the core's random source, whose sequence the protocol's other choices follow).
 */
export function saltsOf(id: string): () => number {
  const base = hashId(id)[0];
  let n = 0;
  return () => fmix32(base ^ Math.imul(++n, 0x9e3779b9));
}

/**
 * A test of `filter` (one {@link isDeathFilter} accepts) for one id at a time: true when it holds
 * that id (or a false positive does: about one id in 200, another id's at the asker's next
 * request); null for a filter that holds no death. The hashes of an id among `known` (the
 * answerer's own recent deaths, most of what it piggybacks in a mass failure) are its entry's,
 * made once: hashing a node's 64-character id for every death of every answer (about 100 ns
 * each) was 2% of a survivor's CPU over a 1,000-node kill.
 */
export function filterHolds(filter: Uint8Array, known?: RecentDeaths): ((id: string) => boolean) | null {
  if (!holdsDeaths(filter)) return null;
  const salt = readUint32(filter, 0);
  const bits = (filter.length - 4) * 8;
  return (id) => {
    const entry = known?.entryOf(id);
    if (entry !== undefined) return held(filter, bits, salt, entry.h1, entry.h2);
    // No pair made: one test per death an answer would carry.
    hashInto(id);
    return held(filter, bits, salt, lastH1, lastH2);
  };
}

/** True when a filter (one {@link isDeathFilter} accepts) holds any death: bits after its salt. */
export function holdsDeaths(filter: Uint8Array): boolean {
  return filter.length > 4;
}

/** True for a filter as the network may carry it: a `bin` of a salt and no bits, or a power of two bytes of at least 32. */
export function isDeathFilter(value: unknown): value is Uint8Array {
  if (!(value instanceof Uint8Array) || value.length < 4 || value.length > MAX_FILTER) return false;
  const bytes = value.length - 4;
  return bytes === 0 || (bytes >= 32 && (bytes & (bytes - 1)) === 0);
}

function held(filter: Uint8Array, bits: number, salt: number, h1: number, h2: number): boolean {
  const a = fmix32(h1 ^ salt);
  const b = fmix32(h2 ^ Math.imul(salt, 0x9e3779b9)) | 1;
  for (let i = 0; i < K; i++) {
    const bit = (a + Math.imul(i, b)) >>> 0 & (bits - 1);
    if ((filter[4 + (bit >>> 3)]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** Set an id's K bits in the filter `out` (after its 4 bytes of salt), from its two salted hashes (see the module header; `b` odd). */
function setBits(out: Uint8Array, bits: number, a: number, b: number): void {
  for (let i = 0; i < K; i++) {
    const bit = (a + Math.imul(i, b)) >>> 0 & (bits - 1);
    out[4 + (bit >>> 3)]! |= 1 << (bit & 7);
  }
}

/** The hashes {@link hashInto} made last. */
let lastH1 = 0;
let lastH2 = 0;

/** Two FNV-1a hashes (different offset bases) of `id`'s UTF-16 code units, into {@link lastH1} and {@link lastH2}. */
function hashInto(id: string): void {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x01000193);
  }
  lastH1 = h1 >>> 0;
  lastH2 = h2 >>> 0;
}

/** {@link hashInto}'s two hashes of `id`, as a pair. */
function hashId(id: string): [number, number] {
  hashInto(id);
  return [lastH1, lastH2];
}
