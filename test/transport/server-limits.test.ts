/**
 * What a peer can make a server hold: a frame must arrive whole within the read timeout (trickling
 * bytes does not help), partial frames share one memory budget, and connections past the limit are
 * refused with an answer. Each case checks the bound holds and a genuine client is still served.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { RawPeer, WORLDS, cleanUp, poolIn, serve } from "./fixtures.ts";
import { defaultMaxConnections, serverLimits } from "../../src/transport/server-limits.ts";
import { descriptorLimit } from "../../src/transport/descriptors.ts";
import { ConfigError, FrameTooLargeError } from "../../src/errors.ts";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { eventually, header, LOOPBACK, sleep, within } from "../helpers/net.ts";

afterEach(() => cleanUp());

describe("server limits - options", () => {
  test("server limits - defaults, and bad values are ConfigErrors", () => {
    const limits = serverLimits({});
    expect(limits).toMatchObject({ maxFrame: 4 * 1024 * 1024, readTimeoutMs: 30_000, idleTimeoutMs: 120_000, maxBufferedInput: 256 * 1024 * 1024 });
    expect(limits.maxConnections).toBe(defaultMaxConnections());
    expect(serverLimits({ readTimeout: 0, idleTimeout: 0 })).toMatchObject({ readTimeoutMs: Infinity, idleTimeoutMs: Infinity });
    for (const bad of [{ maxConnections: 0 }, { maxConnections: 1.5 }, { maxBufferedInput: -1 }, { maxUploadSize: 0 }, { readTimeout: -1 }, { idleTimeout: Number.NaN }]) {
      expect(() => serverLimits(bad)).toThrow(ConfigError);
    }
  });

  test("server limits - the default connection limit stays below the descriptor limit", () => {
    const fds = descriptorLimit();
    const max = defaultMaxConnections();
    expect(max).toBeGreaterThanOrEqual(16);
    expect(max).toBeLessThanOrEqual(10_000);
    if (fds !== null) expect(max).toBeLessThanOrEqual(Math.max(16, Math.floor(fds * 0.75)));
  });
});

for (const { name, make } of WORLDS) {
  describe(`server limits - over ${name}`, () => {
    test(`${name}: a frame trickled a byte at a time is cut at the read timeout, counted from its first byte`, async () => {
      const w = make();
      const listener = serve(w, { echo: (x: unknown) => x }, { readTimeoutMs: 300 });
      const slow = await RawPeer.open(w.client, w.host, listener.port);
      slow.write(header(1000));
      // A byte every 50 ms: never idle for the read timeout, but the frame is never whole either.
      let sent = 0;
      while (!slow.closed && sent < 100) {
        slow.write(new Uint8Array([0x90]));
        sent++;
        await sleep(50);
      }
      expect(slow.closed).toBe(true);
      expect(sent).toBeLessThan(100); // cut long before the frame could complete
      const pool = poolIn(w);
      expect(await pool.channel(w.host, listener.port).invoke("echo", [7], {}, { timeoutMs: 5000, maxFrame: 1 << 20, toError: (r) => new Error(String(r.error?.message)) })).toBe(7);
    });

    test(`${name}: partial frames share one memory budget; the biggest holders are closed, others served`, async () => {
      const w = make();
      const budget = 1024 * 1024;
      const listener = serve(w, { echo: (x: unknown) => x }, { maxBufferedInput: budget });
      const holders: RawPeer[] = [];
      for (let i = 0; i < 6; i++) {
        const peer = await RawPeer.open(w.client, w.host, listener.port);
        peer.write(header(3 * 1024 * 1024)); // a 3 MiB frame, under maxFrame...
        peer.write(new Uint8Array(400 * 1024)); // ...of which 400 KiB arrive, then nothing
        holders.push(peer);
      }
      await eventually(() => listener.refusals.input >= 3, 5000, "holders closed to fit the budget");
      await eventually(() => listener.bufferedInput <= budget, 5000, "the budget holds");
      await eventually(() => holders.filter((p) => p.closed).length >= 3, 5000, "the closed holders see their connection end");
      const pool = poolIn(w);
      expect(await pool.channel(w.host, listener.port).invoke("echo", ["still here"], {}, { timeoutMs: 5000, maxFrame: 1 << 20, toError: (r) => new Error(String(r.error?.message)) })).toBe(
        "still here",
      );
    });

    test(`${name}: connections past maxConnections are answered "server busy" and closed; served again once one closes`, async () => {
      const w = make();
      const listener = serve(w, { echo: (x: unknown) => x }, { maxConnections: 3 });
      const held: RawPeer[] = [];
      for (let i = 0; i < 3; i++) held.push(await RawPeer.open(w.client, w.host, listener.port));
      await eventually(() => listener.connectionCount === 3, 5000, "three open");
      const extra = await RawPeer.open(w.client, w.host, listener.port);
      extra.request("echo", "e1", [1]);
      await extra.waitFrames(1);
      expect(extra.frames[0]).toMatchObject({ id: "", ok: false, error: { code: "bad_request" } });
      expect(String((extra.frames[0] as { error: { message: string } }).error.message)).toContain("server busy");
      await eventually(() => extra.closed, 5000, "the extra connection closed");
      expect(extra.frames.length).toBe(1); // its request was never run
      expect(listener.connectionCount).toBe(3);
      expect(listener.refusals.connections).toBe(1);
      held[0]!.socket.terminate();
      await eventually(() => listener.connectionCount === 2, 5000, "one closed");
      const again = await RawPeer.open(w.client, w.host, listener.port);
      again.request("echo", "a1", ["served"]);
      await again.waitFrames(1);
      expect(again.frames[0]).toMatchObject({ id: "a1", ok: true, result: "served" });
    });
  });
}

describe("server limits - descriptors", () => {
  test("a node under a low descriptor limit refuses the connections past its limit and keeps serving", async () => {
    if (process.platform !== "linux") return void console.log("skipped: needs Linux's /proc/self/limits");
    const script = join(import.meta.dir, "..", "helpers", "run-node.ts");
    // 128 descriptors: the default limit is then 96 connections; 150 are opened.
    const child = Bun.spawn(["bash", "-c", `ulimit -n 128 && exec bun ${JSON.stringify(script)}`], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = child.stdout.getReader();
      let text = "";
      while (!/listening on 127\.0\.0\.1:\d+/.test(text)) {
        const chunk = await within(reader.read(), 10_000, "the node's listening line");
        if (chunk.done) throw new Error(`the node exited: ${text}`);
        text += new TextDecoder().decode(chunk.value);
      }
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(text)![1]);
      const sockets: Array<{ closed: boolean; socket: Bun.Socket<undefined> }> = [];
      for (let i = 0; i < 150; i++) {
        const entry = { closed: false, socket: null as unknown as Bun.Socket<undefined> };
        entry.socket = await Bun.connect({ hostname: LOOPBACK, port, socket: { data() {}, close: () => void (entry.closed = true), error() {} } });
        sockets.push(entry);
      }
      await eventually(() => sockets.filter((s) => s.closed).length >= 150 - 96, 10_000, "the connections past the limit refused");
      for (const s of sockets) s.socket.terminate();
      const pool = new Pool();
      try {
        const client = new Client(LOOPBACK, port, { pool, timeout: 5 });
        expect(await within(client.call("sum", 2, 3), 10_000, "a call after the flood")).toBe(5);
      } finally {
        pool.closeAll();
      }
    } finally {
      child.kill();
      await child.exited;
    }
  }, 40_000);
});

for (const { name, make } of WORLDS) {
  describe(`server limits - what a node sends, over ${name}`, () => {
    test(`${name}: a result over the largest frame a peer accepts is answered internal_error, never sent; the connection carries on`, async () => {
      const w = make();
      const listener = serve(w, { huge: () => new Uint8Array(5 * 1024 * 1024), echo: (x: unknown) => x });
      const raw = await RawPeer.open(w.client, w.host, listener.port);
      raw.request("huge", "h1");
      raw.request("echo", "e1", ["after"]);
      await raw.waitFrames(2);
      const huge = raw.frames.find((f) => (f as { id: string }).id === "h1") as { ok: boolean; error: { code: string; message: string } };
      expect(huge.ok).toBe(false);
      expect(huge.error.code).toBe("internal_error");
      expect(huge.error.message).toMatch(/^result too large: \d+ bytes > 4194304/);
      expect(raw.frames.find((f) => (f as { id: string }).id === "e1")).toMatchObject({ ok: true, result: "after" });
      expect(raw.closed).toBe(false);
    });

    test(`${name}: a request over 4 MiB rejects with FrameTooLargeError before anything is sent`, async () => {
      const w = make();
      let calls = 0;
      const listener = serve(w, { echo: (x: unknown) => (calls++, x) });
      const channel = poolIn(w).channel(w.host, listener.port);
      const settings = { timeoutMs: 5000, maxFrame: 4 * 1024 * 1024, toError: (r: { error: { message: string } | null }) => new Error(String(r.error?.message)) };
      const error = await channel.invoke("echo", [new Uint8Array(5 * 1024 * 1024)], {}, settings).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FrameTooLargeError);
      expect((error as FrameTooLargeError).limit).toBe(4 * 1024 * 1024);
      expect(await channel.invoke("echo", ["small"], {}, settings)).toBe("small");
      expect(calls).toBe(1);
    });
  });
}
