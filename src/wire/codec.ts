/**
 * The MessagePack codec. Standard MessagePack only, as the Python side writes and accepts it:
 * maps as maps (no record extension), minimal headers, `undefined` as nil, no Date/Map/Set
 * extensions (a Date goes out as float unix seconds, a Map as a map, a Set as an array).
 *
 * @module
 */
import { C1, Packr, Unpackr, addExtension } from "msgpackr";
import { EncodeError, ProtocolError } from "../errors.ts";
import { NOT_FAST, NOT_PLAIN, NO_ROOM, fastDecode, fastEncodeInto } from "./fast-codec.ts";
import { BinParts } from "./bin-parts.ts";

// Dates travel as float unix seconds, the way Python peers send timestamps (`last_seen`,
// `created_at`). Without this msgpackr writes its timestamp extension, which Python refuses.
// No `type` means the written value is packed as plain MessagePack.
addExtension({ Class: Date, write: (date: Date) => date.getTime() / 1000 });
// A binary value given as parts goes out as one bin of their bytes (the hot-path encoder writes the
// parts straight into the frame; this is the general codec's way, for a message it declines).
addExtension({ Class: BinParts, write: (parts: BinParts) => parts.bytes() });

/** Options shared by every plain-map packer in the package. */
const PACK_OPTIONS = {
  useRecords: false,
  variableMapSize: true,
  encodeUndefinedAsNil: true,
  moreTypes: false,
  structuredClone: false,
  bundleStrings: false,
  useFloat32: 0,
  // msgpackr writes a function as nil, silently; a function cannot be carried, so refuse it.
  writeFunction: (): never => {
    throw new EncodeError("a function cannot be carried"); // encode() wraps it with its context
  },
} as const;

const UNPACK_OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  // Python writes big unsigned ints as uint64; read them as numbers (exact below 2^53).
  int64AsType: "number",
  // Binary payloads must not alias the receive buffer, which is reused for later reads.
  copyBuffers: true,
  // msgpackr's structured-clone references (ext 0x69/0x70) would let a peer send a cyclic value.
  structuredClone: false,
} as const;

const packr = new Packr(PACK_OPTIONS);
/** A value this big (bytes) makes {@link encode} give msgpackr a fresh slab of {@link SLAB_BYTES}. */
const LARGE_VALUE = 256 * 1024;
const SLAB_BYTES = 64 * 1024;
const unpackr = new Unpackr(UNPACK_OPTIONS as ConstructorParameters<typeof Unpackr>[0]);

/** Where {@link encodeOwn} encodes: a Buffer, as the connections' outboxes (one kind of target for the encoder); grown as needed, let go of past {@link OWN_SCRATCH_KEPT}. */
let ownScratch: Uint8Array = Buffer.allocUnsafe(16 * 1024);
const OWN_SCRATCH_KEPT = 256 * 1024;
/** {@link ownScratch} as a plain Uint8Array over the same bytes: its `slice` is one plain copy, no Buffer view made first. */
let ownPlain = plainOf(ownScratch);

function plainOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** The scratch made anew (`bytes` long). */
function newScratch(bytes: number): void {
  ownScratch = Buffer.allocUnsafe(bytes);
  ownPlain = plainOf(ownScratch);
}

/**
 * `value` encoded by the hot-path encoder at the start of the scratch, `room` bytes left free after
 * it (the scratch grown as needed): the offset after it, or {@link NOT_PLAIN} when that encoder
 * declines the value (the general codec writes it).
 */
function intoScratch(value: unknown, room: number): number {
  for (;;) {
    const end = fastEncodeInto(value, ownScratch, 0, ownScratch.length - room);
    if (end !== NO_ROOM) return end;
    newScratch(ownScratch.length * 2);
  }
}

/**
 * `value`'s MessagePack bytes in an array of their own, not a view of a reused buffer or of
 * msgpackr's slab: for bytes kept past the call (a SWIM update or a batch item, encoded once and
 * sent many times). The hot-path encoder's bytes, the general codec's ({@link encode}) for what
 * it declines.
 *
 * @throws {EncodeError} as {@link encode}.
 */
export function encodeOwn(value: unknown): Uint8Array {
  const end = intoScratch(value, 0);
  // A copy (not `slice`: on msgpackr's Buffer that is a view, which would keep its whole slab alive).
  if (end === NOT_PLAIN) return new Uint8Array(encode(value));
  // A plain copy (a Buffer's `slice` would be a view of the scratch).
  const bytes = ownPlain.slice(0, end);
  if (ownScratch.length > OWN_SCRATCH_KEPT) newScratch(16 * 1024);
  return bytes;
}

/**
 * SHA-256 of `value`'s MessagePack bytes (those {@link encodeOwn} returns) followed by `tail`,
 * written into `out` (32 bytes): the bytes are never an array of their own, as a record's digest
 * for its MACs wants them, made by every node for every record it checks (record-macs.ts).
 *
 * @throws {EncodeError} as {@link encode}.
 */
export function sha256Encoded(value: unknown, tail: Uint8Array, out: Uint8Array): Uint8Array {
  const end = intoScratch(value, tail.length);
  if (end === NOT_PLAIN) {
    const bytes = encode(value);
    const joined = new Uint8Array(bytes.length + tail.length);
    joined.set(bytes);
    joined.set(tail, bytes.length);
    Bun.SHA256.hash(joined, out);
    return out;
  }
  ownPlain.set(tail, end);
  Bun.SHA256.hash(ownPlain.subarray(0, end + tail.length), out);
  if (ownScratch.length > OWN_SCRATCH_KEPT) newScratch(16 * 1024);
  return out;
}

/**
 * Encode one value to MessagePack. The returned bytes are a view into msgpackr's slab: copy them
 * (or write them) before the next large allocation matters; they are never overwritten.
 *
 * @throws {EncodeError} when the value cannot be carried (functions, symbols, cycles).
 */
export function encode(value: unknown): Uint8Array {
  try {
    const bytes = packr.pack(value);
    // msgpackr keeps its slab grown to the largest value it ever wrote (up to 1 GiB): one member
    // list of a big swarm would pin megabytes for the life of the process. Past a large value it
    // starts a fresh slab; the old one lives only as long as these bytes.
    if (bytes.length > LARGE_VALUE) packr.useBuffer(Buffer.allocUnsafeSlow(SLAB_BYTES));
    // msgpackr writes whole numbers beyond 32 bits as float64 (0xcb), which a Python peer reads
    // as a float. Only a value whose bytes hold 0xcb somewhere can have one: look closer then.
    // It writes every bigint as int64 (0xd3) or uint64 (0xcf), even 5n; Python writes the smallest
    // format, unsigned when non-negative. Those markers send the value down the same slow path.
    const suspect = bytes.indexOf(0xcb) >= 0 || bytes.indexOf(0xd3) >= 0 || bytes.indexOf(0xcf) >= 0;
    return suspect && hasWideInteger(value) ? packWide(value) : bytes;
  } catch (error) {
    throw new EncodeError(`cannot encode value as MessagePack: ${(error as Error).message ?? error}`, { cause: error });
  }
}

/**
 * Decode exactly one MessagePack value from `bytes[start, end)`, without copying the input. Binary
 * values are copies, except with `owned` (`bytes` are never written again: a socket read handed
 * over for good), where the hand-written decoder views a large one in place (see `fastDecode`).
 *
 * @throws {ProtocolError} on undecodable data, unknown extensions or trailing bytes.
 */
export function decode(bytes: Uint8Array, start = 0, end = bytes.length, owned = false): unknown {
  // Plain, well-formed values (every RPC message) take the hand-written decoder; it declines
  // anything else, which msgpackr then decodes or refuses.
  const fast = fastDecode(bytes, start, end, owned);
  return fast !== NOT_FAST ? fast : decodeGeneral(bytes, start, end);
}

/**
 * {@link decode} without the hand-written fast path: msgpackr only. For tests and benchmarks that
 * compare the two; same result, same errors.
 *
 * @throws {ProtocolError} on undecodable data, unknown extensions or trailing bytes.
 */
export function decodeGeneral(bytes: Uint8Array, start = 0, end = bytes.length): unknown {
  const payload = start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
  let value: unknown;
  try {
    // Decode from a view of exactly the payload: msgpackr judges "small input" by the absolute end
    // offset, so a frame deep inside a large socket read would skip its key cache and call the
    // native string extractor for every string (about 1.5x slower for an RPC message).
    value = unpackr.unpack(payload);
  } catch (error) {
    const message = (error as Error).message ?? String(error);
    throw new ProtocolError(
      message.startsWith("Data read, but end of buffer not reached")
        ? "unpack(b) received extra data."
        : `undecodable MessagePack: ${message}`,
      { cause: error },
    );
  }
  // msgpackr reads the never-used byte 0xc1 as a marker object; Python refuses it. A value can
  // only hold that marker when the bytes hold 0xc1 (never part of UTF-8 text, so this is rare).
  if (payload.indexOf(0xc1) >= 0 && holdsNeverUsed(value)) {
    throw new ProtocolError("undecodable MessagePack: the never-used byte 0xc1");
  }
  return value;
}

/** The members of what MessagePack writes as an array or a map; null for anything else. */
function members(value: unknown): Iterable<unknown> | null {
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value) || value instanceof Set) return value;
  if (value instanceof Map) return [...value.keys(), ...value.values()];
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? Object.values(value) : null;
}

/**
 * True when `test` holds for a leaf of `value` (anything that is not an array, map, set or plain
 * object). Recursive, like msgpackr itself, which has already walked the same value.
 */
function someLeaf(value: unknown, test: (leaf: unknown) => boolean): boolean {
  if (typeof value !== "object" || value === null) return test(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (someLeaf(value[i], test)) return true;
    return false;
  }
  if (ArrayBuffer.isView(value)) return false;
  const inner = members(value);
  if (!inner) return test(value);
  for (const m of inner) if (someLeaf(m, test)) return true;
  return false;
}

function holdsNeverUsed(value: unknown): boolean {
  return someLeaf(value, (v) => v === C1);
}

/** A whole number msgpackr would write as float64 although a 64-bit integer format holds it. */
function isWideInteger(v: unknown): v is number | bigint {
  if (typeof v === "bigint") return true; // any bigint: packWide writes it in the smallest format
  return typeof v === "number" && (v > 0xffffffff || v < -0x80000000) && v < 2 ** 64 && v >= -(2 ** 63) && Number.isInteger(v);
}

function hasWideInteger(value: unknown): boolean {
  return someLeaf(value, isWideInteger);
}

/** Smallest array (0x90/0xdc/0xdd) or map (0x80/0xde/0xdf) header for `length` members. */
function containerHeader(fix: number, code16: number, length: number): Uint8Array {
  if (length < 16) return Uint8Array.of(fix | length);
  if (length < 0x10000) return Uint8Array.of(code16, length >> 8, length & 0xff);
  const out = new Uint8Array(5);
  out[0] = code16 + 1;
  new DataView(out.buffer).setUint32(1, length);
  return out;
}

/**
 * The slow path of {@link encode} for values holding wide integers: containers are written here,
 * wide integers as uint64 (non-negative) or int64, everything else by msgpackr as usual.
 */
function packWide(value: unknown): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (v: unknown): void => {
    if (typeof v === "bigint") {
      // Within 32 bits msgpackr picks the smallest format for the number; beyond, 9 bytes as below;
      // beyond 64 bits msgpackr refuses it as before.
      if (v >= -0x80000000n && v <= 0xffffffffn) parts.push(packr.pack(Number(v)));
      else if (v < -(2n ** 63n) || v >= 2n ** 64n) parts.push(packr.pack(v));
      else {
        const out = new Uint8Array(9);
        out[0] = v >= 0n ? 0xcf : 0xd3;
        if (v >= 0n) new DataView(out.buffer).setBigUint64(1, v);
        else new DataView(out.buffer).setBigInt64(1, v);
        parts.push(out);
      }
    } else if (isWideInteger(v)) {
      const out = new Uint8Array(9);
      out[0] = v >= 0 ? 0xcf : 0xd3;
      if (v >= 0) new DataView(out.buffer).setBigUint64(1, BigInt(v));
      else new DataView(out.buffer).setBigInt64(1, BigInt(v));
      parts.push(out);
    } else if (Array.isArray(v) || v instanceof Set) {
      parts.push(containerHeader(0x90, 0xdc, Array.isArray(v) ? v.length : v.size));
      for (const item of v) put(item);
    } else if (v instanceof Map) {
      parts.push(containerHeader(0x80, 0xde, v.size));
      for (const [k, item] of v) {
        put(k);
        put(item);
      }
    } else if (members(v)) {
      const entries = Object.entries(v as Record<string, unknown>);
      parts.push(containerHeader(0x80, 0xde, entries.length));
      for (const [k, item] of entries) {
        parts.push(packr.pack(k));
        put(item);
      }
    } else {
      parts.push(packr.pack(v));
    }
  };
  put(value);
  return Buffer.concat(parts);
}
