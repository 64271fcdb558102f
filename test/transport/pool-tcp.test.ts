import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { Pool, defaultPool } from "../../src/transport/pool.ts";
import { ConnectionError } from "../../src/errors.ts";
import { LOOPBACK, eventually, sleep, startNode, stopAll } from "../helpers/net.ts";

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

function newPool(options: ConstructorParameters<typeof Pool>[0] = {}): Pool {
  const pool = new Pool(options);
  pools.push(pool);
  return pool;
}

describe("pool - reuse", () => {
  test("Client instances of one process share one connection (the default pool)", async () => {
    const node = await startNode();
    node.endpoint("whoami", (ctx: { remote: { port: number } }) => ctx.remote.port);
    const a = new Client(LOOPBACK, node.port);
    const b = new Client(LOOPBACK, node.port);
    const c = Client.fromPeer({ address: LOOPBACK, port: node.port });
    try {
      const ports = await Promise.all([a.call("whoami"), b.call("whoami"), c.call("whoami"), a.call("whoami")]);
      // Every call came from the same client socket.
      expect(new Set(ports).size).toBe(1);
      expect(node.connectionCount).toBe(1);
      expect(defaultPool.channel(LOOPBACK, node.port).connected).toBe(true);
    } finally {
      a.close();
    }
    await eventually(() => node.connectionCount === 0, 5000, "pooled connection closed by client.close()");
  });

  test("separate pools use separate connections", async () => {
    const node = await startNode();
    node.endpoint("whoami", (ctx: { remote: { port: number } }) => ctx.remote.port);
    const a = new Client(LOOPBACK, node.port, { pool: newPool() });
    const b = new Client(LOOPBACK, node.port, { pool: newPool() });
    const [pa, pb] = await Promise.all([a.call("whoami"), b.call("whoami")]);
    expect(pa).not.toBe(pb);
    expect(node.connectionCount).toBe(2);
  });

  test("an idle pooled connection closes after the pool's idle timeout, and reopens on demand", async () => {
    const node = await startNode();
    const pool = newPool({ idleTimeout: 0.2 });
    const client = new Client(LOOPBACK, node.port, { pool });
    expect(await client.ping()).toBe("pong");
    const channel = pool.channel(LOOPBACK, node.port);
    expect(channel.connected).toBe(true);
    expect(node.connectionCount).toBe(1);
    await eventually(() => !channel.connected, 5000, "idle pooled connection closed");
    await eventually(() => node.connectionCount === 0, 5000, "server saw the close");
    expect(await client.ping()).toBe("pong");
    expect(node.connectionCount).toBe(1);
  });

  test("a connection with a call in flight is not idle", async () => {
    const node = await startNode();
    node.endpoint("slow", async () => {
      await sleep(700);
      return "done";
    });
    const pool = newPool({ idleTimeout: 0.1 });
    const client = new Client(LOOPBACK, node.port, { pool });
    expect(await client.call("slow")).toBe("done");
  });

  test("a dead pooled connection (server restarted on the same port) is replaced for the next call", async () => {
    const first = await startNode();
    first.endpoint("who", () => "first");
    const port = first.port;
    const pool = newPool();
    const client = new Client(LOOPBACK, port, { pool });
    expect(await client.call("who")).toBe("first");
    await first.stop();
    // The client learns of the close on its next event-loop turn. A call written before that
    // fails with ConnectionError (sent: true): the pool does not yet tell a request the kernel
    // refused from one the peer may have run, so it cannot retry it safely.
    await eventually(() => !pool.channel(LOOPBACK, port).connected, 5000, "client saw the close");
    const second = await startNode({ port });
    second.endpoint("who", () => "second");
    expect(await client.call("who")).toBe("second");
    expect(client.mode).toBe("multiplex");
    expect(second.connectionCount).toBe(1);
  });

  test("while the peer is down calls fail with ConnectionError, then work again", async () => {
    const first = await startNode();
    const port = first.port;
    const client = new Client(LOOPBACK, port, { pool: newPool() });
    expect(await client.ping()).toBe("pong");
    await first.stop();
    const error = await client.ping().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    await startNode({ port });
    expect(await client.ping()).toBe("pong");
  });

  test("pool.closeAll() closes every pooled connection; clients keep working afterwards", async () => {
    const nodes = await Promise.all([startNode(), startNode()]);
    const pool = newPool();
    const clients = nodes.map((n) => new Client(LOOPBACK, n.port, { pool }));
    await Promise.all(clients.map((c) => c.ping()));
    expect(nodes.map((n) => n.connectionCount)).toEqual([1, 1]);
    pool.closeAll();
    await eventually(() => nodes.every((n) => n.connectionCount === 0), 5000, "connections closed");
    expect(await Promise.all(clients.map((c) => c.ping()))).toEqual(["pong", "pong"]);
  });
});
