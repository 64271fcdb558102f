import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { HELLO_ENDPOINT, HELLO_FEATURES } from "../../src/wire/protocol.ts";
import { RemoteError, UnsupportedError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { HEADER_SIZE, frameOf } from "../../src/wire/frame.ts";
import { LOOPBACK, RawSocket, eventually, sleep, startNode, stopAll } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

/** A client on a pool of its own, so every test starts with an unknown peer. */
function freshClient(port: number): Client {
  const pool = new Pool();
  pools.push(pool);
  return new Client(LOOPBACK, port, { pool, timeout: 10 });
}

function pythonPeer(): PythonLikeServer {
  return new PythonLikeServer()
    .endpoint("sum", (args, kwargs) => (args[0] as number ?? kwargs.a) + (args[1] as number ?? kwargs.b))
    .endpoint("echo", async (args) => {
      await sleep(Math.random() * 5);
      return args[0];
    })
    .endpoint("fail", () => {
      throw new Error("python says no");
    })
    .start();
}

describe("peer modes - a Python peer (one request per connection)", () => {
  test("the hello is refused, the channel switches to single, calls work", async () => {
    const python = pythonPeer();
    const client = freshClient(python.port);
    expect(client.mode).toBe("unknown");
    expect(await client.call("sum", 1, 2)).toBe(3);
    expect(client.mode).toBe("single");
    expect(await client.call("sum", kw({ a: 5, b: 6 }))).toBe(11);
    expect(python.log.map((r) => r.endpoint)).toEqual([HELLO_ENDPOINT, "sum", "sum"]);
    expect(python.log[0]!.args).toEqual([{ features: [...HELLO_FEATURES] }]);
    expect(python.log[2]!.kwargs).toEqual({ a: 5, b: 6 });
    // One connection per request, never a second request on one.
    expect(new Set(python.log.map((r) => r.connection)).size).toBe(3);
    expect(python.pipelinedIgnored).toBe(0);
  });

  test("errors from a Python peer", async () => {
    const python = pythonPeer();
    const client = freshClient(python.port);
    const unknown = await client.call("nope").catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(RemoteError);
    expect([(unknown as RemoteError).code, (unknown as RemoteError).message]).toEqual(["bad_request", "Unregistered endpoint called: nope"]);
    const failed = await client.call("fail").catch((e: unknown) => e);
    expect([(failed as RemoteError).code, (failed as RemoteError).message]).toEqual(["internal_error", "python says no"]);
  });

  test("an extension endpoint, or an argument a built-in lacks, is never sent to it: UnsupportedError before any byte; built-ins and user endpoints go", async () => {
    const python = pythonPeer();
    const client = freshClient(python.port);
    // The very first call: the hello goes first, and its refusal stops the extension call unsent.
    for (const endpoint of ["_synapse.conversation.batch", "_synapse.swim.ping", "_synapse.leave", "_synapse.metrics"]) {
      const refused = await client.call(endpoint, []).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(UnsupportedError);
      expect([(refused as UnsupportedError).code, (refused as UnsupportedError).endpoint, (refused as UnsupportedError).sent]).toEqual(["unsupported", endpoint, false]);
      expect((refused as UnsupportedError).peer).toBe(`${LOOPBACK}:${python.port}`);
    }
    expect(client.mode).toBe("single");
    // The original protocol's built-ins, _node.* and user endpoints are sent as before.
    const answered = await client.call("_synapse.conversation.list").catch((e: unknown) => e);
    expect(answered).toBeInstanceOf(RemoteError); // this fake registers no built-ins: refused by the peer, so it was sent
    expect(await client.call("sum", 1, 2)).toBe(3);
    await client.call("_node.info").catch(() => undefined);
    // A built-in given a keyword or a positional argument it has no parameter for: refused unsent too.
    const keyword = await client.call("_synapse.conversation.sync", "c", kw({ since: 0, page: 50 })).catch((e: unknown) => e);
    expect(keyword).toBeInstanceOf(UnsupportedError);
    expect((keyword as UnsupportedError).message).toBe(`${LOOPBACK}:${python.port} speaks the original protocol only (a Python node): _synapse.conversation.sync takes no keyword argument page there; not sent`);
    expect(await client.call("_synapse.heartbeat", {}, {}).catch((e: unknown) => e)).toBeInstanceOf(UnsupportedError);
    await client.call("_synapse.conversation.sync", "c", kw({ since: 0 })).catch(() => undefined);
    expect(python.log.map((r) => r.endpoint)).toEqual([HELLO_ENDPOINT, "_synapse.conversation.list", "sum", "_node.info", "_synapse.conversation.sync"]);
  });

  test("a peer that closes on the hello without answering is single but not taken for a Python node", async () => {
    // Reads the hello and closes; answers a lone request on every later connection.
    let connections = 0;
    const received: string[] = [];
    const server = Bun.listen<{ n: number }>({
      hostname: LOOPBACK,
      port: 0,
      socket: {
        open(socket) {
          socket.data = { n: ++connections };
        },
        data(socket, chunk) {
          // Frames this small arrive whole on loopback.
          const { endpoint, id } = decode(chunk.subarray(HEADER_SIZE)) as { endpoint: string; id: string };
          received.push(endpoint);
          if (socket.data.n === 1) socket.end();
          else socket.end(frameOf(encode({ id, type: "response", ok: true, result: "done" })));
        },
      },
    });
    try {
      const client = freshClient(server.port);
      expect(await client.call("_synapse.conversation.batch", [])).toBe("done");
      expect(client.mode).toBe("single");
      expect(received).toEqual([HELLO_ENDPOINT, "_synapse.conversation.batch"]);
    } finally {
      server.stop(true);
    }
  });

  test("200 concurrent calls from the very first one: all succeed, each request received exactly once", async () => {
    const python = pythonPeer();
    const client = freshClient(python.port);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call("echo", { i })));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => ({ i })));
    expect(client.mode).toBe("single");

    const echoes = python.requestsFor("echo");
    expect(echoes.length).toBe(200);
    expect(new Set(echoes.map((r) => r.id)).size).toBe(200);
    expect(echoes.map((r) => (r.args[0] as { i: number }).i).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(echoes.map((r) => r.connection)).size).toBe(200);
    expect(python.requestsFor(HELLO_ENDPOINT).length).toBe(1);
    expect(python.log.length).toBe(201);
    expect(python.pipelinedIgnored).toBe(0);
  });

  test("200 more concurrent calls once the verdict is known: no further hello", async () => {
    const python = pythonPeer();
    const client = freshClient(python.port);
    expect(await client.ping().catch((e: RemoteError) => e.message)).toBe("Unregistered endpoint called: _synapse.ping");
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => client.call("echo", i)));
    expect(results).toEqual(Array.from({ length: 200 }, (_, i) => i));
    const echoes = python.requestsFor("echo");
    expect(echoes.length).toBe(200);
    expect(new Set(echoes.map((r) => r.id)).size).toBe(200);
    expect(python.requestsFor(HELLO_ENDPOINT).length).toBe(1);
  });
});

describe("peer modes - a Bun node (multiplexing)", () => {
  test("the hello is answered; many concurrent calls share ONE connection", async () => {
    const node = await startNode();
    node.endpoint("echo", async (x: unknown) => {
      await sleep(Math.random() * 5);
      return x;
    });
    let calls = 0;
    node.endpoint("count", () => ++calls);
    const client = freshClient(node.port);
    expect(client.mode).toBe("unknown");
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => client.call("echo", i)));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(client.mode).toBe("multiplex");
    expect(node.connectionCount).toBe(1);
    // Each call ran exactly once.
    await Promise.all(Array.from({ length: 100 }, () => client.call("count")));
    expect(calls).toBe(100);
    expect(node.connectionCount).toBe(1);
  });

  test("a Bun node serves Python-style clients: one request per fresh connection, then close", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    const answers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const raw = await RawSocket.open(node.port);
        await raw.send({ endpoint: "sum", id: `p${i}`, args: [i, 1], kwargs: {}, type: "request" });
        const answer = await raw.nextFrame();
        raw.stop(); // the Python client closes right after reading
        return answer;
      }),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => ({ id: `p${i}`, ok: true, result: i + 1, error: null, type: "response" })));
    await eventually(() => node.connectionCount === 0, 5000, "server-side connections closed");
  });
});

describe("peer modes - what a peer offered, once its connection is set up (PeerChannel.settled)", () => {
  test("null with nothing open or under way; a Bun node's hello answer as the first call's request goes out; null for a Python peer", async () => {
    const node = await startNode({ name: "bun" });
    const pool = new Pool();
    pools.push(pool);
    const client = new Client(LOOPBACK, node.port, { pool, timeout: 10 });
    const channel = pool.channel(LOOPBACK, node.port);
    expect(await channel.settled()).toBeNull();
    // Asked while the first call's connect and hello are under way: settles with them.
    const call = client.call("_synapse.ping");
    const offered = await channel.settled();
    expect(offered?.multiplex).toBe(true);
    expect(channel.mode).toBe("multiplex");
    await call;
    // Open: at once, the same answer.
    expect(await channel.settled()).toBe(offered);
    channel.close();
    expect(await channel.settled()).toBeNull();

    const python = pythonPeer();
    const single = freshClient(python.port);
    const sum = single.call("sum", 1, 2);
    const pyChannel = pools.at(-1)!.channel(LOOPBACK, python.port);
    expect(await pyChannel.settled()).toBeNull();
    expect(await sum).toBe(3);
    expect(pyChannel.mode).toBe("single");
  });
});
