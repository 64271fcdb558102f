/**
 * The listener over the in-memory network, driven by raw peers: half-close, malformed and oversize
 * frames, timeouts, a client that does not read its answers, and how it stops.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { GOING_AWAY, HELLO_ENDPOINT } from "../../src/wire/protocol.ts";
import { header, eventually } from "../helpers/net.ts";
import { RawPeer, WORLDS, cleanUp, serve, type World } from "./fixtures.ts";

afterEach(cleanUp);

const memory = WORLDS.find((w) => w.name === "memory")!;

function world(options?: ConstructorParameters<typeof MemoryNetwork>[0]): World & { net: MemoryNetwork } {
  return memory.make(options) as World & { net: MemoryNetwork };
}

interface Answer {
  id: string;
  ok: boolean;
  result: unknown;
  error: { code: string; message: string } | null;
}

describe("listener over memory - connections", () => {
  test("listener - a client that half-closes right after its requests gets every answer, then the close", async () => {
    const w = world();
    const listener = serve(w, {
      slow: () => new Promise((resolve) => setTimeout(() => resolve("slow"), 20)),
      fast: () => "fast",
    });
    const raw = await RawPeer.open(w.client, w.host, listener.port);
    raw.request("slow", "a");
    raw.request("fast", "b");
    raw.socket.end();
    await raw.waitFrames(2);
    expect((raw.frames as Answer[]).map((f) => [f.id, f.result])).toEqual([
      ["b", "fast"],
      ["a", "slow"],
    ]);
    await eventually(() => raw.closed, 5000, "closed after the last answer");
    expect(listener.connectionCount).toBe(0);
  });

  test("listener - an undecodable frame is answered bad_request with id \"\"; the connection carries on", async () => {
    const w = world();
    const listener = serve(w);
    const raw = await RawPeer.open(w.client, w.host, listener.port);
    raw.write(Uint8Array.of(0, 0, 0, 1, 0xc1)); // 0xc1: never used in MessagePack
    raw.request("_synapse.ping", "p");
    await raw.waitFrames(2);
    const [bad, pong] = raw.frames as Answer[];
    expect(bad).toMatchObject({ id: "", ok: false, error: { code: "bad_request" } });
    expect(pong).toMatchObject({ id: "p", ok: true, result: "pong" });
  });

  test("listener - an oversize header: frame too large, and the connection closes without the payload being read", async () => {
    const w = world();
    const listener = serve(w, {}, { maxFrame: 100 });
    const raw = await RawPeer.open(w.client, w.host, listener.port);
    raw.write(header(101));
    await raw.waitFrames(1);
    expect(raw.frames[0]).toMatchObject({ id: "", ok: false, error: { code: "bad_request", message: "frame too large: 101 > 100" } });
    await eventually(() => raw.ended, 5000, "the listener ended the connection");
  });

  test("listener - a half-sent frame is cut after the read timeout", async () => {
    const w = world();
    const listener = serve(w, {}, { readTimeoutMs: 50 });
    const raw = await RawPeer.open(w.client, w.host, listener.port);
    raw.write(header(10));
    raw.write(Uint8Array.of(1, 2, 3));
    await eventually(() => raw.closed, 5000, "cut");
    expect(raw.frames).toEqual([]);
  });

  test("listener - an idle connection that said hello gets a going-away before the close; one that did not, just the close", async () => {
    const w = world();
    const listener = serve(w, {}, { idleTimeoutMs: 50 });
    const bun = await RawPeer.open(w.client, w.host, listener.port);
    const python = await RawPeer.open(w.client, w.host, listener.port);
    bun.request(HELLO_ENDPOINT, "h", [{ features: ["multiplex"] }]);
    python.request("_synapse.ping", "p");
    await eventually(() => bun.ended && python.ended, 5000, "both retired");
    expect((bun.frames as Answer[]).map((f) => f.error?.code ?? f.id)).toEqual(["h", GOING_AWAY]);
    expect((python.frames as Answer[]).map((f) => f.id)).toEqual(["p"]);
  });

  test("listener - stop(): an idle connection is retired gracefully, one with a request running is cut", async () => {
    const w = world();
    let running = 0;
    const listener = serve(w, {
      hang: () => {
        running++;
        return new Promise(() => {});
      },
    });
    const idle = await RawPeer.open(w.client, w.host, listener.port);
    const busy = await RawPeer.open(w.client, w.host, listener.port);
    idle.request(HELLO_ENDPOINT, "h");
    busy.request("hang", "x");
    await idle.waitFrames(1);
    await eventually(() => running === 1, 5000, "the hanging call runs");
    listener.stop();
    await eventually(() => idle.closed && busy.closed, 5000, "both closed");
    expect((idle.frames as Answer[]).map((f) => f.error?.code ?? f.id)).toEqual(["h", GOING_AWAY]);
    expect(busy.frames).toEqual([]);
  });
});

describe("listener over memory - backpressure", () => {
  test("listener - a client that pipelines without reading is read no further until it reads; then every answer comes", async () => {
    const w = world({ bufferSize: 256 * 1024 });
    const blob = new Uint8Array(512 * 1024).fill(7);
    let calls = 0;
    const listener = serve(w, {
      blob: () => {
        calls++;
        return blob;
      },
    });
    const raw = await RawPeer.open(w.client, w.host, listener.port);
    raw.socket.pause();
    const count = 100; // 50 MiB of answers
    for (let i = 0; i < count; i++) raw.request("blob", `r${i}`);
    // Wait for the listener to stop: it ran what fits in its answer queue (8 MiB) and the buffer.
    let seen = -1;
    await eventually(
      () => {
        const stable = calls > 0 && calls === seen;
        seen = calls;
        return stable;
      },
      5000,
      "the listener stopped running requests",
    );
    const stopped = calls;
    expect(stopped).toBeLessThan(count / 2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toBe(stopped); // still stopped: it waits for the client to read
    expect(w.net.stats.shortWrites).toBeGreaterThan(0);
    raw.socket.resume();
    await raw.waitFrames(count, 20_000);
    expect(calls).toBe(count);
    expect((raw.frames as Answer[]).map((f) => f.id)).toEqual(Array.from({ length: count }, (_, i) => `r${i}`));
    expect((raw.frames as Answer[]).every((f) => (f.result as Uint8Array).length === blob.length)).toBe(true);
  });
});
