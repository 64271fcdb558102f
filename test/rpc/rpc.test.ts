import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import type { Peer } from "../../src/types.ts";
import { EndpointError, RemoteError } from "../../src/errors.ts";
import { LOOPBACK, RawSocket, rejection, sleep, startNode, stopAll } from "../helpers/net.ts";

const pool = new Pool();
afterEach(stopAll);
afterAll(() => pool.closeAll());

const clientFor = (port: number, timeout = 5) => new Client(LOOPBACK, port, { pool, timeout });

const remoteError = (promise: Promise<unknown>) => rejection(promise, RemoteError);

describe("rpc - built-ins", () => {
  test("_synapse.ping answers pong", async () => {
    const node = await startNode();
    const client = clientFor(node.port);
    expect(await client.ping()).toBe("pong");
    expect(await client.call("_synapse.ping")).toBe("pong");
  });

  test("_synapse.info: identity with keys in Python's order", async () => {
    const node = await startNode({
      name: "alpha",
      swarm: "golden",
      role: "calculator",
      description: "adds things",
      capabilities: ["math", { name: "stats", description: "averages" }],
    });
    const info = await clientFor(node.port).info();
    expect(Object.keys(info)).toEqual(["id", "name", "kind", "address", "port", "swarm", "team", "role", "description", "capabilities"]);
    expect(info).toEqual({
      id: node.id,
      name: "alpha",
      kind: "node",
      address: LOOPBACK,
      port: node.port,
      swarm: "golden",
      team: "default",
      role: "calculator",
      description: "adds things",
      capabilities: ["math", "stats"],
    });
    expect(node.id).toMatch(/^[0-9a-f]{64}$/);
  });

  test('_synapse.info of a bare node: nil swarm, "" role and description (as Python sends them)', async () => {
    const node = await startNode({ name: "bare" });
    const info = await clientFor(node.port).info();
    expect([info.swarm, info.team, info.role, info.description, info.capabilities]).toEqual([null, "default", "", "", []]);
  });

  test("_synapse.methods lists published user endpoints only", async () => {
    const node = await startNode();
    node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
    node.endpoint("hidden", { publish: false }, () => 1);
    node.endpoint("plain", () => 2);
    const methods = await clientFor(node.port).methods();
    expect(methods).toEqual([
      { name: "sum", publish: true, description: "Add two numbers" },
      { name: "plain", publish: true, description: "" },
    ]);
    for (const m of methods) expect(Object.keys(m)).toEqual(["name", "publish", "description"]);
    // The unpublished ones still answer.
    expect(await clientFor(node.port).call("hidden")).toBe(1);
  });

  test("_node.info: the agent card summary", async () => {
    const node = await startNode({ name: "card", role: "r", description: "d", capabilities: ["x"] });
    const info = await clientFor(node.port).call<Record<string, unknown>>("_node.info");
    expect(Object.keys(info)).toEqual(["name", "role", "description", "capabilities"]);
    expect(info).toEqual({ name: "card", role: "r", description: "d", capabilities: ["x"] });
  });

  test("_node.capabilities with schemas, including one added after start", async () => {
    const node = await startNode({ capabilities: ["plain"] });
    const client = clientFor(node.port);
    expect(await client.call("_node.capabilities")).toEqual([
      { name: "plain", description: "", input_schema: {}, output_schema: {} },
    ]);
    node.capability("sum", {
      description: "Add",
      inputSchema: { type: "object", properties: { a: { type: "number" } } },
      outputSchema: { type: "number" },
    });
    const caps = await client.call<Array<Record<string, unknown>>>("_node.capabilities");
    expect(caps).toEqual([
      { name: "plain", description: "", input_schema: {}, output_schema: {} },
      {
        name: "sum",
        description: "Add",
        input_schema: { type: "object", properties: { a: { type: "number" } } },
        output_schema: { type: "number" },
      },
    ]);
    for (const c of caps) expect(Object.keys(c)).toEqual(["name", "description", "input_schema", "output_schema"]);
    expect((await client.info()).capabilities).toEqual(["plain", "sum"]);
    expect(await client.call("_node.info")).toMatchObject({ capabilities: ["plain", "sum"] });
  });

  test("_synapse.hello answers the multiplex extension", async () => {
    const node = await startNode();
    const hello = await clientFor(node.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.multiplex).toBe(true);
    expect(typeof hello.implementation).toBe("string");
  });
});

describe("rpc - arguments", () => {
  test("positional arguments, sync and async handlers", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    node.endpoint("slowSum", async (a: number, b: number) => {
      await sleep(5);
      return a + b;
    });
    node.endpoint("echo", (...args: unknown[]) => args);
    const client = clientFor(node.port);
    expect(await client.call("sum", 1, 2)).toBe(3);
    expect(await client.call("slowSum", 20, 22)).toBe(42);
    const value = { s: "é", n: -5, f: 1.5, b: new Uint8Array([1, 2]), l: [null, true], m: { k: "v" } };
    expect(await client.call("echo", value, "x")).toEqual([value, "x"]);
  });

  test("a handler returning nothing answers nil", async () => {
    const node = await startNode();
    node.endpoint("nothing", () => undefined);
    node.endpoint("asyncNothing", async () => {});
    const client = clientFor(node.port);
    expect(await client.call("nothing")).toBeNull();
    expect(await client.call("asyncNothing")).toBeNull();
  });

  test("kwargs bind by parameter name (inferred from the handler)", async () => {
    const node = await startNode();
    node.endpoint("sub", (a: number, b: number) => a - b);
    const client = clientFor(node.port);
    expect(await client.call("sub", kw({ a: 10, b: 3 }))).toBe(7);
    expect(await client.call("sub", kw({ b: 3, a: 10 }))).toBe(7);
    expect(await client.call("sub", 10, kw({ b: 4 }))).toBe(6);
    expect(await client.request("sub", { args: [10], kwargs: { b: 5 } })).toBe(5);
  });

  test("inferred names: defaults, async functions, function declarations, methods", async () => {
    const node = await startNode();
    node.endpoint("defaults", (a: number, b = 100) => a + b);
    node.endpoint("asyncFn", async function named(x: string, y: string) {
      return x + y;
    });
    const obj = {
      method(first: string, second: string) {
        return `${first}/${second}`;
      },
    };
    node.endpoint("method", obj.method);
    const client = clientFor(node.port);
    expect(await client.call("defaults", kw({ a: 1, b: 2 }))).toBe(3);
    expect(await client.call("asyncFn", kw({ y: "b", x: "a" }))).toBe("ab");
    expect(await client.call("method", kw({ second: "2", first: "1" }))).toBe("1/2");
  });

  test("explicit params option binds where inference cannot", async () => {
    const node = await startNode();
    node.endpoint("rest", { params: ["a", "b"] }, (...args: unknown[]) => [args[0], args[1]]);
    node.endpoint("destructured", { params: ["point"] }, ({ x, y }: { x: number; y: number }) => x * y);
    const client = clientFor(node.port);
    expect(await client.call("rest", kw({ b: 2, a: 1 }))).toEqual([1, 2]);
    expect(await client.call("destructured", kw({ point: { x: 3, y: 4 } }))).toBe(12);
  });

  test("a kwarg also given positionally: Python's 'got multiple values' error", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    const error = await remoteError(clientFor(node.port).call("sum", 1, 2, kw({ a: 5 })));
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("sum() got multiple values for argument 'a'");
  });

  test("the call context: kwargs, broadcast, remote address, id and endpoint", async () => {
    const node = await startNode();
    const seen: CallContext[] = [];
    node.endpoint("ctx", (a: unknown, ctx: CallContext) => {
      seen.push(ctx);
      return a;
    });
    const client = clientFor(node.port);
    expect(await client.call("ctx", kw({ a: 1 }))).toBe(1);
    const origin: Peer = {
      id: "b".repeat(64),
      address: LOOPBACK,
      port: 9002,
      swarm: "golden",
      team: "default",
      name: "beta",
      kind: "node",
      capabilities: [],
      last_seen: 1_700_000_001.5,
    };
    const broadcast = { nonce: "0189a5d-nonce", origin, endpoint: "ctx" };
    expect(await client.call("ctx", kw({ broadcast, a: 2 }))).toBe(2);

    expect(seen.length).toBe(2);
    const [direct, viaBroadcast] = seen as [CallContext, CallContext];
    expect(direct.endpoint).toBe("ctx");
    expect(typeof direct.id).toBe("string");
    expect(direct.id.length).toBeGreaterThan(0);
    expect(direct.kwargs).toEqual({ a: 1 });
    expect(direct.broadcast).toBeNull();
    expect(direct.remote.address).toBe(LOOPBACK);
    expect(direct.remote.port).toBeGreaterThan(0);
    // The broadcast kwarg is decoded, and left out of kwargs; a bound kwarg stays in ctx.kwargs.
    expect(viaBroadcast.broadcast).toEqual(broadcast);
    expect(viaBroadcast.kwargs).toEqual({ a: 2 });
    expect(viaBroadcast.id).not.toBe(direct.id);
  });

  test("a handler with a broadcast parameter receives the raw broadcast map", async () => {
    const node = await startNode();
    node.endpoint("ask", (question: string, broadcast: Record<string, unknown> | null) => ({ question, nonce: broadcast?.nonce }));
    const origin = { id: "o", address: LOOPBACK, port: 1, swarm: null, team: null, name: "o", kind: "node", capabilities: [], last_seen: 1 };
    const result = await clientFor(node.port).call("ask", kw({ broadcast: { nonce: "n1", origin, endpoint: "ask" }, question: "q" }));
    expect(result).toEqual({ question: "q", nonce: "n1" });
  });

  test("the context never lands in a parameter meant for an argument (issue #11)", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: unknown, b: unknown) => `${String(a)}${String(b)}`);
    node.endpoint("opt", (a: number, b = 10) => [a, b]);
    node.endpoint("optCtx", (a: number, b = 10, ctx?: CallContext) => [a, b, ctx?.endpoint]);
    node.endpoint("gap", { params: ["a", "b", "c"], context: true }, (...args: unknown[]) =>
      args.map((a) => (a && typeof a === "object" && "remote" in a ? "ctx" : a ?? "hole")),
    );
    const client = clientFor(node.port);
    // Python: sum(a=1, c=2) raises TypeError; here the caller gets the same text.
    const unknown = await remoteError(client.call("sum", kw({ a: 1, c: 2 })));
    expect(unknown.code).toBe("bad_request");
    expect(unknown.message).toBe("sum() got an unexpected keyword argument 'c'");
    expect(await client.call("sum", 1, 2)).toBe("12");
    expect(await client.call("opt", 1)).toEqual([1, 10]);
    expect(await client.call("optCtx", 1)).toEqual([1, 10, "optCtx"]);
    expect(await client.call("optCtx", kw({ a: 1, b: 2 }))).toEqual([1, 2, "optCtx"]);
    expect(await client.call("gap", 1, kw({ c: 3 }))).toEqual([1, "hole", 3, "ctx"]);
    expect((await remoteError(client.call("optCtx", 1, 2, 3))).message).toBe("optCtx() takes 2 positional arguments but 3 were given");
    expect((await remoteError(client.call("optCtx", kw({ ctx: 1 })))).message).toBe("optCtx() got an unexpected keyword argument 'ctx'");
  });

  test("every keyword argument is in ctx.kwargs, the bound ones too", async () => {
    const node = await startNode();
    node.endpoint("one", (a: number, ctx: CallContext) => ({ a, kwargs: ctx.kwargs }));
    expect(await clientFor(node.port).call("one", kw({ a: 2 }))).toEqual({ a: 2, kwargs: { a: 2 } });
  });
});

describe("rpc - errors", () => {
  test("a handler that throws: internal_error with its message", async () => {
    const node = await startNode();
    node.endpoint("boom", () => {
      throw new Error("kaboom");
    });
    node.endpoint("asyncBoom", async () => {
      await sleep(1);
      throw new TypeError("async kaboom");
    });
    node.endpoint("throwsString", () => {
      throw "plain string";
    });
    const client = clientFor(node.port);
    const sync = await remoteError(client.call("boom"));
    expect([sync.code, sync.message, sync.endpoint, sync.peer]).toEqual(["internal_error", "kaboom", "boom", `${LOOPBACK}:${node.port}`]);
    const async_ = await remoteError(client.call("asyncBoom"));
    expect([async_.code, async_.message]).toEqual(["internal_error", "async kaboom"]);
    const str = await remoteError(client.call("throwsString"));
    expect([str.code, str.message]).toEqual(["internal_error", "plain string"]);
    // The connection is still fine.
    expect(await client.ping()).toBe("pong");
  });

  test("EndpointError chooses the wire code", async () => {
    const node = await startNode();
    node.endpoint("refuse", () => {
      throw new EndpointError("bad_request", "peer requested a different swarm");
    });
    const error = await remoteError(clientFor(node.port).call("refuse"));
    expect([error.code, error.message]).toEqual(["bad_request", "peer requested a different swarm"]);
  });

  test("unknown endpoint: bad_request with Python's message and the request id", async () => {
    const node = await startNode();
    const error = await remoteError(clientFor(node.port).call("nope"));
    expect([error.code, error.message, error.endpoint]).toEqual(["bad_request", "Unregistered endpoint called: nope", "nope"]);
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: "nope", id: "abc", args: [], kwargs: {}, type: "request" });
    expect(await raw.nextFrame()).toEqual({
      id: "abc",
      ok: false,
      result: null,
      error: { code: "bad_request", message: "Unregistered endpoint called: nope" },
      type: "response",
    });
  });

  test("an endpoint unregistered after start is unknown again", async () => {
    const node = await startNode();
    node.endpoint("temp", () => 1);
    const client = clientFor(node.port);
    expect(await client.call("temp")).toBe(1);
    expect(node.endpoints.unregister("temp")).toBe(true);
    expect((await remoteError(client.call("temp"))).message).toBe("Unregistered endpoint called: temp");
  });
});
