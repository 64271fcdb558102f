/**
 * Interop audit, answering side: what a Bun node answers a Python client (a fresh connection, one
 * request, one response read, close), read byte by byte by an independent strict reader. Responses
 * must be the five keys in Python's order, in Python's formats; records inside them (Peer, node
 * info, events, artifact descriptors) must have exactly the keys PROTOCOL.md lists, in its order.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { encode } from "../../src/wire/codec.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Peer } from "../../src/types.ts";
import type { Node } from "../../src/node.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { PythonNode, pyCall, pyCallRaw, pyPeer, type PyCallResult } from "./python-node.ts";
import {
  EVENT_ORDER,
  INFO_ORDER,
  PEER_ORDER,
  RESPONSE_ORDER,
  describe as pyType,
  eventProblems,
  field,
  keysOf,
  peerProblems,
  plain,
  readStrict,
  type PyValue,
} from "./python-strict.ts";

afterEach(stopAll);

interface Vector {
  name: string;
  hex: string;
  decoded: unknown;
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL("../../../shared/wire-vectors.json", import.meta.url), "utf8")).frames;

/** The payload (without its 4-byte header) of the vector whose name starts with `prefix`. */
function vectorPayload(prefix: string): Uint8Array {
  const v = vectors.find((f) => f.name.startsWith(prefix));
  if (!v) throw new Error(`no wire vector named ${prefix}`);
  return Buffer.from(v.hex, "hex").subarray(4);
}

const ZERO_ID = "0".repeat(64);

/** Check a response as a Python client reads it; returns its `result` (or its error when `ok` is false). */
function answer(call: PyCallResult): { ok: boolean; result: PyValue; error: PyValue } {
  const { value, violations } = call.response;
  expect(violations).toEqual([]);
  expect(keysOf(value)).toEqual(RESPONSE_ORDER);
  expect(field(value, "id")).toBe(call.id);
  expect(field(value, "type")).toBe("response");
  expect(call.extraBytes).toBe(0);
  const ok = field(value, "ok");
  expect(typeof ok).toBe("boolean");
  const error = field(value, "error")!;
  if (ok) expect(error).toBeNull();
  else expect(keysOf(error)).toEqual(["code", "message"]);
  if (!ok) expect(field(value, "result")).toBeNull();
  return { ok: ok as boolean, result: field(value, "result")!, error };
}

async function ok(port: number, endpoint: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<PyValue> {
  const a = answer(await pyCall(port, endpoint, args, kwargs));
  expect({ endpoint, ok: a.ok, error: plain(a.error) }).toEqual({ endpoint, ok: true, error: null });
  return a.result;
}

async function fails(port: number, endpoint: string, args: unknown[] = [], kwargs: Record<string, unknown> = {}): Promise<{ code: unknown; message: unknown }> {
  const a = answer(await pyCall(port, endpoint, args, kwargs));
  expect(a.ok).toBe(false);
  return plain(a.error) as { code: unknown; message: unknown };
}

function pythonPeer(port: number, overrides: Partial<Record<keyof Peer, unknown>> = {}): Record<string, unknown> {
  return { id: "b".repeat(64), address: "127.0.0.1", port, swarm: "golden", team: "default", name: "beta", kind: "node", capabilities: [], last_seen: 1_700_000_001.5, ...overrides };
}

describe("interop - byte-exact answers to the Python wire vectors", () => {
  test("sum(1, 2), an unknown endpoint and an undecodable frame: the very bytes a Python node writes", async () => {
    const node = await startNode({ heartbeatInterval: null });
    node.endpoint("sum", (a: number, b: number) => a + b);
    const sum = await pyCallRaw(node.port, vectorPayload("request sum(1, 2)"));
    expect(sum.response.violations).toEqual([]);
    expect(plain(sum.response.value)).toEqual(vectors.find((v) => v.name.startsWith("response ok, result 3"))!.decoded);
    const unknown = await pyCallRaw(node.port, encode({ endpoint: "nope", id: ZERO_ID, args: [], kwargs: {}, type: "request" }));
    expect(unknown.response.violations).toEqual([]);
    expect(plain(unknown.response.value)).toEqual(vectors.find((v) => v.name.startsWith("response to an unknown endpoint"))!.decoded);
    const trailing = Buffer.concat([vectorPayload("request sum(1, 2)"), Buffer.from([0x00])]);
    const undecodable = await pyCallRaw(node.port, trailing);
    expect(plain(undecodable.response.value)).toEqual(vectors.find((v) => v.name.startsWith("response to an undecodable frame"))!.decoded);
  });

  test("the raw answer bytes match the vectors byte for byte", async () => {
    const node = await startNode({ heartbeatInterval: null, swarm: "golden" });
    node.endpoint("sum", (a: number, b: number) => a + b);
    const cases: Array<[Uint8Array, string]> = [
      [vectorPayload("request sum(1, 2)"), "response ok, result 3"],
      [encode({ endpoint: "nope", id: ZERO_ID, args: [], kwargs: {}, type: "request" }), "response to an unknown endpoint"],
      [Buffer.concat([vectorPayload("request sum(1, 2)"), Buffer.from([0xc0])]), "response to an undecodable frame"],
      [vectorPayload("request _synapse.conversation.event(ack event)"), "response to _synapse.conversation.event"],
      [vectorPayload("request _synapse.broadcast.reply(nonce, peer, result=...)"), "response to _synapse.broadcast.reply"],
    ];
    for (const [request, expected] of cases) {
      const raw = await rawAnswer(node.port, request);
      expect({ expected, hex: Buffer.from(raw).toString("hex") }).toEqual({ expected, hex: Buffer.from(vectorPayload(expected)).toString("hex") });
    }
  });

  test("echo(1.0): the value comes back (as 1: a JavaScript number cannot say 1.0, the one documented exception)", async () => {
    const node = await startNode({ heartbeatInterval: null });
    node.endpoint("echo", (x: unknown) => x);
    const echo = await pyCallRaw(node.port, vectorPayload("request echo(1.0)"));
    expect(echo.response.violations).toEqual([]);
    expect(plain(field(echo.response.value, "result"))).toBe(1);
  });

  test("_synapse.join vector: {accepted, self, peers} with strict Peers, beta listed", async () => {
    const node = await startNode({ heartbeatInterval: null, peerTimeout: null, swarm: "golden", name: "alpha", capabilities: ["bun"] });
    const join = await pyCallRaw(node.port, vectorPayload("request _synapse.join(peer)"));
    expect(join.response.violations).toEqual([]);
    const result = field(join.response.value, "result");
    expect(keysOf(result)).toEqual(["accepted", "self", "peers"]);
    expect(field(result, "accepted")).toBe(true);
    expect(peerProblems(field(result, "self"), "self")).toEqual([]);
    expect(plain(field(result, "self"))).toMatchObject({ id: node.id, port: node.port, swarm: "golden", team: "default", name: "alpha", kind: "node", capabilities: ["bun"] });
    const peers = field(result, "peers") as PyValue[];
    expect(peers.length).toBe(1);
    expect(peerProblems(peers[0], "peers[0]")).toEqual([]);
    expect(plain(peers[0])).toMatchObject({ id: "b".repeat(64), port: 9002, name: "beta" });
    for (const p of [field(result, "self"), peers[0]]) expect(() => pyPeer(plain(p))).not.toThrow();
  });
});

/** Send one payload as a Python client and return the raw response payload bytes. */
async function rawAnswer(port: number, payload: Uint8Array): Promise<Uint8Array> {
  const { connect } = await import("node:net");
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buffer = Buffer.alloc(0);
    socket.on("connect", () => {
      const header = Buffer.alloc(4);
      header.writeUInt32BE(payload.length);
      socket.write(Buffer.concat([header, payload]));
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
        socket.destroy();
        resolve(buffer.subarray(4, 4 + buffer.readUInt32BE(0)));
      }
    });
    socket.on("error", reject);
  });
}

describe("interop - built-in answers to a Python client", () => {
  let node: Node;

  async function fullNode(): Promise<Node> {
    node = await startNode({
      name: "bun-node",
      swarm: "golden",
      role: "indexer",
      description: "indexes docs",
      capabilities: ["search", { name: "summarise", description: "short summaries", inputSchema: { type: "string" } }],
      heartbeatInterval: null,
      peerTimeout: null,
    });
    node.endpoint("sum", { description: "Add two numbers" }, (a: number, b: number) => a + b);
    node.endpoint("hidden", { publish: false }, () => 1);
    return node;
  }

  test("_synapse.ping, _synapse.info and _synapse.methods", async () => {
    const { port } = await fullNode();
    expect(await ok(port, "_synapse.ping")).toBe("pong");
    const info = await ok(port, "_synapse.info");
    expect(keysOf(info)).toEqual(INFO_ORDER);
    expect(plain(info)).toEqual({ id: node.id, name: "bun-node", kind: "node", address: "127.0.0.1", port, swarm: "golden", team: "default", role: "indexer", description: "indexes docs", capabilities: ["search", "summarise"] });
    expect(pyType(field(info, "port"))).toBe("int");
    const methods = (await ok(port, "_synapse.methods")) as PyValue[];
    expect(methods.map((m) => keysOf(m))).toEqual([["name", "publish", "description"]]);
    expect(plain(methods)).toEqual([{ name: "sum", publish: true, description: "Add two numbers" }]);
  });

  test("_node.info and _node.capabilities", async () => {
    const { port } = await fullNode();
    const card = await ok(port, "_node.info");
    expect(keysOf(card)).toEqual(["name", "role", "description", "capabilities"]);
    expect(plain(card)).toEqual({ name: "bun-node", role: "indexer", description: "indexes docs", capabilities: ["search", "summarise"] });
    const caps = (await ok(port, "_node.capabilities")) as PyValue[];
    for (const c of caps) expect(keysOf(c)).toEqual(["name", "description", "input_schema", "output_schema"]);
    expect(plain(caps)).toEqual([
      { name: "search", description: "", input_schema: {}, output_schema: {} },
      { name: "summarise", description: "short summaries", input_schema: { type: "string" }, output_schema: {} },
    ]);
  });

  test("a defaulted node: \"\" role and description everywhere Python sends them, {} schemas, team 'default', swarm nil (issue #11)", async () => {
    const plainNode = await startNode({ heartbeatInterval: null });
    plainNode.capability("bare");
    const info = plain(await ok(plainNode.port, "_synapse.info")) as Record<string, unknown>;
    expect([info.role, info.description, info.swarm, info.team, info.capabilities]).toEqual(["", "", null, "default", ["bare"]]);
    const card = plain(await ok(plainNode.port, "_node.info")) as Record<string, unknown>;
    expect([card.role, card.description]).toEqual(["", ""]);
    const beat = plain(await ok(plainNode.port, "_synapse.heartbeat", [pythonPeer(9003)])) as { self: Record<string, unknown> };
    expect([beat.self.role, beat.self.description]).toEqual(["", ""]);
    // Python consumer code such as `cap["input_schema"].get("type")` works on {} and fails on nil.
    expect(plain(await ok(plainNode.port, "_node.capabilities"))).toEqual([{ name: "bare", description: "", input_schema: {}, output_schema: {} }]);
  });

  test("_synapse.join, _synapse.peers and _synapse.heartbeat from a Python peer", async () => {
    const { port } = await fullNode();
    const py = new PythonNode({ swarm: "golden" }).start();
    // A Python peer record without last_seen is fine.
    const { last_seen: _omit, ...joining } = py.self();
    const join = await ok(port, "_synapse.join", [joining]);
    expect(keysOf(join)).toEqual(["accepted", "self", "peers"]);
    expect(peerProblems(field(join, "self"), "self")).toEqual([]);
    // As in the Python vector, the answer lists every known peer, the joiner included.
    expect((field(join, "peers") as PyValue[]).map((p) => field(p, "id"))).toEqual([py.id]);
    // A second Python peer sees the first in the join answer and in _synapse.peers.
    const join2 = await ok(port, "_synapse.join", [pythonPeer(9002)]);
    const listed = field(join2, "peers") as PyValue[];
    expect(listed.map((p) => field(p, "id"))).toEqual([py.id, "b".repeat(64)]);
    for (const p of listed) expect(peerProblems(p)).toEqual([]);
    expect(pyType(field(listed[0], "last_seen"))).toMatch(/float|int/);
    const peers = (await ok(port, "_synapse.peers")) as PyValue[];
    expect(peers.length).toBe(2);
    for (const p of peers) {
      expect(peerProblems(p)).toEqual([]);
      expect(keysOf(p)).toEqual(PEER_ORDER);
      expect(() => pyPeer(plain(p))).not.toThrow();
    }
    const beat = await ok(port, "_synapse.heartbeat", [py.self()]);
    expect(keysOf(beat)).toEqual(["ok", "self"]);
    expect(field(beat, "ok")).toBe(true);
    expect(keysOf(field(beat, "self"))).toEqual(INFO_ORDER);
  });

  test("membership refusals: bad_request with Python's wording; a swarm-less node accepts any swarm", async () => {
    const { port } = await fullNode();
    expect(await fails(port, "_synapse.join", [pythonPeer(9002, { swarm: "other" })])).toEqual({ code: "bad_request", message: "peer requested a different swarm" });
    expect(await fails(port, "_synapse.join", [pythonPeer(9002, { swarm: null })])).toEqual({ code: "bad_request", message: "peer requested a different swarm" });
    expect(await fails(port, "_synapse.heartbeat", [pythonPeer(9002, { team: "blue" })])).toEqual({ code: "bad_request", message: "peer requested a different team" });
    expect(await fails(port, "_synapse.join", [pythonPeer(9002, { team: null })])).toEqual({ code: "bad_request", message: "peer requested a different team" });
    const open = await startNode({ heartbeatInterval: null, peerTimeout: null, team: null });
    expect(plain(field(await ok(open.port, "_synapse.join", [pythonPeer(9002, { swarm: "any", team: "red" })]), "accepted"))).toBe(true);
    expect(node.peers.size).toBe(0);
  });

  test("a Peer with an extra key or no port is refused (Python: internal_error from Peer.__init__; here bad_request) and never admitted", async () => {
    const { port } = await fullNode();
    const extra = await fails(port, "_synapse.join", [pythonPeer(9002, { extra: 1 } as never)]);
    expect(extra).toEqual({ code: "bad_request", message: "invalid peer record: unexpected key 'extra'" });
    const { port: _p, ...noPort } = pythonPeer(9002);
    expect((await fails(port, "_synapse.heartbeat", [noPort])).message).toBe("invalid peer record: missing 'port'");
    expect(node.peers.size).toBe(0);
  });

  test("_synapse.conversation.list and _synapse.conversation.sync(conversation_id, since=...): created_at strictly after since", async () => {
    const { port } = await fullNode();
    const author = pythonPeer(9002);
    for (const [id, at] of [["ev1", 1_700_000_001.5], ["ev2", 1_700_000_002], ["ev3", 1_700_000_003.25]] as const) {
      const event = makeEvent({ conversationId: "conv-a", eventId: id, kind: "message", peer: author as unknown as Peer, createdAt: at, payload: { n: id } });
      expect(plain(await ok(port, "_synapse.conversation.event", [event]))).toEqual({ ok: true, stored: true });
    }
    expect(plain(await ok(port, "_synapse.conversation.list"))).toEqual(["conv-a"]);
    const all = await ok(port, "_synapse.conversation.sync", ["conv-a"]);
    expect(keysOf(all)).toEqual(["events"]);
    const events = field(all, "events") as PyValue[];
    expect(events.map((e) => field(e, "event_id"))).toEqual(["ev1", "ev2", "ev3"]);
    for (const e of events) {
      expect(eventProblems(e)).toEqual([]);
      expect(keysOf(e)).toEqual(EVENT_ORDER);
    }
    const after = field(await ok(port, "_synapse.conversation.sync", ["conv-a"], { since: 1_700_000_002.0 }), "events") as PyValue[];
    expect(after.map((e) => field(e, "event_id"))).toEqual(["ev3"]);
    const positional = field(await ok(port, "_synapse.conversation.sync", ["conv-a", 1_700_000_001.5]), "events") as PyValue[];
    expect(positional.map((e) => field(e, "event_id"))).toEqual(["ev2", "ev3"]);
  });

  test("_synapse.artifacts and _synapse.artifact.get: descriptor keys in order, content after mime_type, unknown name", async () => {
    const { port } = await fullNode();
    node.artifact("card", { b: [1, 2], a: "x" }, { kind: "agent_card", description: "who I am", metadata: { v: 1 } });
    node.artifact("notes", "héllo");
    node.artifact("blob", new Uint8Array([0, 1, 2, 255]));
    const list = (await ok(port, "_synapse.artifacts")) as PyValue[];
    const DESCRIPTOR = ["name", "mime_type", "kind", "description", "encoding", "size", "sha256", "metadata"];
    for (const d of list) expect(keysOf(d)).toEqual(DESCRIPTOR);
    expect(plain(list[0])).toMatchObject({ name: "card", mime_type: "application/json", kind: "agent_card", encoding: "json", size: '{"a":"x","b":[1,2]}'.length, metadata: { v: 1 } });
    expect(list.map((d) => [field(d, "name"), field(d, "encoding"), field(d, "size")])).toEqual([
      ["card", "json", 19],
      ["notes", "text", 6],
      ["blob", "base64", 4],
    ]);
    const get = await ok(port, "_synapse.artifact.get", ["blob"]);
    expect(keysOf(get)).toEqual(["name", "mime_type", "content", "kind", "description", "encoding", "size", "sha256", "metadata"]);
    expect(field(get, "content")).toBe("AAEC/w==");
    expect(plain(field(await ok(port, "_synapse.artifact.get", ["card"]), "content"))).toEqual({ b: [1, 2], a: "x" });
    expect(await fails(port, "_synapse.artifact.get", ["nope"])).toEqual({ code: "bad_request", message: "unknown artifact: nope" });
  });

  test("_node.ask and synapse.ask: internal_error 'node has no ask handler', then the handler's result with context=", async () => {
    const { port } = await fullNode();
    expect(await fails(port, "_node.ask", ["t"])).toEqual({ code: "internal_error", message: "node has no ask handler" });
    expect(await fails(port, "synapse.ask", ["t"], { context: {} })).toEqual({ code: "internal_error", message: "node has no ask handler" });
    node.ask((task, context) => ({ task, context }));
    expect(plain(await ok(port, "_node.ask", ["t"], { context: { k: 1 } }))).toEqual({ task: "t", context: { k: 1 } });
    expect(plain(await ok(port, "_node.ask", ["t"]))).toEqual({ task: "t", context: {} });
    expect(plain(await ok(port, "synapse.ask", ["t"], { context: { k: 2 } }))).toEqual({ task: "t", context: { k: 2 } });
  });

  test("_synapse.broadcast.reply from outside the swarm: bad_request with Python's wording", async () => {
    const { port } = await fullNode();
    expect(await fails(port, "_synapse.broadcast.reply", ["n-1", pythonPeer(9002, { swarm: "other" })], { result: 1 })).toEqual({ code: "bad_request", message: "peer requested a different swarm" });
    expect(plain(await ok(port, "_synapse.broadcast.reply", ["n-1", pythonPeer(9002)], { result: 1 }))).toEqual({ ok: true });
  });

  test("unknown endpoint: bad_request 'Unregistered endpoint called: <name>' with the request's id; an integer id comes back a string", async () => {
    const { port } = await fullNode();
    expect(await fails(port, "no.such")).toEqual({ code: "bad_request", message: "Unregistered endpoint called: no.such" });
    const intId = await pyCallRaw(port, encode({ endpoint: "_synapse.ping", id: 42, args: [], kwargs: {}, type: "request" }));
    expect(intId.response.violations).toEqual([]);
    expect(plain(intId.response.value)).toEqual({ id: "42", ok: true, result: "pong", error: null, type: "response" });
    // A user endpoint that raises: internal_error with the error text.
    node.endpoint("boom", () => {
      throw new Error("kaboom");
    });
    expect(await fails(port, "boom")).toEqual({ code: "internal_error", message: "kaboom" });
  });
});

describe("interop - closing a Python client's connection", () => {
  /** A Python-style connection that has sent nothing yet: returns what it received before the close. */
  async function idleConnection(port: number): Promise<{ received: () => number; closed: Promise<void> }> {
    const { connect } = await import("node:net");
    let received = 0;
    const socket = connect({ host: "127.0.0.1", port });
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.on("data", (chunk: Buffer) => (received += chunk.length));
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.on("connect", () => resolve()));
    return { received: () => received, closed };
  }

  test("an idle connection closed by idleTimeout gets no going_away frame (that is only for Bun clients that said hello)", async () => {
    const node = await startNode({ heartbeatInterval: null, idleTimeout: 0.2 });
    const conn = await idleConnection(node.port);
    await conn.closed;
    expect(conn.received()).toBe(0);
  });

  test("stopping the node closes a Python client's idle connection without a frame", async () => {
    const node = await startNode({ heartbeatInterval: null });
    const conn = await idleConnection(node.port);
    await node.stop();
    await conn.closed;
    expect(conn.received()).toBe(0);
  });
});
