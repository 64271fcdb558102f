/**
 * The hot-path MessagePack coder: a small hand-written encoder and decoder for the plain values
 * RPC messages are made of (nil, booleans, numbers, strings, binary, arrays, plain objects), and
 * binary values given as parts (bin-parts.ts), written as the one bin the general codec writes.
 * Anything else — a Date, Map, Set, bigint, class instance, extension type, the never-used byte,
 * a `__proto__` key, malformed or truncated input, trailing bytes — is declined, and the caller
 * falls back to the general codec (msgpackr), which then produces its value or its error. So for
 * every input the result is the one the general codec gives; this file only gets there sooner,
 * without msgpackr's per-call setup, without a DataView per buffer, and (for the encoder) straight
 * into the connection's outbox instead of into a slab that is then copied.
 *
 * The bytes written follow the general codec's rules exactly: smallest formats; non-negative
 * integers unsigned; whole numbers beyond 32 bits as uint64/int64 (up to 2^64), other numbers as
 * float64; `undefined` as nil; UTF-8 strings (a lone surrogate as U+FFFD); objects as maps of their
 * own enumerable string keys. test/wire/fast-codec.test.ts compares both coders value by value.
 *
 * Longer than 400 lines, on purpose: the encoder and the decoder mirror each other format by format
 * (and share the float scratch buffers and the byte-order check), and are read side by side against
 * the MessagePack specification and the general codec; the two sections below are the two halves.
 *
 * @module
 */
import { COPY_BYTES_MAX, latin1Range, NATIVE_LATIN1 } from "../util/bytes.ts";
import { BinParts } from "./bin-parts.ts";

/** Returned by {@link fastDecode} for input it leaves to the general decoder. */
export const NOT_FAST: unique symbol = Symbol("synapse-p2p.notFast");

/** Nesting deeper than this is left to the general codec (which also reports cycles). */
const MAX_DEPTH = 64;

const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);
const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
/** Typed arrays use the platform's byte order; MessagePack is big-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();
// fatal: invalid text is left to the general decoder; ignoreBOM: a leading U+FEFF is content.
const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const BufferClass: unknown = typeof Buffer === "function" ? Buffer : Uint8Array;

// ---------------------------------------------------------------------------------------------
// Encoder

let out: Uint8Array = EMPTY;
let pos = 0;
let lim = 0;
/** Set when an encoding stopped for want of room (rather than for a value it does not write). */
let full = false;

/** {@link fastEncodeInto}: the value holds something only the general codec writes. */
export const NOT_PLAIN = -1;
/** {@link fastEncodeInto}: the value did not fit in the given range. */
export const NO_ROOM = -2;

/**
 * Encode `value` into `target[offset, limit)`. Returns the offset after the last byte written,
 * {@link NO_ROOM} when it does not fit, or {@link NOT_PLAIN} when it holds a value this coder does
 * not write. On failure the bytes in the range are garbage; nothing outside it is touched. Never
 * throws.
 */
export function fastEncodeInto(value: unknown, target: Uint8Array, offset: number, limit: number): number {
  out = target;
  pos = offset;
  lim = limit;
  full = false;
  let ok = false;
  try {
    ok = put(value, 0);
  } catch {
    ok = false; // a throwing getter or a proxy: leave it to the general codec
  }
  out = EMPTY;
  return ok ? pos : full ? NO_ROOM : NOT_PLAIN;
}

function noRoom(): false {
  full = true;
  return false;
}

function put(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case "string":
      return putString(v);
    case "number":
      return putNumber(v);
    case "boolean":
      if (pos >= lim) return noRoom();
      out[pos++] = v ? 0xc3 : 0xc2;
      return true;
    case "undefined":
      if (pos >= lim) return noRoom();
      out[pos++] = 0xc0;
      return true;
    case "object": {
      if (v === null) {
        if (pos >= lim) return noRoom();
        out[pos++] = 0xc0;
        return true;
      }
      if (depth >= MAX_DEPTH) return false;
      const ctor = (v as { constructor?: unknown }).constructor;
      if (ctor === Array) return putArray(v as unknown[], depth + 1);
      if (ctor === Object) return putMap(v as Record<string, unknown>, depth + 1);
      if (ctor === Uint8Array || ctor === BufferClass) return putBin(v as Uint8Array);
      if (ctor === BinParts) return putBinParts(v as BinParts);
      return false;
    }
    default:
      return false;
  }
}

function putNumber(v: number): boolean {
  if (pos + 9 > lim) return noRoom();
  const o = out;
  if (v >>> 0 === v) {
    if (v < 0x80) {
      o[pos++] = v;
    } else if (v < 0x100) {
      o[pos++] = 0xcc;
      o[pos++] = v;
    } else if (v < 0x10000) {
      o[pos++] = 0xcd;
      o[pos++] = v >>> 8;
      o[pos++] = v & 0xff;
    } else {
      o[pos++] = 0xce;
      putU32(v);
    }
  } else if (v >> 0 === v) {
    if (v >= -0x20) {
      o[pos++] = v & 0xff;
    } else if (v >= -0x80) {
      o[pos++] = 0xd0;
      o[pos++] = v & 0xff;
    } else if (v >= -0x8000) {
      o[pos++] = 0xd1;
      o[pos++] = (v >> 8) & 0xff;
      o[pos++] = v & 0xff;
    } else {
      o[pos++] = 0xd2;
      putU32(v >>> 0);
    }
  } else if (Number.isInteger(v) && v < 18446744073709551616 && v >= -9223372036854775808) {
    // Whole and beyond 32 bits: uint64 / int64 (two's complement), as a Python peer expects.
    const hi = Math.floor(v / 4294967296);
    o[pos++] = v >= 0 ? 0xcf : 0xd3;
    putU32(hi >>> 0);
    putU32(v - hi * 4294967296);
  } else {
    o[pos++] = 0xcb;
    f64[0] = v;
    if (LITTLE_ENDIAN) {
      o[pos] = f64b[7]!;
      o[pos + 1] = f64b[6]!;
      o[pos + 2] = f64b[5]!;
      o[pos + 3] = f64b[4]!;
      o[pos + 4] = f64b[3]!;
      o[pos + 5] = f64b[2]!;
      o[pos + 6] = f64b[1]!;
      o[pos + 7] = f64b[0]!;
    } else {
      o.set(f64b, pos);
    }
    pos += 8;
  }
  return true;
}

function putU32(n: number): void {
  const o = out;
  o[pos++] = n >>> 24;
  o[pos++] = (n >>> 16) & 0xff;
  o[pos++] = (n >>> 8) & 0xff;
  o[pos++] = n & 0xff;
}

function putString(s: string): boolean {
  const len = s.length;
  // At most 3 bytes per UTF-16 unit; the header is sized for the character count and moved when
  // the byte count needs a larger one.
  if (pos + 5 + len * 3 > lim) return noRoom();
  const head = len < 0x20 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5;
  const start = pos + head;
  let n: number;
  if (len < 0x40) {
    const o = out;
    let p = start;
    for (let i = 0; i < len; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        o[p++] = c;
      } else if (c < 0x800) {
        o[p++] = (c >> 6) | 0xc0;
        o[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        c = 0x10000 + ((c & 0x3ff) << 10) + (s.charCodeAt(++i) & 0x3ff);
        o[p++] = (c >> 18) | 0xf0;
        o[p++] = ((c >> 12) & 0x3f) | 0x80;
        o[p++] = ((c >> 6) & 0x3f) | 0x80;
        o[p++] = (c & 0x3f) | 0x80;
      } else if ((c & 0xf800) === 0xd800) {
        // A lone surrogate has no UTF-8 form: U+FFFD, as TextEncoder writes it.
        o[p++] = 0xef;
        o[p++] = 0xbf;
        o[p++] = 0xbd;
      } else {
        o[p++] = (c >> 12) | 0xe0;
        o[p++] = ((c >> 6) & 0x3f) | 0x80;
        o[p++] = (c & 0x3f) | 0x80;
      }
    }
    n = p - start;
  } else {
    const r = utf8.encodeInto(s, out.subarray(start, lim));
    if (r.read < len) return noRoom();
    n = r.written;
  }
  const o = out;
  if (n < 0x20) {
    // head is 1 here: fewer than 32 bytes means fewer than 32 characters
    o[pos++] = 0xa0 | n;
  } else if (n < 0x100) {
    if (head < 2) o.copyWithin(pos + 2, start, start + n);
    o[pos++] = 0xd9;
    o[pos++] = n;
  } else if (n < 0x10000) {
    if (head < 3) o.copyWithin(pos + 3, start, start + n);
    o[pos++] = 0xda;
    o[pos++] = n >>> 8;
    o[pos++] = n & 0xff;
  } else {
    if (head < 5) o.copyWithin(pos + 5, start, start + n);
    o[pos++] = 0xdb;
    putU32(n);
  }
  pos += n;
  return true;
}

function putHeader(n: number, fix: number, code16: number): boolean {
  if (pos + 5 > lim) return noRoom();
  const o = out;
  if (n < 16) {
    o[pos++] = fix | n;
  } else if (n < 0x10000) {
    o[pos++] = code16;
    o[pos++] = n >>> 8;
    o[pos++] = n & 0xff;
  } else {
    o[pos++] = code16 + 1;
    putU32(n);
  }
  return true;
}

function putArray(a: unknown[], depth: number): boolean {
  const n = a.length;
  if (!putHeader(n, 0x90, 0xdc)) return false;
  for (let i = 0; i < n; i++) if (!put(a[i], depth)) return false;
  return true;
}

function putMap(m: Record<string, unknown>, depth: number): boolean {
  const keys = Object.keys(m);
  const n = keys.length;
  if (!putHeader(n, 0x80, 0xde)) return false;
  for (let i = 0; i < n; i++) {
    const k = keys[i]!;
    if (!putString(k) || !put(m[k], depth)) return false;
  }
  return true;
}

function putBin(b: Uint8Array): boolean {
  const n = b.length;
  if (!putBinHeader(n)) return false;
  out.set(b, pos);
  pos += n;
  return true;
}

/** One bin of the parts' bytes back to back (bin-parts.ts). */
function putBinParts(b: BinParts): boolean {
  if (!putBinHeader(b.length)) return false;
  const o = out;
  for (const part of b.parts) {
    o.set(part, pos);
    pos += part.length;
  }
  return true;
}

/** A bin's header for `n` bytes, with room checked for the header and the bytes. */
function putBinHeader(n: number): boolean {
  if (pos + 5 + n > lim) return noRoom();
  pos = writeBinHeader(out, pos, n);
  return true;
}

/** Bytes of the MessagePack `bin` header of a value of `n` bytes (bin 8, 16 or 32). */
export function binHeaderSize(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Write the MessagePack `bin` header of a value of `n` bytes at `target[at]` (room unchecked); the offset after it. */
export function writeBinHeader(target: Uint8Array, at: number, n: number): number {
  if (n < 0x100) {
    target[at] = 0xc4;
    target[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    target[at] = 0xc5;
    target[at + 1] = n >>> 8;
    target[at + 2] = n & 0xff;
    return at + 3;
  }
  target[at] = 0xc6;
  target[at + 1] = n >>> 24;
  target[at + 2] = (n >>> 16) & 0xff;
  target[at + 3] = (n >>> 8) & 0xff;
  target[at + 4] = n & 0xff;
  return at + 5;
}

// ---------------------------------------------------------------------------------------------
// Decoder

/** Returned inside the decoder for anything it leaves to the general codec. */
const BAIL: unique symbol = Symbol("bail");
type Got = unknown;

let src: Uint8Array = EMPTY;
let at = 0;
let stop = 0;
/** The input was a Buffer: binary values are returned as Buffers, as the general decoder does. */
let srcWasBuffer = false;
/** The input is owned (never written again) and plain: a large binary value may be a view of it (see {@link getBin}). */
let viewBins = false;

/**
 * A binary value decoded as a view of owned input keeps at most this many times its own size alive
 * (the input): a smaller value is copied ({@link fastDecode}); a batch's items share a bin whose
 * buffer is within the same bound (item-bytes.ts).
 */
export const MAX_VIEW_HOLD = 2;

/**
 * Decode exactly one value from `bytes[start, end)`. Returns {@link NOT_FAST} for input this coder
 * leaves to the general decoder (including every malformed input). Never throws.
 *
 * Binary values are copies, as the general decoder makes, except with `owned` (the caller's
 * promise that `bytes` are never written again, as a socket read handed over for good) and a
 * plain Uint8Array: then a binary value of at least half of `bytes` is a view of them, not a copy,
 * and keeping it keeps alive at most {@link MAX_VIEW_HOLD} times its own size (a batch's items
 * are most of their frame, whose read is usually that frame alone). A smaller one is still
 * copied, so that a signature kept for long never holds a large read in memory.
 */
export function fastDecode(bytes: Uint8Array, start: number, end: number, owned = false): unknown {
  // The decoder reads one kind of view only: a Buffer (a caller's) and a plain Uint8Array (a socket
  // read, or a frame gathered across reads: frame.ts) have different shapes, and meeting both made
  // the optimizing compiler throw the decoder's code away and compile it again (exits of kind BadCache).
  if (bytes.constructor === Uint8Array) {
    src = bytes;
    srcWasBuffer = false;
    viewBins = owned;
  } else if (bytes.byteLength <= COPY_BYTES_MAX && bytes !== viewedBuffer) {
    // A small Buffer (a caller's, or a `bin` the general decoder copied out of a Buffer): read from
    // a plain copy. A view would ask for its `.buffer`, which moves its bytes out of the engine's
    // heap (util/bytes.ts): several times the copy (s51: a sixth of merging a member, while the
    // transport's gathered frames were Buffers).
    src = new Uint8Array(bytes);
    srcWasBuffer = bytes instanceof (BufferClass as typeof Uint8Array);
  } else {
    if (bytes !== viewedBuffer) viewBuffer(bytes);
    src = viewOfBuffer;
    srcWasBuffer = viewedIsBuffer;
  }
  const v = getFrom(start, end);
  const ok = v !== BAIL && at === stop;
  src = EMPTY;
  viewBins = false;
  if (viewedBuffer === null) viewOfBuffer = EMPTY; // a large input is not held on to
  return ok ? v : NOT_FAST;
}

/**
 * One value read from `src[start, end)`, or with `entries` a map's that many key-value pairs (its
 * header read elsewhere: {@link fastDecodeEntries}); BAIL for what this coder leaves to the general
 * decoder. `at` is then where it ended.
 */
function getFrom(start: number, end: number, entries = -1): Got {
  at = start;
  stop = end;
  try {
    return entries < 0 ? get(0) : getMap(entries, 0);
  } catch {
    return BAIL;
  }
}

/**
 * Decode `count` key-value pairs of a map whose header and first entries were read by other means,
 * from `bytes[start, end)` (a plain Uint8Array), into a fresh object; the pairs must end exactly at
 * `end`. Returns {@link NOT_FAST} otherwise, and for anything this coder leaves to the general
 * decoder. Never throws. (A SWIM member learnt from a packed update: its id, incarnation and state
 * were peeked, and only the rest is decoded, not the id's 64 characters a second time.)
 */
export function fastDecodeEntries(bytes: Uint8Array, start: number, end: number, count: number): Record<string, unknown> | typeof NOT_FAST {
  src = bytes;
  srcWasBuffer = false;
  viewBins = false;
  const v = getFrom(start, end, count);
  const ok = v !== BAIL && at === stop;
  src = EMPTY;
  return ok ? (v as Record<string, unknown>) : NOT_FAST;
}

/** Where the value {@link fastDecodeNext} decoded last ends (the offset after its last byte). */
let nextAt = 0;

/**
 * Decode one value that starts at `bytes[start]` and ends at or before `end` (a value of a
 * sequence written back to back: a batch's items as bytes); {@link decodedEnd} then tells where it
 * ends. Returns {@link NOT_FAST} for input this coder leaves to the general decoder (including a
 * truncated value). Never throws. `bytes` must be a plain Uint8Array (not a Buffer).
 */
export function fastDecodeNext(bytes: Uint8Array, start: number, end: number): unknown {
  src = bytes;
  srcWasBuffer = false;
  const v = getFrom(start, end);
  nextAt = at;
  src = EMPTY;
  return v !== BAIL ? v : NOT_FAST;
}

/** The offset after the value the last {@link fastDecodeNext} decoded. */
export function decodedEnd(): number {
  return nextAt;
}

/**
 * The last input that was not a plain Uint8Array (a Buffer: a connection gathers its split frames in
 * one, reused), the plain view of its bytes the decoder reads, and whether it is a Buffer.
 */
let viewedBuffer: Uint8Array | null = null;
let viewOfBuffer: Uint8Array = EMPTY;
let viewedIsBuffer = false;
/** Inputs up to this size are held on to for the next call (a larger one is let go after it). */
const VIEW_KEPT_BYTES = 64 * 1024;

/** Make {@link viewOfBuffer} the plain view of `bytes` (not a copy). */
function viewBuffer(bytes: Uint8Array): void {
  viewOfBuffer = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  viewedIsBuffer = bytes instanceof (BufferClass as typeof Uint8Array);
  viewedBuffer = bytes.byteLength <= VIEW_KEPT_BYTES ? bytes : null;
}

function get(depth: number): Got {
  if (at >= stop) return BAIL;
  const t = src[at++]!;
  if (t < 0x80) return t;
  if (t < 0x90) return getMap(t - 0x80, depth);
  if (t < 0xa0) return getArray(t - 0x90, depth);
  if (t < 0xc0) return t - 0xa0 <= CACHED_VALUE_BYTES ? getCached(t - 0xa0) : getString(t - 0xa0);
  if (t >= 0xe0) return t - 0x100;
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return at + 1 > stop ? BAIL : getBin(src[at++]!);
    case 0xc5:
      return at + 2 > stop ? BAIL : getBin(u16());
    case 0xc6:
      return at + 4 > stop ? BAIL : getBin(u32());
    case 0xca: {
      if (at + 4 > stop) return BAIL;
      if (LITTLE_ENDIAN) {
        f32b[3] = src[at]!;
        f32b[2] = src[at + 1]!;
        f32b[1] = src[at + 2]!;
        f32b[0] = src[at + 3]!;
      } else {
        f32b.set(src.subarray(at, at + 4));
      }
      at += 4;
      return f32[0];
    }
    case 0xcb: {
      if (at + 8 > stop) return BAIL;
      const s = src;
      if (LITTLE_ENDIAN) {
        f64b[7] = s[at]!;
        f64b[6] = s[at + 1]!;
        f64b[5] = s[at + 2]!;
        f64b[4] = s[at + 3]!;
        f64b[3] = s[at + 4]!;
        f64b[2] = s[at + 5]!;
        f64b[1] = s[at + 6]!;
        f64b[0] = s[at + 7]!;
      } else {
        f64b.set(s.subarray(at, at + 8));
      }
      at += 8;
      return f64[0];
    }
    case 0xcc:
      return at + 1 > stop ? BAIL : src[at++]!;
    case 0xcd:
      return at + 2 > stop ? BAIL : u16();
    case 0xce:
      return at + 4 > stop ? BAIL : u32();
    case 0xcf: {
      if (at + 8 > stop) return BAIL;
      const hi = u32();
      return hi * 0x100000000 + u32();
    }
    case 0xd0:
      return at + 1 > stop ? BAIL : (src[at++]! << 24) >> 24;
    case 0xd1:
      return at + 2 > stop ? BAIL : (u16() << 16) >> 16;
    case 0xd2:
      return at + 4 > stop ? BAIL : u32() | 0;
    case 0xd3: {
      if (at + 8 > stop) return BAIL;
      const hi = u32() | 0;
      return hi * 0x100000000 + u32();
    }
    case 0xd9:
      return at + 1 > stop ? BAIL : getString(src[at++]!);
    case 0xda:
      return at + 2 > stop ? BAIL : getString(u16());
    case 0xdb:
      return at + 4 > stop ? BAIL : getString(u32());
    case 0xdc:
      return at + 2 > stop ? BAIL : getArray(u16(), depth);
    case 0xdd:
      return at + 4 > stop ? BAIL : getArray(u32(), depth);
    case 0xde:
      return at + 2 > stop ? BAIL : getMap(u16(), depth);
    case 0xdf:
      return at + 4 > stop ? BAIL : getMap(u32(), depth);
    default:
      return BAIL; // 0xc1 and extension types
  }
}

function u16(): number {
  const v = (src[at]! << 8) | src[at + 1]!;
  at += 2;
  return v;
}

function u32(): number {
  const s = src;
  const v = ((s[at]! << 24) >>> 0) + ((s[at + 1]! << 16) | (s[at + 2]! << 8) | s[at + 3]!);
  at += 4;
  return v;
}

function getBin(n: number): Got {
  if (at + n > stop) return BAIL;
  // A copy, as the general decoder makes (its type follows the input's: Buffer in, Buffer out). A
  // Buffer is copied into one directly: a plain copy wrapped afterwards asked for the copy's
  // `.buffer`, which moves a small array's bytes out of the engine's heap (`util/bytes.ts`). A view
  // of owned input when the value is at least half of it (see fastDecode).
  const b = viewBins && n * MAX_VIEW_HOLD >= src.length ? src.subarray(at, at + n) : srcWasBuffer ? Buffer.copyBytesFrom(src, at, n) : src.slice(at, at + n);
  at += n;
  return b;
}

function getArray(n: number, depth: number): Got {
  // Every member takes at least one byte: a count beyond the input is malformed.
  if (n > stop - at || depth >= MAX_DEPTH) return BAIL;
  const a = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const v = get(depth + 1);
    if (v === BAIL) return BAIL;
    a[i] = v;
  }
  return a;
}

/** A map's `n` key-value pairs from `at` on (its header read), as an object. */
function getMap(n: number, depth: number): Got {
  if (n * 2 > stop - at || depth >= MAX_DEPTH) return BAIL;
  const m: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = getKey();
    if (k === BAIL) return BAIL;
    const v = get(depth + 1);
    if (v === BAIL) return BAIL;
    m[k as string] = v;
  }
  return m;
}

/**
 * Recently decoded short ASCII strings, by a hash of their bytes: map keys and small values (a
 * message type, an endpoint name) repeat on every message of a connection. An entry is checked
 * against the bytes before use, so a collision only costs a miss.
 */
const stringCache: Array<string | undefined> = new Array(4096);
/** Keys up to this many bytes go through the cache. */
const CACHED_KEY_BYTES = 24;
/** Values up to this many bytes do (ids, longer and unique, would only churn it). */
const CACHED_VALUE_BYTES = 10;

function getKey(): Got {
  if (at >= stop) return BAIL;
  const t = src[at]!;
  let n: number;
  if (t >= 0xa0 && t < 0xc0) {
    n = t - 0xa0;
    at++;
  } else if (t === 0xd9 && at + 1 < stop) {
    n = src[at + 1]!;
    at += 2;
  } else {
    return BAIL; // not a string key (or a long one): the general decoder knows what to do
  }
  const key = n <= CACHED_KEY_BYTES ? getCached(n) : getString(n);
  // A `__proto__` key is left to the general decoder. Its bytes are looked at first: comparing
  // every key with the constant made the optimized code leave at keys that are not atoms
  // (exits of kind BadStringType), and compile the decoder again.
  return n === 9 && src[at - 9] === 0x5f && key === "__proto__" ? BAIL : key;
}

/** A short string through {@link stringCache}. */
function getCached(n: number): Got {
  if (at + n > stop) return BAIL;
  const s = src;
  const a = at;
  let h: number;
  if (n <= CACHED_VALUE_BYTES) {
    // A short string by every byte: values such as names ("node-12", "node-13", ...) differ in a
    // byte or two, and a few sampled bytes put whole families of them in one slot, each a miss.
    h = n;
    for (let i = a; i < a + n; i++) h = (h * 31 + s[i]!) | 0;
    h = (h ^ (h >>> 12)) & 0xfff;
  } else h = ((n << 7) ^ (s[a]! << 4) ^ s[a + n - 1]! ^ (s[a + (n >> 1)]! << 2)) & 0xfff;
  const hit = stringCache[h];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === s[a + i]) i++;
    if (i === n) {
      at = a + n;
      return hit;
    }
  }
  const str = getString(n);
  // Only ASCII strings are cached: then one byte is one UTF-16 unit, as the check above assumes.
  if (typeof str === "string" && str.length === n) stringCache[h] = str;
  return str;
}

function getString(n: number): Got {
  if (at + n > stop) return BAIL;
  const s = src;
  const end = at + n;
  if (n <= 10 || (n <= 64 && !NATIVE_LATIN1)) {
    // Short ASCII strings are built in JS (a native call costs more); anything else goes
    // through the UTF-8 decoder.
    let str = "";
    for (let i = at; i < end; i++) {
      const c = s[i]!;
      if (c >= 0x80) return getUtf8(n);
      str += String.fromCharCode(c);
    }
    at = end;
    return str;
  }
  for (let i = at; i < end; i++) if (s[i]! >= 0x80) return getUtf8(n);
  // ASCII: each byte is its own UTF-16 code unit, so Latin-1 decoding is exact (and fast).
  const str = NATIVE_LATIN1 ? latin1Range(s, at, end) : utf8Strict.decode(s.subarray(at, end));
  at = end;
  return str;
}

function getUtf8(n: number): Got {
  // Strict: text that is not valid UTF-8 is left to the general decoder, whose repair is the rule.
  const str = utf8Strict.decode(src.subarray(at, at + n));
  at += n;
  return str;
}

/** `text` (at most 31 bytes of UTF-8) as a MessagePack fixstr: a header byte, then its bytes. */
export function fixstr(text: string): Uint8Array {
  const bytes = utf8.encode(text);
  if (bytes.length > 31) throw new RangeError(`a fixstr holds at most 31 bytes, not ${bytes.length}`);
  return Uint8Array.of(0xa0 | bytes.length, ...bytes);
}

/**
 * One value of every kind this decoder reads (each type byte's case, short and long strings, keys
 * of both sizes, a string that is not ASCII), as a MessagePack array: what {@link warmUp} reads.
 */
export function everyKind(): Uint8Array {
  const bytesOf = (text: string): number[] => [...utf8.encode(text)];
  const str8 = (text: string): number[] => {
    const bytes = bytesOf(text);
    return [0xd9, bytes.length, ...bytes];
  };
  const values: number[][] = [
    [0x01], [0xff], [0xc0], [0xc2], [0xc3],
    [0xc4, 0x01, 0x00], [0xc5, 0x00, 0x01, 0x00], [0xc6, 0x00, 0x00, 0x00, 0x01, 0x00],
    [0xca, 0x3f, 0x80, 0x00, 0x00], [0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
    [0xcc, 0xff], [0xcd, 0xff, 0xff], [0xce, 0xff, 0xff, 0xff, 0xff], [0xcf, 0, 0, 0, 1, 0, 0, 0, 0],
    [0xd0, 0x80], [0xd1, 0x80, 0x00], [0xd2, 0x80, 0, 0, 0], [0xd3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
    [...fixstr("a")], [...fixstr("hello world")], [...fixstr("\u00e9")],
    str8("hello world"), [0xda, 0x00, 0x01, ...bytesOf("b")], [0xdb, 0, 0, 0, 1, ...bytesOf("c")],
    [0x91, 0x01], [0xdc, 0x00, 0x01, 0x01], [0xdd, 0, 0, 0, 1, 0x01],
    [0x81, ...fixstr("k"), 0x01], [0xde, 0x00, 0x01, ...str8("a key longer than the cached ones"), 0x01],
    [0xdf, 0, 0, 0, 1, ...fixstr("long"), 0x01],
  ];
  return Uint8Array.of(0xdc, 0x00, values.length, ...values.flat());
}

/**
 * Read {@link everyKind} when the module loads. JSC's optimizing compilers compile {@link get}, a
 * switch over the type byte, once it ran some thousand times, and compile each case that never ran
 * by then as an exit from the compiled code (kind InadequateCoverage). A node's first traffic (its
 * joins) carries few kinds; the first floats and bins of its first broadcast then left the code
 * again and again, until the code was thrown away and compiled anew, during the broadcast (32 to
 * 55 ms of compiler time a process in the 200-peer bench, after 9 to 28 ms during the joins).
 * Once every case ran, each has a profile, and the decoder is compiled once, during the node's
 * first traffic (49 to 65 ms). Measured with JSC's compile reports: docs/performance-log.md, Dec 3, s34.
 */
function warmUp(): void {
  const sample = everyKind();
  fastDecode(sample, 0, sample.length);
  if (BufferClass !== Uint8Array) fastDecode((BufferClass as typeof Buffer).from(sample), 0, sample.length);
  fastDecodeNext(sample, 0, sample.length);
}
warmUp();
