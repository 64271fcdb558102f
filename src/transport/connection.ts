/**
 * One framed connection on a {@link SocketLike}: a zero-copy {@link FrameDecoder} on the read side
 * and a pooled, batching outbox with a backpressure queue on the write side.
 *
 * Writes made in the same tick are gathered (header and payload together) into one pooled buffer
 * and handed to the socket in one `write` at the end of the tick; the buffer goes back to the
 * process's free list then, so a connection holds one only while it has something to write. A socket may take only part of a
 * buffer and keep nothing of the rest (Bun's does), so whatever it did not take waits in a queue
 * that is flushed on `drain`: no byte is lost under backpressure. A connection whose last frame
 * did not fit a small outbox starts its next tick in a large one (each batch encoded once).
 *
 * Longer than 400 lines: one class is the socket's handler for both directions, and the write side
 * (outboxes, the scratch buffer of large frames, the backlog) shares its state with the reads'.
 *
 * @module
 */
import { DEFAULT_MAX_FRAME, FrameDecoder, HEADER_SIZE, writeHeader, frameOf, type FrameSink } from "../wire/frame.ts";
import { FrameTooLargeError } from "../errors.ts";
import { encode } from "../wire/codec.ts";
import { NO_ROOM, fastEncodeInto } from "../wire/fast-codec.ts";
import { createLogger } from "../log.ts";
import type { SocketHandler, SocketLike } from "./socket.ts";
import { monotonicMs } from "../util/time.ts";

const log = createLogger("transport");

/** What a connection tells its owner; `S` is the owner's per-connection state. */
export interface ConnectionEvents<S> {
  /**
   * A whole frame; decode it before returning: the bytes are reused afterwards, unless `owned`
   * (the frame lies in a read the transport handed over for good, see `SocketHandler.handleData`:
   * what is decoded may then keep views of it).
   */
  onFrame(conn: Connection<S>, bytes: Uint8Array, start: number, end: number, owned: boolean): void;
  /**
   * A header announced more than the limit. Without `peek` the decoder has stopped. With it,
   * `head` holds the payload's first bytes: return `true` to skip that frame and read on.
   */
  onOversize(conn: Connection<S>, size: number, head?: Uint8Array): boolean | void;
  /** The peer sent FIN (only with half-open sockets). */
  onEnd?(conn: Connection<S>): void;
  /** The socket closed, for whatever reason. Called once. */
  onClose(conn: Connection<S>, error?: Error): void;
  /** Everything that waited for a slow reader was taken by the socket ({@link Connection.queuedBytes} is 0). */
  onDrain?(conn: Connection<S>): void;
  /**
   * The input buffered for partial frames ({@link Connection.bufferedInput}) changed by `delta`
   * bytes (negative when it shrank, and when the connection closed). For a listener's global budget.
   */
  onBuffered?(conn: Connection<S>, delta: number): void;
}

/**
 * The outbox a connection takes for the first frames of a tick: enough for a call, its answer or a
 * SWIM message with its piggybacked updates. Frames that do not fit move it to a large one.
 */
export const SMALL_OUTBOX = 4 * 1024;
/** The largest outbox: frames gathered past it are written first; a frame over it gets a buffer of its own. */
export const LARGE_OUTBOX = 64 * 1024;

/**
 * Free outboxes, shared by every connection of the process, small and large apart. A connection
 * holds one only between its first write of a tick and the end of that tick (the flush): an open
 * connection with nothing to write holds none, so that a node's memory does not grow with the
 * connections it keeps open. The lists are bounded: what they keep is a fixed cost of the process
 * (at most 32 small and 2 large buffers, 256 KiB), whatever the number of connections.
 */
const freeSmall: Buffer[] = [];
const freeLarge: Buffer[] = [];
const FREE_SMALL_MAX = 32;
const FREE_LARGE_MAX = 2;

function takeOutbox(size: number): Buffer {
  return (size === SMALL_OUTBOX ? freeSmall.pop() : freeLarge.pop()) ?? Buffer.allocUnsafe(size);
}

function giveOutbox(buf: Buffer): void {
  const free = buf.length === SMALL_OUTBOX ? freeSmall : freeLarge;
  if (free.length < (buf.length === SMALL_OUTBOX ? FREE_SMALL_MAX : FREE_LARGE_MAX)) free.push(buf);
}

/**
 * Where a frame that did not fit the outbox is encoded (header first), shared by the process: it
 * grows by doubling to the size of the frame, up to {@link MAX_SCRATCH}; a frame past that is left
 * to the general codec. Only its first size ({@link SCRATCH_KEPT}) is kept between frames (a fixed
 * cost of the process, like the free outboxes): a larger one is dropped once its frame is placed.
 */
let scratch: Buffer = Buffer.alloc(0);
/** The largest scratch buffer: a batch's budget (1 MiB of items) and room for its envelope. */
export const MAX_SCRATCH = (1 << 20) + 64 * 1024;
/** The scratch buffer kept between frames, at most. */
const SCRATCH_KEPT = 2 * LARGE_OUTBOX;

/** Bytes the process's scratch buffer holds now (for tests of what it keeps). */
export function scratchBytes(): number {
  return scratch.length;
}

/** Encode `message` into {@link scratch} after a header gap, header written; its size, or a negative result of {@link fastEncodeInto}. */
function encodeToScratch(message: unknown): number {
  if (scratch.length === 0) scratch = Buffer.allocUnsafe(2 * LARGE_OUTBOX);
  for (;;) {
    const end = fastEncodeInto(message, scratch, HEADER_SIZE, scratch.length);
    if (end >= 0) {
      writeHeader(scratch, 0, end - HEADER_SIZE);
      return end;
    }
    if (end !== NO_ROOM || scratch.length >= MAX_SCRATCH) return end;
    scratch = Buffer.allocUnsafe(Math.min(scratch.length * 2, MAX_SCRATCH));
  }
}

/** A connection quiet this long lets go of its read buffer (it stays open; see {@link Connection.releaseIdleBuffers}). */
export const IDLE_BUFFERS_MS = 1000;

/** @internal Free outboxes kept by the process (for tests and the memory bench). */
export function freeOutboxes(): { small: number; large: number } {
  return { small: freeSmall.length, large: freeLarge.length };
}

/**
 * Connections with frames gathered this tick, flushed together at its end by one microtask (rather
 * than a closure per connection, which an idle connection would keep alive).
 */
let dirty: Array<Connection<unknown>> = [];

function flushDirty(): void {
  const batch = dirty;
  dirty = [];
  for (const conn of batch) conn.flush();
}

/**
 * A framed connection, owned by a listener (server side) or a pool (client side), which keeps its
 * per-connection state `S` in {@link state}. It is the handler of its socket's events.
 */
export class Connection<S> implements FrameSink, SocketHandler {
  /** `host:port` of the other end, for messages and errors (made when asked: mostly never). */
  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort ?? "?"}`;
  }
  /** Last time (ms, `monotonicMs()`) bytes arrived; used by idle/read timeouts. */
  lastRead = monotonicMs();
  /** Last time bytes were written or a frame was queued. */
  lastWrite = monotonicMs();
  /**
   * When (ms, `monotonicMs()`) the first bytes of the frame now being received arrived; 0 while no
   * frame is partial. A frame deadline counts from here, so a peer that trickles a byte now and then
   * cannot keep a frame open forever.
   */
  frameStartedAt = 0;
  /**
   * The largest payload this connection sends: 4 MiB, the default limit of Python and Bun peers
   * alike, or this side's own frame limit when that was raised (a deployment that raises it raises it
   * on every node). A peer refuses a frame over its limit and closes the connection, so sending one
   * would only lose the connection: {@link send} throws a {@link FrameTooLargeError} instead, and
   * sends nothing.
   */
  readonly maxOutFrame: number;
  /** Frames received so far (tells a frame that completed and a new one that began in one read). */
  private framesIn = 0;
  /** The read being pushed to the decoder when its transport handed it over for good, else null. */
  private ownedChunk: Uint8Array | null = null;

  private readonly decoder: FrameDecoder;
  private outbox: Buffer | null = null;
  private outLen = 0;
  /**
   * The last frame sent did not fit a small outbox: the next tick starts in a large one, so that a
   * connection that carries large frames (batches of conversation items) encodes each once, not
   * first into a small outbox up to its end and then again. Cleared by a frame that fits a small one.
   */
  private wide = false;
  private flushScheduled = false;
  /** Bytes the socket has not taken yet, oldest first; non-null means "wait for drain" (made when needed). */
  private backlog: Uint8Array[] | null = null;
  /** Total length of `backlog`. */
  private backlogBytes = 0;
  private endAfterFlush = false;
  private closedFlag = false;

  constructor(
    readonly socket: SocketLike,
    maxFrame: number,
    private readonly events: ConnectionEvents<S>,
    /** The owner's state of this connection. */
    readonly state: S,
    /** Bytes of an oversize frame's payload shown to `onOversize` (0: decide on the header alone). */
    peek = 0,
  ) {
    this.maxOutFrame = Math.max(DEFAULT_MAX_FRAME, maxFrame);
    this.decoder = new FrameDecoder(maxFrame, this, { peek });
  }

  /** True once the socket has closed. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** True while half a frame is buffered (the peer stopped mid-frame). */
  get midFrame(): boolean {
    return this.decoder.partial;
  }

  /** Bytes of memory held for partial frames (what arrived of them, not what their headers announce). */
  get bufferedInput(): number {
    return this.decoder.reserved;
  }

  /** True while written bytes wait for the socket to drain. */
  get backpressured(): boolean {
    return this.backlog !== null;
  }

  /** Size of the write buffer this connection holds now: 0 but between a write and the end of its tick. */
  get writeBufferBytes(): number {
    return this.outbox?.length ?? 0;
  }

  /**
   * Let go of the read buffer kept for frames split across reads, when none is partial (the idle
   * sweeps of the pool and the listener call this, so that an idle connection holds no buffer).
   */
  releaseIdleBuffers(): void {
    const held = this.decoder.reserved;
    if (held > 0 && this.decoder.releaseIdle()) this.events.onBuffered?.(this, -held);
  }

  /** Bytes written but not yet taken by the socket (waiting for the peer to read). */
  get queuedBytes(): number {
    return this.backlogBytes;
  }

  /** {@link queuedBytes} and the frames gathered this tick, not yet handed to the socket. */
  get unsentBytes(): number {
    return this.backlogBytes + this.outLen;
  }

  // FrameSink
  onFrame(bytes: Uint8Array, start: number, end: number): void {
    this.framesIn++;
    // A frame in the read being pushed, when the transport handed that read over for good; not one
    // gathered across reads (the decoder's buffer is used again).
    this.events.onFrame(this, bytes, start, end, bytes === this.ownedChunk);
  }

  onOversize(size: number, head?: Uint8Array): boolean | void {
    return this.events.onOversize(this, size, head);
  }

  /** Feed a socket read (call from the socket's `data` handler); `owned`: see `SocketHandler.handleData`. */
  handleData(chunk: Uint8Array, owned = false): void {
    const now = monotonicMs();
    this.lastRead = now;
    const frames = this.framesIn;
    const held = this.decoder.reserved;
    this.ownedChunk = owned ? chunk : null;
    this.decoder.push(chunk);
    this.ownedChunk = null;
    if (!this.decoder.partial) this.frameStartedAt = 0;
    else if (this.frameStartedAt === 0 || this.framesIn !== frames) this.frameStartedAt = now;
    if (this.events.onBuffered !== undefined) {
      const delta = this.decoder.reserved - held;
      if (delta !== 0) this.events.onBuffered(this, delta);
    }
  }

  /**
   * Encode `message` and queue it as one frame. Throws an `EncodeError` (a value MessagePack cannot
   * carry) or a `FrameTooLargeError` (over {@link maxOutFrame}), and queues nothing then.
   *
   * @returns the bytes queued (the frame with its header; 0 once the connection is closed), for
   * the owner's traffic counters.
   */
  send(message: unknown): number {
    if (!this.closedFlag) {
      // Plain messages are encoded straight into the outbox, after a gap for the header. One that
      // does not fit there is encoded once more, into the process's scratch buffer (big enough for
      // any batch), and placed from there: not again into a large outbox and then by the general
      // codec, which cost a frame over the large outbox three encodings (most of a 200-item batch's).
      const box = (this.outbox ??= takeOutbox(this.wide ? LARGE_OUTBOX : SMALL_OUTBOX));
      const at = this.outLen;
      const end = fastEncodeInto(message, box, at + HEADER_SIZE, box.length);
      if (end >= 0) {
        writeHeader(box, at, end - at - HEADER_SIZE);
        this.outLen = end;
        if (end - at <= SMALL_OUTBOX) this.wide = false;
        this.scheduleFlush();
        return end - at;
      }
      if (end === NO_ROOM) {
        this.wide = true;
        const size = encodeToScratch(message);
        if (size >= 0) {
          const placed = this.place(scratch, size);
          // Placing copied what the socket did not take: a scratch grown past its first size
          // goes (a member list of 1,000 would otherwise pin 512 KiB for the life of the process).
          if (scratch.length > SCRATCH_KEPT) scratch = Buffer.alloc(0);
          return placed;
        }
      }
    }
    return this.sendPayload(encode(message));
  }

  /**
   * Queue `frame[0, size)` (a frame, header written): copied into the outbox when it fits a large
   * one, else handed to the socket after what is gathered (a copy is kept only of what the socket
   * does not take at once).
   *
   * @throws {FrameTooLargeError} over {@link maxOutFrame}.
   */
  private place(frame: Uint8Array, size: number): number {
    if (size - HEADER_SIZE > this.maxOutFrame) throw new FrameTooLargeError(size - HEADER_SIZE, this.maxOutFrame);
    if (size > LARGE_OUTBOX) {
      this.flush();
      this.lastWrite = monotonicMs();
      this.writeOrQueue(frame.subarray(0, size), false);
      return size;
    }
    this.room(size).set(frame.subarray(0, size), this.outLen);
    this.outLen += size;
    this.scheduleFlush();
    return size;
  }

  /** The outbox with room for `size` more bytes (at most {@link LARGE_OUTBOX}): grown, or flushed and taken anew. */
  private room(size: number): Buffer {
    const box = this.outbox;
    if (box !== null && this.outLen + size > box.length) {
      if (box.length === SMALL_OUTBOX && this.outLen + size <= LARGE_OUTBOX) return this.grow();
      this.flush();
    }
    return (this.outbox ??= takeOutbox(size > SMALL_OUTBOX ? LARGE_OUTBOX : SMALL_OUTBOX));
  }

  /**
   * Queue one frame with an already encoded payload; returns the bytes queued (0 once closed).
   *
   * @throws {FrameTooLargeError} over {@link maxOutFrame}.
   */
  sendPayload(payload: Uint8Array): number {
    if (this.closedFlag) return 0;
    if (payload.length > this.maxOutFrame) throw new FrameTooLargeError(payload.length, this.maxOutFrame);
    const size = payload.length + HEADER_SIZE;
    if (size > LARGE_OUTBOX) {
      // A large frame gets a buffer of its own (header and payload still in one write), after
      // whatever is already gathered, so that order is kept.
      this.flush();
      this.lastWrite = monotonicMs();
      this.writeOrQueue(frameOf(payload), true);
      return size;
    }
    const box = this.room(size);
    const at = this.outLen;
    writeHeader(box, at, payload.length);
    box.set(payload, at + HEADER_SIZE);
    this.outLen = at + size;
    this.scheduleFlush();
    return size;
  }

  /** Move what is gathered in the small outbox to a large one (a tick that writes more than a call). */
  private grow(): Buffer {
    const small = this.outbox!;
    const large = takeOutbox(LARGE_OUTBOX);
    small.copy(large, 0, 0, this.outLen);
    giveOutbox(small);
    this.outbox = large;
    return large;
  }

  private scheduleFlush(): void {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      if (dirty.length === 0) queueMicrotask(flushDirty);
      dirty.push(this as Connection<unknown>);
    }
  }

  /**
   * Hand everything gathered so far to the socket now, and give the outbox back: whatever the
   * socket does not take is copied to the backlog, so an idle connection holds no write buffer.
   */
  flush(): void {
    this.flushScheduled = false;
    const box = this.outbox;
    if (box === null) return;
    const len = this.outLen;
    this.outbox = null;
    this.outLen = 0;
    if (len > 0 && !this.closedFlag) {
      this.lastWrite = monotonicMs(); // once per batch of frames, not per frame
      this.writeOrQueue(box.subarray(0, len), false);
    }
    giveOutbox(box);
  }

  private writeOrQueue(bytes: Uint8Array, owned: boolean): void {
    if (this.backlog !== null) {
      this.backlog.push(owned ? bytes : Buffer.from(bytes));
      this.backlogBytes += bytes.length;
      return;
    }
    const written = this.socket.write(bytes);
    if (written < bytes.length) {
      const rest = bytes.subarray(Math.max(written, 0));
      this.backlog = [owned ? rest : Buffer.from(rest)];
      this.backlogBytes += rest.length;
    } else if (this.endAfterFlush) {
      this.socket.end();
    }
  }

  /** Resume writing after backpressure (call from the socket's `drain` handler). */
  handleDrain(): void {
    const backlog = this.backlog;
    while (backlog !== null && backlog.length > 0) {
      const head = backlog[0]!;
      const written = this.socket.write(head);
      if (written < head.length) {
        backlog[0] = head.subarray(Math.max(written, 0));
        this.backlogBytes -= Math.max(written, 0);
        return;
      }
      backlog.shift();
      this.backlogBytes -= head.length;
    }
    this.backlog = null;
    this.lastWrite = monotonicMs();
    if (this.endAfterFlush) this.socket.end();
    else this.events.onDrain?.(this);
  }

  /** Half-close after everything queued is written (the peer can still answer). */
  end(): void {
    if (this.closedFlag) return;
    this.endAfterFlush = true;
    this.flush();
    if (this.backlog === null) this.socket.end();
  }

  /** Close at once, dropping anything not yet written. */
  destroy(): void {
    if (this.closedFlag) return;
    this.socket.terminate();
  }

  /** Call from the socket's `end` handler. */
  handleEnd(): void {
    this.events.onEnd?.(this);
  }

  /** Call from the socket's `error` handler: the socket is torn down (`close` follows). */
  handleError(error: Error): void {
    log.debug(`socket error on ${this.remote}`, error);
    this.destroy();
  }

  /** Call from the socket's `close` handler. Releases pooled buffers; notifies the owner once. */
  handleClose(error?: Error): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.backlog = null;
    this.backlogBytes = 0;
    const held = this.decoder.reserved;
    this.decoder.reset();
    this.frameStartedAt = 0;
    if (held !== 0) this.events.onBuffered?.(this, -held);
    if (this.outbox) {
      giveOutbox(this.outbox);
      this.outbox = null;
      this.outLen = 0;
    }
    this.events.onClose(this, error);
  }
}
