import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import {
  CallTimeoutError,
  ConfigError,
  ConnectionError,
  EncodeError,
  FrameTooLargeError,
  RemoteError,
} from "../../src/errors.ts";
import { LOOPBACK, RawSocket, freePort, rejection, sleep, startNode, stopAll, track } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";

const pool = new Pool();
afterEach(stopAll);
afterAll(() => pool.closeAll());

const clientFor = (port: number, options: { timeout?: number; maxDownloadSize?: number } = {}) =>
  new Client(LOOPBACK, port, { pool, timeout: 5, ...options });

const failure = rejection;


describe("call failures - results that cannot be encoded", () => {
  test("a function, a cycle, a symbol or a huge bigint: internal_error, never a hang", async () => {
    const node = await startNode();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    node.endpoint("fn", () => () => 1);
    node.endpoint("fnInside", () => ({ ok: true, callback: () => 1 }));
    node.endpoint("cycle", () => cyclic);
    node.endpoint("symbol", async () => Symbol("s"));
    node.endpoint("bigint", () => 2n ** 80n);
    const client = clientFor(node.port);
    for (const name of ["fn", "fnInside", "cycle", "symbol", "bigint"]) {
      const error = await failure(client.call(name), RemoteError);
      expect([name, error.code]).toEqual([name, "internal_error"]);
      expect(error.message).toStartWith("result cannot be encoded: cannot encode value as MessagePack");
    }
    expect((await failure(client.call("fn"), RemoteError)).message).toContain("function");
    // The same connection still serves calls.
    expect(await client.ping()).toBe("pong");
  });

  test("values msgpackr writes in a lossy way (documented, not refused)", async () => {
    const node = await startNode();
    node.endpoint("lossy", () => ({ error: new Error("boom"), regexp: /x+/g, set: new Set([1]), date: new Date(1_500) }));
    expect(await clientFor(node.port).call("lossy")).toEqual({
      error: ["Error", "boom", null],
      regexp: ["x+", "g"],
      set: [1],
      date: 1.5,
    });
  });
});

describe("call failures - client side", () => {
  test("an argument that cannot be encoded: EncodeError, nothing sent", async () => {
    const node = await startNode();
    let calls = 0;
    node.endpoint("count", () => ++calls);
    const client = clientFor(node.port);
    await failure(client.call("count", Symbol("s")), EncodeError);
    await failure(client.call("count", () => 1), EncodeError);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    await failure(client.call("count", cyclic), EncodeError);
    expect(calls).toBe(0);
    expect(await client.call("count")).toBe(1);
  });

  test("an argument that cannot be encoded never reaches a Python peer", async () => {
    const python = new PythonLikeServer().endpoint("echo", (args) => args[0]).start();
    const client = clientFor(python.port);
    await failure(client.call("echo", Symbol("s")), EncodeError);
    expect(await client.call("echo", "after")).toBe("after");
    expect(python.requestsFor("echo").map((r) => r.args)).toEqual([["after"]]);
  });

  test("timeout: CallTimeoutError naming the endpoint and the peer; the late answer is dropped", async () => {
    const node = await startNode();
    node.endpoint("slow", async () => {
      await sleep(600);
      return "late";
    });
    const client = clientFor(node.port, { timeout: 0.2 });
    const error = await failure(client.call("slow"), CallTimeoutError);
    expect(error.endpoint).toBe("slow");
    expect(error.peer).toBe(`${LOOPBACK}:${node.port}`);
    expect(error.timeoutMs).toBe(200);
    expect(error.code).toBe("timeout");
    expect(error.message).toContain("slow");
    expect(error.message).toContain(`${LOOPBACK}:${node.port}`);
    // A per-call timeout overrides the client's.
    expect(await client.request("slow", { timeout: 5 })).toBe("late");
    await sleep(500); // the first call's answer arrives now and matches nothing
    expect(await client.ping()).toBe("pong");
  });

  test("a negative or NaN per-call timeout is a ConfigError (as in the constructor), not a wait forever", async () => {
    const node = await startNode();
    const client = clientFor(node.port);
    for (const timeout of [-1, Number.NaN]) {
      const error = await failure(client.request("_synapse.ping", { timeout }), ConfigError);
      expect(error.message).toBe(`invalid timeout: ${timeout}`);
    }
    expect(await client.request("_synapse.ping", { timeout: 0 })).toBe("pong"); // 0 still waits forever
  });

  test("the peer dies mid-call: ConnectionError", async () => {
    const node = await startNode();
    node.endpoint("hang", () => {
      setTimeout(() => void node.stop(), 50);
      return new Promise(() => {});
    });
    const error = await failure(clientFor(node.port).call("hang"), ConnectionError);
    expect(error.endpoint).toBe("hang");
    expect(error.sent).toBe(true);
    expect(error.peer).toBe(`${LOOPBACK}:${node.port}`);
  });

  test("a peer that reads the request and closes without answering: ConnectionError", async () => {
    let requests = 0;
    const server = Bun.listen({
      hostname: LOOPBACK,
      port: 0,
      socket: {
        data(socket) {
          requests++;
          socket.end();
        },
      },
    });
    track({ stop: () => server.stop(true) });
    const error = await failure(clientFor(server.port).call("anything"), ConnectionError);
    expect(error.sent).toBe(true);
    expect(requests).toBeGreaterThan(0);
  });

  test("connection refused: ConnectionError, nothing sent", async () => {
    const port = freePort();
    const error = await failure(clientFor(port).call("ping"), ConnectionError);
    expect(error.sent).toBe(false);
    expect(error.peer).toBe(`${LOOPBACK}:${port}`);
    expect(error.message).toContain(`${LOOPBACK}:${port}`);
  });

  test("a response over maxDownloadSize: FrameTooLargeError", async () => {
    const node = await startNode();
    node.endpoint("big", () => new Uint8Array(10_000));
    const client = clientFor(node.port, { maxDownloadSize: 1000 });
    const error = await failure(client.call("big"), FrameTooLargeError);
    expect(error.limit).toBe(1000);
    expect(error.size).toBeGreaterThan(10_000);
    expect(error.message).toBe(`frame too large: ${error.size} > 1000`);
  });

  test("an oversize response fails only its own call; the shared connection carries on", async () => {
    const node = await startNode();
    node.endpoint("big", async () => {
      await Bun.sleep(20); // answered while the small calls are in flight on the same connection
      return new Uint8Array(10_000);
    });
    node.endpoint("small", async (n: number) => {
      await Bun.sleep(40);
      return n;
    });
    const client = clientFor(node.port, { maxDownloadSize: 1000 });
    await client.call("_synapse.ping");
    const big = failure(client.call("big"), FrameTooLargeError);
    const smalls = Promise.all([1, 2, 3].map((n) => client.call<number>("small", n)));
    expect((await big).limit).toBe(1000);
    expect(await smalls).toEqual([1, 2, 3]);
    expect(await client.call("small", 4)).toBe(4);
    expect(node.connectionCount).toBe(1);
  });

  test("a request over the node's maxUploadSize: bad_request frame too large", async () => {
    const node = await startNode({ maxUploadSize: 1000 });
    node.endpoint("echo", (x: unknown) => x);
    const client = clientFor(node.port);
    const error = await failure(client.call("echo", new Uint8Array(5000)), RemoteError);
    expect(error.code).toBe("bad_request");
    expect(error.message).toMatch(/^frame too large: \d+ > 1000$/);
    // The next call gets a fresh connection.
    expect(await client.call("echo", "small")).toBe("small");
  });
});

describe("call failures - the server survives", () => {
  test("a raw client that disconnects before its answer does not disturb the node", async () => {
    const node = await startNode();
    node.endpoint("slow", async () => {
      await sleep(100);
      return "x".repeat(100_000);
    });
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: "slow", id: "1", args: [], kwargs: {}, type: "request" });
    raw.stop();
    await sleep(200);
    expect(await clientFor(node.port).call("slow")).toHaveLength(100_000);
  });
});
