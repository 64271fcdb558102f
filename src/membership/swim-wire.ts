/**
 * SWIM messages on the wire, in two forms of member update, and the readers of both.
 *
 * - The **map form** (every Bun node reads and writes it): an update is a MessagePack map
 *   `{id, incarnation, state, address, port, meta?, sig?, from?}` inside the message's `updates`
 *   (or a push-pull's `members`) list.
 * - The **packed form** (between nodes that offered `swim_packed` in their hello,
 *   {@link SWIM_PACKED_FEATURE}): an update is one MessagePack `bin` whose content is that same
 *   map, written with `id`, `incarnation` and `state` as its first three keys. A sender encodes an
 *   update once ({@link packUpdate}: the bytes are kept with the update object, which the broadcast
 *   queue hands out to every message that piggybacks it), so a message costs a copy per update. A
 *   receiver peeks at the three leading keys ({@link PackedUpdate}) and decodes the rest (meta,
 *   signature, address) only when the member list finds the update may be news: most copies of
 *   an update a node receives in a mass join are old news, dropped unread.
 *
 * A request says `packed: true` when its sender reads the packed form; the answer to it is then
 * packed too (the answerer may hold no connection of its own to the asker, so no hello answer of
 * it). A list may mix both forms; a packed update whose content does not start with the three keys
 * in that order is decoded whole, as a map would be. Malformed input is counted, never thrown.
 *
 * - The **lean death** (between nodes that offered `swim_lean` too, {@link SWIM_LEAN_FEATURE}; a
 *   request that says `lean: true` gets it in its answer): a piggybacked death is one `bin` whose
 *   content is the array `[id, incarnation]`, about 74 bytes where the packed death is about 195
 *   (its address, port and author, two thirds of it, are left out). A death is news only about a
 *   member the receiver holds, which gives the address and port ({@link PackedUpdate.read}); the
 *   author of a relayed verdict is needed by no rule. So a message's budget carries two and a half
 *   times as many deaths: a killed process of 250 nodes at 1,000 was in every message a sixth at a
 *   time, and a survivor that read few messages while its deaths were fresh waited seconds for the
 *   last one (docs/performance-log.md, s13 and s14). Push-pull records keep the packed form.
 *
 * Longer than 400 lines: one wire, written and read in its three forms side by side (each reader
 * beside the writer whose layout it reads: the peeks and the lean death's reader against the
 * bytes the encoder lays out), and every check of a SWIM message from the network in one place.
 *
 * @module
 */
import { latin1String } from "../util/bytes.ts";
import { isMap, isPort } from "../util/guards.ts";
import { decode, encodeOwn } from "../wire/codec.ts";
import { fastDecode, fastDecodeEntries, fixstr, NOT_FAST } from "../wire/fast-codec.ts";
import { peekId } from "./peeked-ids.ts";
import { isDeathFilter } from "./swim-deaths.ts";
import { isDigest, isWant } from "./swim-digest.ts";
import { isSum } from "./swim-sum.ts";
import { isId, isVersion, MAX_ADDRESS, MAX_PAGE, MAX_UPDATES, readUpdate, readUpdateRest } from "./swim-read.ts";
import {
  SWIM_STATES,
  type MemberUpdate,
  type Signature,
  type SwimAnswer,
  type SwimMessage,
  type SwimPushPull,
  type SwimState,
  type SwimTarget,
} from "./swim-types.ts";

export { SWIM_LEAN_FEATURE, SWIM_PACKED_FEATURE } from "../wire/protocol.ts";

/**
 * A packed update as received: its id, incarnation and state read, the rest still bytes. The
 * member list decides from those three whether it is old news ({@link read} is then never called).
 */
export class PackedUpdate {
  constructor(
    readonly id: string,
    readonly incarnation: number,
    readonly state: SwimState,
    /** The update's map, as MessagePack (the content of the `bin` it came in). */
    readonly bytes: Uint8Array,
    /** Where the map's entries after the peeked id, incarnation and state begin (0: none peeked, a lean death). */
    readonly tail = 0,
  ) {}

  /** Its bytes when they are an update's packed form (not a lean death), to go on as they came (see {@link adoptPacked}). */
  get packedForm(): Uint8Array | null {
    return this.bytes[0] === LEAN_HEAD ? null : this.bytes;
  }

  /** Its bytes when they are a lean death's, to go on as they came to peers that read lean deaths (see {@link adoptLean}). */
  get leanForm(): Uint8Array | null {
    return this.bytes[0] === LEAN_HEAD ? this.bytes : null;
  }

  /**
   * The whole update, validated as a map-form update is ({@link readUpdate}); null when its body
   * is malformed or does not say what its leading keys said (a repeated key). A lean death
   * ({@link leanDeath}) takes its address and port from `known`, the member as the receiver holds
   * it (null without it: a death is news only about a member held).
   */
  read(readMeta?: (meta: unknown) => unknown, known?: { readonly id: string; readonly address: string; readonly port: number }): MemberUpdate | null {
    const b = this.bytes;
    if (b[0] === LEAN_HEAD) return known?.id === this.id ? { id: this.id, incarnation: this.incarnation, state: "dead", address: known.address, port: known.port } : null;
    // The entries after the peeked three only (the id's 64 characters are not decoded again, a
    // learnt member keeps the peeked id string); the whole map, as before, when they name one of
    // the three again (the map's last value of a key is its value) or are not for the fast decoder.
    if (this.tail > 0) {
      const rest = fastDecodeEntries(b, this.tail, b.length, (b[0]! & 0x0f) - 3);
      if (rest !== NOT_FAST && !Object.hasOwn(rest, "id") && !Object.hasOwn(rest, "incarnation") && !Object.hasOwn(rest, "state")) {
        return readUpdateRest(this.id, this.incarnation, this.state, rest.address, rest.port, rest.meta, rest.sig, rest.from, readMeta);
      }
    }
    const update = readUpdate(decodeQuietly(b), readMeta);
    if (!update || update.id !== this.id || update.incarnation !== this.incarnation || update.state !== this.state) return null;
    return update;
  }
}

/** An update as a message read from the network holds it: read whole (map form), or packed and peeked. */
export type InboundUpdate = MemberUpdate | PackedUpdate;

/** A message or answer read from the network. */
export type InboundMessage = SwimMessage<InboundUpdate> | SwimAnswer<InboundUpdate>;

// --- writing ---------------------------------------------------------------------------------

/**
 * The records a member list keeps a while for its messages (its own claim, and those of its
 * answers: `swim-records.ts`), frozen by {@link keptRecord}: their packed form is kept with them.
 * Known by a WeakSet rather than by `Object.isFrozen` (about 80 ns a call in Bun 1.4.5, once per
 * member of every whole state a seed answers).
 */
const KEPT_RECORDS = new WeakSet<MemberUpdate>();

/** Freeze `update`, a record the member list keeps for its messages, and know it as one ({@link toWire} keeps its packed form). */
export function keptRecord(update: MemberUpdate): Readonly<MemberUpdate> {
  KEPT_RECORDS.add(Object.freeze(update));
  return update;
}

/** The packed bytes of the update objects already encoded (see {@link packUpdate}). */
const packed = new WeakMap<MemberUpdate, Uint8Array>();
/** The lean bytes of the deaths already encoded so (see {@link leanDeath}). */
const leaned = new WeakMap<MemberUpdate, Uint8Array>();
/** A lean death's first byte: a MessagePack fixarray of two. */
const LEAN_HEAD = 0x92;
/**
 * The packed form of `update`: its map, `id`, `incarnation` and `state` first. Encoded once per
 * update object and kept with it (weakly): an update must not be changed once it was sent, which
 * the core never does (it makes a new update for every change).
 */
export function packUpdate(update: MemberUpdate): Uint8Array {
  let bytes = packed.get(update);
  if (bytes === undefined) {
    bytes = encodeUpdate(update);
    packed.set(update, bytes);
  }
  return bytes;
}

/**
 * Take `bytes`, the packed form an update came in, as `update`'s own (`update` says what they say:
 * the member list queues a relayed update as it was received). A relayed update then goes on as
 * the bytes it came in, not encoded again by every node that relays it: in the 1,000-node join
 * encoding the piggybacked updates was 6% of the workers' samples, most of them relays.
 */
export function adoptPacked(update: MemberUpdate, bytes: Uint8Array): void {
  if (!packed.has(update)) packed.set(update, bytes);
}

/**
 * Take `bytes`, the lean death `update` came as, as its own lean form ({@link leanDeath}): it goes
 * on as it came, not encoded again by every relay (a 1,000-node kill's survivors relay ~250 each).
 */
export function adoptLean(update: MemberUpdate, bytes: Uint8Array): void {
  if (!leaned.has(update)) leaned.set(update, bytes);
}

/**
 * Drop the packed bytes kept for `update` (the broadcast queue's budget for encoded updates: see
 * `EncodedBudget` in `swim-queue.ts`); it is encoded again if sent again.
 */
export function forgetPacked(update: MemberUpdate): void {
  packed.delete(update);
  leaned.delete(update);
}

/**
 * The lean form of a death (see the module header): `[id, incarnation]` as MessagePack, encoded once
 * per update object and kept with it (weakly), as {@link packUpdate} keeps the packed form.
 */
export function leanDeath(update: MemberUpdate): Uint8Array {
  let bytes = leaned.get(update);
  if (bytes === undefined) {
    bytes = encodeOwn([update.id, update.incarnation]);
    leaned.set(update, bytes);
  }
  return bytes;
}

function encodeUpdate(u: MemberUpdate): Uint8Array {
  // The key order is the layout a receiver peeks at; the optional keys only when set, as in the map form.
  const map: Record<string, unknown> = { id: u.id, incarnation: u.incarnation, state: u.state, address: u.address, port: u.port };
  if (u.meta !== undefined) map.meta = u.meta;
  if (u.sig !== undefined) map.sig = sigBytes(u.sig);
  if (u.from !== undefined) map.from = u.from;
  return encodeOwn(map);
}

/**
 * `message` as it goes to a peer: its updates packed when `pack` (the peer offered
 * {@link SWIM_PACKED_FEATURE}, or asked for packed answers), its deaths lean when `lean` too (the
 * peer offered {@link SWIM_LEAN_FEATURE}, or asked for lean answers; not a push-pull's records),
 * and `packed: true` when `reads` (this node reads the packed form: a request's way of asking for
 * it in the answer), with `lean: true` unless `readsLean` is false. The message itself is not changed.
 */
export function toWire(message: SwimMessage | SwimAnswer, form: { pack: boolean; reads: boolean; lean?: boolean; readsLean?: boolean }): Record<string, unknown> {
  const wire: Record<string, unknown> = { ...message };
  if (form.pack) {
    // A state's records: a kept one (the list's own claim, or a record the list keeps for its
    // answers a moment: swim-records.ts; see keptRecord) is encoded once and its bytes kept with
    // it; others are made afresh for each exchange, so encoded, not kept.
    if (message.kind === "push_pull") wire.members = message.members.map((u) => (KEPT_RECORDS.has(u) ? packUpdate(u) : (packed.get(u) ?? encodeUpdate(u))));
    else wire.updates = message.updates.map(form.lean === true ? (u) => (u.state === "dead" ? leanDeath(u) : packUpdate(u)) : packUpdate);
  } else if (message.kind === "push_pull") {
    wire.members = message.members.map(mapForm);
  } else if ("updates" in message) {
    wire.updates = message.updates.map(mapForm);
  }
  if (form.reads) {
    wire.packed = true;
    if (form.readsLean !== false) wire.lean = true;
  }
  return wire;
}

/** The bytes of a signature (see `Signature` in `swim-types.ts`); none for none. */
export function sigBytes(sig: Signature): Uint8Array;
export function sigBytes(sig: Signature | undefined): Uint8Array | undefined;
export function sigBytes(sig: Signature | undefined): Uint8Array | undefined {
  return typeof sig === "string" ? Buffer.from(sig, "latin1") : sig;
}

/** A signature as the member list keeps it: a latin1 string of its bytes (see `Signature`). */
export function keptSig(sig: Signature): string {
  return typeof sig === "string" ? sig : latin1String(sig);
}

/** An update in the map form: as it is, but a signature kept as a string goes as its bytes (`Signature`). */
function mapForm(u: MemberUpdate): MemberUpdate {
  return typeof u.sig === "string" ? { ...u, sig: sigBytes(u.sig) } : u;
}

/** True when a decoded request asks for a packed answer (see {@link toWire}). */
export function wantsPacked(raw: unknown): boolean {
  return isMap(raw) && raw.packed === true;
}

/** True when a decoded request asks for lean deaths in its (packed) answer (see {@link toWire}). */
export function wantsLean(raw: unknown): boolean {
  return isMap(raw) && raw.packed === true && raw.lean === true;
}

// --- reading ---------------------------------------------------------------------------------

/** The leading keys of a packed update, as MessagePack fixstr. */
const KEY_ID = fixstr("id");
const KEY_INCARNATION = fixstr("incarnation");
const KEY_STATE = fixstr("state");
/** The states as MessagePack fixstr, in {@link SWIM_STATES}' order. */
const STATE_BYTES = SWIM_STATES.map(fixstr);

/**
 * One update of a list from the network, in either form: a map is read whole; a packed update is
 * peeked (its body left for later). Null when malformed.
 */
export function readInbound(raw: unknown, readMeta?: (meta: unknown) => unknown): InboundUpdate | null {
  if (!(raw instanceof Uint8Array)) return readUpdate(raw, readMeta);
  // Held as a plain Uint8Array (a copy of a few dozen ns) when given as a Buffer (a bin decoded from
  // a Buffer; the transport's frames are plain: frame.ts). One shape for the peeks, the member
  // list's queue and the encoder, and the body read on the decoder's plain path: about 1 µs of a
  // member's merge beyond the decoder's own copy of a small Buffer (`bench/lib/swim-merge.ts`, s51).
  const bytes = raw.constructor === Uint8Array ? raw : new Uint8Array(raw);
  if (bytes[0] === LEAN_HEAD) return peekLean(bytes);
  // Not in the peekable layout (another writer's key order): read whole, as a map.
  return peek(bytes) ?? readUpdate(decodeQuietly(bytes), readMeta);
}

/** An update from the network in either form, read whole (for the few that are always needed whole). */
export function readWhole(raw: unknown, readMeta?: (meta: unknown) => unknown): MemberUpdate | null {
  const update = readInbound(raw, readMeta);
  return update instanceof PackedUpdate ? update.read(readMeta) : update;
}

/** The packed update's leading id, incarnation and state, or null when it is not laid out so. */
function peek(b: Uint8Array): PackedUpdate | null {
  const head = b[0];
  // A fixmap (the map form has 5 to 8 keys) holding at least the three peeked ones.
  if (head === undefined || (head & 0xf0) !== 0x80 || (head & 0x0f) < 3) return null;
  let at = 1;
  if (!startsWith(b, at, KEY_ID)) return null;
  at += KEY_ID.length;
  let end = stringEnd(b, at);
  const id = end < 0 ? null : peekId(b, at, end);
  if (!isId(id)) return null;
  at = end;
  if (!startsWith(b, at, KEY_INCARNATION)) return null;
  at += KEY_INCARNATION.length;
  end = uintEnd(b, at);
  if (end < 0) return null;
  // Read in place (a decoder call per number costs more than the arithmetic).
  let incarnation = b[at]! < 0x80 ? b[at]! : 0;
  for (let i = at + 1; i < end; i++) incarnation = incarnation * 256 + b[i]!;
  if (!Number.isSafeInteger(incarnation)) return null;
  at = end;
  if (!startsWith(b, at, KEY_STATE)) return null;
  at += KEY_STATE.length;
  // The state by its bytes, as the constant (as readUpdate keeps it).
  const index = STATE_BYTES.findIndex((name) => startsWith(b, at, name));
  return index < 0 ? null : new PackedUpdate(id, incarnation, SWIM_STATES[index]!, b, at + STATE_BYTES[index]!.length);
}

/** A lean death's id and incarnation (see {@link leanDeath}), or null when it is not exactly those two. */
function peekLean(b: Uint8Array): PackedUpdate | null {
  const end = stringEnd(b, 1);
  const id = end < 0 ? null : peekId(b, 1, end);
  if (!isId(id)) return null;
  const last = uintEnd(b, end);
  if (last !== b.length) return null;
  let incarnation = b[end]! < 0x80 ? b[end]! : 0;
  for (let i = end + 1; i < last; i++) incarnation = incarnation * 256 + b[i]!;
  return Number.isSafeInteger(incarnation) ? new PackedUpdate(id, incarnation, "dead", b) : null;
}

function startsWith(b: Uint8Array, at: number, key: Uint8Array): boolean {
  if (at + key.length > b.length) return false;
  for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
  return true;
}

/** The end of a string (fixstr, str8 or str16: an id of 128 characters takes up to 384 bytes) starting at `at`, or -1. */
function stringEnd(b: Uint8Array, at: number): number {
  const t = b[at];
  if (t === undefined) return -1;
  let end = -1;
  if (t >= 0xa0 && t < 0xc0) end = at + 1 + (t - 0xa0);
  else if (t === 0xd9 && at + 1 < b.length) end = at + 2 + b[at + 1]!;
  else if (t === 0xda && at + 2 < b.length) end = at + 3 + ((b[at + 1]! << 8) | b[at + 2]!);
  return end <= b.length ? end : -1;
}

/** The end of an unsigned integer (positive fixint, uint8 to uint64) starting at `at`, or -1. */
function uintEnd(b: Uint8Array, at: number): number {
  const t = b[at];
  if (t === undefined) return -1;
  const size = t < 0x80 ? 0 : t === 0xcc ? 1 : t === 0xcd ? 2 : t === 0xce ? 4 : t === 0xcf ? 8 : -1;
  return size >= 0 && at + 1 + size <= b.length ? at + 1 + size : -1;
}

/** One MessagePack value from `bytes`, or undefined when they are not one (never throws). */
function decodeQuietly(bytes: Uint8Array): unknown {
  const fast = fastDecode(bytes, 0, bytes.length);
  if (fast !== NOT_FAST) return fast;
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}

/** The well-formed updates of a decoded list, in either form (malformed ones counted); null when not a list. */
function readUpdates(raw: unknown, readMeta?: (meta: unknown) => unknown): { updates: InboundUpdate[]; malformed: number } | null {
  if (!Array.isArray(raw) || raw.length > MAX_UPDATES) return null;
  const updates: InboundUpdate[] = [];
  let malformed = 0;
  for (const item of raw) {
    const update = readInbound(item, readMeta);
    if (update) updates.push(update);
    else malformed++;
  }
  return { updates, malformed };
}

/** A target from a decoded value, or null. */
function readTarget(raw: unknown): (SwimTarget & { id: string }) | null {
  if (!isMap(raw)) return null;
  const { id, address, port } = raw;
  if (!isId(id) || typeof address !== "string" || address.length === 0 || address.length > MAX_ADDRESS || !isPort(port)) return null;
  return { id, address, port };
}

/** What {@link readMessage} gives: the message with its updates, and how many updates were malformed. */
export interface ReadMessage<T> {
  message: T;
  malformed: number;
}

/**
 * A message or an answer from a decoded network value, its updates in either form, or null when
 * it is malformed as a whole. Malformed updates inside are dropped and counted; packed ones are
 * only peeked here (their bodies are read when applied, if news).
 */
export function readMessage(raw: unknown, readMeta?: (meta: unknown) => unknown): ReadMessage<InboundMessage> | null {
  if (!isMap(raw) || !isId(raw.from)) return null;
  const from = raw.from;
  const list = readUpdates(raw.kind === "push_pull" ? raw.members : raw.updates, readMeta);
  if (!list) return null;
  const { updates, malformed } = list;
  // A request's filter of its sender's recent deaths (`swim-deaths.ts`), when it carries one.
  const deaths = isDeathFilter(raw.deaths) ? { deaths: raw.deaths } : undefined;
  // The sender's membership checksum (`swim-sum.ts`), when it carries one.
  const sum = isSum(raw.sum) ? { sum: raw.sum } : undefined;
  switch (raw.kind) {
    case "ping":
      return isId(raw.target) ? { message: { kind: "ping", from, target: raw.target, updates, ...deaths, ...sum }, malformed } : null;
    case "ping_req": {
      const target = readTarget(raw.target);
      return target ? { message: { kind: "ping_req", from, target, updates, ...deaths, ...sum }, malformed } : null;
    }
    case "push_pull": {
      const message: SwimPushPull<InboundUpdate> = { kind: "push_pull", from, join: raw.join === true, members: updates };
      if (isVersion(raw.since)) message.since = raw.since;
      if (isVersion(raw.version)) message.version = raw.version;
      // A page (a Bun joiner's request) of at least one member; a huge one is read as the largest.
      if (isVersion(raw.page) && raw.page > 0) message.page = Math.min(raw.page, MAX_PAGE);
      if (raw.partial === true) message.partial = true;
      if (raw.busy === true) message.busy = true;
      if (isDigest(raw.digest)) message.digest = raw.digest;
      if (isWant(raw.want)) message.want = raw.want;
      return { message, malformed };
    }
    case "gossip":
      return { message: { kind: raw.kind, from, updates, ...deaths, ...sum }, malformed };
    case "ack":
      return { message: { kind: raw.kind, from, updates, ...sum }, malformed };
    case "nack":
      return { message: { kind: raw.kind, from, updates }, malformed };
    default:
      return null;
  }
}
