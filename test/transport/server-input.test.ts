import { afterEach, describe, expect, test } from "bun:test";
import { encode } from "../../src/wire/codec.ts";
import { RawSocket, frameBytes, header, sleep, startNode, stopAll } from "../helpers/net.ts";
import type { Node } from "../../src/node.ts";

afterEach(stopAll);

const unhex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));

function badRequest(message: string, id = "") {
  return { id, ok: false, result: null, error: { code: "bad_request", message }, type: "response" };
}

function ok(id: string, result: unknown) {
  return { id, ok: true, result, error: null, type: "response" };
}

async function calculator(options: Parameters<typeof startNode>[0] = {}): Promise<Node> {
  const node = await startNode(options);
  node.endpoint("sum", (a: number, b: number) => a + b);
  node.endpoint("slowSum", async (a: number, b: number) => {
    await sleep(50);
    return a + b;
  });
  return node;
}

/** After a bad frame, the same connection must still answer a good request. */
async function stillServes(raw: RawSocket): Promise<void> {
  const count = raw.frames.length + 1;
  await raw.send({ endpoint: "sum", id: "after", args: [2, 3], kwargs: {}, type: "request" });
  expect((await raw.waitFrames(count))[count - 1]).toEqual(ok("after", 5));
  expect(raw.closed).toBe(false);
}

describe("server input - frames over the limit", () => {
  test("a header over maxUploadSize: frame too large with id '', payload never read, connection closed", async () => {
    const node = await calculator({ maxUploadSize: 1000 });
    const raw = await RawSocket.open(node.port);
    await raw.write(header(5000)); // no payload at all: the answer must not wait for it
    expect(await raw.nextFrame()).toEqual(badRequest("frame too large: 5000 > 1000"));
    await raw.waitClosed(5000);
    expect(raw.frames.length).toBe(1);
  });

  test("a frame of exactly maxUploadSize is accepted", async () => {
    const node = await calculator({ maxUploadSize: 1000 });
    node.endpoint("len", (b: Uint8Array) => b.length);
    const body = { endpoint: "len", id: "1", args: [new Uint8Array(0)], kwargs: {}, type: "request" };
    // The empty bin takes 2 bytes (c4 00); a bin over 255 bytes takes a 3-byte header (c5 xx xx).
    const size = 1000 - encode(body).length - 1;
    const payload = encode({ ...body, args: [new Uint8Array(size)] });
    expect(payload.length).toBe(1000);
    const raw = await RawSocket.open(node.port);
    await raw.write(frameBytes(payload));
    expect(await raw.nextFrame()).toEqual(ok("1", size));
  });
});

describe("server input - malformed frames keep the connection usable", () => {
  test("undecodable MessagePack", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.write(frameBytes(unhex("81a161")));
    const answer = (await raw.nextFrame()) as ReturnType<typeof badRequest>;
    expect(answer.id).toBe("");
    expect(answer.error.code).toBe("bad_request");
    expect(answer.error.message).toStartWith("undecodable MessagePack");
    await stillServes(raw);
  });

  test("an empty payload and the never-used byte", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.write(frameBytes(new Uint8Array(0)));
    await raw.write(frameBytes(unhex("c1")));
    await raw.waitFrames(2);
    for (const answer of raw.frames as Array<ReturnType<typeof badRequest>>) {
      expect([answer.id, answer.error.code]).toEqual(["", "bad_request"]);
      expect(answer.error.message).toStartWith("undecodable MessagePack");
    }
    await stillServes(raw);
  });

  test("a payload that is not a map", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    for (const payload of [[1, 2], "text", 7, null]) await raw.send(payload);
    await raw.waitFrames(4);
    for (const answer of raw.frames) expect(answer).toEqual(badRequest("invalid request: payload is not a map"));
    await stillServes(raw);
  });

  test("an unknown top-level key: Python's message", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: "sum", id: "x", args: [1, 2], kwargs: {}, type: "request", extra: 1 });
    expect(await raw.nextFrame()).toEqual(badRequest("unknown request fields: ['extra']"));
    await raw.send({ zeta: 1, endpoint: "sum", alpha: 2 });
    expect(await raw.nextFrame()).toEqual(badRequest("unknown request fields: ['alpha', 'zeta']"));
    await stillServes(raw);
  });

  test("trailing bytes after the value: Python's message", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    const good = encode({ endpoint: "sum", id: "x", args: [1, 2], kwargs: {}, type: "request" });
    await raw.write(frameBytes(new Uint8Array([...good, 0x00])));
    expect(await raw.nextFrame()).toEqual(badRequest("unpack(b) received extra data."));
    await stillServes(raw);
  });

  test("wrongly typed fields and a response sent to a server", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: 5, id: "1" });
    await raw.send({ endpoint: "sum", id: "1", args: "no" });
    await raw.send({ endpoint: "sum", id: "1", kwargs: [1] });
    await raw.send({ endpoint: "sum", id: { nested: 1 } });
    await raw.send({ id: "1", ok: true, result: 1, error: null, type: "response" });
    await raw.send({ endpoint: "sum", type: "weird" });
    await raw.waitFrames(6);
    expect(raw.frames.map((f) => (f as ReturnType<typeof badRequest>).error.message)).toEqual([
      "invalid request: endpoint must be a string",
      "invalid request: args must be an array",
      "invalid request: kwargs must be a map",
      "invalid request: id must be a string",
      "invalid request: a server accepts only requests",
      'invalid request: unknown message type "weird"',
    ]);
    for (const f of raw.frames) expect(f).toMatchObject({ id: "", ok: false });
    await stillServes(raw);
  });
});

describe("server input - tolerated requests", () => {
  test("an integer id is echoed back as a string", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: "sum", id: 42, args: [1, 2], kwargs: {}, type: "request" });
    expect(await raw.nextFrame()).toEqual(ok("42", 3));
  });

  test("missing type, args, kwargs and id", async () => {
    const node = await calculator();
    node.endpoint("kw", (a: number, b: number) => [a, b]);
    const raw = await RawSocket.open(node.port);
    await raw.send({ endpoint: "sum", id: "no-type", args: [1, 2], kwargs: {} });
    await raw.send({ endpoint: "kw", id: "no-args", kwargs: { a: 1, b: 2 } });
    await raw.send({ endpoint: "sum", id: "no-kwargs", args: [3, 4] });
    await raw.send({ endpoint: "_synapse.ping" });
    await raw.waitFrames(4);
    expect(raw.frames).toEqual([ok("no-type", 3), ok("no-args", [1, 2]), ok("no-kwargs", 7), ok("", "pong")]);
  });

  test("keys in any order", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.send({ type: "request", kwargs: {}, args: [5, 6], id: "r", endpoint: "sum" });
    expect(await raw.nextFrame()).toEqual(ok("r", 11));
  });

  test("pipelined requests on one connection are all answered, matched by id", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    const burst: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const endpoint = i % 2 === 0 ? "slowSum" : "sum";
      burst.push(frameBytes(encode({ endpoint, id: `r${i}`, args: [i, 1000], kwargs: {}, type: "request" })));
    }
    await raw.write(Buffer.concat(burst));
    await raw.waitFrames(50);
    const byId = new Map((raw.frames as Array<{ id: string; result: number }>).map((f) => [f.id, f.result]));
    expect(byId.size).toBe(50);
    for (let i = 0; i < 50; i++) expect(byId.get(`r${i}`)).toBe(i + 1000);
  });
});

describe("server input - connection lifecycle", () => {
  test("a half-sent frame is closed after readTimeout (and not by a node with a longer one)", async () => {
    const quick = await calculator({ readTimeout: 0.3 });
    const patient = await calculator({ readTimeout: 60 });
    const cut = await RawSocket.open(quick.port);
    const kept = await RawSocket.open(patient.port);
    const half = new Uint8Array([...header(100), 1, 2, 3, 4, 5]);
    await Promise.all([cut.write(half), kept.write(half)]);
    await cut.waitClosed(5000);
    expect(cut.frames).toEqual([]);
    expect(kept.closed).toBe(false);
    // The patient node still completes the frame when the rest arrives.
    await kept.write(new Uint8Array(95));
    // (a fixint 1 followed by 99 more bytes)
    expect(await kept.nextFrame()).toEqual(badRequest("unpack(b) received extra data."));
  });

  test("a header-only frame counts as half-sent too", async () => {
    const node = await calculator({ readTimeout: 0.3 });
    const raw = await RawSocket.open(node.port);
    await raw.write(new Uint8Array([0, 0]));
    await raw.waitClosed(5000);
    expect(raw.frames).toEqual([]);
  });

  test("an idle connection is closed after idleTimeout; a busy one is not", async () => {
    const node = await calculator({ idleTimeout: 0.3 });
    node.endpoint("wait", async () => {
      await sleep(900);
      return "done";
    });
    const idle = await RawSocket.open(node.port);
    const busy = await RawSocket.open(node.port);
    await busy.send({ endpoint: "wait", id: "w", args: [], kwargs: {}, type: "request" });
    await idle.waitClosed(5000);
    expect(await busy.nextFrame()).toEqual(ok("w", "done"));
    expect(busy.frames.length).toBe(1);
  });

  test("a client that sends a request and half-closes still gets its answer", async () => {
    const node = await calculator();
    for (const endpoint of ["sum", "slowSum"]) {
      const raw = await RawSocket.open(node.port);
      await raw.send({ endpoint, id: endpoint, args: [40, 2], kwargs: {}, type: "request" });
      raw.end();
      expect(await raw.nextFrame()).toEqual(ok(endpoint, 42));
      await raw.waitClosed(5000);
    }
  });

  test("several requests then a half-close: every answer arrives before the close", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.write(
      Buffer.concat([
        frameBytes(encode({ endpoint: "slowSum", id: "a", args: [1, 1] })),
        frameBytes(encode({ endpoint: "sum", id: "b", args: [2, 2] })),
      ]),
    );
    raw.end();
    await raw.waitClosed(5000);
    expect(raw.frames).toContainEqual(ok("a", 2));
    expect(raw.frames).toContainEqual(ok("b", 4));
  });

  test("a frame cut short by EOF: incomplete frame", async () => {
    const node = await calculator();
    const raw = await RawSocket.open(node.port);
    await raw.write(new Uint8Array([...header(100), 1, 2, 3]));
    raw.end();
    expect(await raw.nextFrame()).toEqual(badRequest("incomplete frame"));
    await raw.waitClosed(5000);
  });

  test("after all that abuse the node still serves everyone", async () => {
    const node = await calculator({ maxUploadSize: 100, readTimeout: 0.3 });
    const abusers = await Promise.all(Array.from({ length: 20 }, () => RawSocket.open(node.port)));
    await Promise.all(
      abusers.map((raw, i) => {
        switch (i % 5) {
          case 0: return raw.write(header(1_000_000));
          case 1: return raw.write(frameBytes(unhex("c1c1c1")));
          case 2: return raw.write(new Uint8Array([0, 0, 0, 50, 1]));
          case 3: return raw.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));
          default: return raw.send({ endpoint: "sum", args: [1, 2], extra: true });
        }
      }),
    );
    for (const raw of abusers.filter((_, i) => i % 2 === 0)) raw.stop();
    const raw = await RawSocket.open(node.port);
    await stillServes(raw);
  });
});
