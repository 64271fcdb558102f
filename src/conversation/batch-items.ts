/**
 * The items of a `_synapse.conversation.batch` call (a Bun extension, docs/protocol.md): each one a
 * conversation event or a broadcast reply, written as maps with snake_case keys, and the key each
 * is de-duplicated by (an event's id; a reply's (nonce, replier)).
 *
 * @module
 */
import type { ConversationEvent, Peer } from "../types.ts";
import { EndpointError, ErrorCode } from "../errors.ts";
import { isMap } from "../util/guards.ts";
import { MAX_ID_LENGTH } from "../wire/peer.ts";
import { encode } from "../wire/codec.ts";
import { keptVector } from "../security/mac-vector.ts";

/**
 * One thing disseminated: an event, or a reply as `_synapse.broadcast.reply` carries it. `mac`: the
 * author's record MACs (docs/security.md#record-macs), as made or as they came, relayed unchanged
 * (absent or null: none).
 */
export type Item =
  | { kind: "event"; event: ConversationEvent; mac?: Uint8Array | null }
  /** `sig`: the replier's signature of the reply (docs/security.md), as it came (null: none). */
  | { kind: "reply"; nonce: string; peer: Peer; result: unknown; sig: unknown; mac?: Uint8Array | null };

/**
 * A reply as it travels in a batch: with its replier's whole record, or by reference (`peer_id`, to
 * peers that offered `reply_ref`: docs/protocol.md), the receiver filing it with its own record.
 */
export type WireReply =
  | { nonce: string; peer: Peer; result: unknown; sig?: unknown; mac?: Uint8Array }
  | { nonce: string; peer_id: string; result: unknown; sig?: unknown; mac?: Uint8Array };

/**
 * An item as it travels in a batch: `{event: {...}, mac?}` or `{reply: {nonce, peer, result, sig?,
 * mac?}}` (batches go only to Bun peers, which all take the replier's signature; an event's rides
 * in its metadata; `mac` only to peers whose hello offered `mac`, see {@link withoutMac}).
 */
export type WireItem = { event: ConversationEvent; mac?: Uint8Array } | { reply: WireReply };

/** Most items one batch (request or answer) may carry; a longer one is refused whole. */
export const MAX_BATCH_ITEMS = 4096;

/**
 * Bytes of items a node puts in one batch (1 MiB, a quarter of the default frame limit): the rest
 * waits for the next round. An item bigger than this never goes in a batch: it travels as the
 * per-event call it would be without batching.
 */
export const BATCH_BYTES = 1 << 20;

/** The de-duplication key of an item: the event id, or (nonce, replier id) for a reply. */
export function itemKey(item: Item): string {
  return item.kind === "event" ? item.event.event_id : replyKey(item.nonce, item.peer.id);
}

/** The key of `replier`'s reply to `nonce` (NUL-separated: neither part is empty, so no two pairs join alike). */
export function replyKey(nonce: string, replierId: string): string {
  return `reply\0${nonce}\0${replierId}`;
}

/** The de-duplication key of an item as read ({@link itemKey} of the item it becomes). */
export function rawKey(raw: RawItem): string {
  return raw.kind === "event" ? raw.id : replyKey(raw.nonce, raw.peerId);
}

/** The id of the author of an item (the event's peer, the replier). */
export function authorOf(item: Item): string {
  return item.kind === "event" ? item.event.peer.id : item.peer.id;
}

/** The item as it travels. */
export function toWire(item: Item): WireItem {
  if (item.kind === "event") return item.mac ? { event: item.event, mac: item.mac } : { event: item.event };
  const reply: WireReply = { nonce: item.nonce, peer: item.peer, result: item.result };
  if (item.sig !== null && item.sig !== undefined) reply.sig = item.sig;
  if (item.mac) reply.mac = item.mac;
  return { reply };
}

/**
 * The item as it travels to a peer that takes replies by reference: a reply with its replier's id
 * instead of its record (about 100 bytes instead of 250); an event as it is (`wire`, its {@link toWire}).
 */
export function toRefWire(item: Item, wire?: WireItem): WireItem {
  if (item.kind === "event") return wire ?? toWire(item);
  const reply: WireReply = { nonce: item.nonce, peer_id: item.peer.id, result: item.result };
  if (item.sig !== null && item.sig !== undefined) reply.sig = item.sig;
  if (item.mac) reply.mac = item.mac;
  return { reply };
}

/** The item as it travels to a peer that did not offer `mac`: without its MACs (the same object when it has none). */
export function withoutMac(wire: WireItem): WireItem {
  if ("event" in wire) return wire.mac ? { event: wire.event } : wire;
  if (!wire.reply.mac) return wire;
  const { mac: _mac, ...reply } = wire.reply;
  return { reply };
}

/**
 * Bytes an item takes in a batch, at most, for the {@link BATCH_BYTES} budget: a bound computed by
 * walking the values (every string counted at 3 bytes a UTF-16 unit, or its exact UTF-8 length when
 * long), not by encoding the item (which every relay would otherwise do once more per item).
 */
export function wireSize(item: Item): number {
  return sizeBound(toWire(item));
}

/**
 * {@link wireSize} without making the wire form: the same bound, the wrapper maps' keys counted as
 * {@link sizeBound} counts them (a relay bounds every item it learns, most of which never travel whole).
 */
export function itemBound(item: Item): number {
  // The outer map and its key: `event` or `reply` (5 letters each).
  let n = 5 + 5 + 5 * 3;
  if (item.kind === "event") n += sizeBound(item.event);
  else {
    // The reply's map and its keys: nonce (5 letters), peer (4), result (6), sig (3).
    n += 5 + 5 + 5 * 3 + sizeBound(item.nonce) + 5 + 4 * 3 + sizeBound(item.peer) + 5 + 6 * 3 + sizeBound(item.result);
    if (item.sig !== null && item.sig !== undefined) n += 5 + 3 * 3 + sizeBound(item.sig);
  }
  // `mac` (3 letters): bytes.
  if (item.mac) n += 5 + 3 * 3 + 5 + item.mac.byteLength;
  return n;
}

/** Strings up to this length are bounded by 3 bytes a unit; longer ones are measured exactly. */
const SHORT_STRING = 64;

/** An upper bound of the MessagePack size of `value` (of the values a decoded item holds; others are encoded to be sure). */
export function sizeBound(value: unknown): number {
  switch (typeof value) {
    case "string":
      return 5 + (value.length <= SHORT_STRING ? value.length * 3 : Buffer.byteLength(value, "utf8"));
    case "number":
    case "bigint":
      return 9;
    case "boolean":
    case "undefined":
      return 1;
    case "object": {
      if (value === null) return 1;
      if (ArrayBuffer.isView(value)) return 5 + value.byteLength;
      if (Array.isArray(value)) {
        let n = 5;
        for (const v of value) n += sizeBound(v);
        return n;
      }
      if (Object.getPrototypeOf(value) === Object.prototype) {
        let n = 5;
        for (const key in value) n += 5 + key.length * 3 + sizeBound((value as Record<string, unknown>)[key]);
        return n;
      }
      return encode(value).length;
    }
    default:
      return encode(value).length;
  }
}

/**
 * A batch item not yet checked: the raw event map (`id`, its de-duplication key), or the reply's
 * raw parts (keyed by `nonce` and `peerId`, no key string made: see item-index.ts). A
 * reply by reference has no `peer` (undefined) until its replier's id is resolved to a known record
 * (`known`: the record is this node's own, not one off the network).
 */
export type RawItem = (
  | { kind: "event"; id: string; raw: unknown; mac: Uint8Array | null }
  | { kind: "reply"; nonce: string; peerId: string; peer: unknown; result: unknown; sig: unknown; mac: Uint8Array | null; known: boolean }
) & {
  /**
   * The item's own MessagePack bytes (a copy), when it came in a batch's items as bytes with
   * exactly the keys of its form (item-bytes.ts): relayed as they are to peers that take that form
   * `form` ({@link FORM_REF}, {@link FORM_MAC}); null otherwise (the item is encoded when it travels).
   */
  bytes: Uint8Array | null;
  form: number;
};

/** A bit of an item form: a reply by reference (`peer_id`), not with its replier's record. */
export const FORM_REF = 1;
/** A bit of an item form: with its author's record MACs. */
export const FORM_MAC = 2;

/**
 * The form `item` travels in to a peer: by reference when it is a reply and the peer takes
 * references (`refs`), with MACs when it has some and the peer takes them (`macs`). An event has no
 * reference form, an item without MACs no MAC form: one form each, whatever the peer takes.
 */
export function formFor(item: Item, refs: boolean, macs: boolean): number {
  return (refs && item.kind === "reply" ? FORM_REF : 0) | (macs && item.mac ? FORM_MAC : 0);
}

/** The refusal of a malformed batch (`bad_request`). */
export function bad(message: string): EndpointError {
  return new EndpointError(ErrorCode.BadRequest, `invalid conversation batch: ${message}`);
}

/**
 * Read the list of a batch far enough to de-duplicate: each entry's kind and key. The event or reply
 * itself is checked later, by the conversation layer's one ingest path, only when it is new here.
 * An entry that is not even shaped like an item is left out (null in its place); a malformed or
 * oversized MAC vector is dropped (the item is checked by its signature, and relayed without it).
 *
 * @throws {EndpointError} `bad_request` when `items` is not a list or is longer than {@link MAX_BATCH_ITEMS}.
 */
export function readItems(items: unknown): Array<RawItem | null> {
  if (!Array.isArray(items)) throw bad("items must be a list");
  if (items.length > MAX_BATCH_ITEMS) throw bad(`more than ${MAX_BATCH_ITEMS} items`);
  return items.map(readItem);
}

/** One entry of a batch's items read as {@link readItems} reads it: null when not shaped like an item. */
export function readItem(entry: unknown): RawItem | null {
  if (!isMap(entry)) return null;
  if (isMap(entry.event)) {
    const id = entry.event.event_id;
    return typeof id === "string" && id.length > 0 && id.length <= MAX_ID_LENGTH ? { kind: "event", id, raw: entry.event, mac: keptVector(entry.mac), bytes: null, form: 0 } : null;
  }
  const reply = entry.reply;
  if (!isMap(reply) || typeof reply.nonce !== "string" || reply.nonce.length === 0 || reply.nonce.length > MAX_ID_LENGTH) return null;
  // The replier's record, or (by reference) its id alone; a record wins over an id.
  const peerId = isMap(reply.peer) ? reply.peer.id : reply.peer === undefined ? reply.peer_id : undefined;
  if (typeof peerId !== "string" || peerId.length === 0 || peerId.length > MAX_ID_LENGTH) return null;
  const nonce = sameNonce(reply.nonce);
  return { kind: "reply", nonce, peerId, peer: reply.peer, result: reply.result ?? null, sig: reply.sig ?? null, mac: keptVector(reply.mac), known: false, bytes: null, form: 0 };
}

/** The nonce of the reply read last (see {@link sameNonce}). */
let lastNonce = "";

/**
 * `nonce`, or the equal string read just before: a broadcast's replies come together, and each
 * decoded its own copy of the nonce, which its event (conversation and parent id) and the reply
 * book then kept, one copy a reply a node (and each lookup by it hashed it anew; a string keeps its
 * hash once computed).
 */
export function sameNonce(nonce: string): string {
  if (nonce === lastNonce) return lastNonce;
  lastNonce = nonce;
  return nonce;
}

/**
 * A 32-bit FNV-1a hash of an item key: what a batch's `have` digest lists (4 bytes an item, so a
 * digest of a few hundred items is about a kilobyte). Two keys may share a hash: the answer then
 * leaves out an item the caller lacks, which reaches it by a later round or by repair.
 */
export function keyHash(key: string): number {
  return fnvOn(FNV_OFFSET, key) >>> 0;
}

const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a from state `h` over the UTF-16 code units of `s`. */
function fnvOn(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

/** The nonce whose key prefix (`reply\0<nonce>\0`) was hashed last, and that hash's state. */
let prefixNonce = "";
let prefixState = fnvOn(fnvOn(FNV_OFFSET, "reply\0"), "\0");

/**
 * {@link keyHash} of {@link replyKey}`(nonce, replierId)`, without making the key: a broadcast's
 * replies come together, so the hash of the prefix the key shares with them is kept for the last
 * nonce and only the replier's id is hashed for each.
 */
export function replyKeyHash(nonce: string, replierId: string): number {
  if (nonce !== prefixNonce) {
    prefixState = fnvOn(fnvOn(fnvOn(FNV_OFFSET, "reply\0"), nonce), "\0");
    prefixNonce = nonce;
  }
  return fnvOn(prefixState, replierId) >>> 0;
}

/** {@link keyHash} of {@link itemKey}`(item)`: what the item's entry lists in `have` digests. */
export function itemHash(item: Item): number {
  return item.kind === "event" ? keyHash(item.event.event_id) : replyKeyHash(item.nonce, item.peer.id);
}

/** Most hashes a `have` digest may list (64 Ki: 256 KiB); a longer one is read as empty. */
export const MAX_DIGEST_HASHES = 1 << 16;

/** The `have` digest of a batch call: the hashes, big-endian, 4 bytes each. */
export function writeDigest(hashes: number[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 4);
  hashes.forEach((h, i) => writeHash(out, i * 4, h));
  return out;
}

/** Write one hash of a `have` digest at `at` (4 bytes, big-endian). */
export function writeHash(out: Uint8Array, at: number, hash: number): void {
  out[at] = hash >>> 24;
  out[at + 1] = (hash >>> 16) & 0xff;
  out[at + 2] = (hash >>> 8) & 0xff;
  out[at + 3] = hash & 0xff;
}

/**
 * The hashes of a `have` digest, for membership tests: an open-addressing table in one typed array
 * (a served batch reads a digest of every item its caller remembers, hundreds to thousands of
 * hashes, and tests every item it remembers itself against it; a `Set` of numbers cost a boxed entry
 * per hash). {@link reset} empties it for the next digest without a new array, so that serving a
 * batch allocates no table once the first was made (the dissemination keeps one per node).
 */
export class DigestSet {
  /**
   * Slots (a power of two, at least twice the hashes): a hash as a signed 32-bit integer, or 0 for
   * an empty slot (hash 0 is kept apart). Signed, so that every slot read is a small integer to the
   * optimizing compiler: a Uint32Array read of a hash of 2^31 or more (half of them) left its int32
   * speculation at every served batch (exits of kind Overflow, thousands a round), and the rest
   * of the loop ran in the slower tier.
   */
  private slots: Int32Array;
  private mask: number;
  private hasZero = false;
  /** Distinct hashes held. */
  size = 0;

  constructor(capacity: number) {
    this.slots = new Int32Array(DigestSet.slotsFor(capacity));
    this.mask = this.slots.length - 1;
  }

  private static slotsFor(capacity: number): number {
    let n = 8;
    while (n < capacity * 2) n *= 2;
    return n;
  }

  /**
   * Empty the table, with room for `capacity` hashes. The array is kept when large enough, and only
   * the slots this capacity needs are used (and emptied): a node's full digests (every item it
   * remembers) grow the table, and its windowed ones, a tenth of their size, then emptied the
   * whole of it on every served batch.
   */
  reset(capacity: number): void {
    const n = DigestSet.slotsFor(capacity);
    if (n > this.slots.length) this.slots = new Int32Array(n);
    else this.slots.fill(0, 0, n);
    this.mask = n - 1;
    this.hasZero = false;
    this.size = 0;
  }

  /** Add a hash (a 32-bit integer, unsigned or signed: both forms are the same hash). */
  add(hash: number): void {
    hash |= 0;
    if (hash === 0) {
      if (!this.hasZero) this.size++;
      this.hasZero = true;
      return;
    }
    const slots = this.slots;
    for (let at = Math.imul(hash, 0x9e3779b1) & this.mask; ; at = (at + 1) & this.mask) {
      const v = slots[at]!;
      if (v === 0) {
        slots[at] = hash;
        this.size++;
        return;
      }
      if (v === hash) return;
    }
  }

  /** Whether the digest lists `hash` (unsigned or signed, as {@link add}). */
  has(hash: number): boolean {
    hash |= 0;
    if (hash === 0) return this.hasZero;
    const slots = this.slots;
    for (let at = Math.imul(hash, 0x9e3779b1) & this.mask; ; at = (at + 1) & this.mask) {
      const v = slots[at]!;
      if (v === 0) return false;
      if (v === hash) return true;
    }
  }
}

/**
 * Read a `have` digest (into `into`, emptied first, when given: no new table per served batch);
 * anything but bytes of a whole number of hashes, within the limit, is an empty digest.
 */
export function readDigest(raw: unknown, into?: DigestSet): DigestSet {
  const valid = raw instanceof Uint8Array && raw.length % 4 === 0 && raw.length / 4 <= MAX_DIGEST_HASHES;
  const count = valid ? raw.length / 4 : 0;
  const out = into ?? new DigestSet(count);
  if (into) into.reset(count);
  if (!valid) return out;
  // Read byte by byte, not through a DataView: asking a small decoded bin for its `.buffer` moves
  // its bytes out of the engine's heap first (util/bytes.ts). Signed, as the table keeps them (not
  // readUint32, whose values of 2^31 and more are no small integers to the compiler).
  for (let at = 0; at < raw.length; at += 4) out.add((raw[at]! << 24) | (raw[at + 1]! << 16) | (raw[at + 2]! << 8) | raw[at + 3]!);
  return out;
}
