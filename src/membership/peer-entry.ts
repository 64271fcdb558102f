/**
 * A known peer's entry in the peer table (`peer-table.ts`), as the table makes it, and the store
 * that keeps gossip membership's SWIM records on the entries (`PeerTable.memberStore`).
 *
 * @module
 */
import type { Peer } from "../types.ts";
import type { MemberStore } from "./swim-types.ts";

/** How a peer became known. */
export type PeerSource = "seed" | "join" | "heartbeat" | "exchange" | "mdns" | "gossip";

/** One known peer. */
export interface PeerEntry {
  /** The wire record (`last_seen` is kept current; its `capabilities` shared and frozen: replace them, never change them). */
  peer: Peer;
  /** The host this node dials; loopback for a peer on this host. */
  dialHost: string;
  /** The peer's advertised address, tried when dialling loopback fails. */
  fallbackHost: string | null;
  /** How the peer became known. */
  source: PeerSource;
  /** Implementation extensions the peer advertised (mDNS `ext`), e.g. `["mux"]` (shared and frozen: replace it, never change it). */
  extensions: string[];
  /**
   * What gossip membership knows of the peer, as bits ({@link SWIM_OWNED}, {@link KNOWS_THIS_NODE};
   * 0 for a new entry): on the entry rather than in sets keyed by id, one entry per peer each.
   */
  swim: number;
  /**
   * Gossip membership's SWIM record of the peer, when it holds one (see `PeerTable.memberStore`):
   * kept on the entry, so that the table's map finds both; undefined otherwise.
   */
  member?: unknown;
}

/** A bit of {@link PeerEntry.swim}: SWIM decides the peer's liveness (gossip "owns" it). */
export const SWIM_OWNED = 1;
/** A bit of {@link PeerEntry.swim}: the peer sent this node a SWIM message it took, so it knows this node. */
export const KNOWS_THIS_NODE = 2;

/**
 * Whether `bit` of the entry's {@link PeerEntry.swim} is set (false without an entry); with `set`,
 * sets or clears it too (and still returns whether it was set before).
 */
export function swimBit(entry: PeerEntry | undefined, bit: number, set?: boolean): boolean {
  const was = entry !== undefined && (entry.swim & bit) !== 0;
  if (entry && set !== undefined) entry.swim = set ? entry.swim | bit : entry.swim & ~bit;
  return was;
}

/** The sources, by their index in {@link TableEntry}'s packed field. */
const SOURCES: readonly PeerSource[] = ["seed", "join", "heartbeat", "exchange", "mdns", "gossip"];

/**
 * A table entry as the table makes it: the {@link PeerEntry} fields, with `source` and `swim`
 * packed into one number behind accessors. Six fields take JSC's 64-byte size class, seven its
 * 80-byte one, and a node holds an entry per known peer. Every entry is made here, so all share
 * one shape. A copy made by spreading an entry has no `source` or `swim` (they are accessors).
 */
export class TableEntry implements PeerEntry {
  /** `swim`'s bits (low 2), then the source's index in {@link SOURCES}. */
  #packed: number;
  member: unknown = undefined;

  constructor(
    public peer: Peer,
    public dialHost: string,
    public fallbackHost: string | null,
    source: PeerSource,
    public extensions: string[],
  ) {
    this.#packed = Math.max(0, SOURCES.indexOf(source)) << 2;
  }

  get source(): PeerSource {
    return SOURCES[this.#packed >> 2]!;
  }

  set source(source: PeerSource) {
    this.#packed = (Math.max(0, SOURCES.indexOf(source)) << 2) | (this.#packed & 3);
  }

  get swim(): number {
    return this.#packed & 3;
  }

  set swim(bits: number) {
    this.#packed = (this.#packed & ~3) | (bits & 3);
  }
}

/** The store `PeerTable.memberStore` makes (see there). */
export class EntryMembers<M> implements MemberStore<M> {
  /** Members whose peer the table does not hold. */
  readonly #loose = new Map<string, M>();
  #size = 0;

  constructor(private readonly entries: ReadonlyMap<string, PeerEntry>) {}

  get size(): number {
    return this.#size;
  }

  get(id: string): M | undefined {
    const entry = this.entries.get(id);
    return entry !== undefined ? (entry.member as M | undefined) : this.#loose.get(id);
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  set(id: string, member: M): this {
    const entry = this.entries.get(id);
    if (entry !== undefined) {
      if (entry.member === undefined) this.#size++;
      entry.member = member;
    } else {
      if (!this.#loose.has(id)) this.#size++;
      this.#loose.set(id, member);
    }
    return this;
  }

  delete(id: string): boolean {
    const entry = this.entries.get(id);
    if (entry === undefined ? !this.#loose.delete(id) : entry.member === undefined) return false;
    if (entry !== undefined) entry.member = undefined;
    this.#size--;
    return true;
  }

  *values(): IterableIterator<M> {
    for (const entry of this.entries.values()) if (entry.member !== undefined) yield entry.member as M;
    yield* this.#loose.values();
  }

  *keys(): IterableIterator<string> {
    for (const [id, entry] of this.entries) if (entry.member !== undefined) yield id;
    yield* this.#loose.keys();
  }

  /** The table added `entry`: the member SWIM held already goes onto it. */
  added(id: string, entry: PeerEntry): void {
    const member = this.#loose.get(id);
    if (member === undefined) return;
    this.#loose.delete(id);
    entry.member = member;
  }

  /** The table dropped `entry`: SWIM keeps its member (dead, left: remembered a while). */
  removed(id: string, entry: PeerEntry): void {
    if (entry.member === undefined) return;
    this.#loose.set(id, entry.member as M);
    entry.member = undefined;
  }

  /** How many members are kept in the store's own map (not on an entry). */
  get loose(): number {
    return this.#loose.size;
  }
}
