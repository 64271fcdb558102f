import { afterEach, expect, test } from "bun:test";
import { Client, Pool } from "../../src/index.ts";
import { MAX_IN_FLIGHT } from "../../src/transport/listener.ts";
import { LOOPBACK, eventually, sleep, startNode, stopAll } from "../helpers/net.ts";

const pool = new Pool();
afterEach(async () => {
  pool.closeAll();
  await stopAll();
});

test("server input - one connection runs at most MAX_IN_FLIGHT requests at once; the rest wait, none is lost", async () => {
  let running = 0;
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const node = await startNode();
  node.endpoint("slow", async (n: number) => {
    running++;
    most = Math.max(most, running);
    await gate;
    running--;
    return n;
  });
  const client = new Client(LOOPBACK, node.port, { pool, timeout: 30 });
  await client.call("_synapse.ping"); // one multiplexed connection carries everything below
  const total = MAX_IN_FLIGHT * 3;
  const calls = Array.from({ length: total }, (_, i) => client.call<number>("slow", i));
  await eventually(() => running === MAX_IN_FLIGHT, 10_000, "the connection to fill up");
  await sleep(100);
  expect(running).toBe(MAX_IN_FLIGHT);
  release();
  const results = await Promise.all(calls);
  expect(results).toEqual(Array.from({ length: total }, (_, i) => i));
  expect(most).toBe(MAX_IN_FLIGHT);
  expect(node.connectionCount).toBe(1);
});
