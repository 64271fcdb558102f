/**
 * What an open connection costs while it has nothing to do: no write buffer once its tick's frames
 * are written (a small one first, a large one only for a tick that writes more), a bounded free
 * list of buffers for the whole process; and the pool's cap on open connections, which closes the
 * least recently used idle one and never one with a call in flight.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { Pool, DEFAULT_MAX_CONNECTIONS } from "../../src/transport/pool.ts";
import { Connection, LARGE_OUTBOX, SMALL_OUTBOX, freeOutboxes, scratchBytes } from "../../src/transport/connection.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import type { SocketLike } from "../../src/transport/socket.ts";
import { ConfigError } from "../../src/errors.ts";
import { FrameDecoder } from "../../src/wire/frame.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { eventually } from "../helpers/net.ts";
import { WORLDS, cleanUp, poolIn, serve, type World } from "./fixtures.ts";

afterEach(cleanUp);

const memory = WORLDS.find((w) => w.name === "memory")!;

function world(options?: ConstructorParameters<typeof MemoryNetwork>[0]): World & { net: MemoryNetwork } {
  return memory.make(options) as World & { net: MemoryNetwork };
}

/** A socket that takes at most `room` bytes until {@link drain}; records what it took. */
class SlowSocket implements SocketLike {
  readonly taken: Uint8Array[] = [];
  constructor(public room: number) {}
  write(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, this.room);
    this.room -= n;
    // A copy (a Buffer's `slice` is a view): the connection reuses its buffers once write returns.
    if (n > 0) this.taken.push(new Uint8Array(bytes.subarray(0, n)));
    return n;
  }
  end(): void {}
  terminate(): void {}
  pause(): void {}
  resume(): void {}
  ref(): void {}
  unref(): void {}
  readonly remoteAddress = "10.0.0.9";
  readonly remotePort = 1;
}

/** A connection on `socket` whose owner ignores everything. */
function connectionOn(socket: SocketLike): Connection<null> {
  return new Connection(socket, 4 * 1024 * 1024, { onFrame() {}, onOversize() {}, onClose() {} }, null);
}

/** The messages in `chunks`, decoded from their frames. */
function framesOf(chunks: Uint8Array[]): unknown[] {
  const out: unknown[] = [];
  const decoder = new FrameDecoder(1 << 30, { onFrame: (bytes, start, end) => void out.push(decode(bytes, start, end)), onOversize: () => {} });
  for (const c of chunks) decoder.push(c);
  return out;
}

const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe("connection - write buffers", () => {
  test("a connection holds a small buffer only until its tick's frames are written", async () => {
    const socket = new SlowSocket(Infinity);
    const conn = connectionOn(socket);
    expect(conn.writeBufferBytes).toBe(0);
    conn.send({ id: "1", endpoint: "ping", args: [], kwargs: {} });
    conn.send({ id: "2", endpoint: "ping", args: [], kwargs: {} });
    expect(conn.writeBufferBytes).toBe(SMALL_OUTBOX);
    await tick();
    expect(conn.writeBufferBytes).toBe(0);
    // Both frames went out in one write, in order.
    expect(socket.taken.length).toBe(1);
    expect(framesOf(socket.taken).map((m) => (m as { id: string }).id)).toEqual(["1", "2"]);
  });

  test("a tick that writes more than the small buffer moves to a large one, keeps order, and gives it back", async () => {
    const socket = new SlowSocket(Infinity);
    const conn = connectionOn(socket);
    const text = "x".repeat(1000);
    for (let i = 0; i < 10; i++) conn.send({ i, text });
    expect(conn.writeBufferBytes).toBe(LARGE_OUTBOX);
    // An already encoded payload over the small buffer, and one over the large (its own buffer).
    conn.sendPayload(encode({ mid: "m".repeat(5000) }));
    conn.sendPayload(encode({ huge: "h".repeat(LARGE_OUTBOX) }));
    conn.send({ i: 10, text });
    await tick();
    expect(conn.writeBufferBytes).toBe(0);
    const frames = framesOf(socket.taken);
    expect(frames.length).toBe(13);
    expect(frames.slice(0, 10).map((m) => (m as { i: number }).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((frames[12] as { i: number }).i).toBe(10);
  });

  test("a frame over the large buffer is encoded once, after the frames gathered before it, and its bytes survive backpressure", async () => {
    const socket = new SlowSocket(1000);
    const conn = connectionOn(socket);
    conn.send({ i: 0, text: "a".repeat(3000) });
    // A message that counts how often encoding starts: every encoder reads its one property once.
    let reads = 0;
    const items = Array.from({ length: 400 }, (_, i) => ({ n: i, text: "b".repeat(300) }));
    const big = Object.defineProperty({}, "items", {
      enumerable: true,
      get: () => {
        reads++;
        return items;
      },
    });
    const queued = conn.send(big);
    // The try in the small outbox (which stops within its 4 KiB) and one whole encoding; it was
    // four before (small, large, a fresh large after a flush, then the general codec).
    expect(reads).toBe(2);
    expect(queued).toBeGreaterThan(LARGE_OUTBOX);
    // A second one reuses the scratch buffer: the first one's bytes were copied where they wait.
    conn.send({ i: 2, items: items.slice(0, 10) });
    conn.send({ i: 3 });
    await tick();
    for (let i = 0; i < 10_000 && conn.backpressured; i++) {
      socket.room = 4096;
      conn.handleDrain();
    }
    expect(conn.backpressured).toBe(false);
    const frames = framesOf(socket.taken) as Array<{ i?: number; items?: unknown[] }>;
    expect(frames.length).toBe(4);
    expect(frames[0]!.i).toBe(0);
    expect(frames[1]!.items).toEqual(items);
    expect(frames[2]!.i).toBe(2);
    expect(frames[3]!.i).toBe(3);
  });

  test("after a frame over the small buffer, the next one is encoded once, in a large buffer; a frame that fits a small one goes back to small", async () => {
    const socket = new SlowSocket(Infinity);
    const conn = connectionOn(socket);
    const items = Array.from({ length: 30 }, (_, i) => ({ n: i, text: "d".repeat(200) }));
    // Counts how often encoding starts: every encoder reads the one property once.
    let reads = 0;
    const counted = (i: number) =>
      Object.defineProperty({ i }, "items", {
        enumerable: true,
        get: () => {
          reads++;
          return items;
        },
      });
    conn.send(counted(0));
    expect(reads).toBe(2); // tried in the small buffer, then encoded whole
    await tick();
    reads = 0;
    conn.send(counted(1));
    expect(reads).toBe(1);
    expect(conn.writeBufferBytes).toBe(LARGE_OUTBOX);
    await tick();
    conn.send({ i: 2 });
    await tick();
    conn.send({ i: 3 });
    expect(conn.writeBufferBytes).toBe(SMALL_OUTBOX);
    await tick();
    const frames = framesOf(socket.taken) as Array<{ i: number; items?: unknown[] }>;
    expect(frames.map((f) => f.i)).toEqual([0, 1, 2, 3]);
    expect(frames[1]!.items).toEqual(items);
  });

  test("a frame over the scratch buffer's kept size grows it for itself only; its bytes and the next frame's are intact", async () => {
    const socket = new SlowSocket(1000);
    const conn = connectionOn(socket);
    const items = Array.from({ length: 1000 }, (_, i) => ({ n: i, text: "c".repeat(300) }));
    expect(conn.send({ i: 0, items })).toBeGreaterThan(2 * LARGE_OUTBOX);
    expect(scratchBytes()).toBeLessThanOrEqual(2 * LARGE_OUTBOX);
    conn.send({ i: 1, items: items.slice(0, 500) });
    await tick();
    for (let i = 0; i < 10_000 && conn.backpressured; i++) {
      socket.room = 8192;
      conn.handleDrain();
    }
    const frames = framesOf(socket.taken) as Array<{ i: number; items: unknown[] }>;
    expect(frames.map((f) => f.i)).toEqual([0, 1]);
    expect(frames[0]!.items).toEqual(items);
    expect(frames[1]!.items).toEqual(items.slice(0, 500));
  });

  test("under backpressure the unwritten bytes wait in the backlog, not in a held buffer; nothing is lost", async () => {
    const socket = new SlowSocket(10);
    const conn = connectionOn(socket);
    const sent = Array.from({ length: 50 }, (_, i) => ({ i, pad: "y".repeat(100) }));
    for (const m of sent) conn.send(m);
    await tick();
    expect(conn.writeBufferBytes).toBe(0);
    expect(conn.backpressured).toBe(true);
    expect(conn.queuedBytes).toBeGreaterThan(0);
    // Written in the meantime: queued behind the backlog, still no buffer held after the tick.
    conn.send({ i: 50, pad: "" });
    await tick();
    expect(conn.writeBufferBytes).toBe(0);
    for (let i = 0; i < 1000 && conn.backpressured; i++) {
      socket.room = 97;
      conn.handleDrain();
    }
    expect(conn.backpressured).toBe(false);
    expect(conn.queuedBytes).toBe(0);
    expect(framesOf(socket.taken).map((m) => (m as { i: number }).i)).toEqual([...sent.map((m) => m.i), 50]);
  });

  test("the process keeps a bounded number of free buffers, however many connections wrote at once", async () => {
    const conns = Array.from({ length: 200 }, () => connectionOn(new SlowSocket(Infinity)));
    for (const c of conns) c.send({ hello: "x".repeat(10) });
    for (const c of conns.slice(0, 50)) c.send({ big: "z".repeat(SMALL_OUTBOX) });
    await tick();
    for (const c of conns) expect(c.writeBufferBytes).toBe(0);
    const free = freeOutboxes();
    expect(free.small).toBeLessThanOrEqual(32);
    expect(free.large).toBeLessThanOrEqual(2);
    expect(free.small + free.large).toBeGreaterThan(0);
  });

  test("closing a connection mid-tick gives its buffer back; a closed connection sends nothing", async () => {
    const socket = new SlowSocket(Infinity);
    const conn = connectionOn(socket);
    conn.send({ a: 1 });
    conn.handleClose();
    expect(conn.writeBufferBytes).toBe(0);
    expect(conn.send({ a: 2 })).toBe(0);
    await tick();
    expect(socket.taken.length).toBe(0);
  });

  test("pooled connections over the memory network hold no write buffer between calls", async () => {
    const w = world();
    const listener = serve(w, { echo: (x: unknown) => x });
    const pool = poolIn(w);
    const client = new Client(w.host, listener.port, { pool });
    const big = "b".repeat(20_000);
    expect(await Promise.all([client.call("echo", 1), client.call("echo", big)])).toEqual([1, big]);
    const channel = pool.channel(w.host, listener.port);
    expect(channel.connected).toBe(true);
    expect(channel.connection!.writeBufferBytes).toBe(0);
  });
});

describe("connection - read buffers", () => {
  /** The frame of `message`, split in two reads. */
  function inTwo(message: unknown): [Uint8Array, Uint8Array] {
    const payload = encode(message);
    const bytes = new Uint8Array(4 + payload.length);
    new DataView(bytes.buffer).setUint32(0, payload.length);
    bytes.set(payload, 4);
    const half = bytes.length >> 1;
    return [bytes.slice(0, half), bytes.slice(half)];
  }

  test("a large frame's read buffer is dropped once the frame is read; a small one's when the connection is idle", () => {
    const seen: unknown[] = [];
    const conn = new Connection(new SlowSocket(Infinity), 4 * 1024 * 1024, { onFrame: (_c, b, s, e) => void seen.push(decode(b, s, e)), onOversize() {}, onClose() {} }, null);
    for (const chunk of inTwo({ big: "B".repeat(200_000) })) conn.handleData(chunk);
    expect(seen.length).toBe(1);
    expect(conn.bufferedInput).toBe(0);
    for (const chunk of inTwo({ small: "s".repeat(1000) })) conn.handleData(chunk);
    expect(seen.length).toBe(2);
    expect(conn.bufferedInput).toBeGreaterThan(0); // kept for the next split frame
    conn.releaseIdleBuffers();
    expect(conn.bufferedInput).toBe(0);
    // A partial frame is kept whatever: releasing only happens between frames.
    const [head, tail] = inTwo({ partial: true });
    conn.handleData(head);
    const held = conn.bufferedInput;
    conn.releaseIdleBuffers();
    expect(conn.bufferedInput).toBe(held);
    conn.handleData(tail);
    expect(seen[2]).toEqual({ partial: true });
  });

  test("a frame is owned only when it lies whole in a read its transport handed over for good", () => {
    const seen: Array<{ value: unknown; owned: boolean }> = [];
    const conn = new Connection(new SlowSocket(Infinity), 4 * 1024 * 1024, { onFrame: (_c, b, s, e, owned) => void seen.push({ value: decode(b, s, e), owned }), onOversize() {}, onClose() {} }, null);
    const [head, tail] = inTwo({ split: true });
    const whole = new Uint8Array(head.length + tail.length);
    whole.set(head);
    whole.set(tail, head.length);
    conn.handleData(whole, true);
    conn.handleData(whole); // not handed over: the transport may write into it again
    conn.handleData(head, true);
    conn.handleData(tail, true); // gathered across reads: the decoder's own buffer, used again
    expect(seen).toEqual([
      { value: { split: true }, owned: true },
      { value: { split: true }, owned: false },
      { value: { split: true }, owned: false },
    ]);
  });

  test("the listener's and the pool's sweeps let quiet connections go of their read buffers", async () => {
    const w = world({ maxRead: 700 });
    const listener = serve(w, { echo: (x: unknown) => x });
    const pool = poolIn(w);
    const client = new Client(w.host, listener.port, { pool });
    const text = "t".repeat(3000);
    expect(await client.call("echo", text)).toBe(text);
    const conn = pool.channel(w.host, listener.port).connection!;
    expect(conn.bufferedInput).toBeGreaterThan(0);
    expect(listener.bufferedInput).toBeGreaterThan(0);
    await eventually(() => conn.bufferedInput === 0 && listener.bufferedInput === 0, 10_000, "read buffers released");
    expect(pool.channel(w.host, listener.port).connected).toBe(true);
    expect(await client.call("echo", text)).toBe(text);
  }, 20_000);
});

describe("pool - the cap on open connections", () => {
  test("past maxConnections the least recently used idle connection is closed; calls to it reopen one", async () => {
    const w = world();
    const peers = [serve(w), serve(w), serve(w)];
    const pool = poolIn(w, { maxConnections: 2 });
    const clients = peers.map((l) => new Client(w.host, l.port, { pool }));
    await clients[0]!.ping();
    await Bun.sleep(5); // a later last use for peer 1
    await clients[1]!.ping();
    await Bun.sleep(5);
    await clients[0]!.ping(); // peer 0 is now the most recently used
    expect(pool.openConnections).toBe(2);
    await clients[2]!.ping();
    expect(pool.openConnections).toBe(2);
    expect(pool.evicted).toBe(1);
    const connected = peers.map((l) => pool.channel(w.host, l.port).connected);
    expect(connected).toEqual([true, false, true]);
    await eventually(() => peers[1]!.connectionCount === 0, 5000, "the evicted connection closed at the peer too");
    // The peer whose connection was closed is called again: a fresh connection, another one closed.
    expect(await clients[1]!.ping()).toBe("pong");
    expect(pool.openConnections).toBe(2);
    expect(pool.evicted).toBe(2);
  });

  test("a connection with a call in flight is never closed for the cap: the pool goes over it until calls finish", async () => {
    const w = world();
    let release: () => void = () => {};
    const slow = serve(w, { slow: () => new Promise<string>((resolve) => (release = () => resolve("done"))) });
    const other = serve(w);
    const third = serve(w);
    const pool = poolIn(w, { maxConnections: 1 });
    const slowCall = new Client(w.host, slow.port, { pool }).call("slow");
    await eventually(() => pool.openConnections === 1, 5000, "slow call's connection open");
    expect(await new Client(w.host, other.port, { pool }).ping()).toBe("pong");
    // The slow call's connection was not closed; the cap is exceeded while it runs.
    expect(pool.channel(w.host, slow.port).connected).toBe(true);
    expect(pool.openConnections).toBe(2);
    release();
    expect(await slowCall).toBe("done");
    // Calls finished: the next connection brings the pool back under its cap.
    expect(await new Client(w.host, third.port, { pool }).ping()).toBe("pong");
    expect(pool.openConnections).toBe(1);
    expect(pool.channel(w.host, third.port).connected).toBe(true);
  });

  test("a call whose connection is closed (evicted) between its setup and its send takes a fresh one", async () => {
    const w = world();
    const listener = serve(w, { echo: (x: unknown) => x });
    const pool = poolIn(w);
    const client = new Client(w.host, listener.port, { pool });
    expect(await client.ping()).toBe("pong");
    const channel = pool.channel(w.host, listener.port);
    const first = channel.connection!;
    // The slow path (the call awaits the open connection), and the eviction on the same turn.
    const call = channel.call("echo", ["raced"], {}, { timeoutMs: 5000, maxFrame: 1 << 22, toError: (r) => new Error(String(r.error?.message)) });
    channel.close();
    const res = await call;
    expect(res.ok).toBe(true);
    expect(res.result).toBe("raced");
    expect(channel.connection).not.toBe(first);
    expect(pool.openConnections).toBe(1);
  });

  test("many calls in flight while connections are evicted around them: every call is answered", async () => {
    const w = world();
    const peers = Array.from({ length: 6 }, () => serve(w, { echo: async (x: unknown) => (await Bun.sleep(1), x) }));
    const pool = poolIn(w, { maxConnections: 2 });
    const clients = peers.map((l) => new Client(w.host, l.port, { pool }));
    for (let round = 0; round < 3; round++) {
      const calls = clients.flatMap((c, i) => [c.call("echo", `${round}-${i}-a`), c.call("echo", `${round}-${i}-b`)]);
      expect(await Promise.all(calls)).toEqual(clients.flatMap((_, i) => [`${round}-${i}-a`, `${round}-${i}-b`]));
      // Between rounds, one at a time: each new connection evicts an idle one.
      // After a burst the pool may be over its cap (every connection had calls in flight); the
      // next connections opened, or the sweep, bring it back under.
      for (const c of clients) expect(await c.call("echo", "x")).toBe("x");
      await eventually(() => pool.openConnections <= 2, 5000, "back under the cap");
    }
    expect(pool.evicted).toBeGreaterThan(0);
  }, 20_000);

  test("maxConnections defaults to 256; 0 is no limit; bad values are ConfigErrors", () => {
    expect(DEFAULT_MAX_CONNECTIONS).toBe(256);
    expect(new Pool().maxConnections).toBe(256);
    expect(new Pool({ maxConnections: 0 }).maxConnections).toBe(Infinity);
    expect(new Pool({ maxConnections: 3 }).maxConnections).toBe(3);
    for (const maxConnections of [-1, 1.5, Number.NaN]) expect(() => new Pool({ maxConnections })).toThrow(ConfigError);
  });
});
