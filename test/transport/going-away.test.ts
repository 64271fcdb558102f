/**
 * Graceful closes between Bun peers: a server that closes a connection (idle, or stopping) first
 * sends a going-away to a client that said hello; the client resends whatever was unanswered on a
 * fresh connection, so nothing is lost and nothing runs twice. Also: the hello and the connect
 * come out of the call's own timeout, and a timeout names the endpoint that was called.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { CallTimeoutError, Client, Node, Pool } from "../../src/index.ts";
import { FrameDecoder } from "../../src/wire/frame.ts";
import { decode } from "../../src/wire/codec.ts";
import { GOING_AWAY, HELLO_ENDPOINT } from "../../src/wire/protocol.ts";
import { eventually, frame, LOOPBACK, sleep, startNode, stopAll } from "../helpers/net.ts";

const pools: Pool[] = [];
const servers: TCPSocketListener<unknown>[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  for (const s of servers.splice(0)) s.stop(true);
  await stopAll();
});

function pool(): Pool {
  const p = new Pool({ idleTimeout: 60 });
  pools.push(p);
  return p;
}

interface Req {
  endpoint: string;
  id: string;
  args: unknown[];
}

/**
 * A scripted Bun-like server: answers the hello with multiplex, then lets `onRequest` decide per
 * connection (numbered from 1) what to do with each request.
 */
function scriptedServer(
  onRequest: (conn: number, req: Req, socket: Socket<unknown>) => void,
  helloDelayMs = 0,
): { port: number; connections: () => number } {
  let count = 0;
  const server = Bun.listen<unknown>({
    hostname: LOOPBACK,
    port: 0,
    socket: {
      open(socket) {
        const n = ++count;
        const decoder = new FrameDecoder(1 << 20, {
          onFrame(bytes, start, end) {
            const req = decode(bytes, start, end) as Req;
            if (req.endpoint === HELLO_ENDPOINT) {
              const hello = frame({ id: req.id, ok: true, result: { multiplex: true }, error: null, type: "response" });
              if (helloDelayMs > 0) setTimeout(() => socket.write(hello), helloDelayMs);
              else socket.write(hello);
              return;
            }
            onRequest(n, req, socket);
          },
          onOversize() {},
        });
        socket.data = decoder;
      },
      data(socket, chunk) {
        (socket.data as FrameDecoder).push(chunk);
      },
    },
  });
  servers.push(server);
  return { port: server.port, connections: () => count };
}

function answer(socket: Socket<unknown>, req: Req, result: unknown): void {
  socket.write(frame({ id: req.id, ok: true, result, error: null, type: "response" }));
}

describe("going away", () => {
  test("going away - a request the server did not run is resent on a fresh connection and runs once", async () => {
    const ran: string[] = [];
    const server = scriptedServer((conn, req, socket) => {
      if (conn === 1 && req.args[0] === "second") {
        // Going away instead of running it: this request must come back on a new connection.
        socket.write(frame({ id: "", ok: false, result: null, error: { code: GOING_AWAY, message: "bye" }, type: "response" }));
        socket.end();
        return;
      }
      ran.push(`${conn}:${req.args[0]}`);
      answer(socket, req, `done ${req.args[0]}`);
    });
    const client = new Client(LOOPBACK, server.port, { pool: pool(), timeout: 5 });
    expect(await client.call("work", "first")).toBe("done first");
    expect(await client.call("work", "second")).toBe("done second");
    expect(await client.call("work", "third")).toBe("done third");
    expect(ran).toEqual(["1:first", "2:second", "2:third"]);
    expect(server.connections()).toBe(2);
  });

  test("going away - every unanswered call pending on the connection is resent, none twice", async () => {
    const ran: number[] = [];
    const server = scriptedServer((conn, req, socket) => {
      const n = req.args[0] as number;
      if (conn === 1 && n >= 5) {
        if (n === 5) {
          socket.write(frame({ id: "", ok: false, result: null, error: { code: GOING_AWAY, message: "bye" }, type: "response" }));
          socket.end();
        }
        return; // ignored after the going-away, as a Bun server does
      }
      ran.push(n);
      answer(socket, req, n * 10);
    });
    const client = new Client(LOOPBACK, server.port, { pool: pool(), timeout: 5 });
    await client.call("n", -1); // open and negotiate first, so all 20 go out on connection 1
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call<number>("n", i)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    expect([...ran].sort((a, b) => a - b)).toEqual([-1, ...Array.from({ length: 20 }, (_, i) => i)]);
  });

  test("going away - a node that goes idle tells its Bun client, and the next call just works", async () => {
    let runs = 0;
    const node = await startNode({ idleTimeout: 0.2 });
    node.endpoint("count", () => ++runs);
    const client = new Client(LOOPBACK, node.port, { pool: pool() });
    expect(await client.call("count")).toBe(1);
    // Wait until the node closed the idle connection (its sweep runs every 200 ms here).
    for (let i = 0; i < 50 && node.connectionCount > 0; i++) await sleep(50);
    expect(node.connectionCount).toBe(0);
    expect(await client.call("count")).toBe(2);
    expect(runs).toBe(2);
  });

  test("going away - a call right after a peer restarts on the same port is not lost", async () => {
    const first = await startNode();
    first.endpoint("who", () => "first");
    const port = first.port;
    const client = new Client(LOOPBACK, port, { pool: pool() });
    expect(await client.call("who")).toBe("first");
    await first.stop();
    const second = await startNode({ port });
    second.endpoint("who", () => "second");
    // No waiting for the client to notice the old connection is gone.
    expect(await client.call("who")).toBe("second");
  });
});

describe("call budget", () => {
  test("call budget - a peer that never answers the hello times out naming the endpoint called", async () => {
    const silent = Bun.listen<unknown>({ hostname: LOOPBACK, port: 0, socket: { data() {} } });
    servers.push(silent);
    const client = new Client(LOOPBACK, silent.port, { pool: pool(), timeout: 0.2 });
    const error = await client.call("compute", 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect((error as CallTimeoutError).endpoint).toBe("compute");
    expect((error as CallTimeoutError).peer).toBe(`${LOOPBACK}:${silent.port}`);
    expect((error as CallTimeoutError).timeoutMs).toBe(200);
  });

  test("call budget - calls sharing a slow connection setup each keep their own timeout", async () => {
    // A peer that answers the hello only after 300 ms.
    const slowHello = scriptedServer((_conn, req, socket) => answer(socket, req, "done"), 300);
    const p = pool();
    const short = new Client(LOOPBACK, slowHello.port, { pool: p, timeout: 0.1 });
    const long = new Client(LOOPBACK, slowHello.port, { pool: p, timeout: 5 });
    const [a, b] = await Promise.all([short.call("work").catch((e: unknown) => e), long.call("work").catch((e: unknown) => e)]);
    expect(a).toBeInstanceOf(CallTimeoutError);
    expect((a as CallTimeoutError).endpoint).toBe("work");
    expect((a as CallTimeoutError).timeoutMs).toBe(100);
    expect(b).toBe("done");
  });

  test("call budget - a caller without a timeout does not take away another caller's", async () => {
    const silent = Bun.listen<unknown>({ hostname: LOOPBACK, port: 0, socket: { data() {} } });
    servers.push(silent);
    const p = pool();
    const forever = new Client(LOOPBACK, silent.port, { pool: p, timeout: 0 });
    const bounded = new Client(LOOPBACK, silent.port, { pool: p, timeout: 0.2 });
    void forever.call("wait").catch(() => {});
    const error = await bounded.call("quick").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect((error as CallTimeoutError).endpoint).toBe("quick");
  });

  test("call budget - closing the pool during a connection setup leaves no connection open", async () => {
    const node = await startNode();
    const p = new Pool();
    const client = new Client(LOOPBACK, node.port, { pool: p });
    const call = client.call("_synapse.ping").catch((e: unknown) => e);
    p.closeAll();
    await call;
    for (let i = 0; i < 40 && node.connectionCount > 0; i++) await sleep(50);
    expect(node.connectionCount).toBe(0);
    expect(p.list()).toEqual([]);
  });

  test("call budget - a node with a running request is cut on stop and its caller is told", async () => {
    const node: Node = await startNode();
    node.endpoint("hang", () => new Promise(() => {}));
    const client = new Client(LOOPBACK, node.port, { pool: pool(), timeout: 5 });
    await client.call("_synapse.ping");
    const pending = client.call("hang").catch((e: unknown) => e);
    await sleep(50);
    await node.stop();
    const error = (await pending) as { code?: string; sent?: boolean };
    expect(error.code).toBe("connection_closed");
    expect(error.sent).toBe(true);
  });
});

describe("dropped connections", () => {
  /** A scripted server whose connections the test can cut, unannounced, as a killed process's are. */
  function cuttable(): { port: number; cut: () => void } {
    const sockets: Socket<unknown>[] = [];
    const server = scriptedServer((_conn, req, socket) => {
      if (!sockets.includes(socket)) sockets.push(socket);
      answer(socket, req, "ok");
    });
    return { port: server.port, cut: () => sockets.splice(0).forEach((s) => s.end()) };
  }

  test("dropped connections - a peer that closes a pooled connection without a going-away is told to one listener, with its address", async () => {
    const server = cuttable();
    const p = pool();
    const told: string[] = [];
    p.onDropped((host, port) => told.push(`${host}:${port}`) > 0);
    expect(await new Client(LOOPBACK, server.port, { pool: p }).call("work")).toBe("ok");
    server.cut();
    await eventually(() => told.length > 0, 2_000, "the dropped connection");
    expect(told).toEqual([`${LOOPBACK}:${server.port}`]);
    expect(p.openConnections).toBe(0);
  });

  test("dropped connections - a going-away, an idle close by the server, and this side's own closes are not drops", async () => {
    const told: string[] = [];
    const p = pool();
    p.onDropped((host, port) => told.push(`${host}:${port}`) > 0);
    // The server's going-away (then its close).
    const leaving = scriptedServer((_conn, req, socket) => {
      answer(socket, req, "ok");
      socket.write(frame({ id: "", ok: false, result: null, error: { code: GOING_AWAY, message: "bye" }, type: "response" }));
      socket.end();
    });
    expect(await new Client(LOOPBACK, leaving.port, { pool: p }).call("work")).toBe("ok");
    // A node that closes an idle connection, and one that stops.
    const idle = await startNode({ idleTimeout: 0.2 });
    expect(await new Client(LOOPBACK, idle.port, { pool: p }).call("_synapse.ping")).toBeDefined();
    await eventually(() => idle.connectionCount === 0, 2_000, "the idle close");
    const stopping = await startNode();
    expect(await new Client(LOOPBACK, stopping.port, { pool: p }).call("_synapse.ping")).toBeDefined();
    await stopping.stop();
    // This side closes its own: released, and the whole pool closed.
    const kept = cuttable();
    expect(await new Client(LOOPBACK, kept.port, { pool: p }).call("work")).toBe("ok");
    p.release(LOOPBACK, kept.port);
    const other = cuttable();
    expect(await new Client(LOOPBACK, other.port, { pool: p }).call("work")).toBe("ok");
    p.closeAll();
    await sleep(200);
    expect(told).toEqual([]);
  });

  test("dropped connections - listeners are told in turn, one a drop; one that declines (or throws) passes it on; a removed one is not told", async () => {
    const p = pool();
    const told: string[] = [];
    let bDeclines = false;
    const removeA = p.onDropped(() => told.push("a") > 0);
    p.onDropped(() => {
      if (bDeclines) throw new Error("b cannot take it");
      return told.push("b") > 0;
    });
    const drop = async (): Promise<void> => {
      const server = cuttable();
      await new Client(LOOPBACK, server.port, { pool: p }).call("work");
      const before = told.length;
      server.cut();
      await eventually(() => told.length > before, 2_000, "a listener to be told");
    };
    await drop();
    await drop();
    expect(told).toEqual(["a", "b"]);
    bDeclines = true;
    await drop(); // a's turn
    await drop(); // b's turn: it throws, so a takes it
    expect(told).toEqual(["a", "b", "a", "a"]);
    removeA();
    bDeclines = false;
    await drop();
    await drop();
    expect(told).toEqual(["a", "b", "a", "a", "b", "b"]);
  });
});
