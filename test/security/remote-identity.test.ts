/**
 * `ctx.remoteIdentity`: a handler learns which node identity the connection's other end proved in
 * the closed swarm's handshake (`null` on a plaintext connection), and a `Client` calls a closed
 * node with the `swarmKey`, `swarm` and `identity` options.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, ConnectionError } from "../../src/errors.ts";
import { Client } from "../../src/rpc/client.ts";
import { closedSwarmTransport } from "../../src/rpc/closed-swarm-client.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { NodeIdentity } from "../../src/security/identity.ts";
import { SwarmKeyring, generateSwarmKey } from "../../src/security/keyring.ts";
import { isSecureTransport } from "../../src/security/secure-transport.ts";
import { Pool, sharedPool } from "../../src/transport/pool.ts";
import type { Transport } from "../../src/transport/socket.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { cleanUp, key, MemoryNetwork, nodeAt, stopAfter } from "./helpers.ts";

afterEach(async () => {
  await cleanUp();
  await stopAll();
});

/** `whoami` answers the caller's verified identity. */
function whoami(node: { endpoint(name: string, handler: (ctx: CallContext) => unknown): unknown }): void {
  node.endpoint("whoami", (ctx: CallContext) => ctx.remoteIdentity);
}

/** A pool of the test's own, closed after it. */
function ownPool(): Pool {
  const pool = new Pool();
  stopAfter(() => pool.closeAll());
  return pool;
}

/** A Client's pool on a secure transport, closed after the test (the process-wide pools outlive it). */
function closeAfter(transport: Transport): void {
  stopAfter(() => sharedPool(transport).closeAll());
}

describe("security - the caller's verified identity in ctx", () => {
  test("a closed node's handler sees the identity the caller proved; a node calling with its pool is its own id", async () => {
    const net = new MemoryNetwork();
    const swarmKey = key(1);
    const vault = await nodeAt(net, "10.0.0.1", { swarm: "lab", swarmKey });
    whoami(vault);
    const member = await nodeAt(net, "10.0.0.2", { swarm: "lab", swarmKey });
    // A node's own calls (joins, broadcasts, calls through its pool) prove its identity: its id.
    const viaPool = await new Client("10.0.0.1", 9999, { pool: member.pool, timeout: 2 }).call("whoami");
    expect(viaPool).toBe(member.id);

    const identity = NodeIdentity.generate();
    const transport = net.transport("10.0.0.3");
    const client = new Client("10.0.0.1", 9999, { transport, swarmKey, swarm: "lab", identity, timeout: 2 });
    closeAfter(closedSwarmTransport({ transport, swarmKey, swarm: "lab", identity }));
    expect(await client.call("whoami")).toBe(identity.id);
  });

  test("on a plaintext connection (an open node) remoteIdentity is null", async () => {
    const node = await startNode({ swarm: "lab", swarmKey: null, heartbeatInterval: null });
    whoami(node);
    const client = new Client("127.0.0.1", node.port, { pool: ownPool(), timeout: 2 });
    expect(await client.call("whoami")).toBeNull();
  });
});

describe("security - Client options of a closed swarm", () => {
  test("over TCP: swarmKey and swarm reach a closed node; an identity file is what the node sees; no key is refused", async () => {
    const swarmKey = generateSwarmKey();
    const node = await startNode({ swarm: "lab", swarmKey, heartbeatInterval: null });
    whoami(node);
    const dir = mkdtempSync(join(tmpdir(), "sn-client-id-"));
    stopAfter(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "client.id");
    const client = new Client("127.0.0.1", node.port, { swarmKey, swarm: "lab", identity: file, timeout: 2 });
    const transport = closedSwarmTransport({ swarmKey, swarm: "lab", identity: file });
    closeAfter(transport);
    expect(await client.call("whoami")).toBe(NodeIdentity.load(file).id);
    expect(isSecureTransport(transport)).toBe(true);

    const plain = new Client("127.0.0.1", node.port, { pool: ownPool(), timeout: 2 });
    expect(await plain.ping().catch((e: unknown) => e)).toBeInstanceOf(ConnectionError);
  });

  test("Clients given the same keys, swarm and identity share one transport (one pool); any difference makes another", () => {
    const net = new MemoryNetwork();
    const transport = net.transport("10.0.0.5");
    const identity = NodeIdentity.generate();
    const base = { transport, swarmKey: [key(3), key(4)], swarm: "lab", identity };
    const one = closedSwarmTransport(base);
    expect(closedSwarmTransport({ ...base, swarmKey: [key(3), key(4)] })).toBe(one);
    expect(closedSwarmTransport({ ...base, swarmKey: [key(4), key(3)] })).not.toBe(one);
    expect(closedSwarmTransport({ ...base, swarm: "other" })).not.toBe(one);
    expect(closedSwarmTransport({ ...base, identity: NodeIdentity.generate() })).not.toBe(one);
    expect(closedSwarmTransport({ ...base, transport: net.transport("10.0.0.6") })).not.toBe(one);
    // No identity given: one per process, shared.
    const { identity: _omit, ...anonymous } = base;
    expect(closedSwarmTransport(anonymous)).toBe(closedSwarmTransport(anonymous));
    // A keyring is its own key: the transport follows its rotation.
    const ring = new SwarmKeyring(key(3));
    const ringed = closedSwarmTransport({ ...base, swarmKey: ring });
    expect(ringed.keyring).toBe(ring);
    expect(closedSwarmTransport({ ...base, swarmKey: ring })).toBe(ringed);
    expect(closedSwarmTransport({ ...base, swarmKey: new SwarmKeyring(key(3)) })).not.toBe(ringed);
  });

  test("misuse is a ConfigError: a key with a pool, swarm or identity without a key, a malformed key", () => {
    const make = (options: ConstructorParameters<typeof Client>[2]) => () => new Client("127.0.0.1", 1, options);
    expect(make({ swarmKey: key(5), pool: new Pool() })).toThrow(ConfigError);
    expect(make({ swarm: "lab" })).toThrow(/give swarmKey too/);
    expect(make({ identity: NodeIdentity.generate() })).toThrow(/give swarmKey too/);
    expect(make({ swarmKey: "not a key" })).toThrow(ConfigError);
    expect(make({ swarmKey: new Uint8Array(16) })).toThrow(/32 bytes/);
  });
});
