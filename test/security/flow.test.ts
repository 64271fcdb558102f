/**
 * The record layer under flow control: short writes and drains of the socket underneath (its
 * buffer full), reads split anywhere, and a listener that pauses reading (too many requests in
 * flight) while records it already decrypted wait for its resume. Everything arrives, in order.
 */
import { afterEach, expect, test } from "bun:test";
import { secureTransport } from "../../src/security/secure-transport.ts";
import { cleanUp, clientOn, key, MemoryNetwork, nodeAt } from "./helpers.ts";

afterEach(cleanUp);

test("flow - big payloads both ways through short writes, split reads and drains", async () => {
  const net = new MemoryNetwork({ bufferSize: 64 * 1024, maxWrite: 10_000, maxRead: 3_000 });
  const node = await nodeAt(net, "10.0.0.1", { swarm: "lab", swarmKey: key(1) });
  const client = clientOn(secureTransport(net.transport("10.0.0.2"), { keys: key(1), swarm: "lab" }), "10.0.0.1", 20);
  const big = "y".repeat(1_500_000);
  const results = await Promise.all([client.call("echo", big), client.call("echo", "small"), client.call("echo", big)]);
  expect(results.map((r) => (r as string).length)).toEqual([big.length, 5, big.length]);
  expect(node.calls).toBe(3);
});

test("flow - thousands of pipelined calls past the listener's in-flight limit all come back, in order of their ids", async () => {
  const net = new MemoryNetwork({ maxRead: 700 });
  const node = await nodeAt(net, "10.0.0.1", { swarm: "lab", swarmKey: key(1) });
  node.endpoint("slow", async (i: number) => {
    await new Promise((r) => setTimeout(r, 1));
    return i;
  });
  const client = clientOn(secureTransport(net.transport("10.0.0.2"), { keys: key(1), swarm: "lab" }), "10.0.0.1", 30);
  const n = 3000;
  const results = await Promise.all(Array.from({ length: n }, (_, i) => client.call<number>("slow", i)));
  expect(results).toEqual(Array.from({ length: n }, (_, i) => i));
});
