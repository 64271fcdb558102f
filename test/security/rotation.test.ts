/**
 * Key rotation of a running closed swarm, as Serf's keyring does it: install the new key on every
 * node, make it the primary node by node, remove the old one. Calls between every pair of nodes,
 * on fresh connections, keep working at every step; a connection opened before the rotation keeps
 * working throughout; after it, the old key no longer gets in.
 */
import { afterEach, expect, test } from "bun:test";
import { ConnectionError } from "../../src/errors.ts";
import { Client } from "../../src/rpc/client.ts";
import { secureTransport } from "../../src/security/secure-transport.ts";
import { Pool } from "../../src/transport/pool.ts";
import { cleanUp, clientOn, key, MemoryNetwork, nodeAt, stopAfter } from "./helpers.ts";

afterEach(cleanUp);

test("rotation - add a key everywhere, switch primaries one by one, remove the old key: no call fails", async () => {
  const net = new MemoryNetwork();
  const [oldKey, newKey] = [key(1), key(2)];
  const addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
  const nodes = await Promise.all(addresses.map((a) => nodeAt(net, a, { swarm: "lab", swarmKey: [oldKey] })));
  // A connection from the first node to the second, opened before the rotation and kept.
  const longPool = new Pool({ transport: nodes[0]!.pool.transport });
  stopAfter(() => longPool.closeAll());
  const long = new Client(addresses[1]!, 9999, { pool: longPool, timeout: 2 });
  expect(await long.call("echo", "before")).toBe("before");

  let calls = 0;
  /** Every node calls every other on a new connection, dialed with its current primary. */
  async function everyPair(step: string): Promise<void> {
    for (const from of nodes) {
      from.pool.closeAll();
      for (const [i, to] of nodes.entries()) {
        if (to === from) continue;
        expect(await new Client(addresses[i]!, 9999, { pool: from.pool, timeout: 2 }).call("echo", step)).toBe(step);
        calls++;
      }
    }
    expect(await long.call("echo", step)).toBe(step);
  }

  await everyPair("start");
  for (const n of nodes) n.keyring!.install(newKey);
  await everyPair("installed");
  for (const [i, n] of nodes.entries()) {
    n.keyring!.use(newKey);
    await everyPair(`primary on ${i + 1}`);
  }
  for (const n of nodes) n.keyring!.remove(oldKey);
  await everyPair("removed");
  expect(calls).toBe(6 * 6);
  expect(longPool.list().filter((c) => c.connected)).toHaveLength(1);

  // The old key alone no longer gets in.
  const stale = clientOn(secureTransport(net.transport("10.0.0.9"), { keys: oldKey, swarm: "lab" }), addresses[0]!);
  await expect(stale.call("echo", "late")).rejects.toBeInstanceOf(ConnectionError);
});
