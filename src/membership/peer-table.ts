/**
 * The table of known peers: their wire records, when each was last heard from, and the address
 * this node dials to reach it (loopback for a peer on the same host).
 *
 * @module
 */
import { isWildcard, localAddresses } from "../address.ts";
import { isLoopback } from "../util/guards.ts";
import { frozenNames, isFrozenNames } from "../wire/peer.ts";
import { sample } from "../util/random.ts";
import type { Peer } from "../types.ts";
import type { MemberStore } from "./swim-types.ts";
import { EntryMembers, SWIM_OWNED, swimBit, TableEntry, type PeerEntry, type PeerSource } from "./peer-entry.ts";

export { KNOWS_THIS_NODE, SWIM_OWNED, swimBit, type PeerEntry, type PeerSource } from "./peer-entry.ts";

const LOCAL_CACHE_MS = 5000;
let localCache: { at: number; set: Set<string> } | null = null;

/** This machine's addresses, cached for a few seconds (interfaces rarely change). */
function cachedLocalAddresses(): Set<string> {
  const now = Date.now();
  if (!localCache || now - localCache.at > LOCAL_CACHE_MS) localCache = { at: now, set: localAddresses() };
  return localCache.set;
}

/** Strip the IPv4-mapped IPv6 prefix a dual-stack socket reports (`::ffff:127.0.0.1`). */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

/**
 * Where to dial a peer that advertises `address`: a peer on this host (its address is one of this
 * machine's, or `sameHost` says so) is dialled on loopback, with the advertised address kept as a
 * fallback; any other peer at its address.
 */
export function dialTarget(address: string, sameHost = false): { dialHost: string; fallbackHost: string | null } {
  if (isLoopback(address)) return { dialHost: address === "localhost" ? "127.0.0.1" : address, fallbackHost: null };
  if (address.includes(":")) {
    // IPv6: loopback only when it is one of ours (no v4 loopback for a v6-only listener).
    return cachedLocalAddresses().has(address) ? { dialHost: "::1", fallbackHost: address } : { dialHost: address, fallbackHost: null };
  }
  if (sameHost || cachedLocalAddresses().has(address)) return { dialHost: "127.0.0.1", fallbackHost: address };
  return { dialHost: address, fallbackHost: null };
}

/** Most distinct lists {@link sharedList} keeps; past it, new lists are copied as they come. */
const MAX_SHARED_LISTS = 256;
const sharedLists = new Map<string, string[]>();

/**
 * One frozen array for each distinct list of names (capabilities, extensions): a swarm's peers
 * advertise a few lists between them, and a table of thousands would otherwise hold an array per
 * peer (64 bytes even when empty). Safe because the table never changes a record's list in place
 * (it replaces the list) and every record leaves the table as a copy ({@link PeerTable.records},
 * the node's events). The array is typed mutable only because `Peer` is the wire record's type.
 */
export function sharedList(list: readonly string[]): string[] {
  // One of these already: kept, even past the bound.
  if (isFrozenNames(list)) return list as string[];
  // The list shared last, when this one holds the same names: a swarm's members mostly advertise
  // the same few lists, and every member learnt from the wire brings a fresh copy (no key made).
  const last = lastShared;
  if (last !== null && last.length === list.length) {
    let i = 0;
    while (i < list.length && last[i] === list[i]) i++;
    if (i === list.length) return last;
  }
  // A list frozen elsewhere (nobody can change it): kept too.
  if (Object.isFrozen(list)) return list as string[];
  const key = list.length === 0 ? "" : JSON.stringify(list);
  let shared = sharedLists.get(key);
  if (shared === undefined) {
    shared = frozenNames([...list]);
    if (sharedLists.size < MAX_SHARED_LISTS) sharedLists.set(key, shared);
  }
  lastShared = shared;
  return shared;
}

/** The list {@link sharedList} gave last for a list not frozen. */
let lastShared: string[] | null = null;

/** Most distinct strings {@link sharedString} keeps, and the longest it shares. */
const MAX_SHARED_STRINGS = 1_024;
const MAX_SHARED_LENGTH = 64;
const sharedStrings = new Map<string, string>();

/**
 * One string for each distinct swarm, team, kind or capability-like value: each record decoded
 * from the wire brings its own copies (about 40 bytes each), and a table of thousands repeats a
 * few values. Bounded: past {@link MAX_SHARED_STRINGS} values, new ones are kept as they come.
 */
export function sharedString<T extends string | null>(value: T): T {
  if (value === null || value.length > MAX_SHARED_LENGTH) return value;
  const shared = sharedStrings.get(value);
  if (shared !== undefined) return shared as T;
  if (sharedStrings.size < MAX_SHARED_STRINGS) sharedStrings.set(value, value);
  return value;
}

/**
 * A gossip member's meta (the record it signs) with its strings and lists shared as the table's
 * records share them: the same keys in the same order and the same values, so the claim's
 * signature still covers it. Values of other types are kept as they are.
 */
export function sharedMeta(meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Own keys in their order, as Object.keys gives them, without its array or a closure per list
  // (every member learnt from the wire has its meta kept so).
  for (const key in meta) {
    if (!Object.hasOwn(meta, key)) continue;
    const value = meta[key];
    if (key === "name") out[key] = value; // one per member: nothing to share
    else if (typeof value === "string") out[key] = sharedString(value);
    else if (Array.isArray(value) && allStrings(value)) out[key] = sharedList(value as string[]);
    else out[key] = value;
  }
  return out;
}

function allStrings(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== "string") return false;
  return true;
}

function copyRecord(entry: PeerEntry): Peer {
  const peer = entry.peer;
  return { ...peer, capabilities: [...peer.capabilities] };
}

/**
 * True when a call from `remoteAddress` comes from the peer whose record names `address` (dialled
 * at `dialHost`, with `fallbackHost`): the same address, or, for a peer on this host, any address of
 * this host. A record with an empty or wildcard address takes the caller's address, so it matches.
 */
export function fromPeerAddress(target: { address: string; dialHost: string; fallbackHost: string | null }, remoteAddress: string): boolean {
  const remote = plainAddress(remoteAddress);
  if (target.address === "" || isWildcard(target.address)) return true;
  if (remote === target.address || remote === target.fallbackHost) return true;
  // The peer runs on this host (it is dialled on loopback): it may call from any local address.
  if (!isLoopback(target.dialHost)) return false;
  return isLoopback(remote) || dialTarget(remote).dialHost !== remote; // remote is one of this host's addresses
}

/** What {@link PeerTable.upsert} did. */
export type UpsertResult = "added" | "updated";

/**
 * Known peers by id. Never holds the node itself (the owner filters its own id). Not thread-safe
 * in any interesting way: everything runs on the event loop.
 */
export class PeerTable {
  private readonly entries = new Map<string, TableEntry>();
  /**
   * The entries gossip membership does not own ({@link SWIM_OWNED} clear: heartbeated and reaped by
   * membership), kept as peers come, go and change hands ({@link own}). Membership's rounds read
   * it: a walk of the whole table whenever it or the owned set had changed cost each node O(N) a
   * second in a paced join, where both change every moment (4% of a worker's CPU at 1,000).
   */
  readonly #unowned = new Set<TableEntry>();
  #version = 0;
  /** The store of SWIM's members on the entries, if one was made ({@link memberStore}). */
  #members: EntryMembers<unknown> | null = null;

  /** Counts the peers added, removed and moved (a new address or port) so far, not other refreshes: a walk's result, or a list of the peers, can be kept while it stands. */
  get version(): number {
    return this.#version;
  }

  /** How many peers are known. */
  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): PeerEntry | undefined {
    return this.entries.get(id);
  }

  /**
   * The entry this node dials at `host:port` (its dial host or its fallback), if any: a walk of
   * the table, for rare events (a connection a peer dropped), not for hot paths.
   */
  at(host: string, port: number): PeerEntry | undefined {
    for (const entry of this.entries.values()) {
      if (entry.port === port && (entry.dialHost === host || entry.fallbackHost === host)) return entry;
    }
    return undefined;
  }

  /** Every peer's id, in the order peers became known. */
  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** Every entry, in the order peers became known. */
  list(): PeerEntry[] {
    return [...this.entries.values()];
  }

  /** The entries gossip membership does not own (see {@link own}): every entry without gossip. */
  unowned(): PeerEntry[] {
    return [...this.#unowned];
  }

  /** How many entries gossip membership does not own (see {@link unowned}), without listing them. */
  get unownedCount(): number {
    return this.#unowned.size;
  }

  /**
   * Gossip membership decides for this entry's peer from now on (`owned`), or no longer: sets its
   * {@link SWIM_OWNED} bit (only through here, so that {@link unowned} stays true). Returns whether
   * it was owned.
   */
  own(entry: PeerEntry, owned: boolean): boolean {
    const was = swimBit(entry, SWIM_OWNED, owned);
    if (owned) this.#unowned.delete(entry as TableEntry);
    else if (this.entries.get(entry.id) === entry) this.#unowned.add(entry as TableEntry);
    return was;
  }

  /** Copies of the wire records. */
  records(): Peer[] {
    return this.list().map(copyRecord);
  }

  /** Copies of at most `n` wire records, a random sample when more are known (join answers, peer lists). */
  sample(n: number): Peer[] {
    return sample(this.list(), n).map(copyRecord);
  }

  /**
   * Add a peer or refresh a known one. The record's fields replace the old ones; `last_seen` only
   * moves forward. A wildcard or empty address is replaced by `remoteAddress` when given.
   */
  upsert(
    peer: Peer,
    source: PeerSource,
    options: { remoteAddress?: string; sameHost?: boolean; extensions?: string[] } = {},
  ): { entry: PeerEntry; result: UpsertResult } {
    let address = plainAddress(peer.address);
    if ((address === "" || isWildcard(address)) && options.remoteAddress) address = plainAddress(options.remoteAddress);
    const record: Peer = { ...peer, address, swarm: sharedString(peer.swarm), team: sharedString(peer.team), kind: sharedString(peer.kind), capabilities: sharedList(peer.capabilities) };
    const old = this.entries.get(peer.id);
    if (old) {
      // The strings the entry holds already, where equal: a refreshed record decoded from the
      // wire brings its own copies (80 bytes for a 64-character id), kept for as long as the peer.
      const was = old.peer;
      record.id = was.id;
      if (record.address === was.address) record.address = was.address;
      if (record.name === was.name) record.name = was.name;
      record.last_seen = Math.max(was.last_seen, record.last_seen);
      const moved = was.address !== record.address || options.sameHost !== undefined;
      // Read off SWIM's member again if it says the same (`TableEntry`).
      old.peer = record;
      if (moved) Object.assign(old, dialTarget(record.address, options.sameHost));
      // A list of the peers taken before holds the old address.
      if (was.address !== record.address || was.port !== record.port) this.#version++;
      if (options.extensions) old.extensions = sharedList(options.extensions);
      return { entry: old, result: "updated" };
    }
    const { dialHost, fallbackHost } = dialTarget(record.address, options.sameHost);
    const entry = new TableEntry(record, dialHost, fallbackHost, source, sharedList(options.extensions ?? []));
    this.entries.set(peer.id, entry);
    this.#unowned.add(entry);
    this.#members?.added(peer.id, entry);
    this.#version++;
    return { entry, result: "added" };
  }

  /** Mark a peer as heard from at `at` (unix seconds); false when unknown. */
  touch(id: string, at: number): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.touch(at);
    return true;
  }

  /**
   * Change a known peer's name, kind or capabilities (a heartbeat answer's, a newer alive
   * update's). Through the table, never in place: a gossip peer's record may be read off its SWIM
   * member (`TableEntry`). False when unknown.
   */
  refresh(id: string, fields: Partial<Pick<Peer, "name" | "kind" | "capabilities">>): boolean {
    const entry = this.entries.get(id);
    if (!entry) return false;
    entry.refresh(fields);
    return true;
  }

  /** Forget a peer; returns its entry when it was known. */
  remove(id: string): PeerEntry | undefined {
    const entry = this.entries.get(id);
    if (entry) {
      this.entries.delete(id);
      this.#unowned.delete(entry);
      this.#members?.removed(id, entry);
      this.#version++;
    }
    return entry;
  }

  /** Forget every peer. */
  clear(): void {
    if (this.entries.size > 0) this.#version++;
    if (this.#members) for (const [id, entry] of this.entries) this.#members.removed(id, entry);
    this.entries.clear();
    this.#unowned.clear();
  }

  /**
   * A store for SWIM's member records (`SwimPorts.members`) that keeps each on its peer's entry
   * ({@link PeerEntry.member}), and in a map of its own only the members the table does not hold
   * (a peer of another swarm, one dropped dead that SWIM still remembers): one map keyed by id
   * finds a gossip peer's entry and its SWIM record both (two maps cost about 104 bytes a peer at
   * 200 peers, one 52). A new store takes the entries over from the last one (a restarted core).
   */
  memberStore<M>(): MemberStore<M> & { readonly loose: number } {
    for (const entry of this.entries.values()) entry.member = undefined;
    const store = new EntryMembers<M>(this.entries);
    this.#members = store as EntryMembers<unknown>;
    return store;
  }
}
