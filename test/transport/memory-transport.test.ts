/**
 * The in-memory network keeps the stream semantics the transport layer relies on: order, chunking,
 * half-close, reset, backpressure, refused and unanswered connects.
 */
import { describe, expect, test } from "bun:test";
import { MemoryNetwork, type MemoryNetworkOptions } from "../../src/transport/memory-transport.ts";
import type { SocketHandler, SocketLike, Transport } from "../../src/transport/socket.ts";
import { eventually } from "../helpers/net.ts";

/** Records what happens on one socket. */
class Recorder implements SocketHandler {
  readonly chunks: Uint8Array[] = [];
  readonly log: string[] = [];
  closeError: Error | undefined;
  socket!: SocketLike;

  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }
  handleData(chunk: Uint8Array): void {
    this.chunks.push(chunk.slice());
    this.log.push("data");
  }
  handleDrain(): void {
    this.log.push("drain");
  }
  handleEnd(): void {
    this.log.push("end");
  }
  handleClose(error?: Error): void {
    this.closeError = error;
    this.log.push("close");
  }
  handleError(error: Error): void {
    this.log.push(`error ${error.message}`);
  }
}

/** A listener at 10.0.0.1:`port` and one connection to it from 10.0.0.2. */
async function pair(options: MemoryNetworkOptions = {}, halfOpen = { client: false, server: true }) {
  const net = new MemoryNetwork(options);
  const server = new Recorder();
  const client = new Recorder();
  const handle = net.transport("10.0.0.1").listen({ hostname: "10.0.0.1", port: 7000, allowHalfOpen: halfOpen.server }, (socket) => {
    server.socket = socket;
    return server;
  });
  await net.transport("10.0.0.2").connect({ hostname: "10.0.0.1", port: 7000, allowHalfOpen: halfOpen.client }, (socket) => {
    client.socket = socket;
    return client;
  });
  return { net, server, client, handle };
}

const text = (s: string) => new TextEncoder().encode(s);

function connectError(transport: Transport, hostname: string, port: number): Promise<unknown> {
  return transport.connect({ hostname, port }, () => new Recorder()).then(
    () => null,
    (error: unknown) => error,
  );
}

describe("memory transport - addresses", () => {
  test("memory - connecting where nobody listens is refused with ECONNREFUSED", async () => {
    const net = new MemoryNetwork();
    const error = await connectError(net.transport(), "10.0.0.9", 1234);
    expect(error).toBeInstanceOf(Error);
    expect((error as { code?: string }).code).toBe("ECONNREFUSED");
  });

  test("memory - a taken address is EADDRINUSE; port 0 picks a free port; hosts have ports of their own", () => {
    const net = new MemoryNetwork();
    const t = net.transport("10.0.0.1");
    const open = () => new Recorder();
    t.listen({ hostname: "10.0.0.1", port: 9999 }, open);
    let error: unknown = null;
    try {
      t.listen({ hostname: "10.0.0.1", port: 9999 }, open);
    } catch (e) {
      error = e;
    }
    expect((error as { code?: string }).code).toBe("EADDRINUSE");
    expect(net.transport("10.0.0.2").listen({ hostname: "10.0.0.2", port: 9999 }, open).port).toBe(9999);
    const picked = t.listen({ hostname: "10.0.0.1", port: 0 }, open);
    expect(picked.port).toBeGreaterThan(0);
    expect(net.listening.sort()).toEqual(["10.0.0.1:9999", "10.0.0.2:9999", `10.0.0.1:${picked.port}`].sort());
  });

  test("memory - a listener on 0.0.0.0 takes connections to any address on its port", async () => {
    const net = new MemoryNetwork();
    let accepted = 0;
    net.transport("10.0.0.1").listen({ hostname: "0.0.0.0", port: 80 }, () => {
      accepted++;
      return new Recorder();
    });
    await net.transport("10.0.0.2").connect({ hostname: "10.0.0.1", port: 80 }, () => new Recorder());
    expect(accepted).toBe(1);
  });

  test("memory - each end sees the other's address; the same address gives the same transport", async () => {
    const { net, server, client } = await pair();
    expect(client.socket.remoteAddress).toBe("10.0.0.1");
    expect(client.socket.remotePort).toBe(7000);
    expect(server.socket.remoteAddress).toBe("10.0.0.2");
    expect(server.socket.remotePort).toBeGreaterThan(0);
    expect(net.transport("10.0.0.2")).toBe(net.transport("10.0.0.2"));
    expect(net.openSockets).toBe(2);
  });

  test("memory - drop() makes connects hang (a SYN nobody answers); after restore() they go through", async () => {
    const net = new MemoryNetwork();
    net.transport("10.0.0.1").listen({ hostname: "10.0.0.1", port: 1 }, () => new Recorder());
    net.drop("10.0.0.1");
    let settled = false;
    void net
      .transport("10.0.0.2")
      .connect({ hostname: "10.0.0.1", port: 1 }, () => new Recorder())
      .finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false);
    net.restore("10.0.0.1");
    await eventually(() => settled, 5000, "the held connect completed");
    expect(await connectError(net.transport("10.0.0.2"), "10.0.0.1", 1)).toBeNull();
  });
});

describe("memory transport - streams", () => {
  test("memory - bytes arrive in order, on a later turn, in chunks of at most maxRead", async () => {
    const { client, server } = await pair({ maxRead: 3 });
    client.socket.write(text("hello "));
    client.socket.write(text("world"));
    expect(server.bytes).toBe(0); // never inside the write
    await eventually(() => server.bytes === 11, 5000, "all bytes");
    expect(server.text).toBe("hello world");
    expect(server.chunks.every((c) => c.length <= 3)).toBe(true);
  });

  test("memory - the writer may reuse its buffer once write returns", async () => {
    const { client, server } = await pair();
    const buf = text("abc");
    client.socket.write(buf);
    buf.set(text("xyz"));
    await eventually(() => server.bytes === 3, 5000, "bytes");
    expect(server.text).toBe("abc");
  });

  test("memory - end() arrives after the data before it; a socket that is not half-open ends in turn; both close", async () => {
    const { client, server } = await pair({}, { client: true, server: false });
    client.socket.write(text("last words"));
    client.socket.end();
    expect(client.socket.write(text("too late"))).toBeLessThanOrEqual(0);
    await eventually(() => client.log.includes("close") && server.log.includes("close"), 5000, "both closed");
    expect(server.text).toBe("last words");
    expect(server.log).toEqual(["data", "end", "close"]);
    expect(client.log).toEqual(["end", "close"]);
    expect(client.closeError).toBeUndefined();
  });

  test("memory - a half-open server still answers after the client's end", async () => {
    const { client, server } = await pair({}, { client: true, server: true });
    client.socket.write(text("question"));
    client.socket.end();
    await eventually(() => server.log.includes("end"), 5000, "server saw the end");
    server.socket.write(text("answer"));
    server.socket.end();
    await eventually(() => client.log.includes("close"), 5000, "client closed");
    expect(client.text).toBe("answer");
    expect(client.log).toEqual(["data", "end", "close"]);
  });

  test("memory - terminate() closes both ends at once; the other end hears a reset and loses unread bytes", async () => {
    const { client, server, net } = await pair();
    server.socket.pause();
    client.socket.write(text("never read"));
    client.socket.terminate();
    await eventually(() => server.log.includes("close") && client.log.includes("close"), 5000, "both closed");
    expect(server.bytes).toBe(0);
    expect((server.closeError as { code?: string } | undefined)?.code).toBe("ECONNRESET");
    expect(client.closeError).toBeUndefined();
    expect(net.openSockets).toBe(0);
  });

  test("memory - a paused reader fills the buffer: writes come up short, and drain follows once it reads", async () => {
    const { client, server, net } = await pair({ bufferSize: 10 });
    server.socket.pause();
    expect(client.socket.write(text("0123456"))).toBe(7);
    expect(client.socket.write(text("789abc"))).toBe(3); // only 10 bytes fit
    expect(client.socket.write(text("d"))).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(server.bytes).toBe(0);
    expect(client.log).toEqual([]);
    server.socket.resume();
    await eventually(() => client.log.includes("drain"), 5000, "drain");
    expect(server.text).toBe("0123456789");
    expect(net.stats.shortWrites).toBe(2);
    expect(net.stats.drains).toBe(1);
  });

  test("memory - maxWrite makes writes short without a slow reader", async () => {
    const { client, server } = await pair({ maxWrite: 4 });
    expect(client.socket.write(text("abcdefgh"))).toBe(4);
    await eventually(() => client.log.includes("drain"), 5000, "drain");
    expect(client.socket.write(text("efgh"))).toBe(4);
    await eventually(() => server.bytes === 8, 5000, "bytes");
    expect(server.text).toBe("abcdefgh");
  });

  test("memory - cut(host) resets every connection of that host; stop(true) closes a server's connections", async () => {
    const { net, client, server, handle } = await pair();
    expect(net.cut("10.0.0.3")).toBe(0);
    expect(net.cut("10.0.0.2")).toBe(1);
    await eventually(() => client.log.includes("close") && server.log.includes("close"), 5000, "both closed");

    const again = new Recorder();
    await net.transport("10.0.0.2").connect({ hostname: "10.0.0.1", port: 7000 }, () => again);
    handle.stop(true);
    await eventually(() => again.log.includes("close"), 5000, "closed by the server's stop");
    const error = await connectError(net.transport("10.0.0.2"), "10.0.0.1", 7000);
    expect((error as { code?: string }).code).toBe("ECONNREFUSED");
  });
});
