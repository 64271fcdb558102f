/**
 * One suite, two transports: the pool, its client connections and the listener behave the same
 * over real Bun sockets on 127.0.0.1 and over the in-memory network.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Client } from "../../src/rpc/client.ts";
import { CallTimeoutError, ConnectionError, RemoteError } from "../../src/errors.ts";
import { GOING_AWAY } from "../../src/wire/protocol.ts";
import { freePort, rejection, eventually } from "../helpers/net.ts";
import { RawPeer, WORLDS, cleanUp, poolIn, scriptedServer, serve } from "./fixtures.ts";

afterEach(cleanUp);

const MiB = 1024 * 1024;

for (const { name, make } of WORLDS) {
  describe(`transport contract (${name})`, () => {
    test(`${name} - the hello makes the channel multiplex; concurrent calls share one connection`, async () => {
      const world = make();
      const listener = serve(world, { sum: (a: number, b: number) => a + b });
      const client = new Client(world.host, listener.port, { pool: poolIn(world) });
      const results = await Promise.all(Array.from({ length: 100 }, (_, i) => client.call<number>("sum", i, 1)));
      expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(client.mode).toBe("multiplex");
      expect(listener.connectionCount).toBe(1);
    });

    test(`${name} - an ok: false answer is a RemoteError with the peer's code and message`, async () => {
      const world = make();
      const listener = serve(world, {
        boom: () => {
          throw new Error("it broke");
        },
      });
      const client = new Client(world.host, listener.port, { pool: poolIn(world) });
      const error = await rejection(client.call("boom"), RemoteError);
      expect(error.code).toBe("internal_error");
      expect(error.message).toContain("it broke");
      expect(error.peer).toBe(`${world.host}:${listener.port}`);
      expect(await rejection(client.call("missing"), RemoteError)).toMatchObject({ code: "bad_request", endpoint: "missing" });
    });

    test(`${name} - a one-request-per-connection peer: single mode, one fresh connection per call, nothing sent twice`, async () => {
      const world = make();
      const seen: string[] = [];
      const server = scriptedServer(world, "refuse", (conn, req) => {
        seen.push(String(req.args[0]));
        conn.answer(req, `done ${req.args[0]}`);
        conn.socket.end();
      });
      const client = new Client(world.host, server.port, { pool: poolIn(world) });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => client.call("work", i)));
      expect(results).toEqual(Array.from({ length: 20 }, (_, i) => `done ${i}`));
      expect(client.mode).toBe("single");
      expect([...seen].sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
      // One connection for the refused hello, then one per call.
      expect(server.connections()).toBe(21);
    });

    test(`${name} - going away: an unanswered call is resent on a fresh connection and runs once`, async () => {
      const world = make();
      const ran: string[] = [];
      const server = scriptedServer(world, "multiplex", (conn, req) => {
        if (conn.number === 1 && req.args[0] === "second") {
          conn.send({ id: "", ok: false, result: null, error: { code: GOING_AWAY, message: "bye" }, type: "response" });
          conn.socket.end();
          return;
        }
        ran.push(`${conn.number}:${req.args[0]}`);
        conn.answer(req, `done ${req.args[0]}`);
      });
      const client = new Client(world.host, server.port, { pool: poolIn(world), timeout: 5 });
      expect(await client.call("work", "first")).toBe("done first");
      expect(await client.call("work", "second")).toBe("done second");
      expect(await client.call("work", "third")).toBe("done third");
      expect(ran).toEqual(["1:first", "2:second", "2:third"]);
      expect(server.connections()).toBe(2);
    });

    test(`${name} - a stopping listener says going-away; the next call reaches its successor on the same port`, async () => {
      const world = make();
      const first = serve(world, { who: () => "first" });
      const port = first.port;
      const client = new Client(world.host, port, { pool: poolIn(world) });
      expect(await client.call("who")).toBe("first");
      first.stop();
      const second = serve(world, { who: () => "second" }, { port });
      expect(await client.call("who")).toBe("second");
      expect(second.connectionCount).toBe(1);
    });

    test(`${name} - a call without an answer times out; the connection carries on`, async () => {
      const world = make();
      const listener = serve(world, { never: () => new Promise(() => {}), ping2: () => "pong" });
      const client = new Client(world.host, listener.port, { pool: poolIn(world) });
      const error = await rejection(client.request("never", { timeout: 0.05 }), CallTimeoutError);
      expect(error.endpoint).toBe("never");
      expect(error.timeoutMs).toBe(50);
      expect(await client.call("ping2")).toBe("pong");
      expect(listener.connectionCount).toBe(1);
    });

    test(`${name} - the peer dies mid-call: ConnectionError (sent), and a later call reconnects`, async () => {
      const world = make();
      const server = scriptedServer(world, "multiplex", (conn, req) => {
        if (conn.number === 1) conn.socket.terminate();
        else conn.answer(req, "alive");
      });
      const client = new Client(world.host, server.port, { pool: poolIn(world) });
      const error = await rejection(client.call("work"), ConnectionError);
      expect(error.sent).toBe(true);
      expect(error.endpoint).toBe("work");
      expect(await client.call("work")).toBe("alive");
    });

    test(`${name} - nobody listening: ConnectionError, nothing sent`, async () => {
      const world = make();
      const client = new Client(world.host, freePort(), { pool: poolIn(world) });
      const error = await rejection(client.ping(), ConnectionError);
      expect(error.sent).toBe(false);
    });

    test(`${name} - multi-MiB payloads both ways on one connection, with small calls between`, async () => {
      // The memory network here holds 64 KiB per direction and takes 16 KiB per write, so the
      // payloads go through many short writes and drains.
      const world = make({ bufferSize: 64 * 1024, maxWrite: 16 * 1024, maxRead: 24 * 1024 });
      const listener = serve(world, { echo: (data: unknown) => data }, { maxFrame: 16 * MiB });
      const client = new Client(world.host, listener.port, { pool: poolIn(world), maxDownloadSize: 16 * MiB, timeout: 60 });
      const blobs = [3, 1, 2].map((n) => new Uint8Array(randomBytes(n * MiB)));
      const [echoed, small] = await Promise.all([
        Promise.all(blobs.map((b) => client.call<Uint8Array>("echo", b))),
        Promise.all(Array.from({ length: 20 }, (_, i) => client.call<number>("echo", i))),
      ]);
      expect(echoed.map((b, i) => Buffer.from(b).equals(blobs[i]!))).toEqual([true, true, true]);
      expect(small).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(listener.connectionCount).toBe(1);
      if (world.net) {
        expect(world.net.stats.shortWrites).toBeGreaterThan(0);
        expect(world.net.stats.drains).toBeGreaterThan(0);
      }
    });

    test(`${name} - a raw client reads its answer and ends: the listener closes the connection`, async () => {
      const world = make();
      const listener = serve(world, { sum: (a: number, b: number) => a + b });
      const raw = await RawPeer.open(world.client, world.host, listener.port);
      raw.request("sum", "r1", [2, 3]);
      await raw.waitFrames(1);
      expect(raw.frames[0]).toMatchObject({ id: "r1", ok: true, result: 5 });
      expect(listener.connectionCount).toBe(1);
      raw.socket.end();
      await eventually(() => raw.closed, 5000, "the connection closed");
      await eventually(() => listener.connectionCount === 0, 5000, "the listener forgot the connection");
    });

    test(`${name} - the listener sees the caller's address`, async () => {
      const world = make();
      const listener = serve(world, { whoami: (ctx: { remote: { address: string } }) => ctx.remote.address });
      const client = new Client(world.host, listener.port, { pool: poolIn(world) });
      const address = await client.call<string>("whoami");
      expect(address).toContain(world.net ? "10.0.0.2" : "127.0.0.1");
    });
  });
}
