/**
 * A node's own pool is capped by its membership mode: a mesh node heartbeats every peer every
 * interval, so its pool keeps a connection per peer (`maxPeers` and some room) instead of closing
 * and reopening the least recently used ones every round; a gossip node calls a few members a
 * second and keeps the default cap. A pool given to the node is left as it was made.
 */
import { describe, expect, test } from "bun:test";
import { Node } from "../../src/node.ts";
import { Pool, DEFAULT_MAX_CONNECTIONS } from "../../src/transport/pool.ts";
import { DEFAULT_MAX_PEERS, poolCapacity } from "../../src/membership/index.ts";
import { ConfigError } from "../../src/errors.ts";

describe("a node's pool cap follows its membership mode", () => {
  test("mesh: a connection per peer it may hold, and some room", () => {
    expect(poolCapacity({ membership: "mesh" })).toBeGreaterThan(DEFAULT_MAX_PEERS);
    expect(poolCapacity({ membership: "mesh", maxPeers: 5000 })).toBeGreaterThan(5000);
    expect(poolCapacity({ membership: "mesh", maxPeers: 10 })).toBeGreaterThan(10);
    expect(() => poolCapacity({ membership: "mesh", maxPeers: -1 })).toThrow(ConfigError);
  });

  test("gossip (the default): the pool's default cap", () => {
    expect(poolCapacity({})).toBe(DEFAULT_MAX_CONNECTIONS);
    expect(poolCapacity({ membership: "gossip", maxPeers: 5000 })).toBe(DEFAULT_MAX_CONNECTIONS);
  });

  test("the node's own pool takes it; a pool given is kept as made", () => {
    const mesh = new Node({ membership: "mesh", maxPeers: 2000, bind: "127.0.0.1" });
    expect(mesh.pool.maxConnections).toBe(poolCapacity({ membership: "mesh", maxPeers: 2000 }));
    const gossip = new Node({ bind: "127.0.0.1" });
    expect(gossip.pool.maxConnections).toBe(DEFAULT_MAX_CONNECTIONS);
    const pool = new Pool({ maxConnections: 3 });
    expect(new Node({ membership: "mesh", pool, bind: "127.0.0.1" }).pool.maxConnections).toBe(3);
  });
});
