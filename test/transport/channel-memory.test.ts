/**
 * What a pooled connection to a peer keeps while it rests: no map of calls waiting for answers
 * (made by the first call, let go when the last settles).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import type { ClientConnection } from "../../src/transport/client-connection.ts";
import { WORLDS, cleanUp, poolIn, serve } from "./fixtures.ts";
import { eventually } from "../helpers/net.ts";

afterEach(cleanUp);

const memory = WORLDS.find((w) => w.name === "memory")!;

describe("a resting connection keeps no map of pending calls", () => {
  test("the map is made for calls in flight and let go when they are answered", async () => {
    const w = memory.make();
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const a = serve(w, { echo: (x: unknown) => x, slow: async () => gate.then(() => "done") });
    const b = serve(w, { echo: (x: unknown) => x });
    const pool = poolIn(w);
    const toA = new Client(w.host, a.port, { pool });
    const toB = new Client(w.host, b.port, { pool });
    expect(await toA.call("echo", 1)).toBe(1);
    expect(await toB.call("echo", 2)).toBe(2);
    const ccA = pool.channel(w.host, a.port).connection!.state as ClientConnection;
    const ccB = pool.channel(w.host, b.port).connection!.state as ClientConnection;
    // At rest both read the one shared empty map: neither keeps a map of its own.
    expect(ccA.pending.size).toBe(0);
    expect(ccA.pending).toBe(ccB.pending);
    // A call in flight has a map of its own connection's...
    const slow = toA.call("slow");
    await eventually(() => ccA.pending.size === 1, 10_000, "the slow call in flight");
    expect(ccA.pending).not.toBe(ccB.pending);
    // ...let go once it is answered; calls go on as before.
    release();
    expect(await slow).toBe("done");
    expect(ccA.pending).toBe(ccB.pending);
    expect(await Promise.all([toA.call("echo", 3), toA.call("echo", 4), toB.call("echo", 5)])).toEqual([3, 4, 5]);
    expect(ccA.pending).toBe(ccB.pending);
    expect(pool.channel(w.host, a.port).idleFor(Date.now())).toBeGreaterThanOrEqual(0);
  });
});
