/**
 * Small helpers on byte arrays shared by the wire's users (the secure session's frames, a batch's
 * items as bytes, SWIM's updates and death filters, the records' signatures).
 *
 * @module
 */

/** `parts` back to back in one new array (`total`: their summed length, when the caller has it). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  let len = total;
  if (len === undefined) {
    len = 0;
    for (const p of parts) len += p.length;
  }
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Buffers of at most this many bytes are copied by {@link plainBytes}, larger ones viewed. A socket's
 * chunk, or a decipher's output, comes as a Buffer with its bytes in the engine's heap: viewing it
 * asks for its `.buffer`, about 200 ns for a chunk of any size on the machine of docs/performance-log.md
 * (measured in a socket's data handler), while copying 1 KB costs as much and 64 bytes (a small
 * call or its answer) a fifth of it.
 */
export const COPY_BYTES_MAX = 1024;

/**
 * `bytes` (a Buffer, or any Uint8Array) as a plain Uint8Array, the one shape the wire's readers are
 * compiled for: a copy when small ({@link COPY_BYTES_MAX}), else a view of the same memory.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteLength <= COPY_BYTES_MAX ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/*
 * A small typed array (a `bin` the decoder copied out of a frame, a fresh filter) keeps its bytes
 * inside the engine's heap until something asks for its `.buffer`; that first ask moves them out
 * to an ArrayBuffer of their own, about a microsecond and a half each on the 1,000-node bench's
 * machine (five times the copy that made the array). The helpers below read and write such arrays
 * without asking for it.
 */

type Latin1Slice = (this: Uint8Array, start: number, end: number) => string;
const latin1Slice = typeof Buffer === "function" ? (Buffer.prototype as unknown as { latin1Slice?: Latin1Slice }).latin1Slice : undefined;
/**
 * Whether the native Latin-1 slicer takes a plain Uint8Array too (Bun's does): then
 * {@link latin1Range} costs one native call and asks for no `.buffer`. The transport hands frames
 * over as plain views of its socket reads, so without it the decoder built every ASCII string of
 * 11 to 64 bytes (peer ids, nonces) one character at a time (`wire/fast-codec.ts`).
 */
export const NATIVE_LATIN1 = ((): boolean => {
  try {
    return latin1Slice !== undefined && latin1Slice.call(new Uint8Array([0x41, 0x42]), 0, 2) === "AB";
  } catch {
    return false;
  }
})();

/** `bytes[start, end)` as a string of as many Latin-1 characters (one per byte). */
export function latin1Range(bytes: Uint8Array, start: number, end: number): string {
  if (NATIVE_LATIN1) return latin1Slice!.call(bytes, start, end);
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("latin1");
}

/** The bytes of `bytes` as a string of as many Latin-1 characters (one per byte). */
export function latin1String(bytes: Uint8Array): string {
  return latin1Range(bytes, 0, bytes.length);
}

/** The big-endian unsigned 32-bit number at `bytes[at]` (its four bytes must be there). */
export function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Write `value` (an unsigned 32-bit number) big-endian at `bytes[at]`. */
export function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

/** True when `a` and `b` hold the same bytes. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The engine's `Uint8Array.prototype.toBase64`, where it has one (not in TypeScript's library yet). */
const nativeToBase64 = (Uint8Array.prototype as { toBase64?: (this: Uint8Array) => string }).toBase64;

/**
 * `bytes` in base64 (standard alphabet, padded), as a Buffer's `toString("base64")` writes it: with
 * the engine's own `toBase64` where it has one (a 64-byte signature in about half the time, and no
 * Buffer made for it), else through a Buffer view of the same memory.
 */
export function base64Of(bytes: Uint8Array): string {
  return nativeToBase64 !== undefined ? nativeToBase64.call(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}
