/**
 * A batch's items as bytes (hello feature `item_bytes`, docs/protocol.md): between Bun peers that
 * offered it, `_synapse.conversation.batch` carries its items as ONE MessagePack `bin` holding the
 * items' encodings back to back (the same maps as the `items` list). The receiver reads them one by
 * one and keeps each item's own bytes, so that a relay sends an item on as the bytes it came in
 * rather than encoding it again (every node relays about every item it learns).
 *
 * Only the bytes of an item whose maps have exactly the keys of its form, in the shape this node
 * would write them, are kept (see {@link keptForm}): a relay never sends on more than it read.
 *
 * @module
 */
import { MAX_BATCH_ITEMS, BATCH_BYTES, FORM_MAC, FORM_REF, bad, readItem, readItems, sameNonce, type RawItem } from "./batch-items.ts";
import { decode } from "../wire/codec.ts";
import { MAX_VIEW_HOLD, NOT_FAST, decodedEnd, fastDecodeNext, fixstr } from "../wire/fast-codec.ts";
import { skipValue } from "../wire/msgpack-skip.ts";
import { BinParts, binaryOf } from "../wire/bin-parts.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { latin1Range } from "../util/bytes.ts";
import { readVector } from "../security/mac-vector.ts";
import { createLogger } from "../log.ts";
import type { Peer } from "../types.ts";

const log = createLogger("conversation");

/**
 * The largest bin whose items keep views of it rather than copies of their own bytes: a batch's
 * remembered items then keep at most this much alive between them (twice that when the bin is a
 * view of its socket read; a typical batch of replies is 2 to 10 KB), and a large batch never stays
 * whole in memory for one small item.
 */
export const SHARED_BIN_BYTES = 64 * 1024;

/**
 * Read a batch's items as bytes: as {@link readItems} reads a list, each item also with its own
 * bytes when kept ({@link keptForm}). The items may keep views of `bin`, which must never be written
 * again (a bin the decoder made never is).
 *
 * @throws {EndpointError} `bad_request` when the bytes are not a sequence of whole MessagePack
 * values (truncated, garbage, an undecodable value), hold more than {@link MAX_BATCH_ITEMS} items,
 * or an item longer than {@link BATCH_BYTES}: the whole batch is refused, nothing of it taken.
 */
export function readItemBytes(bin: Uint8Array): Array<RawItem | null> {
  // The decoder reads plain views only (a Buffer is another shape to the compiler).
  const bytes = bin.constructor === Uint8Array ? bin : new Uint8Array(bin.buffer, bin.byteOffset, bin.byteLength);
  const out: Array<RawItem | null> = [];
  const n = bytes.length;
  // A bin the decoder made is never written again: a copy out of its frame (a buffer of its own), or
  // a view of a socket read at most twice its size (`fastDecode`'s owned input). A small one is
  // shared by its items' kept bytes (views), so that each item is not copied again; any other (a
  // large bin, or a view of a buffer much larger than itself) is copied item by item.
  const share = n <= SHARED_BIN_BYTES && bytes.buffer.byteLength <= MAX_VIEW_HOLD * n;
  for (let at = 0; at < n; ) {
    if (out.length >= MAX_BATCH_ITEMS) throw bad(`more than ${MAX_BATCH_ITEMS} items`);
    const ref = readRefReply(bytes, at, n);
    if (ref !== null) {
      if (refEnd - at > BATCH_BYTES) throw bad(`item ${out.length} is longer than ${BATCH_BYTES} bytes`);
      if (share) ref.bytes = bytes.subarray(at, refEnd);
      else {
        // Its own copy, and its signature and MACs views of that copy (not of the batch's bytes).
        const own = (ref.bytes = bytes.slice(at, refEnd));
        if (ref.kind === "reply" && ref.sig !== null) ref.sig = rebase(ref.sig as Uint8Array, bytes, at, own);
        if (ref.mac !== null) ref.mac = rebase(ref.mac, bytes, at, own);
      }
      out.push(ref);
      at = refEnd;
      continue;
    }
    let entry = fastDecodeNext(bytes, at, n);
    let end: number;
    if (entry !== NOT_FAST) end = decodedEnd();
    else {
      // Left to the general decoder (or malformed): find its end, then decode exactly that.
      end = skipValue(bytes, at, n);
      if (end < 0) throw bad(`item ${out.length} is truncated or malformed`);
      try {
        entry = decode(bytes, at, end);
      } catch (error) {
        throw bad(`item ${out.length} is undecodable: ${errorMessage(error)}`);
      }
    }
    if (end - at > BATCH_BYTES) throw bad(`item ${out.length} is longer than ${BATCH_BYTES} bytes`);
    const raw = readItem(entry);
    if (raw !== null) {
      const form = keptForm(entry as Record<string, unknown>, raw);
      if (form >= 0) {
        raw.bytes = share ? bytes.subarray(at, end) : bytes.slice(at, end);
        raw.form = form;
      }
    }
    out.push(raw);
    at = end;
  }
  return out;
}

/** `view` (of `bytes`, within the item at `at`) as the same bytes of `own`, the item's copy. */
function rebase(view: Uint8Array, bytes: Uint8Array, at: number, own: Uint8Array): Uint8Array {
  const from = view.byteOffset - bytes.byteOffset - at;
  return own.subarray(from, from + view.length);
}

/** The bytes of `{reply: ...}`'s start: a map of one key, the string "reply". */
const REPLY_HEAD = Uint8Array.of(0x81, ...fixstr("reply"));
/** The first bytes of a reply by reference as this node writes one ({@link toRefWire}): `{reply: {`, a map of 3 to 5 keys. */
const REF_MAP_3 = 0x83;
const REF_MAP_5 = 0x85;
/** Its keys in the order this node writes them: `nonce`, `peer_id`, `result`, then `sig` and `mac` when signed. */
const NONCE_KEY = fixstr("nonce");
const PEER_ID_KEY = fixstr("peer_id");
const RESULT_KEY = fixstr("result");
const SIG_KEY = fixstr("sig");
const MAC_KEY = fixstr("mac");

/** Where the item {@link readRefReply} read last ends; where the string {@link asciiAt} read last starts. */
let refEnd = 0;
let strFrom = 0;
/** Where the bin {@link binAt} read last starts. */
let binFrom = 0;
/** The nonce {@link readRefReply} read last, and its bytes: a broadcast's replies share one (read again without making a string). */
let refNonce = "";
let refNonceBytes = new Uint8Array(0);

/**
 * The item at `at` when it is a reply by reference in exactly the bytes this node writes one in:
 * `{reply: {nonce, peer_id, result}}`, keys in that order, the ids ASCII strings, and when signed
 * `sig` then `mac` after them, each a bin, the MACs a well-formed vector (a broadcast's replies
 * between Bun peers: most items of its batches). Read straight from its bytes, with its bytes kept
 * ({@link FORM_REF}, with {@link FORM_MAC} when it has MACs): no map made for the item or the reply,
 * the nonce of the reply before when the bytes are the same, and the signature and MACs views of
 * `b` rather than copies (the caller keeps the item's bytes, which hold them, or re-bases them on
 * its copy). It reads what {@link readItem} and {@link keptForm} read of the same bytes; null for
 * anything else (read as any other item is) and for a result the fast decoder leaves to the
 * general one. Sets `refEnd`. Exported for the tests, which hold it to those two.
 */
export function readRefReply(b: Uint8Array, at: number, n: number): RawItem | null {
  let p = matchAt(b, at, n, REPLY_HEAD);
  if (p < 0 || p >= n) return null;
  const keys = b[p]!;
  if (keys < REF_MAP_3 || keys > REF_MAP_5 || (p = matchAt(b, p + 1, n, NONCE_KEY)) < 0 || (p = asciiAt(b, p, n)) < 0) return null;
  let nonce: string;
  if (p - strFrom === refNonceBytes.length && sameBytes(b, strFrom, refNonceBytes)) nonce = refNonce;
  else {
    nonce = refNonce = sameNonce(latin1Range(b, strFrom, p));
    refNonceBytes = b.slice(strFrom, p);
  }
  if ((p = matchAt(b, p, n, PEER_ID_KEY)) < 0 || (p = asciiAt(b, p, n)) < 0) return null;
  const peerFrom = strFrom;
  const peerEnd = p;
  if ((p = matchAt(b, p, n, RESULT_KEY)) < 0) return null;
  const result = fastDecodeNext(b, p, n);
  if (result === NOT_FAST) return null;
  p = decodedEnd();
  let sig: Uint8Array | null = null;
  let mac: Uint8Array | null = null;
  if (keys > REF_MAP_3) {
    if ((p = matchAt(b, p, n, SIG_KEY)) < 0 || (p = binAt(b, p, n)) < 0) return null;
    sig = b.subarray(binFrom, p);
    if (keys === REF_MAP_5) {
      if ((p = matchAt(b, p, n, MAC_KEY)) < 0 || (p = binAt(b, p, n)) < 0) return null;
      mac = b.subarray(binFrom, p);
      if (readVector(mac) === 0) return null; // a malformed vector: dropped, and the bytes not kept (the general path)
    }
  }
  refEnd = p;
  return { kind: "reply", nonce, peerId: latin1Range(b, peerFrom, peerEnd), peer: undefined, result: result ?? null, sig, mac, known: false, bytes: null, form: mac === null ? FORM_REF : FORM_REF | FORM_MAC };
}

/** The end of the bin at `at` (bin 8, 16 or 32, its bytes before `n`), its first byte's index in `binFrom`; -1 for anything else. */
function binAt(b: Uint8Array, at: number, n: number): number {
  const t = b[at]!;
  let from: number;
  let len: number;
  if (t === 0xc4 && at + 1 < n) {
    len = b[at + 1]!;
    from = at + 2;
  } else if (t === 0xc5 && at + 2 < n) {
    len = (b[at + 1]! << 8) | b[at + 2]!;
    from = at + 3;
  } else if (t === 0xc6 && at + 4 < n) {
    len = ((b[at + 1]! << 24) >>> 0) + ((b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!);
    from = at + 5;
  } else return -1;
  const end = from + len;
  if (end > n) return -1;
  binFrom = from;
  return end;
}

/** The index after `want` when `b` holds it at `at` (before `n`), else -1. */
function matchAt(b: Uint8Array, at: number, n: number, want: Uint8Array): number {
  if (at + want.length > n) return -1;
  for (let i = 0; i < want.length; i++) if (b[at + i] !== want[i]) return -1;
  return at + want.length;
}

/** Whether `b[from, from + want.length)` holds `want`. */
function sameBytes(b: Uint8Array, from: number, want: Uint8Array): boolean {
  for (let i = 0; i < want.length; i++) if (b[from + i] !== want[i]) return false;
  return true;
}

/**
 * The end of the non-empty ASCII string at `at` (a fixstr or str 8 header, then its bytes before
 * `n`), its first byte's index in `strFrom`; -1 for anything else (read by the general path).
 */
function asciiAt(b: Uint8Array, at: number, n: number): number {
  const t = b[at]!;
  let from: number;
  let len: number;
  if (t > 0xa0 && t < 0xc0) {
    len = t - 0xa0;
    from = at + 1;
  } else if (t === 0xd9 && at + 1 < n && b[at + 1]! > 0) {
    len = b[at + 1]!;
    from = at + 2;
  } else return -1;
  const end = from + len;
  if (end > n) return -1;
  for (let i = from; i < end; i++) if (b[i]! >= 0x80) return -1;
  strFrom = from;
  return end;
}

/**
 * Read a batch's `items` whichever way they came: a list ({@link readItems}) or bytes ({@link readItemBytes}).
 *
 * @throws {EndpointError} `bad_request` as those do.
 */
export function readBatchItems(items: unknown): Array<RawItem | null> {
  return items instanceof Uint8Array ? readItemBytes(items) : readItems(items);
}

/** {@link readBatchItems} of an answer to this node's batch from `from`: one that is refused is ignored (no items), and logged. */
export function readAnswerItems(items: unknown, from: Peer): Array<RawItem | null> {
  try {
    return readBatchItems(items);
  } catch (error) {
    log.debug(`batch answer from ${from.name || from.id.slice(0, 8)} ignored: ${errorMessage(error)}`);
    return [];
  }
}

/** Keys of a map (own enumerable), counted. */
function keyCount(map: Record<string, unknown>): number {
  let n = 0;
  for (const _ in map) n++;
  return n;
}

/**
 * The form of an item's map (`entry`, read as `raw`) when its bytes may be relayed as they are: it
 * has exactly the keys of that form (`{event, mac?}`; `{reply: {nonce, peer | peer_id, result,
 * sig?, mac?}}`), a MAC vector only when well-formed, a signature only when not nil, and every Peer
 * record (the replier's, the event's author) and the event in the shape this node reads it back
 * as (every key, each well typed: what `readPeer` and `parseEvent` would return unchanged). -1
 * otherwise: the item is encoded again from what was read, as a list's item is.
 */
export function keptForm(entry: Record<string, unknown>, raw: RawItem): number {
  // A `mac` key only with a well-formed vector (one dropped as malformed is not relayed).
  const mac = raw.mac !== null ? FORM_MAC : 0;
  if (raw.kind === "event") return "mac" in entry === (mac !== 0) && keyCount(entry) === (mac ? 2 : 1) && wholeEvent(entry.event) ? mac : -1;
  if (keyCount(entry) !== 1) return -1;
  const reply = entry.reply as Record<string, unknown>;
  if ("mac" in reply !== (mac !== 0)) return -1;
  let keys = mac ? 4 : 3;
  if ("sig" in reply) {
    if (reply.sig === null || reply.sig === undefined) return -1; // a nil signature is written by no one
    keys++;
  }
  if (!("result" in reply) || keyCount(reply) !== keys) return -1;
  if ("peer" in reply) return !("peer_id" in reply) && wholePeer(reply.peer) ? mac : -1;
  return "peer_id" in reply ? FORM_REF | mac : -1;
}

/** A Peer record with every key, each well typed (as `readPeer` returns it, leniently read). */
function wholePeer(p: unknown): boolean {
  if (!isMap(p) || keyCount(p) !== 9) return false;
  const { swarm, team, kind, capabilities: caps, last_seen: seen } = p;
  if (typeof p.id !== "string" || typeof p.address !== "string" || typeof p.port !== "number" || typeof p.name !== "string") return false;
  if ((swarm !== null && typeof swarm !== "string") || (team !== null && typeof team !== "string")) return false;
  if ((kind !== "node" && kind !== "bootstrap") || typeof seen !== "number" || !Number.isFinite(seen) || !Array.isArray(caps)) return false;
  for (let i = 0; i < caps.length; i++) if (typeof caps[i] !== "string") return false;
  return true;
}

/** A conversation event with every key, each well typed (as `parseEvent` returns it). */
function wholeEvent(e: unknown): boolean {
  if (!isMap(e) || keyCount(e) !== 8) return false;
  const parent = e.parent_id;
  return (
    typeof e.conversation_id === "string" &&
    typeof e.event_id === "string" &&
    typeof e.kind === "string" &&
    (parent === null || typeof parent === "string") &&
    typeof e.created_at === "number" &&
    isMap(e.payload) &&
    isMap(e.metadata) &&
    wholePeer(e.peer)
  );
}

/**
 * Whether a batch's `items` (a list, or items as bytes, joined or in parts) hold a reply, without
 * decoding them (what the broadcast bench counts reply-carrying calls by). False for anything else.
 */
export function hasReplyItem(value: unknown): boolean {
  if (Array.isArray(value)) return value.some((i) => isMap(i) && "reply" in i);
  // Items in parts (`packFor`'s: one item a part) are looked at part by part, not joined first.
  if (value instanceof BinParts) return value.parts.some(bytesHoldReply);
  return value instanceof Uint8Array && bytesHoldReply(value);
}

/** Whether items as bytes (whole values back to back) hold a reply. */
function bytesHoldReply(items: Uint8Array): boolean {
  for (let at = 0; at < items.length; ) {
    if (matchAt(items, at, items.length, REPLY_HEAD) >= 0) return true;
    at = skipValue(items, at, items.length);
    if (at < 0) return false;
  }
  return false;
}

/**
 * A batch's `items` as a list: the list itself, or the items of items as bytes decoded (for tests
 * and tools that look at what travelled).
 *
 * @throws {ProtocolError} when the bytes are not a sequence of whole values.
 */
export function itemList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  const items = binaryOf(value);
  if (items === null) return [];
  const out: unknown[] = [];
  for (let at = 0; at < items.length; ) {
    const end = skipValue(items, at, items.length);
    out.push(decode(items, at, end < 0 ? items.length : end));
    at = end < 0 ? items.length : end;
  }
  return out;
}
