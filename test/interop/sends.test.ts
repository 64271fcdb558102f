/**
 * Interop audit, sending side: every request a Bun node makes to a Python node, in every flow
 * (join, heartbeat, broadcast, reply, reply forwarding, event gossip, ACK, sync), read byte by byte
 * by an independent strict reader and by a fake Python node that binds arguments and rebuilds
 * Peers the way Python does. "Every byte we send to a Python node must be one it accepts."
 */
import { afterEach, describe, expect, test } from "bun:test";
import { kw } from "../../src/rpc/client.ts";
import { encode } from "../../src/wire/codec.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Node } from "../../src/node.ts";
import type { LoggedRequest } from "../helpers/python-like-server.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";
import { PythonNode, pyCall, pyPeer } from "./python-node.ts";
import { EVENT_ORDER, REQUEST_ORDER, describe as pyType, eventProblems, field, keysOf, peerProblems, plain, readStrict, type PyValue } from "./python-strict.ts";

afterEach(stopAll);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The request as a strict Python reader sees it, after checking the five keys and their order. */
function strictRequest(r: LoggedRequest): { args: PyValue[]; kwargs: Map<PyValue, PyValue> } {
  const { value, violations } = readStrict(r.raw);
  expect({ endpoint: r.endpoint, violations }).toEqual({ endpoint: r.endpoint, violations: [] });
  expect(keysOf(value)).toEqual(REQUEST_ORDER);
  expect(pyType(field(value, "id"))).toBe("str");
  expect(field(value, "type")).toBe("request");
  return { args: field(value, "args") as PyValue[], kwargs: field(value, "kwargs") as Map<PyValue, PyValue> };
}

/** Every request the Python node got: Python's format, one per connection, none pipelined. */
function expectAllClean(py: PythonNode): void {
  expect(py.server.log.length).toBeGreaterThan(0);
  for (const r of py.server.log) strictRequest(r);
  const connections = py.server.log.map((r) => r.connection);
  expect(new Set(connections).size).toBe(connections.length);
  expect(py.server.pipelinedIgnored).toBe(0);
}

function only(py: PythonNode, endpoint: string): LoggedRequest[] {
  return py.server.log.filter((r) => r.endpoint === endpoint);
}

async function joinedPair(options: { swarm?: string; capabilities?: string[] } = {}): Promise<{ node: Node; py: PythonNode }> {
  const py = new PythonNode({ swarm: options.swarm ?? "golden" }).start();
  const node = await startNode({ name: "bun", swarm: options.swarm ?? "golden", capabilities: options.capabilities ?? ["ts"], heartbeatInterval: null, peerTimeout: null });
  await node.join({ seeds: [`127.0.0.1:${py.port}`] });
  expect(node.peers.has(py.id)).toBe(true);
  return { node, py };
}

describe("interop - membership calls a Bun node makes to a Python node", () => {
  test("join: the hello alone on its own connection, then _synapse.join(Peer) with Python's keys, order and types", async () => {
    const { node, py } = await joinedPair({ capabilities: ["ts", "math"] });
    expectAllClean(py);
    // The hello came first, on a connection of its own, and was refused harmlessly.
    expect(py.server.log[0]!.endpoint).toBe("_synapse.hello");
    const hello = strictRequest(py.server.log[0]!);
    expect(plain(hello.kwargs)).toEqual({});
    expect(hello.args.length).toBe(1);
    const joins = only(py, "_synapse.join");
    expect(joins.length).toBe(1);
    const { args, kwargs } = strictRequest(joins[0]!);
    expect(args.length).toBe(1);
    expect(kwargs.size).toBe(0);
    expect(peerProblems(args[0])).toEqual([]);
    const peer = plain(args[0]) as Record<string, unknown>;
    expect({ ...peer, last_seen: 0 } as Record<string, unknown>).toEqual({ id: node.id, address: "127.0.0.1", port: node.port, swarm: "golden", team: "default", name: "bun", kind: "node", capabilities: ["ts", "math"], last_seen: 0 });
    expect(Math.abs((peer.last_seen as number) - Date.now() / 1000)).toBeLessThan(60);
    // The Python side rebuilt the Peer strictly and now knows the node.
    expect(py.peers.get(node.id)?.port).toBe(node.port);
  });

  test("heartbeat: _synapse.heartbeat(Peer), the same strict record", async () => {
    const { node, py } = await joinedPair();
    await node.membership.heartbeat();
    const beats = only(py, "_synapse.heartbeat");
    expect(beats.length).toBe(1);
    const { args, kwargs } = strictRequest(beats[0]!);
    expect([args.length, kwargs.size]).toEqual([1, 0]);
    expect(peerProblems(args[0])).toEqual([]);
    expect(node.membership.stats.heartbeatsAnswered).toBe(1);
    expectAllClean(py);
  });

  test("a Python seed of another swarm refuses with bad_request and Python's wording; the node carries on", async () => {
    const py = new PythonNode({ swarm: "golden" }).start();
    const node = await startNode({ swarm: "other", heartbeatInterval: null, peerTimeout: null });
    expect(await node.join({ seeds: [`127.0.0.1:${py.port}`] })).toEqual([]);
    expect(node.membership.seedStatus()[0]!.lastError).toBe("peer requested a different swarm");
    expect(await node.endpoints.dispatch({ endpoint: "_synapse.ping", id: "x", args: [], kwargs: {}, type: "request" }, { address: "127.0.0.1", port: 1 })).toMatchObject({ ok: true, result: "pong" });
    expectAllClean(py);
  });

  test("a whole-valued last_seen travels as an integer, which a Python Peer accepts", async () => {
    const node = await startNode({ heartbeatInterval: null });
    const realNow = Date.now;
    Date.now = () => 1_700_000_000_000;
    let bytes: Uint8Array;
    try {
      bytes = encode(node.toPeer());
    } finally {
      Date.now = realNow;
    }
    const { value, violations } = readStrict(bytes);
    expect(violations).toEqual([]);
    expect(pyType(field(value, "last_seen"))).toBe("int");
    expect(peerProblems(value)).toEqual([]);
    expect(pyPeer(plain(value)).last_seen).toBe(1_700_000_000);
  });
});

describe("interop - leaving: a stopping Bun node tells its Bun peers, never a Python one", () => {
  test("stop(): the Bun peer drops the node at once; the Python peer, heartbeated and known, receives no _synapse.leave", async () => {
    const { node, py } = await joinedPair();
    const bun = await startNode({ name: "bun-peer", swarm: "golden", heartbeatInterval: null, peerTimeout: 600 });
    await node.join({ seeds: [`127.0.0.1:${bun.port}`] });
    await node.membership.heartbeat(); // both peers were called: each one's hello verdict is known
    expect(node.peers.has(py.id) && bun.peers.has(node.id)).toBe(true);
    await node.stop();
    await eventually(() => !bun.peers.has(node.id), 5000, "the Bun peer dropped the stopped node");
    expect(only(py, "_synapse.leave")).toEqual([]);
    // Everything the Python node got is still Python's format and endpoints it knows.
    expectAllClean(py);
    for (const r of py.server.log) expect(["_synapse.hello", "_synapse.join", "_synapse.heartbeat"]).toContain(r.endpoint);
  });
});

describe("interop - conversation calls a Bun node makes to a Python node", () => {
  test("broadcast: kwargs hold `broadcast` first, then the caller's; Broadcast is {nonce, origin, endpoint}", async () => {
    const { node, py } = await joinedPair();
    const seen: unknown[] = [];
    py.endpoint("team.question", [{ name: "question" }, { name: "broadcast" }], (bound) => {
      seen.push(bound);
      return "python can help";
    });
    const b = await node.broadcast("team.question", kw({ question: "Who can help?" }));
    const calls = only(py, "team.question");
    expect(calls.length).toBe(1);
    const { args, kwargs } = strictRequest(calls[0]!);
    expect(args).toEqual([]);
    expect(keysOf(kwargs)).toEqual(["broadcast", "question"]);
    const broadcast = kwargs.get("broadcast");
    expect(keysOf(broadcast)).toEqual(["nonce", "origin", "endpoint"]);
    expect(field(broadcast, "nonce")).toBe(b.nonce);
    expect(String(field(broadcast, "nonce"))).toMatch(UUID);
    expect(field(broadcast, "endpoint")).toBe("team.question");
    expect(peerProblems(field(broadcast, "origin"), "origin")).toEqual([]);
    expect((plain(field(broadcast, "origin")) as { id: string }).id).toBe(node.id);
    // The Python endpoint bound (question, broadcast) without a TypeError.
    expect(seen.length).toBe(1);
    expectAllClean(py);
  });

  test("broadcast with positional arguments: args as given, kwargs only the broadcast", async () => {
    const { node, py } = await joinedPair();
    py.endpoint("team.count", [{ name: "a" }, { name: "b" }, { name: "broadcast" }], ({ a, b }) => (a as number) + (b as number));
    await node.broadcast("team.count", 1, 2.5);
    const { args, kwargs } = strictRequest(only(py, "team.count")[0]!);
    expect(plain(args)).toEqual([1, 2.5]);
    expect(keysOf(kwargs)).toEqual(["broadcast"]);
  });

  test("a Python endpoint without a broadcast parameter fails that call (internal_error); the broadcast still resolves", async () => {
    const { node, py } = await joinedPair();
    let ran = 0;
    py.endpoint("team.plain", [{ name: "question" }], () => ran++);
    const b = await node.broadcast("team.plain", kw({ question: "q" }));
    expect(b.nonce).toMatch(UUID);
    expect(only(py, "team.plain").length).toBe(1);
    expect(ran).toBe(0);
  });

  test("reply: _synapse.broadcast.reply(nonce, Peer, result=...) with nonce and peer positional, result as keyword", async () => {
    const { node, py } = await joinedPair();
    py.endpoint("team.question", [{ name: "question" }, { name: "broadcast" }], () => null);
    const b = await node.broadcast("team.question", kw({ question: "q" }));
    await node.reply(b, { answer: "bun can help", score: 0.5 });
    const replies = only(py, "_synapse.broadcast.reply");
    expect(replies.length).toBe(1);
    const { args, kwargs } = strictRequest(replies[0]!);
    expect(args.length).toBe(2);
    expect(args[0]).toBe(b.nonce);
    expect(peerProblems(args[1])).toEqual([]);
    expect(keysOf(kwargs)).toEqual(["result"]);
    expect(plain(kwargs.get("result"))).toEqual({ answer: "bun can help", score: 0.5 });
    expect(py.replies.get(`${b.nonce} ${node.id}`)).toEqual({ answer: "bun can help", score: 0.5 });
    expectAllClean(py);
  });

  test("reply forwarding: a Python peer's reply reaches the other Python peer with a strict Peer, never echoed to its author", async () => {
    const py1 = new PythonNode({ swarm: "golden", name: "py1" }).start();
    const py2 = new PythonNode({ swarm: "golden", name: "py2" }).start();
    const node = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    await node.join({ seeds: [`127.0.0.1:${py1.port}`, `127.0.0.1:${py2.port}`] });
    expect(node.peers.size).toBe(2);
    // py1 replies to a broadcast; its Peer record comes without last_seen (Python allows that).
    const { last_seen: _omit, ...py1Peer } = py1.self();
    const nonce = "01890a5d-ac96-774b-bcce-b302099a8057";
    const { response } = await pyCall(node.port, "_synapse.broadcast.reply", [nonce, py1Peer], { result: { answer: 42 } });
    expect(response.violations).toEqual([]);
    expect(plain(field(response.value, "result"))).toEqual({ ok: true });
    await eventually(() => only(py2, "_synapse.broadcast.reply").length === 1, 3000, "the relayed reply at py2");
    const { args, kwargs } = strictRequest(only(py2, "_synapse.broadcast.reply")[0]!);
    expect(args[0]).toBe(nonce);
    expect(peerProblems(args[1])).toEqual([]);
    expect((plain(args[1]) as { id: string }).id).toBe(py1.id);
    expect(plain(kwargs)).toEqual({ result: { answer: 42 } });
    expect(py2.replies.get(`${nonce} ${py1.id}`)).toEqual({ answer: 42 });
    await node.conversationLayer.flush();
    expect(only(py1, "_synapse.broadcast.reply").length).toBe(0);
    expectAllClean(py1);
    expectAllClean(py2);
  });

  test("event gossip: an event with an extra top-level key and a Peer without last_seen is relayed with exactly the wire keys", async () => {
    const py1 = new PythonNode({ swarm: "golden", name: "py1" }).start();
    const py2 = new PythonNode({ swarm: "golden", name: "py2" }).start();
    const node = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    await node.join({ seeds: [`127.0.0.1:${py1.port}`, `127.0.0.1:${py2.port}`] });
    const { last_seen: _omit, ...author } = py1.self();
    const event = { ...makeEvent({ conversationId: "task-1", eventId: "e".repeat(64), kind: "task.offer", peer: author as never, payload: { job: "index" }, createdAt: 1_700_000_002 }), python_only: true };
    const { response } = await pyCall(node.port, "_synapse.conversation.event", [event]);
    expect(plain(field(response.value, "result"))).toEqual({ ok: true, stored: true });
    await eventually(() => only(py2, "_synapse.conversation.event").length === 1, 3000, "the relayed event at py2");
    const { args, kwargs } = strictRequest(only(py2, "_synapse.conversation.event")[0]!);
    expect([args.length, kwargs.size]).toEqual([1, 0]);
    expect(eventProblems(args[0])).toEqual([]);
    expect(keysOf(args[0])).toEqual(EVENT_ORDER);
    expect(plain(field(args[0], "payload"))).toEqual({ job: "index" });
    expect(py2.events.get("e".repeat(64))?.peer.id).toBe(py1.id);
    await node.conversationLayer.flush();
    expect(only(py1, "_synapse.conversation.event").length).toBe(0);
    expectAllClean(py2);
  });

  test("events authored here (custom kind, ack) reach a Python peer with the wire keys and a strict Peer", async () => {
    const { node, py } = await joinedPair();
    await node.emitConversationEvent("task-2", "task.claim", { by: "bun" }, { parentId: "x", metadata: { attempt: 1 } });
    await node.ack("task-2", { eta: 3 });
    const events = only(py, "_synapse.conversation.event").map((r) => strictRequest(r).args[0]);
    expect(events.length).toBe(2);
    for (const e of events) expect(eventProblems(e)).toEqual([]);
    expect(events.map((e) => [field(e, "kind"), field(e, "parent_id")])).toEqual([
      ["task.claim", "x"],
      ["ack", "task-2"],
    ]);
    expect(pyType(field(events[0], "created_at"))).toBe("float");
    expect(py.events.size).toBe(2);
  });

  test("synapse.ask broadcast by a Python origin: the ACK reaches the origin before the answer, then the reply", async () => {
    const py = new PythonNode({ swarm: "golden" }).start();
    const node = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    node.ask(async (task, context) => ({ done: task, context }));
    const nonce = "01890a5d-ac96-774b-bcce-b302099a8057";
    const broadcast = { nonce, origin: py.self(), endpoint: "synapse.ask" };
    const { response } = await pyCall(node.port, "synapse.ask", ["index the docs"], { broadcast, context: { urgent: true } });
    expect(response.violations).toEqual([]);
    expect(keysOf(field(response.value, "result"))).toEqual(["accepted", "deferred"]);
    expect(plain(field(response.value, "result"))).toEqual({ accepted: true, deferred: true });
    // The ACK was delivered before the answer came back.
    const acks = only(py, "_synapse.conversation.event").map((r) => strictRequest(r).args[0]);
    expect(acks.length).toBe(1);
    expect(eventProblems(acks[0])).toEqual([]);
    expect(plain(acks[0])).toMatchObject({ conversation_id: nonce, kind: "ack", parent_id: nonce, payload: {} });
    expect((plain(field(acks[0], "peer")) as { id: string }).id).toBe(node.id);
    // Then the reply, on a call of its own.
    await eventually(() => only(py, "_synapse.broadcast.reply").length === 1, 3000, "the reply at the origin");
    const { args, kwargs } = strictRequest(only(py, "_synapse.broadcast.reply")[0]!);
    expect(args[0]).toBe(nonce);
    expect(peerProblems(args[1])).toEqual([]);
    expect(plain(kwargs)).toEqual({ result: { done: "index the docs", context: { urgent: true } } });
    expectAllClean(py);
  });

  test("synapse.ask whose handler throws: an `error` event {task, error} reaches the Python origin", async () => {
    const py = new PythonNode({ swarm: "golden" }).start();
    const node = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    node.ask(() => {
      throw new Error("no capacity");
    });
    const nonce = "01890a5d-ac96-774b-bcce-b302099a8058";
    const { response } = await pyCall(node.port, "synapse.ask", ["t"], { broadcast: { nonce, origin: py.self(), endpoint: "synapse.ask" } });
    expect(plain(field(response.value, "result"))).toEqual({ accepted: true, deferred: true });
    // The origin is not a known peer of this node: like the ACK (and a reply), the error reaches it.
    await eventually(() => only(py, "_synapse.conversation.event").length === 2, 3000, "the error event at the origin");
    const events = only(py, "_synapse.conversation.event").map((r) => strictRequest(r).args[0]);
    expect(events.map((e) => field(e, "kind"))).toEqual(["ack", "error"]);
    expect(eventProblems(events[1])).toEqual([]);
    expect(keysOf(field(events[1], "payload"))).toEqual(["task", "error"]);
    expect(plain(events[1])).toMatchObject({ conversation_id: nonce, parent_id: nonce, payload: { task: "t", error: "no capacity" } });
    expect(only(py, "_synapse.broadcast.reply").length).toBe(0);
    expectAllClean(py);
  });

  test("sync: _synapse.conversation.list() then _synapse.conversation.sync(conversation_id, since=<number>)", async () => {
    const py = new PythonNode({ swarm: "golden" }).start();
    const node = await startNode({ swarm: "golden", heartbeatInterval: null, peerTimeout: null });
    const author = py.self();
    for (const [i, at] of [[1, 1_700_000_001.5], [2, 1_700_000_003.25]] as const) {
      py.events.set(`ev${i}`, makeEvent({ conversationId: "conv-a", eventId: `ev${i}`, kind: "message", peer: author, createdAt: at }));
    }
    const fresh = await node.syncConversation({ address: "127.0.0.1", port: py.port });
    expect(fresh.map((e) => e.event_id)).toEqual(["ev1", "ev2"]);
    const list = strictRequest(only(py, "_synapse.conversation.list")[0]!);
    expect([list.args, list.kwargs.size]).toEqual([[], 0]);
    const sync = strictRequest(only(py, "_synapse.conversation.sync")[0]!);
    expect(sync.args).toEqual(["conv-a"]);
    expect(keysOf(sync.kwargs)).toEqual(["since"]);
    expect(["int", "float"]).toContain(pyType(sync.kwargs.get("since")));
    // A fractional `since` goes out as float64; Python filters with it.
    const later = await node.syncConversation({ address: "127.0.0.1", port: py.port }, "conv-a", { since: 1_700_000_002.5 });
    expect(later).toEqual([]); // ev2 is already stored here
    const second = strictRequest(only(py, "_synapse.conversation.sync")[1]!);
    expect(pyType(second.kwargs.get("since"))).toBe("float");
    expectAllClean(py);
  });
});
