/**
 * What a node's batched dissemination (`dissemination.ts`) remembers of the items it learnt lately:
 * each item with what the rounds need of it (its wire form and size, who is known to have it, how
 * often it was pushed), kept for {@link KEEP_ROUNDS} rounds and {@link KEEP_SECONDS} seconds, in
 * the order learnt. Apart so that a round costs what is new, not what is remembered: it looks at
 * the items of the last {@link HOT_ROUNDS} rounds (the only ones that can be hot), and the `have`
 * digest of everything remembered is kept written as items are learnt and forgotten.
 *
 * @module
 */
import type { Peer } from "../types.ts";
import { BATCH_BYTES, DigestSet, FORM_MAC, FORM_REF, MAX_DIGEST_HASHES, authorOf, formFor, itemBound, readDigest, toRefWire, toWire, withoutMac, writeHash, type Item, type WireItem } from "./batch-items.ts";
import { encodeOwn } from "../wire/codec.ts";
import { ItemIndex } from "./item-index.ts";
import { BinParts } from "../wire/bin-parts.ts";

/** Peers a node pushes each new item to (unasked), at most; the rest learn it by pulling. */
export const HOT_PUSHES = 2;
/** Rounds an item may stay hot (waiting for peers to push it to), at most. */
export const HOT_ROUNDS = 6;
/** Items remembered at most, whatever their age (a node's memory of recent items stays bounded). */
export const MAX_ENTRIES = 50_000;
/** Rounds an item is remembered: listed in digests, offered in answers, de-duplicated. */
export const KEEP_ROUNDS = 100;
/**
 * Seconds an item is remembered at least, however fast the rounds go: a swarm whose nodes are slow
 * (a busy machine) may take more than {@link KEEP_ROUNDS} rounds to bring an item to every node, and
 * an item every node forgot can no longer be pulled.
 */
export const KEEP_SECONDS = 10;

/**
 * What a served batch looks at of a caller's windowed digest (hello feature `have_window`): the
 * entries learnt at `matchSince` or later are matched against the digest, and those learnt at
 * `answerSince` or later (not before `matchSince`) answered when it does not list them (ms, monotonic).
 */
export interface DigestWindow {
  matchSince: number;
  answerSince: number;
}

/** One remembered item. */
export interface Entry {
  item: Item;
  /** The item as it travels (made the first time a peer gets it whole, then every push and answer sends this same object; null until then). */
  wire: WireItem | null;
  /** Its form by reference ({@link toRefWire}), made the first time a peer that takes it gets the item. */
  ref: WireItem | null;
  /** Round this node learnt the item in, and when (ms, monotonic). */
  at: number;
  learntAt: number;
  /**
   * Its MessagePack bytes in one form (`form`: {@link FORM_REF}, {@link FORM_MAC}), for peers that
   * take items as bytes: as it came (item-bytes.ts), or as encoded the first time a peer got it as
   * bytes; null until then. Sent as they are to every peer that takes that form.
   */
  bytes: Uint8Array | null;
  form: number;
  /** Encoded size in a batch: the length of `bytes` when kept, else a bound ({@link itemBound}). */
  size: number;
  /** Peers it was pushed to by this node's rounds. */
  pushes: number;
  /** Whoever waits for its first push to be answered (an author's `emit`); null for nobody (most entries: no array each). */
  waiters: Array<() => void> | null;
  /** Its key's hash, for digests. */
  hash: number;
  /**
   * Ids of peers known to have it (its author, who sent it here, who it was sent to), for its
   * pushes; null for an item never hot (learnt from an answer to a pull: never pushed, see isHot),
   * and from the round it cooled on ({@link ItemMemory.age}).
   */
  peers: Set<string> | null;
}

/** Settle whoever waits for the entry's first push. */
export function release(e: Entry): void {
  const waiters = e.waiters;
  if (waiters === null) return;
  e.waiters = null;
  for (const resolve of waiters) resolve();
}

/** A promise that settles once `entry`'s first push was answered (or it cooled without one): see {@link release}. */
export function waitFor(entry: Entry): Promise<void> {
  return new Promise<void>((resolve) => (entry.waiters = [resolve]));
}

/** Note that `peerId` gets these entries now (and count the forwarded ones: those not authored by `selfId`). */
export function handOver(entries: Entry[], peerId: string, selfId: string, stats: { eventsForwarded: number }): void {
  for (const e of entries) {
    e.peers?.add(peerId);
    if (authorOf(e.item) !== selfId) stats.eventsForwarded++;
  }
}

/** Who is known to hold an item pushed on: the peer it came from (if known) and its author. */
export function holders(author: string, fromId: string): Set<string> {
  const peers = new Set<string>();
  if (fromId) peers.add(fromId);
  peers.add(author);
  return peers;
}

/**
 * The entries' wire forms for a peer: replies by reference when `refs` (the peer takes them), and
 * as remembered (with their record MACs) when none has MACs or the peer takes them (`macs()`: its
 * hello offered `mac`, asked only then), else without them (docs/security.md#record-macs).
 */
export function wiresFor(entries: Entry[], macs: () => boolean, refs = false): WireItem[] {
  const wires = refs ? entries.map((e) => (e.ref ??= e.item.kind === "event" ? wireOf(e) : toRefWire(e.item))) : entries.map(wireOf);
  return wires.some((w) => ("event" in w ? w.mac : w.reply.mac)) && !macs() ? wires.map(withoutMac) : wires;
}

/** The entry's item as it travels whole ({@link toWire}), made once. */
export function wireOf(e: Entry): WireItem {
  return (e.wire ??= toWire(e.item));
}

/** The entry's bytes in `form` (of {@link formFor}): those kept when in that form, else encoded now and kept instead. */
export function bytesIn(e: Entry, form: number): Uint8Array {
  if (e.bytes !== null && e.form === form) return e.bytes;
  const whole = form & FORM_REF ? toRefWire(e.item) : toWire(e.item);
  const bytes = encodeOwn(form & FORM_MAC ? whole : withoutMac(whole));
  e.bytes = bytes;
  e.form = form;
  e.size = bytes.length;
  return bytes;
}

/**
 * {@link bytesIn}, or null for an item that cannot be encoded (its values were checked when it was
 * made, so only one changed since could be): left out of the batch, as the whole call would have
 * failed when the connection encoded it as a list.
 */
function bytesOrNull(e: Entry, form: number): Uint8Array | null {
  try {
    return bytesIn(e, form);
  } catch {
    return null;
  }
}

/**
 * The entries as a batch's items as bytes (one bin of their bytes, given as parts) for a peer that
 * takes replies by reference (`refs`) or MACs (`macs`) or neither: each in its form
 * ({@link bytesIn}), within {@link BATCH_BYTES} by their exact lengths (an entry's `size` may be a
 * bound, or its length in another form); with the entries they hold (`entries` itself when all fit).
 */
export function packFor(entries: Entry[], refs: boolean, macs: boolean): { bytes: BinParts; sent: Entry[] } {
  const parts: Uint8Array[] = [];
  let total = 0;
  let sent: Entry[] | null = null;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const b = bytesOrNull(e, formFor(e.item, refs, macs));
    if (b === null || total + b.length > BATCH_BYTES) {
      sent ??= entries.slice(0, i);
      continue;
    }
    parts.push(b);
    total += b.length;
    sent?.push(e);
  }
  // Not joined here: the connection writes the parts into the frame as one bin (bin-parts.ts).
  return { bytes: new BinParts(parts), sent: sent ?? entries };
}

/**
 * What a batch (request or answer) to a peer carries of `entries`: its items, as bytes when the peer
 * takes them (`asBytes`, {@link packFor}) else as a list ({@link wiresFor}), and the entries they
 * hold (within {@link BATCH_BYTES}).
 */
export function batchFor(entries: Entry[], asBytes: boolean, refs: boolean, macs: () => boolean): { items: BinParts | WireItem[]; sent: Entry[] } {
  if (asBytes) {
    const packed = packFor(entries, refs, macs());
    return { items: packed.bytes, sent: packed.sent };
  }
  const sent = fitList(entries);
  return { items: wiresFor(sent, macs, refs), sent };
}

/**
 * The entries within {@link BATCH_BYTES} by their items' size bounds, for a peer that takes a list
 * (its size, as the connection encodes it, is not known here): an entry's `size` is that bound
 * unless bytes were kept (then their length, which may be of a smaller form).
 */
export function fitList(entries: Entry[]): Entry[] {
  return within(entries, BATCH_BYTES, () => true, (e) => (e.bytes === null ? e.size : itemBound(e.item)));
}

/** The entries of `pool` that pass `wanted`, within `budget` bytes (their sizes, or `sizeOf`), in order. */
export function within(pool: Iterable<Entry>, budget: number, wanted: (e: Entry) => boolean, sizeOf?: (e: Entry) => number): Entry[] {
  const out: Entry[] = [];
  let bytes = 0;
  for (const e of pool) {
    if (!wanted(e)) continue;
    const size = sizeOf ? sizeOf(e) : e.size;
    if (bytes + size > budget) continue;
    bytes += size;
    out.push(e);
  }
  return out;
}

/**
 * Draw a random peer of `candidates` whose index is not in `tried` (added to it), up to `tries`
 * times until one is not known to have every hot entry; with the hot entries due to it (within the
 * batch budget). Draws without copying the list; null when every candidate was tried.
 */
export function pickPeer(candidates: Peer[], tried: Set<number>, hot: Entry[], tries: number): { peer: Peer | null; due: Entry[] } {
  let peer: Peer | null = null;
  let due: Entry[] = [];
  for (let n = 0; n < tries && tried.size < candidates.length && due.length === 0; n++) {
    let at = Math.floor(Math.random() * candidates.length);
    while (tried.has(at)) at = (at + 1) % candidates.length;
    tried.add(at);
    peer = candidates[at]!;
    const id = peer.id;
    due = within(hot, BATCH_BYTES, (e) => !e.peers?.has(id));
  }
  return { peer, due };
}

/** Hot: pushed to fewer than {@link HOT_PUSHES} peers yet, and learnt at most {@link HOT_ROUNDS} rounds ago. */
export function isHot(e: Entry, round: number): boolean {
  return e.pushes < HOT_PUSHES && round - e.at <= HOT_ROUNDS;
}

/** The items one node remembers. */
export class ItemMemory {
  /** The remembered entries by their item's key (`find`, `findRaw`, `size`); {@link add} and forgetting keep it. */
  readonly index = new ItemIndex<Entry>();
  /** The entries learnt within the last {@link HOT_ROUNDS} rounds that may be hot ({@link isHot}), in the order learnt. */
  private recent: Entry[] = [];
  /**
   * The entries' hashes, big-endian, in the order learnt: `digest[start, end)` (entries are only
   * forgotten oldest first, so forgetting moves `start`). Bytes once written are never written again
   * (a full buffer is copied into a new one), so a digest handed out stays as it was while its call
   * is encoded, and writing the digest costs nothing per round.
   */
  private digest = new Uint8Array(1024);
  private start = 0;
  private end = 0;
  /** The table a caller's `have` digest is read into (one, reused: serving a batch makes no table). */
  private readonly have = new DigestSet(0);
  /** The entries in the order learnt, from `head` on (an array: walked per served batch and round, faster than the maps). */
  private order: Entry[] = [];
  private head = 0;

  /** The entries remembered, in the order learnt (a copy). */
  remembered(): Entry[] {
    return this.order.slice(this.head);
  }

  /** Remember a new entry (its item not remembered yet); past {@link MAX_ENTRIES} the oldest is forgotten. */
  add(entry: Entry): void {
    // Kept in the order learnt (an entry taken in after a wait may carry its batch's earlier time):
    // aging and the windowed digest search by it.
    const last = this.order.length > this.head ? this.order[this.order.length - 1]!.learntAt : -Infinity;
    if (entry.learntAt < last) entry.learntAt = last;
    this.index.add(entry.item, entry);
    this.order.push(entry);
    // One pushed to HOT_PUSHES peers already (learnt from a pull's answer: never pushed) is never hot.
    if (entry.pushes < HOT_PUSHES) this.recent.push(entry);
    if (this.end + 4 > this.digest.length) {
      const kept = this.digest.subarray(this.start, this.end);
      this.digest = new Uint8Array(Math.max(1024, kept.length * 2));
      this.digest.set(kept);
      this.start = 0;
      this.end = kept.length;
    }
    writeHash(this.digest, this.end, entry.hash);
    this.end += 4;
    if (this.index.size > MAX_ENTRIES) this.forget();
  }

  /** Forget the oldest entry. */
  private forget(): void {
    const e = this.order[this.head]!;
    this.index.delete(e.item);
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    this.start += 4;
    release(e);
  }

  /**
   * At the start of `round`: forget the entries older than {@link KEEP_ROUNDS} rounds and
   * {@link KEEP_SECONDS} seconds, and stop looking at those past {@link HOT_ROUNDS} (one that
   * cooled without a push settles its waiter; one pushed settles it when its push is answered).
   */
  age(round: number, now: number): void {
    for (let e = this.order[this.head]; e !== undefined; e = this.order[this.head]) {
      if (round - e.at <= KEEP_ROUNDS || now - e.learntAt < KEEP_SECONDS * 1000) break; // learnt in order: the rest is younger
      this.forget();
    }
    let cooled = 0;
    for (; cooled < this.recent.length && round - this.recent[cooled]!.at > HOT_ROUNDS; cooled++) {
      const e = this.recent[cooled]!;
      if (e.pushes === 0) release(e);
      // Who holds it matters only while it is hot (the rounds' pushes): dropped now, not with the
      // entry seconds later, so that a set per pushed item dies young instead of living through
      // the heap's older generation (in a 200-peer broadcast, a few hundred sets a node a round).
      e.peers = null;
    }
    if (cooled > 0) this.recent = this.recent.slice(cooled);
  }

  /** The hot entries, in the order learnt. */
  hot(round: number): Entry[] {
    return this.recent.filter((e) => isHot(e, round));
  }

  /** Whether some entry is hot ({@link isHot}: the rounds still push it, so a flush waits for it). */
  hasHot(round: number): boolean {
    return this.recent.some((e) => isHot(e, round));
  }

  /**
   * What a caller whose `have` digest is `haveRaw` lacks: the entries its digest does not list, in
   * the order learnt, but those it sent now (`sent`, made only when some entry is not listed); and
   * whether its digest lists items not remembered here (`unknown`).
   */
  unlisted(haveRaw: unknown, sent: () => ReadonlySet<Entry>, window?: DigestWindow): { answer: Entry[]; unknown: boolean } {
    const have = readDigest(haveRaw, this.have);
    // A caller's windowed digest: only the entries learnt since `matchSince` are looked at, and
    // those learnt since `answerSince` answered (learnt in order: one search finds where each starts).
    const from = window ? this.learntSince(window.matchSince) : this.head;
    const answerFrom = window ? Math.max(from, this.learntSince(window.answerSince)) : from;
    return this.walk(have, sent, from, answerFrom);
  }

  /**
   * {@link unlisted}'s walk of the entries from index `from` on (answering from `answerFrom`). A
   * function of its own, so that the optimizing compiler takes up this loop alone, not with the
   * searches and the digest's reading: in a 200-peer broadcast's second round, when FTL compiles
   * it, that took 28 to 89 ms a process with the three together, and 25 to 60 ms for the walk alone
   * (three runs each, on a slow machine).
   */
  private walk(have: DigestSet, sent: () => ReadonlySet<Entry>, from: number, answerFrom: number): { answer: Entry[]; unknown: boolean } {
    const answer: Entry[] = [];
    let matched = 0;
    let sentNow: ReadonlySet<Entry> | null = null;
    const order = this.order;
    // The hashes are read from this node's own digest (in the order learnt, as the entries): an
    // entry the caller lists is never touched (most of them: the walk reads one array, not every
    // entry object).
    const d = this.digest;
    for (let i = from, at = this.start + (from - this.head) * 4; i < order.length; i++, at += 4) {
      const hash = (d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!; // signed, as the table keeps it
      if (have.has(hash)) matched++;
      else if (i >= answerFrom && !(sentNow ??= sent()).has(order[i]!)) answer.push(order[i]!);
    }
    return { answer, unknown: have.size > matched };
  }

  /** The digest of every item remembered (the newest {@link MAX_DIGEST_HASHES}): a view, not a copy. */
  haveDigest(): Uint8Array {
    return this.digest.subarray(Math.max(this.start, this.end - MAX_DIGEST_HASHES * 4), this.end);
  }

  /**
   * The digest of the items learnt at `since` or later (ms, monotonic; the newest
   * {@link MAX_DIGEST_HASHES}): a view, a suffix of {@link haveDigest}'s.
   */
  haveDigestSince(since: number): Uint8Array {
    const from = this.start + (this.learntSince(since) - this.head) * 4;
    return this.digest.subarray(Math.max(from, this.end - MAX_DIGEST_HASHES * 4), this.end);
  }

  /** The index in {@link order} of the first entry learnt at `since` or later (its length when none): entries are learnt in order. */
  private learntSince(since: number): number {
    const order = this.order;
    let lo = this.head;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (order[mid]!.learntAt < since) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Forget everything (settling every waiter). */
  clear(): void {
    for (let i = this.head; i < this.order.length; i++) release(this.order[i]!);
    this.index.clear();
    this.order = [];
    this.head = 0;
    this.recent = [];
    this.digest = new Uint8Array(1024);
    this.start = this.end = 0;
  }
}
