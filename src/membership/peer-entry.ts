/**
 * A known peer's entry in the peer table (`peer-table.ts`), as the table makes it, and the store
 * that keeps gossip membership's SWIM records on the entries (`PeerTable.memberStore`).
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { isMap } from "../util/guards.ts";
import { isFrozenNames, PEER_KEYS } from "../wire/peer.ts";
import type { MemberStore, MemberUpdate } from "./swim-types.ts";

/** How a peer became known. */
export type PeerSource = "seed" | "join" | "heartbeat" | "exchange" | "mdns" | "gossip";

/** One known peer. */
export interface PeerEntry {
  /** The peer's id: `peer.id`, read without making the record (see {@link peer}). */
  readonly id: string;
  /** The peer's advertised address: `peer.address`, read without making the record. */
  readonly address: string;
  /** The peer's port: `peer.port`, read without making the record. */
  readonly port: number;
  /**
   * The wire record (`last_seen` is kept current; its `capabilities` shared and frozen). Change it
   * through the table (`touch`, `refresh`, an upsert), never in place: a gossip peer's is made
   * from its SWIM member at each read, frozen (see {@link TableEntry}).
   */
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

/** What a wire record is read off of a SWIM member: its id, address and port, and its meta's fields. */
type MemberFields = Pick<MemberUpdate, "id" | "address" | "port" | "meta">;

/** True when `record`'s own keys are the wire record's ({@link PEER_KEYS}, `readPeer`'s order), in that order (no key list made: a share per member learnt). */
function hasRecordKeys(record: object): boolean {
  let i = 0;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue; // inherited: not the record's (Object.keys leaves them out too)
    if (key !== PEER_KEYS[i++]) return false;
  }
  return i === PEER_KEYS.length;
}

/**
 * A table entry as the table makes it: the {@link PeerEntry} fields, with `source` and `swim`
 * packed into one number behind accessors. Six fields take JSC's 64-byte size class, seven its
 * 80-byte one, and a node holds an entry per known peer. Every entry is made here, so all share
 * one shape. A copy made by spreading an entry has none of its accessors (`peer`, `member`,
 * `source`, `swim`).
 *
 * One record per gossip peer: while the wire record says what the peer's SWIM member says (its
 * id, address and port, and its meta's swarm, team, name, kind and capabilities, with the keys in
 * the table's order), the entry keeps only the record's `last_seen` and {@link peer} reads the rest
 * off the member (a wire record is 112 bytes, and SWIM's member holds the same values). Each read
 * then makes a new frozen record: change one through the table ({@link touch}, {@link refresh},
 * `peer =`), never in place. The entry keeps a record of its own again before the member changes
 * (its store is told: `MemberStore.changing`) or goes, and whenever the two differ.
 */
export class TableEntry implements PeerEntry {
  /** The wire record; or, while it is its SWIM member's (see the class), its `last_seen` alone. */
  #record: Peer | number;
  /** `swim`'s bits (low 2), then the source's index in {@link SOURCES}. */
  #packed: number;
  #member: unknown = undefined;

  constructor(
    peer: Peer,
    public dialHost: string,
    public fallbackHost: string | null,
    source: PeerSource,
    public extensions: string[],
  ) {
    this.#record = peer;
    this.#packed = Math.max(0, SOURCES.indexOf(source)) << 2;
  }

  get peer(): Peer {
    const record = this.#record;
    return typeof record === "number" ? recordOf(this.#member as MemberFields, record) : record;
  }

  get id(): string {
    const record = this.#record;
    return typeof record === "number" ? (this.#member as MemberFields).id : record.id;
  }

  get address(): string {
    const record = this.#record;
    return typeof record === "number" ? (this.#member as MemberFields).address : record.address;
  }

  get port(): number {
    const record = this.#record;
    return typeof record === "number" ? (this.#member as MemberFields).port : record.port;
  }

  set peer(peer: Peer) {
    this.#record = peer;
    this.#share();
  }

  get member(): unknown {
    return this.#member;
  }

  set member(member: unknown) {
    this.keep();
    this.#member = member;
    this.#share();
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

  /** True while the wire record is read off the SWIM member (see the class); for tests. */
  get shared(): boolean {
    return typeof this.#record === "number";
  }

  /** The peer was heard from at `at` (unix seconds): `last_seen` moves forward only. */
  touch(at: number): void {
    const record = this.#record;
    if (typeof record === "number") {
      if (at > record) this.#record = at;
    } else if (at > record.last_seen) record.last_seen = at;
  }

  /** Change some of the wire record's fields (those a heartbeat answer or a newer alive update give). */
  refresh(fields: Partial<Pick<Peer, "name" | "kind" | "capabilities">>): void {
    this.keep();
    Object.assign(this.#record as Peer, fields);
    this.#share();
  }

  /** Keep a wire record of the entry's own (the member is about to change or go). */
  keep(): void {
    const record = this.#record;
    if (typeof record === "number") this.#record = ownRecordOf(this.#member as MemberFields, record);
  }

  /** Read the wire record off the member from now on, when the two say the same. */
  #share(): void {
    const record = this.#record;
    if (typeof record !== "number" && sameRecord(record, this.#member)) this.#record = record.last_seen;
  }
}

/** The wire record a SWIM member says (see {@link TableEntry}), frozen. */
function recordOf(member: MemberFields, last_seen: number): Peer {
  return Object.freeze(ownRecordOf(member, last_seen));
}

/** The same record, the entry's own to change (one object: not a frozen one and a copy of it, as every dropped peer took). */
function ownRecordOf(member: MemberFields, last_seen: number): Peer {
  const meta = member.meta as Pick<Peer, "swarm" | "team" | "name" | "kind" | "capabilities">;
  return { id: member.id, address: member.address, port: member.port, swarm: meta.swarm, team: meta.team, name: meta.name, kind: meta.kind, capabilities: meta.capabilities, last_seen };
}

/** True when `member` (a SWIM member, if any) says exactly what `record` says, but for `last_seen`. */
function sameRecord(record: Peer, member: unknown): boolean {
  if (!isMap(member) || !isMap(member.meta)) return false;
  const meta = member.meta, caps = meta.capabilities;
  if (record.id !== member.id || record.address !== member.address || record.port !== member.port) return false;
  if (record.swarm !== meta.swarm || record.team !== meta.team || record.name !== meta.name || record.kind !== meta.kind) return false;
  // A frozen list only (one the table shares, or one nobody changes), equal item by item.
  if (!Array.isArray(caps) || caps.length !== record.capabilities.length) return false;
  if (!isFrozenNames(caps) && !Object.isFrozen(caps)) return false;
  for (let i = 0; i < caps.length; i++) if (caps[i] !== record.capabilities[i]) return false;
  return typeof record.last_seen === "number" && hasRecordKeys(record);
}

/** The store `PeerTable.memberStore` makes (see there). */
export class EntryMembers<M> implements MemberStore<M> {
  /** Members whose peer the table does not hold. */
  readonly #loose = new Map<string, M>();
  #size = 0;

  constructor(private readonly entries: ReadonlyMap<string, TableEntry>) {}

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

  /**
   * Call `each` with every member, by loops over the two maps, not through {@link values}: in the
   * 1,000-node paced join the generator's own frames (`values`, `generatorResume`) were 4% of a
   * worker's CPU, mostly in the digest walks. A walk of 1,000 members took 7.2 µs through the
   * generator, 1.8 µs here (a micro-benchmark).
   */
  forEach(each: (member: M) => void): void {
    for (const entry of this.entries.values()) {
      const member = entry.member;
      if (member !== undefined) each(member as M);
    }
    for (const member of this.#loose.values()) each(member);
  }

  *keys(): IterableIterator<string> {
    for (const [id, entry] of this.entries) if (entry.member !== undefined) yield id;
    yield* this.#loose.keys();
  }

  /** The list is about to change member `id`'s address, port or meta: its entry keeps a wire record of its own. */
  changing(id: string): void {
    this.entries.get(id)?.keep();
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
