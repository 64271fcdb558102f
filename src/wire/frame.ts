/**
 * Length-prefixed framing: a 4-byte unsigned big-endian payload length, then the payload.
 *
 * {@link FrameDecoder} turns socket reads into frames without copying: a frame that lies wholly in
 * one read is handed over as a view of that read; only a frame split across reads is gathered in a
 * reusable buffer. Frames are delivered synchronously, so a consumer must decode (or copy) a frame
 * before it returns.
 *
 * @module
 */

/** Bytes in a frame header. */
export const HEADER_SIZE = 4;

/** Default frame limit in both directions: 4 MiB, as in the Python implementation. */
export const DEFAULT_MAX_FRAME = 4 * 1024 * 1024;

/** Receives what a {@link FrameDecoder} finds. */
export interface FrameSink {
  /** A whole payload is `bytes[start, end)`; valid only during this call. */
  onFrame(bytes: Uint8Array, start: number, end: number): void;
  /**
   * A header announced `size` > the limit. By default the decoder then stops and ignores
   * everything after. A decoder made with `peek > 0` first gathers the payload's first `peek`
   * bytes and passes them as `head`: returning `true` skips the rest of that frame unread and
   * goes on with the next one.
   */
  onOversize(size: number, head?: Uint8Array): boolean | void;
}

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions {
  /**
   * Bytes of an oversize frame's payload to show {@link FrameSink.onOversize} before it decides
   * (0, the default: decide on the header alone, reading nothing of the payload).
   */
  peek?: number;
}

const GATHER_SIZE = 64 * 1024;
/**
 * A gather buffer grown past this for one large frame is dropped afterwards, not kept: a
 * connection that once carried a large frame (a push-pull of a big swarm's member list) would
 * otherwise hold it for as long as it stays open.
 */
const KEEP_LIMIT = GATHER_SIZE;

function readLength(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) >>> 0) + (bytes[at + 1]! << 16) + (bytes[at + 2]! << 8) + bytes[at + 3]!;
}

/**
 * Write a frame header announcing `length` payload bytes at `out[at, at + 4)`. Byte stores rather
 * than a DataView: this runs once per frame written, on views of pooled buffers.
 */
export function writeHeader(out: Uint8Array, at: number, length: number): void {
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
}

/** One frame in a buffer of its own: the header, then a copy of `payload`. */
export function frameOf(payload: Uint8Array): Uint8Array {
  const frame = Buffer.allocUnsafe(HEADER_SIZE + payload.length); // every byte is written below
  writeHeader(frame, 0, payload.length);
  frame.set(payload, HEADER_SIZE);
  return frame;
}

/** Incremental, zero-copy decoder of length-prefixed frames. */
export class FrameDecoder {
  private gather: Uint8Array | null = null;
  /** Bytes of the current partial frame held in `gather` (header included). */
  private have = 0;
  /** Total size (header + payload) of the partial frame, or -1 while its header is incomplete. */
  private need = -1;
  private failed = false;
  private readonly peek: number;
  /** Payload bytes of a skipped oversize frame still to discard. */
  private skipLeft = 0;
  /** An oversize frame whose first bytes are being gathered: its size and what came so far. */
  private peeking: { size: number; head: Uint8Array; have: number } | null = null;

  constructor(
    private readonly limit: number,
    private readonly sink: FrameSink,
    options: FrameDecoderOptions = {},
  ) {
    this.peek = Math.max(0, options.peek ?? 0);
  }

  /** True while part of a frame is buffered or being skipped (a half-sent frame). */
  get partial(): boolean {
    return this.have > 0 || this.skipLeft > 0 || this.peeking !== null;
  }

  /** Bytes of buffer held for partial frames (grows with what arrived, not with what a header announced). */
  get reserved(): number {
    return this.gather?.length ?? 0;
  }

  /** True once an oversize header stopped the decoder. */
  get stopped(): boolean {
    return this.failed;
  }

  /** Feed one read. */
  push(chunk: Uint8Array): void {
    if (this.failed) return;
    let off = 0;
    const n = chunk.length;
    if (this.skipLeft > 0) {
      off = this.skip(chunk, 0);
      if (off < 0) return;
    }
    if (this.peeking) {
      off = this.continuePeek(chunk, off);
      if (off < 0) return;
    }
    if (this.have > 0) {
      off = this.continuePartial(chunk, off);
      if (off < 0) return; // still partial, or stopped
    }
    while (n - off >= HEADER_SIZE) {
      const size = readLength(chunk, off);
      if (size > this.limit) {
        off = this.oversize(size, chunk, off + HEADER_SIZE);
        if (off < 0) return;
        continue;
      }
      const end = off + HEADER_SIZE + size;
      if (end > n) break;
      this.sink.onFrame(chunk, off + HEADER_SIZE, end);
      if (this.failed) return;
      off = end;
    }
    if (off < n) this.startPartial(chunk, off);
  }

  /**
   * Let go of the gather buffer when no frame is partial (an idle connection keeps none; the next
   * frame split across reads makes a new one). True when one was released.
   */
  releaseIdle(): boolean {
    if (this.gather === null || this.have > 0 || this.peeking !== null) return false;
    this.gather = null;
    return true;
  }

  /** Drop any buffered partial frame (used when the connection closes). */
  reset(): void {
    this.have = 0;
    this.need = -1;
    this.gather = null;
    this.skipLeft = 0;
    this.peeking = null;
  }

  private fail(size: number): void {
    this.failed = true;
    this.reset();
    this.sink.onOversize(size);
  }

  /**
   * An oversize header whose payload starts at `chunk[at]`: stop (no peek), or gather the first
   * `peek` bytes, let the sink decide, and skip the rest. Returns the offset to go on from, or -1
   * when this chunk is used up or the decoder stopped.
   */
  private oversize(size: number, chunk: Uint8Array, at: number): number {
    this.have = 0;
    this.need = -1;
    if (this.peek === 0) {
      this.fail(size);
      return -1;
    }
    this.peeking = { size, head: new Uint8Array(Math.min(this.peek, size)), have: 0 };
    return this.continuePeek(chunk, at);
  }

  private continuePeek(chunk: Uint8Array, off: number): number {
    const p = this.peeking!;
    const take = Math.min(p.head.length - p.have, chunk.length - off);
    p.head.set(chunk.subarray(off, off + take), p.have);
    p.have += take;
    off += take;
    if (p.have < p.head.length) return -1;
    this.peeking = null;
    if (this.sink.onOversize(p.size, p.head) !== true) {
      this.failed = true;
      this.reset();
      return -1;
    }
    this.skipLeft = p.size - p.head.length;
    return this.skip(chunk, off);
  }

  /** Discard skipped payload bytes; -1 when the chunk is used up. */
  private skip(chunk: Uint8Array, off: number): number {
    const d = Math.min(this.skipLeft, chunk.length - off);
    this.skipLeft -= d;
    off += d;
    return this.skipLeft > 0 ? -1 : off;
  }

  /**
   * Room for `more` bytes after the `have` already gathered. The buffer grows geometrically as
   * bytes arrive and never past the frame's size: a header alone does not reserve the megabytes
   * it announces (a peer could otherwise pin memory on many connections by sending headers only).
   */
  private room(more: number): Uint8Array {
    const want = this.have + more;
    const g = this.gather;
    if (g && g.length >= want) return g;
    let capacity = Math.max(GATHER_SIZE, (g?.length ?? 0) * 2);
    if (this.need > 0) capacity = Math.min(capacity, this.need);
    capacity = Math.max(capacity, want);
    // A plain Uint8Array, as a socket read is handed over: the decoder then meets one kind of view,
    // and a `bin` of a gathered frame decodes as a plain copy (a Buffer's was copied as a Buffer,
    // and a member update of a push-pull answer was copied again to be read: swim-wire.ts). Over
    // memory of its own, not zeroed (every byte is written before it is read): a zeroed array of
    // 70 KB cost twice as much (5.4 µs against 2.6, s52).
    const memory = Buffer.allocUnsafeSlow(capacity);
    const next = new Uint8Array(memory.buffer, memory.byteOffset, capacity);
    if (g && this.have > 0) next.set(g.subarray(0, this.have));
    this.gather = next;
    return next;
  }

  private startPartial(chunk: Uint8Array, off: number): void {
    const rest = chunk.length - off;
    this.have = 0;
    this.need = rest >= HEADER_SIZE ? HEADER_SIZE + readLength(chunk, off) : -1;
    this.room(rest).set(chunk.subarray(off), 0);
    this.have = rest;
  }

  /** Returns the offset in `chunk` after the completed frame, or -1 when nothing more to do. */
  private continuePartial(chunk: Uint8Array, start: number): number {
    let off = start;
    if (this.need < 0) {
      const take = Math.min(HEADER_SIZE - this.have, chunk.length - off);
      this.gather!.set(chunk.subarray(off, off + take), this.have);
      this.have += take;
      off += take;
      if (this.have < HEADER_SIZE) return -1;
      const size = readLength(this.gather!, 0);
      if (size > this.limit) return this.oversize(size, chunk, off);
      this.need = HEADER_SIZE + size;
    }
    const take = Math.min(this.need - this.have, chunk.length - off);
    const g = this.room(take);
    g.set(chunk.subarray(off, off + take), this.have);
    this.have += take;
    off += take;
    if (this.have < this.need) return -1;
    const end = this.need;
    this.have = 0;
    this.need = -1;
    this.sink.onFrame(g, HEADER_SIZE, end);
    if (g.length > KEEP_LIMIT && this.gather === g) this.gather = null;
    return this.failed ? -1 : off;
  }
}
