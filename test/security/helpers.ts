/**
 * Helpers of the closed-swarm tests: nodes on an in-memory network, clients on a transport of
 * their own, a transport whose dialed sockets let the test see and rewrite every write (to record,
 * replay and reorder what goes on the wire), and a raw connection that records what it receives.
 *
 * @module
 */
import { Node } from "../../src/node.ts";
import type { NodeOptions } from "../../src/node-options.ts";
import { Client } from "../../src/rpc/client.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { Pool } from "../../src/transport/pool.ts";
import type { SocketHandler, SocketLike, Transport } from "../../src/transport/socket.ts";

/** Things to stop after each test. */
const stoppers: Array<() => unknown> = [];

/** Stop every node and pool made here (call from afterEach). */
export async function cleanUp(): Promise<void> {
  await Promise.all(stoppers.splice(0).map((s) => s()));
}

/** Run `stop` after the test. */
export function stopAfter(stop: () => unknown): void {
  stoppers.push(stop);
}

/** A started node at `address:9999` on `net`, serving `echo` and counting its calls in `calls`. */
export async function nodeAt(net: MemoryNetwork, address: string, options: NodeOptions = {}): Promise<Node & { calls: number }> {
  const node = new Node({ name: address, bind: address, advertise: address, port: 9999, transport: net.transport(address), heartbeatInterval: null, ...options }) as Node & {
    calls: number;
  };
  node.calls = 0;
  node.endpoint("echo", (x: unknown) => {
    node.calls++;
    return x;
  });
  await node.start();
  stoppers.push(() => node.stop());
  return node;
}

/** A client of `host:9999` with a pool of its own on `transport` (closed after the test). */
export function clientOn(transport: Transport, host: string, timeout = 2): Client {
  const pool = new Pool({ transport });
  stoppers.push(() => pool.closeAll());
  return new Client(host, 9999, { pool, timeout });
}

/** What a {@link tapTransport} lets the test do with each write of a dialed socket: return the bytes to send instead. */
export type Tap = (bytes: Uint8Array, index: number, connection: number) => Uint8Array[];

/**
 * `inner`, but every write of a socket it dials goes through `tap` first (index: the socket's nth
 * write; connection: the nth socket dialed). `tap` returns what to send instead (nothing, the
 * same, something recorded earlier, ...).
 */
export function tapTransport(inner: Transport, tap: Tap): Transport {
  let connections = 0;
  return {
    listen: (options, open) => inner.listen(options, open),
    connect(options, open) {
      const connection = connections++;
      return inner.connect(options, (raw) => {
        let index = 0;
        const socket: SocketLike = {
          write(bytes) {
            for (const out of tap(Uint8Array.from(bytes), index++, connection)) raw.write(out);
            return bytes.length;
          },
          end: () => raw.end(),
          terminate: () => raw.terminate(),
          pause: () => raw.pause(),
          resume: () => raw.resume(),
          ref: () => raw.ref(),
          unref: () => raw.unref(),
          get remoteAddress() {
            return raw.remoteAddress;
          },
          get remotePort() {
            return raw.remotePort;
          },
        };
        return open(socket);
      });
    },
  };
}

/** A raw connection: writes what the test says, records every byte it gets and whether it closed. */
export class RawPeer implements SocketHandler {
  readonly received: number[] = [];
  closed = false;
  socket!: SocketLike;

  static async connect(transport: Transport, host: string, port = 9999): Promise<RawPeer> {
    const peer = new RawPeer();
    await transport.connect({ hostname: host, port }, (socket) => {
      peer.socket = socket;
      return peer;
    });
    return peer;
  }

  handleData(chunk: Uint8Array): void {
    this.received.push(...chunk);
  }
  handleDrain(): void {}
  handleEnd(): void {}
  handleClose(): void {
    this.closed = true;
  }
  handleError(): void {}
}

/** A fresh 32-byte key filled with `b`. */
export const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);

export { MemoryNetwork };
