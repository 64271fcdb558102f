/**
 * Whole nodes over the in-memory network: many nodes in one process, each at an address of its
 * own and all on the same port, join through a seed and broadcast, with no socket opened.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Node } from "../../src/node.ts";
import { Client } from "../../src/rpc/client.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { Pool } from "../../src/transport/pool.ts";
import { ConfigError } from "../../src/errors.ts";
import { eventually } from "../helpers/net.ts";

const nodes: Node[] = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

function nodeAt(net: MemoryNetwork, address: string, options: ConstructorParameters<typeof Node>[0] = {}): Node {
  const node = new Node({ name: address, bind: address, advertise: address, port: 9999, transport: net.transport(address), ...options });
  nodes.push(node);
  return node;
}

describe("nodes over memory", () => {
  test("nodes - 20 nodes on one port at 20 addresses join through a seed; a broadcast reaches every one", async () => {
    const net = new MemoryNetwork();
    // Mesh mode: the seed heartbeats every member, so it holds a channel to each (checked below).
    const seed = nodeAt(net, "10.1.0.1", { swarm: "sim", membership: "mesh" });
    await seed.start();
    const members = Array.from({ length: 20 }, (_, i) => nodeAt(net, `10.1.1.${i + 1}`, { swarm: "sim", membership: "mesh", seeds: ["10.1.0.1:9999"] }));
    const received = new Set<string>();
    for (const m of members) {
      m.endpoint("hear", () => m.name);
      m.on("broadcast.received", () => void received.add(m.name));
    }
    await Promise.all(members.map((m) => m.join()));
    expect(seed.peers.size).toBe(20);
    expect(members.every((m) => m.port === 9999 && m.peers.has(seed.id))).toBe(true);
    expect(net.listening.length).toBe(21);

    await seed.broadcast("hear");
    await eventually(() => received.size === 20, 5000, "every member heard the broadcast");
    // The seed keeps one pooled connection per member (its heartbeats use them).
    expect(seed.pool.list().filter((ch) => ch.connected).length).toBe(20);
  });

  test("nodes - a Client on the network calls a node; stopping the node refuses the next connect", async () => {
    const net = new MemoryNetwork();
    const node = nodeAt(net, "10.2.0.1");
    node.endpoint("sum", (a: number, b: number) => a + b);
    await node.start();
    const client = new Client("10.2.0.1", 9999, { transport: net.transport("10.2.0.9") });
    expect(await client.call("sum", 2, 3)).toBe(5);
    expect(node.connectionCount).toBe(1);
    await node.stop();
    await eventually(() => net.openSockets === 0, 5000, "the connection closed");
    await expect(client.call("sum", 1, 1)).rejects.toMatchObject({ name: "ConnectionError", sent: false });
  });

  test("nodes - the node's own pool dials with its transport; a pool on another transport is a ConfigError", () => {
    const net = new MemoryNetwork();
    const node = nodeAt(net, "10.3.0.1");
    expect(node.pool.transport).toBe(net.transport("10.3.0.1"));
    expect(() => new Node({ transport: net.transport("10.3.0.2"), pool: new Pool() })).toThrow(ConfigError);
  });
});
