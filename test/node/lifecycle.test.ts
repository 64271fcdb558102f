import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Node } from "../../src/node.ts";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { ConfigError, ConnectionError, ListenError } from "../../src/errors.ts";
import { LOOPBACK, RawSocket, eventually, frame, sleep, startNode, stopAll, within } from "../helpers/net.ts";

const pools: Pool[] = [];
const children: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  await stopAll();
});

const RUN_NODE = join(import.meta.dir, "..", "helpers", "run-node.ts");

function clientFor(port: number): { client: Client; pool: Pool } {
  const pool = new Pool();
  pools.push(pool);
  return { client: new Client(LOOPBACK, port, { pool, timeout: 5 }), pool };
}

/** Read a child's stdout until it contains `needle`. */
async function readUntil(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }, sofar: { text: string }, needle: string): Promise<string> {
  const decoder = new TextDecoder();
  while (!sofar.text.includes(needle)) {
    const chunk = await within(reader.read(), 10_000, `child output containing ${JSON.stringify(needle)}; got ${JSON.stringify(sofar.text)}`);
    if (chunk.done) break;
    sofar.text += decoder.decode(chunk.value, { stream: true });
  }
  return sofar.text;
}

describe("node lifecycle - start and stop", () => {
  test("start binds an ephemeral port and emits started; stop emits stopped and is idempotent", async () => {
    const node = new Node({ bind: LOOPBACK, advertise: LOOPBACK, port: 0 });
    const seen: string[] = [];
    node.on("started", (e) => void seen.push(`started ${e.address}:${e.port}`));
    node.on("stopped", () => void seen.push("stopped"));
    expect(node.running).toBe(false);
    await node.start();
    try {
      expect(node.running).toBe(true);
      expect(node.port).toBeGreaterThan(0);
      await node.start(); // a second start is a no-op
    } finally {
      await Promise.all([node.stop(), node.stop()]);
    }
    await node.stop();
    expect(node.running).toBe(false);
    expect(seen).toEqual([`started ${LOOPBACK}:${node.port}`, "stopped"]);
  });

  test("stop closes the listener and every connection, pooled client connections included", async () => {
    const node = await startNode();
    const { client, pool } = clientFor(node.port);
    expect(await client.ping()).toBe("pong");
    const raw = await RawSocket.open(node.port);
    await eventually(() => node.connectionCount === 2, 5000, "two server-side connections");
    const channel = pool.channel(LOOPBACK, node.port);
    expect(channel.connected).toBe(true);

    await node.stop();
    expect(node.connectionCount).toBe(0);
    await raw.waitClosed(5000);
    await eventually(() => !channel.connected, 5000, "pooled connection closed");
    const refused = await client.ping().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ConnectionError);
    expect((refused as ConnectionError).sent).toBe(false);
  });

  test("a stopped node starts again on the same port", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    const port = node.port;
    await node.stop();
    await node.start();
    expect(node.port).toBe(port);
    const { client } = clientFor(port);
    expect(await client.call("sum", 2, 3)).toBe(5);
  });

  test("start() right after an unawaited stop() waits for the stop, then binds the same port", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    const port = node.port;
    const seen: string[] = [];
    node.on("started", () => void seen.push("started"));
    node.on("stopped", () => void seen.push("stopped"));
    const stopping = node.stop();
    await node.start();
    await stopping;
    expect(seen).toEqual(["stopped", "started"]);
    expect(node.running).toBe(true);
    expect(node.port).toBe(port);
    const { client } = clientFor(port);
    expect(await client.call("sum", 2, 3)).toBe(5);
  });

  test("a port already in use: ListenError naming the address", async () => {
    const first = await startNode();
    const second = new Node({ bind: LOOPBACK, port: first.port });
    const error = await second.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ListenError);
    expect((error as ListenError).code).toBe("address_in_use");
    expect((error as ListenError).address).toBe(`${LOOPBACK}:${first.port}`);
    expect((error as Error).message).toBe(`cannot listen on ${LOOPBACK}:${first.port}: address in use`);
    expect(second.running).toBe(false);
  });
});

describe("node lifecycle - run()", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`run() prints the address and endpoints, serves, and stops cleanly on ${signal}`, async () => {
      const child = Bun.spawn(["bun", RUN_NODE], { stdout: "pipe", stderr: "pipe", env: { ...process.env, SYNAPSE_DEBUG: "" } });
      children.push(child);
      const reader = child.stdout.getReader();
      const out = { text: "" };
      await readUntil(reader, out, "sum - Add two numbers\n");
      const match = /listening on 127\.0\.0\.1:(\d+), advertising 127\.0\.0\.1:(\d+)/.exec(out.text);
      expect(match).not.toBeNull();
      const port = Number(match![1]);
      expect(Number(match![2])).toBe(port);
      expect(out.text).toContain("synapse node runner (");
      expect(out.text).toContain("endpoints:");
      // Published endpoints only.
      expect(out.text).not.toContain("hidden");
      expect(out.text).not.toContain("_synapse.ping");

      const { client } = clientFor(port);
      expect(await client.call("sum", 20, 22)).toBe(42);
      expect(await client.call("hidden")).toBe("secret");
      client.close();

      child.kill(signal);
      await readUntil(reader, out, "run() returned");
      expect(await within(child.exited, 10_000, "child exit")).toBe(0);
      expect(out.text).toContain(`received ${signal}, stopping`);
      expect(out.text.indexOf(`received ${signal}`)).toBeLessThan(out.text.indexOf("run() returned"));
      expect(await new Response(child.stderr).text()).toBe("");
    });
  }
});

describe("node lifecycle - server options", () => {
  test("invalid sizes and timeouts are refused at construction", () => {
    for (const options of [
      { maxUploadSize: 0 },
      { maxUploadSize: -1 },
      { maxUploadSize: Number.NaN },
      { maxUploadSize: 1.5 },
      { readTimeout: -1 },
      { readTimeout: Number.NaN },
      { idleTimeout: -0.5 },
    ]) {
      expect(() => new Node({ bind: LOOPBACK, ...options })).toThrow(ConfigError);
    }
  });

  test("readTimeout 0 means none: a slow frame is not cut off", async () => {
    const node = await startNode({ readTimeout: 0, idleTimeout: 0 });
    node.endpoint("sum", (a: number, b: number) => a + b);
    const raw = await RawSocket.open(node.port);
    const bytes = frame({ endpoint: "sum", id: "slow", args: [1, 2], kwargs: {}, type: "request" });
    for (let at = 0; at < bytes.length; at += 8) {
      await raw.write(bytes.subarray(at, at + 8));
      await sleep(20);
    }
    expect(await raw.nextFrame()).toEqual({ id: "slow", ok: true, result: 3, error: null, type: "response" });
    expect(raw.closed).toBe(false);
  });
});
