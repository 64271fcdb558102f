import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { CLIENT_QUEUE_HIGH_WATER } from "../../src/transport/client-connection.ts";
import { CallTimeoutError } from "../../src/errors.ts";
import { decode } from "../../src/wire/codec.ts";
import { HEADER_SIZE } from "../../src/wire/frame.ts";
import { LOOPBACK, RawSocket, frame, sleep, startNode, stopAll } from "../helpers/net.ts";

const MiB = 1024 * 1024;
const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher("sha256").update(bytes).digest("hex");

function bigClient(port: number): Client {
  const pool = new Pool();
  pools.push(pool);
  return new Client(LOOPBACK, port, { pool, timeout: 60, maxDownloadSize: 16 * MiB });
}

describe("backpressure - large payloads", () => {
  test("a 3 MiB binary echoed both ways arrives intact", async () => {
    const node = await startNode({ maxUploadSize: 16 * MiB });
    const received: string[] = [];
    node.endpoint("echo", (data: Uint8Array) => {
      received.push(sha256(data));
      return data;
    });
    const data = new Uint8Array(randomBytes(3 * MiB));
    const back = await bigClient(node.port).call<Uint8Array>("echo", data);
    expect(back.length).toBe(data.length);
    expect(received).toEqual([sha256(data)]);
    expect(sha256(back)).toBe(sha256(data));
  });

  test("several multi-MiB echoes at once on one multiplexed connection, with small calls between", async () => {
    const node = await startNode({ maxUploadSize: 16 * MiB });
    node.endpoint("echo", (data: unknown) => data);
    node.endpoint("hash", (data: Uint8Array) => sha256(data));
    const client = bigClient(node.port);
    const blobs = [3, 2, 4, 1].map((n) => new Uint8Array(randomBytes(n * MiB)));
    const calls = blobs.map((b) => client.call<Uint8Array>("echo", b));
    const small = Array.from({ length: 50 }, (_, i) => client.call<number>("echo", i));
    const hashes = blobs.map((b) => client.call<string>("hash", b));
    const [echoed, smallResults, remoteHashes] = await Promise.all([Promise.all(calls), Promise.all(small), Promise.all(hashes)]);
    expect(echoed.map(sha256)).toEqual(blobs.map(sha256));
    expect(smallResults).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(remoteHashes).toEqual(blobs.map(sha256));
    expect(node.connectionCount).toBe(1);
  });

  test("a large structured value (many small strings) round-trips", async () => {
    const node = await startNode({ maxUploadSize: 16 * MiB });
    node.endpoint("echo", (data: unknown) => data);
    const rows = Array.from({ length: 50_000 }, (_, i) => ({ id: i, name: `row-${i}`, tags: ["a", "b"], at: i + 0.5 }));
    expect(await bigClient(node.port).call("echo", rows)).toEqual(rows);
  });
});

describe("backpressure - slow reader", () => {
  test("a raw client that stops reading gets every byte of a large answer once it reads again", async () => {
    // Frames over 4 MiB go out only where the node's own limit was raised (peers are set alike).
    const node = await startNode({ maxUploadSize: 16 * MiB });
    const blob = new Uint8Array(randomBytes(12 * MiB));
    node.endpoint("blob", () => blob);
    const raw = await RawSocket.open(node.port);
    raw.pause();
    await raw.send({ endpoint: "blob", id: "b", args: [], kwargs: {}, type: "request" });
    await sleep(300);
    // Nothing was read yet: the node holds what the kernel did not take.
    expect(raw.received).toBe(0);
    // Read in short bursts.
    for (let i = 0; i < 2000 && raw.frames.length === 0; i++) {
      raw.resume();
      await sleep(2);
      raw.pause();
      await sleep(3);
    }
    raw.resume();
    const answer = (await raw.nextFrame(20_000)) as { id: string; ok: boolean; result: Uint8Array };
    expect([answer.id, answer.ok]).toEqual(["b", true]);
    expect(answer.result.length).toBe(blob.length);
    expect(sha256(answer.result)).toBe(sha256(blob));
  });

  test("several large answers queued behind a stalled reader arrive intact and whole", async () => {
    const node = await startNode({ maxUploadSize: 16 * MiB });
    const blobs = [5, 1, 3, 2].map((n) => new Uint8Array(randomBytes(n * MiB)));
    node.endpoint("blob", (i: number) => blobs[i]);
    node.endpoint("ping", () => "pong");
    const raw = await RawSocket.open(node.port);
    raw.pause();
    for (let i = 0; i < blobs.length; i++) {
      await raw.send({ endpoint: "blob", id: `b${i}`, args: [i], kwargs: {}, type: "request" });
      await raw.send({ endpoint: "ping", id: `p${i}`, args: [], kwargs: {}, type: "request" });
    }
    await sleep(300);
    raw.resume();
    await raw.waitFrames(blobs.length * 2, 20_000);
    const byId = new Map((raw.frames as Array<{ id: string; result: unknown }>).map((f) => [f.id, f.result]));
    for (let i = 0; i < blobs.length; i++) {
      expect(sha256(byId.get(`b${i}`) as Uint8Array)).toBe(sha256(blobs[i]!));
      expect(byId.get(`p${i}`)).toBe("pong");
    }
    // Answers leave in the order they were made: all handlers are synchronous here.
    expect((raw.frames as Array<{ id: string }>).map((f) => f.id)).toEqual(blobs.flatMap((_, i) => [`b${i}`, `p${i}`]));
  });

  test("a client that pipelines requests without reading is read no further until it reads", async () => {
    const node = await startNode();
    const blob = new Uint8Array(randomBytes(512 * 1024));
    let calls = 0;
    node.endpoint("blob", () => {
      calls++;
      return blob;
    });
    const raw = await RawSocket.open(node.port);
    raw.pause();
    const count = 200; // 100 MiB of answers for 4 KiB of requests
    await raw.write(Buffer.concat(Array.from({ length: count }, (_, i) => frame({ endpoint: "blob", id: `r${i}`, args: [], kwargs: {} }))));
    raw.end(); // and half-close: every answer must still come
    await sleep(500);
    // The node ran only what fits in its answer queue and the kernel buffers, not all 200.
    expect(calls).toBeLessThan(count / 2);
    raw.resume();
    await raw.waitFrames(count, 30_000);
    await raw.waitClosed(10_000);
    expect(calls).toBe(count);
    const frames = raw.frames as Array<{ id: string; ok: boolean; result: Uint8Array }>;
    expect(frames.map((f) => f.id)).toEqual(Array.from({ length: count }, (_, i) => `r${i}`));
    const expected = sha256(blob);
    for (const f of frames) expect(f.ok && sha256(f.result) === expected).toBe(true);
  });
});

describe("backpressure - a peer that reads nothing", () => {
  test("a connection queues at most the mark of unsent requests; later calls wait unencoded and time out, none left behind", async () => {
    // A peer that answers the hello (so that calls share one connection) and then reads nothing
    // more (a frozen or saturated process looks the same).
    const server = Bun.listen({
      hostname: LOOPBACK,
      port: 0,
      socket: {
        data: (socket, data) => {
          const hello = decode(data, HEADER_SIZE, data.length) as { id: string };
          socket.write(frame({ id: hello.id, ok: true, result: { multiplex: true }, type: "response" }));
          socket.pause();
        },
      },
    });
    try {
      const pool = new Pool();
      pools.push(pool);
      const client = new Client(LOOPBACK, server.port, { pool, timeout: 1.5 });
      const blob = new Uint8Array(MiB);
      const calls = Array.from({ length: 40 }, () => client.call("sink", blob).then(() => null, (error: unknown) => error));
      const channel = await (async () => {
        for (let i = 0; i < 100; i++) {
          const found = pool.peek(LOOPBACK, server.port);
          if (found?.connection && found.connection.state.heldCount > 0) return found;
          await sleep(20);
        }
        throw new Error("no call was held back");
      })();
      const conn = channel.connection!;
      // One frame may cross the mark (checked before each write); nothing beyond it is queued.
      expect(conn.queuedBytes).toBeGreaterThan(0);
      expect(conn.queuedBytes).toBeLessThanOrEqual(CLIENT_QUEUE_HIGH_WATER + MiB + 64);
      const results = await Promise.all(calls);
      expect(results.every((e) => e instanceof CallTimeoutError)).toBe(true);
      expect(conn.state.heldCount).toBe(0);
      expect(conn.state.pending.size).toBe(0);
    } finally {
      server.stop(true);
    }
  }, 20_000);

  test("calls held back by a slow reader are written in order once it drains, and all answered", async () => {
    const node = await startNode({ maxUploadSize: 16 * MiB });
    const order: number[] = [];
    node.endpoint("take", (i: number, data: Uint8Array) => {
      order.push(i);
      return data.length;
    });
    const client = bigClient(node.port);
    const blob = new Uint8Array(MiB);
    // 24 MiB at once: more than the mark, so some calls wait for the socket to drain.
    const calls = Array.from({ length: 24 }, (_, i) => client.call<number>("take", i, blob));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 24 }, () => MiB));
    expect(order).toEqual(Array.from({ length: 24 }, (_, i) => i));
  }, 30_000);
});
