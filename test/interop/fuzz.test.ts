/**
 * Bounded, reproducible fuzzing of both ends of the wire.
 *
 * Server side: a real Node on 127.0.0.1 gets a few thousand random or mutated frames (the Python
 * wire vectors with flipped bytes, truncations and wrong length headers; random maps with odd
 * types, extension types, 0xc1, invalid UTF-8, deep nesting, huge declared lengths; oversize
 * headers) over a bounded number of connections. The process must never see an unhandled
 * rejection or exception, every frame it answers must be a well-formed response in Python's
 * format, and afterwards a fresh Client still gets "pong".
 *
 * Client side: a fake server answers each request with garbage or a mutated response (or not at
 * all). Every call must settle, resolving or rejecting with a SynapseError, within its timeout.
 *
 * Every random choice comes from a seeded PRNG: a failure replays with the same seed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { readFileSync } from "node:fs";
import type { Socket, TCPSocketListener } from "bun";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { CallTimeoutError, SynapseError } from "../../src/errors.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { seededRandom } from "../../src/util/random.ts";
import { LOOPBACK, eventually, startNode, stopAll, track } from "../helpers/net.ts";
import { RESPONSE_ORDER, field, keysOf, readStrict } from "./python-strict.ts";

const SEED = 0x5eed_2024;

/** mulberry32: a small, fast, seeded PRNG (uniform floats in [0, 1)). */
const prng = seededRandom;

class Gen {
  constructor(readonly rand: () => number) {}
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

// ------------------------------------------------------------------ random MessagePack

function u16(n: number): number[] {
  return [(n >>> 8) & 0xff, n & 0xff];
}
function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function strBytes(g: Gen): number[] {
  const kind = g.int(5);
  let body: number[];
  if (kind === 0) body = [...g.bytes(g.int(12))]; // random bytes: often invalid UTF-8
  else if (kind === 1) body = [...Buffer.from("héllo ✓ 😀".slice(0, g.int(10)))];
  else if (kind === 2) body = [0xed, 0xa0, 0x80]; // an encoded surrogate: invalid UTF-8
  else body = [...Buffer.from(g.pick(["echo", "sum", "id", "args", "kwargs", "type", "broadcast", "__proto__", "constructor", "x".repeat(g.int(300))]))];
  const n = body.length;
  const head = n < 32 && g.chance(0.8) ? [0xa0 | n] : n < 256 && g.chance(0.7) ? [0xd9, n] : [0xda, ...u16(n)];
  return [...head, ...body];
}

/** A random MessagePack value, valid or not, as bytes. */
function randomValue(g: Gen, depth: number): number[] {
  const leafOnly = depth > 5;
  switch (g.int(leafOnly ? 12 : 16)) {
    case 0:
      return [g.pick([0xc0, 0xc2, 0xc3, 0xc1])];
    case 1:
      return [g.int(256) & 0x7f];
    case 2:
      return [0xe0 | g.int(32)];
    case 3:
      return [g.pick([0xcc, 0xd0]), g.int(256)];
    case 4:
      return [g.pick([0xcd, 0xd1]), ...g.bytes(2)];
    case 5:
      return [g.pick([0xce, 0xd2, 0xca]), ...g.bytes(4)];
    case 6:
      return [g.pick([0xcf, 0xd3, 0xcb]), ...g.bytes(8)];
    case 7:
      return strBytes(g);
    case 8: {
      const n = g.int(20);
      return [0xc4, n, ...g.bytes(n)];
    }
    case 9: {
      // extension types: fixext 1..16, ext 8; -1 is msgpack's timestamp
      if (g.chance(0.3)) return [0xd6, 0xff, ...g.bytes(4)];
      if (g.chance(0.2)) return [0xd7, 0xff, ...g.bytes(8)];
      const code = g.pick([0xd4, 0xd5, 0xd6, 0xd7, 0xd8]);
      const size = [1, 2, 4, 8, 16][code - 0xd4]!;
      if (g.chance(0.5)) return [code, g.int(256), ...g.bytes(size)];
      const n = g.int(10);
      return [0xc7, n, g.int(256), ...g.bytes(n)];
    }
    case 10:
      // huge declared lengths with nothing behind them
      return g.pick([
        [0xdd, 0xff, 0xff, 0xff, 0xff],
        [0xdf, 0xff, 0xff, 0xff, 0xff],
        [0xdb, 0xff, 0xff, 0xff, 0xff],
        [0xc6, 0xff, 0xff, 0xff, 0xff],
        [0xc9, 0xff, 0xff, 0xff, 0xff, 0x01],
        [0xdc, 0xff, 0xff],
        [0xde, 0x80, 0x00],
      ]);
    case 11: {
      // deep nesting: arrays or maps
      const levels = g.pick([65, 200, 1000, 5000]);
      const open: number[] = g.chance(0.5) ? Array(levels).fill(0x91) : Array.from({ length: levels }, () => [0x81, 0xa1, 0x6b]).flat();
      return [...open, 0xc0];
    }
    case 12:
    case 13: {
      const n = g.int(6);
      const out = [0x90 | n];
      for (let i = 0; i < n; i++) out.push(...randomValue(g, depth + 1));
      return out;
    }
    default: {
      const n = g.int(6);
      const out = [0x80 | n];
      for (let i = 0; i < n; i++) {
        out.push(...(g.chance(0.8) ? strBytes(g) : randomValue(g, depth + 1)));
        out.push(...randomValue(g, depth + 1));
      }
      return out;
    }
  }
}

const ENDPOINTS = [
  "echo",
  "sum",
  "_synapse.ping",
  "_synapse.info",
  "_synapse.methods",
  "_synapse.peers",
  "_synapse.join",
  "_synapse.heartbeat",
  "_synapse.conversation.event",
  "_synapse.conversation.sync",
  "_synapse.conversation.list",
  "_synapse.broadcast.reply",
  "_synapse.artifacts",
  "_synapse.artifact.get",
  "_node.ask",
  "synapse.ask",
  "_synapse.hello",
  "no.such",
] as const;

function strOf(text: string): number[] {
  const b = [...Buffer.from(text)];
  return b.length < 32 ? [0xa0 | b.length, ...b] : [0xd9, b.length, ...b];
}

/** A request-shaped map whose fields are random (some missing, some of odd types, some extra). */
function randomRequest(g: Gen): number[] {
  const fields: number[][] = [];
  if (g.chance(0.9)) fields.push([...strOf("endpoint"), ...(g.chance(0.85) ? strOf(g.pick(ENDPOINTS)) : randomValue(g, 1))]);
  if (g.chance(0.8)) fields.push([...strOf("id"), ...(g.chance(0.7) ? strOf(`fz${g.int(1e6)}`) : randomValue(g, 1))]);
  if (g.chance(0.8)) {
    const n = g.int(4);
    const args = g.chance(0.9) ? [0x90 | n, ...Array.from({ length: n }, () => randomValue(g, 2)).flat()] : randomValue(g, 1);
    fields.push([...strOf("args"), ...args]);
  }
  if (g.chance(0.6)) {
    const n = g.int(3);
    const kw = [0x80 | n];
    for (let i = 0; i < n; i++) kw.push(...strOf(g.pick(["broadcast", "context", "since", "result", "x", "__proto__"])), ...randomValue(g, 2));
    fields.push([...strOf("kwargs"), ...(g.chance(0.9) ? kw : randomValue(g, 1))]);
  }
  if (g.chance(0.7)) fields.push([...strOf("type"), ...(g.chance(0.8) ? strOf("request") : randomValue(g, 1))]);
  if (g.chance(0.05)) fields.push([...strOf("extra"), 0xc0]);
  return [0x80 | fields.length, ...fields.flat()];
}

function frameOf(payload: ArrayLike<number>, declared = payload.length): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  out.set(u32(declared >>> 0), 0);
  out.set(payload, 4);
  return out;
}

const vectorRequests: Uint8Array[] = (
  JSON.parse(readFileSync(new URL("../../../shared/wire-vectors.json", import.meta.url), "utf8")).frames as Array<{ hex: string; direction: string }>
)
  .filter((f) => f.direction === "client->server")
  .map((f) => new Uint8Array(Buffer.from(f.hex, "hex").subarray(4)));

/** One fuzz frame (or a few bytes that are not one), and whether it must be the last on its connection. */
function fuzzFrame(g: Gen): { bytes: Uint8Array; last: boolean } {
  const base = g.pick(vectorRequests);
  switch (g.int(12)) {
    case 0:
      return { bytes: frameOf(base), last: false };
    case 1:
    case 2: {
      const p = base.slice();
      for (let i = 0, n = 1 + g.int(8); i < n; i++) p[g.int(p.length)] = g.int(256);
      return { bytes: frameOf(p), last: false };
    }
    case 3:
      return { bytes: frameOf(base.subarray(0, g.int(base.length))), last: false };
    case 4: {
      // header announcing a little more or less than follows: the stream desynchronises
      const delta = g.pick([-3, -1, 1, 2, 7]);
      return { bytes: frameOf(base, Math.max(0, base.length + delta)), last: g.chance(0.2) };
    }
    case 5:
    case 6:
    case 7:
      return { bytes: frameOf(randomRequest(g)), last: false };
    case 8:
      return { bytes: frameOf(randomValue(g, 0)), last: false };
    case 9:
      return { bytes: frameOf(g.bytes(g.int(64))), last: false };
    case 10:
      // oversize header (> 4 MiB) or an empty frame
      return g.chance(0.15) ? { bytes: frameOf([], 4 * 1024 * 1024 + 1 + g.int(1e9)), last: true } : { bytes: frameOf([]), last: false };
    default: {
      // a valid request whose args hold random values: echoed back through the encoder
      const payload = [0x85, ...strOf("endpoint"), ...strOf("echo"), ...strOf("id"), ...strOf(`e${g.int(1e6)}`), ...strOf("args"), 0x91, ...randomValue(g, 1), ...strOf("kwargs"), 0x80, ...strOf("type"), ...strOf("request")];
      return { bytes: frameOf(payload), last: false };
    }
  }
}

// ------------------------------------------------------------------ process-level guards

let unhandled = 0;
const onUnhandled = (error: unknown) => {
  unhandled++;
  console.error("fuzz: unhandled", error);
};
beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
});
afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
});
afterEach(stopAll);

interface ConnectionOutcome {
  responses: Uint8Array[];
  leftover: number;
  closed: boolean;
}

/** Write `bytes` (in a few random chunks), half-close, and collect every answer until the server closes. */
function fuzzConnection(port: number, bytes: Uint8Array, g: Gen, ms: number): Promise<ConnectionOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: LOOPBACK, port });
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      const responses: Uint8Array[] = [];
      let at = 0;
      while (all.length - at >= 4 && all.length - at >= 4 + all.readUInt32BE(at)) {
        const size = all.readUInt32BE(at);
        responses.push(all.subarray(at + 4, at + 4 + size));
        at += 4 + size;
      }
      resolve({ responses, leftover: all.length - at, closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on("connect", () => {
      let at = 0;
      while (at < bytes.length) {
        const n = g.chance(0.3) ? 1 + g.int(64) : bytes.length - at;
        socket.write(bytes.subarray(at, at + n));
        at += n;
      }
      socket.end();
    });
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => finish(true));
  });
}

/** Problems with one answer frame from the node (empty when it is a well-formed response). */
function responseProblems(payload: Uint8Array): string[] {
  const { value, violations } = readStrict(payload, 100_000);
  if (violations.length > 0) return violations;
  const problems: string[] = [];
  try {
    if (keysOf(value).join() !== RESPONSE_ORDER.join()) problems.push(`keys ${JSON.stringify(keysOf(value))}`);
    const ok = field(value, "ok");
    if (typeof ok !== "boolean") problems.push("ok is not a bool");
    if (typeof field(value, "id") !== "string") problems.push("id is not a str");
    if (field(value, "type") !== "response") problems.push("type is not 'response'");
    const error = field(value, "error");
    if (ok === true && error !== null) problems.push("ok with an error");
    if (ok === false) {
      if (field(value, "result") !== null) problems.push("failed with a result");
      if (keysOf(error).join() !== "code,message") problems.push("error keys");
      const code = field(error, "code");
      if (code !== "bad_request" && code !== "internal_error") problems.push(`error code ${String(code)}`);
      if (typeof field(error, "message") !== "string") problems.push("error message is not a str");
    }
  } catch (e) {
    problems.push((e as Error).message);
  }
  return problems;
}

describe("interop - fuzzing a node's server", () => {
  test(
    "thousands of random and mutated frames: no crash, every answer a well-formed response, still serving after",
    async () => {
      const node = await startNode({ swarm: "fuzz-only-swarm", heartbeatInterval: null, peerTimeout: null, readTimeout: 2 });
      node.endpoint("echo", (x: unknown) => x);
      node.endpoint("sum", (a: number, b: number) => a + b);
      const g = new Gen(prng(SEED));
      const CONNECTIONS = 160;
      const PARALLEL = 8;
      let framesSent = 0;
      let answered = 0;
      let unclosed = 0;
      const problems: string[] = [];
      for (let batch = 0; batch < CONNECTIONS / PARALLEL; batch++) {
        const runs: Array<Promise<ConnectionOutcome>> = [];
        for (let c = 0; c < PARALLEL; c++) {
          const parts: Uint8Array[] = [];
          const count = 30 + g.int(30);
          for (let i = 0; i < count; i++) {
            const f = fuzzFrame(g);
            parts.push(f.bytes);
            framesSent++;
            if (f.last) break;
          }
          runs.push(fuzzConnection(node.port, Buffer.concat(parts), g, 8000));
        }
        for (const outcome of await Promise.all(runs)) {
          if (!outcome.closed) unclosed++;
          answered += outcome.responses.length;
          if (outcome.leftover !== 0) problems.push(`${outcome.leftover} byte(s) of a partial answer frame`);
          for (const r of outcome.responses) {
            const p = responseProblems(r);
            if (p.length > 0 && problems.length < 20) problems.push(`${p.join("; ")} in ${Buffer.from(r.subarray(0, 80)).toString("hex")}`);
          }
        }
      }
      expect(problems).toEqual([]);
      expect(unclosed).toBe(0); // after our FIN the node answered what it could and closed every connection
      expect(framesSent).toBeGreaterThan(2000);
      expect(answered).toBeGreaterThan(1000);
      // Still serving: a fresh client on a fresh pool.
      const pool = new Pool();
      try {
        expect(await new Client(LOOPBACK, node.port, { pool, timeout: 5 }).ping()).toBe("pong");
      } finally {
        pool.closeAll();
      }
      await node.conversationLayer.flush();
      expect(unhandled).toBe(0);
    },
    30_000,
  );
});

// ------------------------------------------------------------------ client side

type Behaviour =
  | "ok"
  | "error"
  | "wrong-id"
  | "garbage"
  | "mutated"
  | "extra-key"
  | "truncated-close"
  | "half-header-close"
  | "oversize"
  | "close"
  | "silent"
  | "twice"
  | "as-request"
  | "odd-error"
  | "odd-ok"
  | "odd-result"
  | "anonymous-error"
  | "going-away";

const BEHAVIOURS: Behaviour[] = [
  "ok",
  "error",
  "wrong-id",
  "garbage",
  "mutated",
  "extra-key",
  "truncated-close",
  "half-header-close",
  "oversize",
  "close",
  "silent",
  "twice",
  "as-request",
  "odd-error",
  "odd-ok",
  "odd-result",
  "anonymous-error",
  "going-away",
];

interface FakeConn {
  buffer: Uint8Array;
}

/** A server that answers every request it can parse with a randomly chosen misbehaviour. */
class MisbehavingServer {
  private server: TCPSocketListener<FakeConn> | null = null;
  readonly seen = new Map<Behaviour, number>();

  constructor(private readonly g: Gen) {}

  get port(): number {
    return this.server?.port ?? 0;
  }

  start(): this {
    this.server = Bun.listen<FakeConn>({
      hostname: LOOPBACK,
      port: 0,
      socket: {
        open: (socket) => {
          socket.data = { buffer: new Uint8Array(0) };
        },
        data: (socket, chunk) => this.onData(socket, chunk),
        error: () => {},
      },
    });
    return this;
  }

  stop(): void {
    this.server?.stop(true);
    this.server = null;
  }

  private onData(socket: Socket<FakeConn>, chunk: Uint8Array): void {
    let buf = Buffer.concat([socket.data.buffer, chunk]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const size = buf.readUInt32BE(0);
      const payload = buf.subarray(4, 4 + size);
      buf = buf.subarray(4 + size);
      let req: Record<string, unknown> | null = null;
      try {
        req = decode(payload) as Record<string, unknown>;
      } catch {
        req = null;
      }
      if (req) this.answer(socket, req);
    }
    socket.data.buffer = new Uint8Array(buf);
  }

  private send(socket: Socket<FakeConn>, payload: Uint8Array, declared = payload.length): void {
    socket.write(frameOf(payload, declared));
  }

  private answer(socket: Socket<FakeConn>, req: Record<string, unknown>): void {
    const g = this.g;
    const id = String(req.id ?? "");
    const good = (result: unknown) => encode({ id, ok: true, result, error: null, type: "response" });
    if (req.endpoint === "_synapse.hello" && g.chance(0.5)) {
      this.send(socket, good({ multiplex: true, implementation: "fake", version: "0" }));
      return;
    }
    const behaviour = g.pick(BEHAVIOURS);
    this.seen.set(behaviour, (this.seen.get(behaviour) ?? 0) + 1);
    switch (behaviour) {
      case "ok":
        return this.send(socket, good({ echoed: req.args ?? null }));
      case "error":
        return this.send(socket, encode({ id, ok: false, result: null, error: { code: "internal_error", message: "nope" }, type: "response" }));
      case "wrong-id":
        return this.send(socket, encode({ id: `${id}x`, ok: true, result: 1, error: null, type: "response" }));
      case "garbage":
        return this.send(socket, g.bytes(g.int(40)));
      case "mutated": {
        const p = good({ a: [1, 2.5, "x"] }).slice();
        for (let i = 0, n = 1 + g.int(4); i < n; i++) p[g.int(p.length)] = g.int(256);
        return this.send(socket, p);
      }
      case "extra-key":
        return this.send(socket, encode({ id, ok: true, result: 1, error: null, type: "response", extra: true }));
      case "truncated-close": {
        const p = good("a result that is cut short");
        socket.write(frameOf(p).subarray(0, 4 + g.int(p.length)));
        socket.end();
        return;
      }
      case "half-header-close":
        socket.write(new Uint8Array([0, 0]));
        socket.end();
        return;
      case "oversize":
        return this.send(socket, new Uint8Array(0), 64 * 1024 * 1024);
      case "close":
        socket.end();
        return;
      case "silent":
        return;
      case "twice":
        this.send(socket, good(1));
        this.send(socket, good(2));
        return;
      case "as-request":
        return this.send(socket, encode({ endpoint: "x", id, args: [], kwargs: {}, type: "request" }));
      case "odd-error":
        return this.send(socket, encode({ id, ok: false, result: null, error: g.pick<unknown>([5, "text", [1], { code: 1, message: [2] }, null, { code: "going_away" }]), type: "response" }));
      case "odd-ok":
        return this.send(socket, encode({ id, ok: g.pick<unknown>([1, "yes", null, [true]]), result: 1, error: null, type: g.pick<unknown>(["response", undefined]) }));
      case "odd-result": {
        const head = [0x85, ...strOf("id"), ...strOf(id), ...strOf("ok"), 0xc3, ...strOf("result")];
        const tail = [...strOf("error"), 0xc0, ...strOf("type"), ...strOf("response")];
        return this.send(socket, new Uint8Array([...head, ...randomValue(g, 0), ...tail]));
      }
      case "anonymous-error":
        this.send(socket, encode({ id: "", ok: false, result: null, error: { code: "bad_request", message: "frame too large: 1 > 0" }, type: "response" }));
        socket.end();
        return;
      case "going-away":
        this.send(socket, encode({ id: "", ok: false, result: null, error: { code: "going_away", message: "bye" }, type: "response" }));
        socket.end();
        return;
    }
  }
}

describe("interop - fuzzing the client", () => {
  test(
    "garbage, mutated, missing and doubled answers: every call settles within its timeout, resolving or with a SynapseError",
    async () => {
      const g = new Gen(prng(SEED + 1));
      const server = new MisbehavingServer(g).start();
      const pool = new Pool({ idleTimeout: 1 });
      const TIMEOUT = 0.4;
      const CALLS = 400;
      const BATCH = 40;
      let resolved = 0;
      let rejected = 0;
      let timedOut = 0;
      const strays: string[] = [];
      try {
        for (let b = 0; b < CALLS / BATCH; b++) {
          const calls = Array.from({ length: BATCH }, (_, i) => {
            const client = new Client(LOOPBACK, server.port, { pool, timeout: TIMEOUT, maxDownloadSize: 1024 * 1024 });
            const started = performance.now();
            const call = client.call("work", b, i).then(
              () => {
                resolved++;
              },
              (error: unknown) => {
                rejected++;
                if (error instanceof CallTimeoutError) timedOut++;
                if (!(error instanceof SynapseError)) strays.push(String(error));
              },
            );
            // A hang detector, far beyond the timeout: a call that never settles fails here.
            return Promise.race([call.then(() => performance.now() - started), Bun.sleep(TIMEOUT * 1000 + 3000).then(() => Number.POSITIVE_INFINITY)]);
          });
          const durations = await Promise.all(calls);
          expect(durations.filter((d) => d === Number.POSITIVE_INFINITY).length).toBe(0);
        }
      } finally {
        pool.closeAll();
        server.stop();
      }
      expect(strays).toEqual([]);
      expect(resolved + rejected).toBe(CALLS);
      expect(resolved).toBeGreaterThan(0);
      expect(rejected).toBeGreaterThan(0);
      expect(timedOut).toBeGreaterThan(0);
      expect(server.seen.size).toBe(BEHAVIOURS.length); // every misbehaviour was exercised
      expect(unhandled).toBe(0);
    },
    30_000,
  );

  test("a call waiting for a free one-request connection still times out on its own deadline", async () => {
    const server = track(new PythonLikeServer().start());
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    server.endpoint("hold", () => held.then(() => "released"));
    const pool = new Pool({ maxSingleConnections: 2 });
    try {
      const slow = new Client(LOOPBACK, server.port, { pool, timeout: 10 });
      const fast = new Client(LOOPBACK, server.port, { pool, timeout: 0.2 });
      await fast.call("_synapse.ping").catch(() => {}); // the hello is refused: one request per connection
      expect(fast.mode).toBe("single");
      const order: string[] = [];
      const a = slow.call("hold").then((r) => order.push(`slow ${r}`));
      const b = slow.call("hold").then((r) => order.push(`slow ${r}`));
      await eventually(() => server.requestsFor("hold").length === 2, 3000, "both connections taken");
      // The third call queues for a connection; its 0.2 s budget runs out while both are held.
      const outcome = await Promise.race([fast.call("hold").then(() => "resolved", (e: unknown) => e), Bun.sleep(3000).then(() => "hung")]);
      order.push("fast settled");
      expect(outcome).toBeInstanceOf(CallTimeoutError);
      expect((outcome as CallTimeoutError).endpoint).toBe("hold");
      expect(server.requestsFor("hold").length).toBe(2); // it never got a connection, so it was never sent
      release();
      await Promise.all([a, b]);
      expect(order).toEqual(["fast settled", "slow released", "slow released"]);
    } finally {
      release();
      pool.closeAll();
    }
  });
});
