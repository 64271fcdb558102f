/**
 * Test helpers for network tests: nodes on 127.0.0.1 port 0 that are stopped after each test,
 * framing helpers, and raw sockets that speak frames (or bytes) directly to a server.
 *
 * @module
 */
import { expect } from "bun:test";
import { connect, type Socket as NetSocket } from "node:net";
import { Node, type NodeOptions } from "../../src/node.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { FrameDecoder, HEADER_SIZE } from "../../src/wire/frame.ts";

/** Loopback only, as the project's test rules require. */
export const LOOPBACK = "127.0.0.1";

const running = new Set<{ stop(): unknown }>();

/** Start a node bound to 127.0.0.1 on an ephemeral port; {@link stopAll} stops it. */
export async function startNode(options: NodeOptions = {}): Promise<Node> {
  const node = new Node({ bind: LOOPBACK, advertise: LOOPBACK, port: 0, ...options });
  await node.start();
  running.add(node);
  return node;
}

/** Register anything with a `stop()` (servers, raw sockets) for {@link stopAll}. */
export function track<T extends { stop(): unknown }>(thing: T): T {
  running.add(thing);
  return thing;
}

/** Stop every node, server and raw socket started through these helpers (call from afterEach). */
export async function stopAll(): Promise<void> {
  const all = [...running];
  running.clear();
  await Promise.all(all.map(async (t) => t.stop()));
}

/** Prefix `payload` with its 4-byte big-endian length. */
export function frameBytes(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

/** Encode `message` and frame it. */
export function frame(message: unknown): Uint8Array {
  return frameBytes(encode(message));
}

/** A 4-byte header announcing `size` payload bytes. */
export function header(size: number): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  new DataView(out.buffer).setUint32(0, size);
  return out;
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Reject with a clear message when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Poll `check` every 10 ms until it is true, or fail after `ms`. */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met after ${ms} ms: ${what}`);
    await sleep(10);
  }
}

/**
 * A plain TCP client socket (node:net, so it can pause reading) that collects the frames the
 * server sends back, decoded.
 */
export class RawSocket {
  /** Decoded frames received so far, oldest first. */
  readonly frames: unknown[] = [];
  /** Every byte received, in order. */
  received = 0;
  /** True once the server closed (or reset) the connection. */
  closed = false;
  /** True once the server half-closed or closed its side. */
  ended = false;
  /** Error reported by the socket, if any (a reset shows up here). */
  error: Error | null = null;

  private readonly decoder: FrameDecoder;
  private waiters: Array<() => void> = [];
  private readonly chunks: Uint8Array[] = [];
  private keepBytes = false;
  /** Index of the frame {@link nextFrame} returns next. */
  private cursor = 0;

  private constructor(
    readonly socket: NetSocket,
    maxFrame: number,
  ) {
    this.decoder = new FrameDecoder(maxFrame, {
      onFrame: (bytes, start, end) => {
        this.frames.push(decode(bytes, start, end));
      },
      onOversize: (size) => {
        this.error = new Error(`oversize frame from server: ${size}`);
      },
    });
    socket.on("data", (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.keepBytes) this.chunks.push(Uint8Array.prototype.slice.call(chunk));
      else this.decoder.push(chunk);
      this.wake();
    });
    socket.on("end", () => {
      this.ended = true;
      this.wake();
    });
    socket.on("error", (error) => {
      this.error = error;
      this.wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.ended = true;
      this.wake();
    });
  }

  /** Connect to `127.0.0.1:port`. */
  static open(port: number, options: { maxFrame?: number; rawBytes?: boolean } = {}): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: LOOPBACK, port });
      const raw = new RawSocket(socket, options.maxFrame ?? 64 * 1024 * 1024);
      raw.keepBytes = options.rawBytes ?? false;
      socket.once("connect", () => resolve(track(raw)));
      socket.once("error", reject);
    });
  }

  /** Write bytes; resolves when the kernel took them. */
  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(bytes, (error) => (error ? reject(error) : resolve())));
  }

  /** Encode, frame and write one message. */
  send(message: unknown): Promise<void> {
    return this.write(frame(message));
  }

  /** Half-close (send FIN); the server may still answer. */
  end(): void {
    this.socket.end();
  }

  /** Stop reading from the socket (the server then meets backpressure). */
  pause(): void {
    this.socket.pause();
  }

  /** Start reading again. */
  resume(): void {
    this.socket.resume();
  }

  /** Every raw byte received so far (only with `rawBytes: true`). */
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }

  /** The next frame not yet returned by this method (waits for it). */
  async nextFrame(ms = 5000): Promise<unknown> {
    const index = this.cursor;
    await this.until(() => this.frames.length > index, ms, `frame #${index + 1}`);
    this.cursor = index + 1;
    return this.frames[index];
  }

  /** Wait until `count` frames have arrived in all; returns every frame so far. */
  async waitFrames(count: number, ms = 5000): Promise<unknown[]> {
    await this.until(() => this.frames.length >= count, ms, `${count} frames`);
    return this.frames;
  }

  /** Wait until the server closed the connection. */
  waitClosed(ms = 5000): Promise<void> {
    return this.until(() => this.closed, ms, "connection close");
  }

  /** Wait until `check()` holds (re-checked on every socket event). */
  until(check: () => boolean, ms: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        const test = () => {
          if (check()) resolve();
          else this.waiters.push(test);
        };
        this.waiters.push(test);
      }),
      ms,
      what,
    );
  }

  /** Destroy the socket. */
  stop(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}

/** A loopback port nobody listens on: bind port 0, read it, release it. */
export function freePort(): number {
  const server = Bun.listen({ hostname: LOOPBACK, port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** The error `promise` rejects with, checked to be a `type` (fails the test when it resolves). */
export async function rejection<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error(`expected a ${type.name}, but the call succeeded`);
}

/** Block the event loop for `ms` milliseconds (a long synchronous task, as a stopped process is to its timers). */
export function blockLoop(ms: number): void {
  const t = performance.now();
  while (performance.now() - t < ms) {
    // the event loop is blocked
  }
}
