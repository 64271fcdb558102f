/**
 * Fixtures for transport tests that run over any {@link Transport}: the two worlds the contract
 * suite runs in (real Bun sockets on 127.0.0.1, and an in-memory network), a raw peer that speaks
 * frames, a scripted server, and a listener serving a few endpoints.
 *
 * @module
 */
import { bunTransport } from "../../src/transport/bun-transport.ts";
import { MemoryNetwork, type MemoryNetworkOptions } from "../../src/transport/memory-transport.ts";
import { Listener } from "../../src/transport/listener.ts";
import { Pool } from "../../src/transport/pool.ts";
import type { ServerHandle, SocketHandler, SocketLike, Transport } from "../../src/transport/socket.ts";
import { EndpointRegistry, type Handler } from "../../src/rpc/endpoints.ts";
import { registerCoreBuiltins } from "../../src/rpc/builtins.ts";
import { FrameDecoder } from "../../src/wire/frame.ts";
import { decode } from "../../src/wire/codec.ts";
import { frame, LOOPBACK, within, eventually } from "../helpers/net.ts";

/** Where servers listen and clients dial, and with what. */
export interface World {
  /** The address servers bind and clients dial. */
  host: string;
  /** The transport servers listen with. */
  server: Transport;
  /** The transport clients dial with. */
  client: Transport;
  /** The in-memory network, in the memory world. */
  net: MemoryNetwork | null;
}

/** The worlds the contract suite runs in, each made fresh per test. */
export const WORLDS: Array<{ name: string; make(options?: MemoryNetworkOptions): World }> = [
  { name: "bun", make: () => ({ host: LOOPBACK, server: bunTransport, client: bunTransport, net: null }) },
  {
    name: "memory",
    make: (options) => {
      const net = new MemoryNetwork(options);
      return { host: "10.0.0.1", server: net.transport("10.0.0.1"), client: net.transport("10.0.0.2"), net };
    },
  },
];

/** Things to stop after each test. */
const cleanups: Array<() => void> = [];

/** Stop every listener, server, raw peer and pool made through these fixtures (call from afterEach). */
export function cleanUp(): void {
  for (const c of cleanups.splice(0).reverse()) c();
}

/** A pool on the world's client transport, closed by {@link cleanUp}. */
export function poolIn(world: World, options: ConstructorParameters<typeof Pool>[0] = {}): Pool {
  const pool = new Pool({ idleTimeout: 60, ...options, transport: world.client });
  cleanups.push(() => pool.closeAll());
  return pool;
}

/** A started listener on the world's server transport with the core built-ins and `endpoints`. */
export function serve(
  world: World,
  endpoints: Record<string, Handler> = {},
  limits: Partial<{ maxFrame: number; readTimeoutMs: number; idleTimeoutMs: number; port: number; maxConnections: number; maxBufferedInput: number }> = {},
): Listener {
  const registry = new EndpointRegistry();
  registerCoreBuiltins(registry, {
    info: () => ({ id: "x", name: "x", kind: "node", address: world.host, port: 0, swarm: null, team: null, role: null, description: null, capabilities: [] }),
    capabilityList: () => [],
  });
  for (const [name, handler] of Object.entries(endpoints)) registry.register(name, {}, handler);
  const listener = new Listener({
    hostname: world.host,
    port: limits.port ?? 0,
    maxFrame: limits.maxFrame ?? 4 * 1024 * 1024,
    readTimeoutMs: limits.readTimeoutMs ?? 30_000,
    idleTimeoutMs: limits.idleTimeoutMs ?? 120_000,
    maxConnections: limits.maxConnections,
    maxBufferedInput: limits.maxBufferedInput,
    transport: world.server,
    handler: (req, remote) => registry.dispatch(req, remote),
  });
  listener.start();
  cleanups.push(() => listener.stop());
  return listener;
}

/** A request as a raw peer writes it. */
export interface RawRequest {
  endpoint: string;
  id: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
}

/** Writes to a socket, keeping what it did not take until `drain` (as a Connection does). */
class Writer {
  private backlog: Uint8Array[] = [];
  constructor(private readonly socket: SocketLike) {}

  write(bytes: Uint8Array): void {
    if (this.backlog.length === 0) {
      const n = this.socket.write(bytes);
      if (n >= bytes.length) return;
      bytes = bytes.subarray(Math.max(n, 0));
    }
    this.backlog.push(bytes.slice());
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

/** A raw client over a transport: writes frames, collects the frames it receives, decoded. */
export class RawPeer implements SocketHandler {
  readonly frames: unknown[] = [];
  ended = false;
  closed = false;
  socket!: SocketLike;
  private writer!: Writer;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024, {
    onFrame: (bytes, start, end) => void this.frames.push(decode(bytes, start, end)),
    onOversize: () => {},
  });

  /** Connect to `host:port` with `transport` (half-open allowed: it can end and still read). */
  static async open(transport: Transport, host: string, port: number): Promise<RawPeer> {
    const peer = new RawPeer();
    await transport.connect({ hostname: host, port, allowHalfOpen: true }, (socket) => {
      peer.socket = socket;
      peer.writer = new Writer(socket);
      return peer;
    });
    cleanups.push(() => peer.socket.terminate());
    return peer;
  }

  /** Encode, frame and write one message. */
  send(message: unknown): void {
    this.writer.write(frame(message));
  }

  /** Write raw bytes. */
  write(bytes: Uint8Array): void {
    this.writer.write(bytes);
  }

  /** A request for `endpoint`. */
  request(endpoint: string, id: string, args: unknown[] = []): void {
    this.send({ endpoint, id, args, kwargs: {}, type: "request" });
  }

  /** Wait until `count` frames have arrived in all. */
  waitFrames(count: number, ms = 5000): Promise<void> {
    return eventually(() => this.frames.length >= count, ms, `${count} frames`);
  }

  handleData(chunk: Uint8Array): void {
    this.decoder.push(chunk);
  }
  handleDrain(): void {
    this.writer.drain();
  }
  handleEnd(): void {
    this.ended = true;
  }
  handleClose(): void {
    this.closed = true;
    this.ended = true;
  }
  handleError(): void {
    this.socket.terminate();
  }
}

/** One accepted connection of a {@link scriptedServer}. */
export interface ScriptedConn {
  /** 1 for the first connection accepted, 2 for the next... */
  readonly number: number;
  readonly socket: SocketLike;
  /** Write one message. */
  send(message: unknown): void;
  /** Answer `req` with `ok: true` and `result`. */
  answer(req: RawRequest, result: unknown): void;
}

/**
 * A server that decodes requests and lets `onRequest` decide what to do with each. With
 * `hello: "multiplex"` it answers the hello as a Bun node does; with `"refuse"` as a Python node
 * does (bad_request, then close).
 */
export function scriptedServer(
  world: World,
  hello: "multiplex" | "refuse",
  onRequest: (conn: ScriptedConn, req: RawRequest) => void,
): { port: number; connections: () => number; stop(): void } {
  let count = 0;
  const server: ServerHandle = world.server.listen({ hostname: world.host, port: 0, allowHalfOpen: true }, (socket) => {
    const writer = new Writer(socket);
    const conn: ScriptedConn = {
      number: ++count,
      socket,
      send: (message) => writer.write(frame(message)),
      answer: (req, result) => writer.write(frame({ id: req.id, ok: true, result, error: null, type: "response" })),
    };
    const decoder = new FrameDecoder(64 * 1024 * 1024, {
      onFrame(bytes, start, end) {
        const req = decode(bytes, start, end) as RawRequest;
        if (req.endpoint === "_synapse.hello") {
          if (hello === "multiplex") conn.answer(req, { multiplex: true });
          else {
            conn.send({ id: req.id, ok: false, result: null, error: { code: "bad_request", message: `Unregistered endpoint called: ${req.endpoint}` }, type: "response" });
            socket.end();
          }
          return;
        }
        onRequest(conn, req);
      },
      onOversize() {},
    });
    return {
      handleData: (chunk) => decoder.push(chunk),
      handleDrain: () => writer.drain(),
      handleEnd: () => {},
      handleClose: () => {},
      handleError: () => socket.terminate(),
    };
  });
  cleanups.push(() => server.stop(true));
  return { port: server.port, connections: () => count, stop: () => server.stop(true) };
}
