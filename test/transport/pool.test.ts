/**
 * The pool and its client connections over the in-memory network, where the network itself can be
 * made to misbehave: unanswered connects, resets mid-call, tiny writes and reads.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { Pool, defaultPool, sharedPool } from "../../src/transport/pool.ts";
import { bunTransport } from "../../src/transport/bun-transport.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { LATE_ANSWER_PEEK_MIN, lateAnswers } from "../../src/transport/client-connection.ts";
import { CallTimeoutError, ConfigError, ConnectionError } from "../../src/errors.ts";
import { rejection, eventually } from "../helpers/net.ts";
import { WORLDS, cleanUp, poolIn, scriptedServer, serve, type World } from "./fixtures.ts";

afterEach(cleanUp);

const memory = WORLDS.find((w) => w.name === "memory")!;

function world(options?: ConstructorParameters<typeof MemoryNetwork>[0]): World & { net: MemoryNetwork } {
  return memory.make(options) as World & { net: MemoryNetwork };
}

describe("pool over memory - failures", () => {
  test("pool - a peer that never answers the SYN: the call times out under its own name, not the hello's", async () => {
    const w = world();
    const listener = serve(w);
    w.net.drop(w.host);
    const client = new Client(w.host, listener.port, { pool: poolIn(w), timeout: 0.05 });
    const error = await rejection(client.call("work"), CallTimeoutError);
    expect(error.endpoint).toBe("work");
    expect(error.timeoutMs).toBe(50);
    w.net.restore(w.host);
    expect(await client.ping()).toBe("pong");
  });

  test("pool - the peer's host dies mid-call (its links reset): ConnectionError (sent); calls to it again work later", async () => {
    const w = world();
    let started = 0;
    const listener = serve(w, {
      hang: () => {
        started++;
        return new Promise(() => {});
      },
    });
    const client = new Client(w.host, listener.port, { pool: poolIn(w) });
    const calls = [client.call("hang"), client.call("hang")];
    await eventually(() => started === 2, 5000, "both calls running");
    expect(w.net.cut(w.host)).toBe(1);
    for (const call of calls) {
      const error = await rejection(call, ConnectionError);
      expect(error.sent).toBe(true);
      expect(error.endpoint).toBe("hang");
    }
    expect(await client.ping()).toBe("pong");
  });

  test("pool - calls with different timeouts on one connection each expire at their own deadline", async () => {
    const w = world();
    const listener = serve(w, { never: () => new Promise(() => {}), echo: (x: unknown) => x });
    const client = new Client(w.host, listener.port, { pool: poolIn(w), timeout: 0 });
    const short = client.request("never", { timeout: 0.02 });
    const long = client.request("never", { timeout: 0.2 });
    const none = client.request("never");
    const error = await rejection(short, CallTimeoutError);
    expect(error.timeoutMs).toBe(20);
    expect(await client.call("echo", 1)).toBe(1);
    expect((await rejection(long, CallTimeoutError)).timeoutMs).toBe(200);
    let settled = false;
    void none.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toBe(false); // no timeout: it waits for as long as the connection lives
    expect(listener.connectionCount).toBe(1);
  });

  test("pool - a large answer to a call that timed out is skipped unread; a small one is read and dropped; the connection goes on", async () => {
    const w = world();
    const listener = serve(w, {
      late: async (size: number) => {
        await new Promise((resolve) => setTimeout(resolve, 60));
        return "x".repeat(size);
      },
      echo: (x: unknown) => x,
    });
    const client = new Client(w.host, listener.port, { pool: poolIn(w) });
    expect(await client.call("echo", 1)).toBe(1);
    const before = { ...lateAnswers };
    await rejection(client.request("late", { args: [LATE_ANSWER_PEEK_MIN * 4], timeout: 0.01 }), CallTimeoutError);
    await rejection(client.request("late", { args: [10], timeout: 0.01 }), CallTimeoutError);
    await eventually(() => lateAnswers.frames > before.frames, 5000, "the large late answer skipped");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lateAnswers.frames - before.frames).toBe(1);
    expect(lateAnswers.bytes - before.bytes).toBeGreaterThan(LATE_ANSWER_PEEK_MIN * 4);
    // The same connection carries the next calls, large answers included.
    expect(await client.call("late", LATE_ANSWER_PEEK_MIN * 4)).toBe("x".repeat(LATE_ANSWER_PEEK_MIN * 4));
    expect(await client.call("echo", 2)).toBe(2);
    expect(listener.connectionCount).toBe(1);
  });

  test("pool - the going-away resend keeps the call's own deadline and error mapping", async () => {
    const w = world();
    const server = scriptedServer(w, "multiplex", (conn, req) => {
      if (conn.number === 1) {
        conn.send({ id: "", ok: false, result: null, error: { code: "going_away", message: "bye" }, type: "response" });
        conn.socket.end();
        return;
      }
      conn.send({ id: req.id, ok: false, result: null, error: { code: "bad_request", message: "no such thing" }, type: "response" });
    });
    const client = new Client(w.host, server.port, { pool: poolIn(w) });
    const error = await rejection(client.call("work"), Error);
    expect(error).toMatchObject({ name: "RemoteError", code: "bad_request", message: "no such thing", endpoint: "work" });
    expect(server.connections()).toBe(2);
  });
});

describe("pool over memory - framing under pressure", () => {
  test("pool - frames split into 5-byte reads and 7-byte writes: 200 pipelined calls all answered", async () => {
    const w = world({ maxRead: 5, maxWrite: 7 });
    const listener = serve(w, { echo: (x: unknown) => x });
    const client = new Client(w.host, listener.port, { pool: poolIn(w), timeout: 30 });
    const values = Array.from({ length: 200 }, (_, i) => ({ i, s: "x".repeat(i % 40) }));
    expect(await Promise.all(values.map((v) => client.call("echo", v)))).toEqual(values);
    expect(w.net.stats.shortWrites).toBeGreaterThan(100);
    expect(listener.connectionCount).toBe(1);
  });

  test("pool - a single-request peer gets at most maxSingleConnections connections at once", async () => {
    const w = world();
    let open = 0;
    let most = 0;
    const server = scriptedServer(w, "refuse", (conn, req) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        conn.answer(req, req.args[0]);
        conn.socket.end();
      }, 2);
    });
    const client = new Client(w.host, server.port, { pool: poolIn(w, { maxSingleConnections: 3 }) });
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => client.call("n", i)));
    expect(results).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(most).toBe(3);
  });
});

describe("pool over memory - options", () => {
  test("pool - idleTimeout is in seconds: an idle connection closes and reopens on demand", async () => {
    const w = world();
    const listener = serve(w);
    const pool = poolIn(w, { idleTimeout: 0.1 });
    expect(pool.idleTimeoutMs).toBe(100);
    const client = new Client(w.host, listener.port, { pool });
    expect(await client.ping()).toBe("pong");
    const channel = pool.channel(w.host, listener.port);
    await eventually(() => !channel.connected, 5000, "idle connection closed");
    await eventually(() => listener.connectionCount === 0, 5000, "listener saw the close");
    expect(await client.ping()).toBe("pong");
  });

  test("pool - a channel with nothing open or under way for the idle timeout is forgotten; one in use is kept", async () => {
    const w = world();
    const listener = serve(w);
    const python = scriptedServer(w, "refuse", (conn, req) => {
      conn.answer(req, "ok");
      conn.socket.end();
    });
    // 1 s: long beside the 30 ms between the calls below, so that a slow machine cannot make an
    // active channel look dormant.
    const pool = poolIn(w, { idleTimeout: 1 });
    // Ten peers called once (as fakes a join listed would be): their channels must not stay.
    const once = Array.from({ length: 10 }, () => serve(w));
    for (const l of once) expect(await new Client(w.host, l.port, { pool }).ping()).toBe("pong");
    expect(pool.list().length).toBe(10);
    await eventually(() => pool.list().length === 0, 5000, "dormant channels forgotten");
    // A single-request (Python-like) peer called every 30 ms keeps its channel (and its verdict).
    const client = new Client(w.host, python.port, { pool });
    const started = Date.now();
    while (Date.now() - started < 400) {
      expect(await client.call("n")).toBe("ok");
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(pool.list().map((ch) => ch.port)).toEqual([python.port]);
    }
    expect(pool.list()[0]!.mode).toBe("single");
    // A Client whose channel was forgotten gets a fresh one.
    expect(await new Client(w.host, listener.port, { pool }).ping()).toBe("pong");
  });

  test("pool - one channel per host and port: the same port on two hosts is two channels; release and closeAll forget exactly theirs", () => {
    const pool = new Pool({ idleTimeout: 0 });
    const a = pool.channel("10.0.0.1", 7000);
    const b = pool.channel("10.0.0.2", 7000);
    const c = pool.channel("10.0.0.1", 7001);
    expect(new Set([a, b, c]).size).toBe(3);
    expect(pool.channel("10.0.0.1", 7000)).toBe(a);
    expect(pool.peek("10.0.0.2", 7000)).toBe(b);
    expect(pool.peek("10.0.0.2", 7001)).toBeUndefined();
    expect(pool.peek("10.0.0.3", 7000)).toBeUndefined();
    expect(pool.list().map((ch) => ch.key).sort()).toEqual(["10.0.0.1:7000", "10.0.0.1:7001", "10.0.0.2:7000"]);
    expect(pool.release("10.0.0.1", 7000)).toBe(true);
    expect(a.retired).toBe(true);
    expect(pool.release("10.0.0.1", 7000)).toBe(false);
    expect(pool.peek("10.0.0.1", 7000)).toBeUndefined();
    expect(pool.peek("10.0.0.1", 7001)).toBe(c);
    // The last of a host's channels released: a fresh one for it is made again on demand.
    expect(pool.release("10.0.0.2", 7000)).toBe(true);
    const again = pool.channel("10.0.0.2", 7000);
    expect(again).not.toBe(b);
    expect(pool.list()).toEqual(expect.arrayContaining([c, again]));
    expect(pool.list().length).toBe(2);
    pool.closeAll();
    expect(pool.list()).toEqual([]);
    expect(c.retired && again.retired).toBe(true);
    expect(pool.peek("10.0.0.1", 7001)).toBeUndefined();
  });

  test("pool - idleTimeout 0 keeps connections until closed; bad values are ConfigErrors", () => {
    expect(new Pool({ idleTimeout: 0 }).idleTimeoutMs).toBe(Infinity);
    expect(new Pool().idleTimeoutMs).toBe(30_000);
    for (const idleTimeout of [-1, Number.NaN]) expect(() => new Pool({ idleTimeout })).toThrow(ConfigError);
    expect(() => new Pool({ maxSingleConnections: 0 })).toThrow(ConfigError);
  });

  test("pool - a Client given a transport shares that transport's pool; the Bun transport's is the default pool", async () => {
    const w = world();
    const listener = serve(w);
    const a = new Client(w.host, listener.port, { transport: w.client });
    const b = new Client(w.host, listener.port, { transport: w.client });
    try {
      await Promise.all([a.ping(), b.ping()]);
      expect(listener.connectionCount).toBe(1);
      expect(sharedPool(w.client).transport).toBe(w.client);
      expect(sharedPool(bunTransport)).toBe(defaultPool);
      expect(defaultPool.transport).toBe(bunTransport);
    } finally {
      sharedPool(w.client).closeAll();
    }
    expect(() => new Client(w.host, 1, { transport: w.client, pool: new Pool() })).toThrow(ConfigError);
  });
});
