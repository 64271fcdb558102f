/**
 * The baseline every RPC number is compared with: a bare length-prefixed echo over Bun sockets
 * (`Bun.listen` / `Bun.connect`, 4-byte big-endian header, opaque payload). It does the least a
 * request/response exchange over this framing must do: the client gets a promise per request
 * (resolved in order, as the echoes come back) and the server finds each complete frame and writes
 * it back. No MessagePack, no ids, no dispatch, no timers.
 *
 * Two write strategies:
 * - per message (the default): one `socket.write` per request frame and per echoed frame, as a
 *   straightforward client and server do;
 * - coalesced: the client gathers the frames written in one tick into one `socket.write` (as the
 *   package's transport does) and the server echoes every complete frame of a read in one write.
 *   This is the ceiling of the socket path; no RPC layer can beat it.
 *
 * Both ends keep whatever the socket did not take until `drain`, so nothing is lost under
 * backpressure.
 *
 * @module
 */
import type { Socket, TCPSocketListener } from "bun";

const HEADER = 4;

/** Writes bytes to a socket, keeping what it does not take until `drain`. */
class Writer {
  private backlog: Uint8Array[] = [];
  constructor(private readonly socket: Socket<unknown>) {}

  /** `owned` = the bytes stay valid after this call (no copy needed when queued). */
  write(bytes: Uint8Array, owned: boolean): void {
    if (this.backlog.length > 0) {
      this.backlog.push(owned ? bytes : bytes.slice());
      return;
    }
    const n = this.socket.write(bytes);
    if (n < bytes.length) {
      const rest = bytes.subarray(Math.max(n, 0));
      this.backlog.push(owned ? rest : rest.slice());
    }
  }

  drain(): void {
    while (this.backlog.length > 0) {
      const head = this.backlog[0]!;
      const n = this.socket.write(head);
      if (n < head.length) {
        this.backlog[0] = head.subarray(Math.max(n, 0));
        return;
      }
      this.backlog.shift();
    }
  }
}

function readLength(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

/** Frame an opaque payload: header + payload in one buffer. */
export function frame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, HEADER);
  return out;
}

/**
 * Calls `onFrame(bytes, start, end)` for every complete frame of a byte stream; a frame split
 * across reads is carried over (copied) to the next read.
 */
class Deframer {
  private carry: Uint8Array | null = null;
  constructor(private readonly onFrame: (bytes: Uint8Array, start: number, end: number, owned: boolean) => void) {}

  push(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.carry) {
      buf = new Uint8Array(this.carry.length + chunk.length);
      buf.set(this.carry, 0);
      buf.set(chunk, this.carry.length);
      this.carry = null;
    }
    const owned = buf !== chunk;
    let off = 0;
    while (buf.length - off >= HEADER) {
      const end = off + HEADER + readLength(buf, off);
      if (end > buf.length) break;
      this.onFrame(buf, off, end, owned);
      off = end;
    }
    if (off < buf.length) this.carry = buf.slice(off);
  }
}

/** Options of the raw echo client and server. */
export interface RawEchoOptions {
  /** Gather the writes of one tick (client) or one read (server) into one `socket.write`. */
  coalesce?: boolean;
}

/** One server connection: frames in, the same frames out. */
class EchoConn {
  readonly writer: Writer;
  private readonly deframer: Deframer;
  /** Coalesced mode: the span of complete frames found in the current read. */
  private spanBytes: Uint8Array | null = null;
  private spanStart = 0;
  private spanEnd = 0;
  private spanOwned = false;

  constructor(socket: Socket<unknown>, coalesce: boolean) {
    this.writer = new Writer(socket);
    this.deframer = new Deframer(
      coalesce
        ? (bytes, start, end, owned) => {
            if (this.spanBytes !== bytes) {
              this.spanBytes = bytes;
              this.spanStart = start;
              this.spanOwned = owned;
            }
            this.spanEnd = end;
          }
        : (bytes, start, end, owned) => this.writer.write(bytes.subarray(start, end), owned),
    );
  }

  push(chunk: Uint8Array): void {
    this.deframer.push(chunk);
    const span = this.spanBytes;
    if (span) {
      this.spanBytes = null;
      this.writer.write(span.subarray(this.spanStart, this.spanEnd), this.spanOwned);
    }
  }
}

/** A raw echo server: every complete frame is written back unchanged. */
export class RawEchoServer {
  private server: TCPSocketListener<EchoConn> | null = null;
  private readonly coalesce: boolean;

  constructor(options: RawEchoOptions = {}) {
    this.coalesce = options.coalesce ?? false;
  }

  /** Bind to 127.0.0.1 on an ephemeral port; returns the port. */
  start(): number {
    const coalesce = this.coalesce;
    this.server = Bun.listen<EchoConn>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(socket) {
          socket.data = new EchoConn(socket as Socket<unknown>, coalesce);
        },
        data(socket, chunk) {
          socket.data.push(chunk);
        },
        drain(socket) {
          socket.data.writer.drain();
        },
      },
    });
    return this.server.port;
  }

  stop(): void {
    this.server?.stop(true);
    this.server = null;
  }
}

/** A raw client: one promise per request, echoes matched in order. */
export class RawEchoClient {
  private socket: Socket<unknown> | null = null;
  private writer: Writer | null = null;
  /** Resolvers of requests in flight, oldest first (an array with a head index). */
  private waiting: Array<() => void> = [];
  private head = 0;
  private readonly deframer = new Deframer(() => this.onEcho());
  private readonly coalesce: boolean;
  /** Coalesced mode: frames gathered this tick. */
  private out = new Uint8Array(64 * 1024);
  private outLen = 0;
  private flushScheduled = false;
  private readonly flushTask = () => this.flush();

  constructor(
    private readonly frameBytes: Uint8Array,
    options: RawEchoOptions = {},
  ) {
    this.coalesce = options.coalesce ?? false;
  }

  /** Connect to an echo server on 127.0.0.1. */
  async connect(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      Bun.connect<unknown>({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (socket) => {
            this.socket = socket;
            this.writer = new Writer(socket);
            resolve();
          },
          data: (_socket, chunk) => this.deframer.push(chunk),
          drain: () => this.writer?.drain(),
          connectError: (_socket, error) => reject(error),
        },
      }).catch(reject);
    });
  }

  /** Send one request frame; resolves when its echo is back. */
  call(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      if (!this.coalesce) {
        this.writer!.write(this.frameBytes, true);
        return;
      }
      const f = this.frameBytes;
      if (this.outLen + f.length > this.out.length) this.flush();
      this.out.set(f, this.outLen);
      this.outLen += f.length;
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(this.flushTask);
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.outLen === 0) return;
    this.writer!.write(this.out.subarray(0, this.outLen), false);
    this.outLen = 0;
  }

  close(): void {
    this.socket?.terminate();
    this.socket = null;
  }

  private onEcho(): void {
    const resolve = this.waiting[this.head++];
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    resolve?.();
  }
}
