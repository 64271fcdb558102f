/**
 * Mixed teams: Python-like workers and a Python-like team, driven from raw frames built on the
 * protocol vectors' `_synapse.conversation.event` and `_synapse.join` requests (one request per
 * connection, as a Python node sends them), against Bun teams and workers. Each Python-like node
 * listens on a PythonLikeServer, so the frames the Bun nodes send it are logged and checked.
 */
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Team, Worker } from "../../src/index.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";
import type { Node } from "../../src/node.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { uuidv7 } from "../../src/conversation/uuid.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { RawSocket, eventually, frameBytes, track } from "../helpers/net.ts";
import { loadVectors, type Vector } from "../helpers/vectors.ts";
import { crew, eventsOf, stopAll } from "./helpers.ts";

afterEach(stopAll);

type Request = { endpoint: string; id: string; args: unknown[]; kwargs: Record<string, unknown>; type: string };

let eventTemplate: Request;
let joinTemplate: Request;

beforeAll(async () => {
  const vectors = await loadVectors();
  const find = (prefix: string): Vector => vectors.find((v) => v.name.startsWith(prefix))!;
  const event = find("request _synapse.conversation.event(ack event)");
  const join = find("request _synapse.join(peer)");
  // The frames below keep Python's layout: the request keys and the event keys in the order of the
  // vectors' bytes (the JSON copy turns a whole float such as created_at 1700000002.0 into an
  // integer, so the bytes themselves cannot be rebuilt from it).
  for (const v of [event, join]) {
    const bytes = decode(Buffer.from(v.hex, "hex").subarray(4)) as Request;
    expect(Object.keys(bytes)).toEqual(Object.keys(v.decoded as object));
    expect(Object.keys(bytes.args[0] as object)).toEqual(Object.keys((v.decoded as Request).args[0] as object));
  }
  eventTemplate = event.decoded as Request;
  joinTemplate = join.decoded as Request;
});

/** A Python-like node: a server that logs what Bun nodes send it, and a Peer record. */
function pythonNode(name: string): { server: PythonLikeServer; peer: Peer } {
  const server = track(new PythonLikeServer().start());
  server.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
  server.endpoint("_synapse.heartbeat", () => ({ ok: true, self: {} }));
  const template = (eventTemplate.args[0] as ConversationEvent).peer;
  const peer: Peer = { ...template, id: randomBytes(32).toString("hex"), name, port: server.port, last_seen: nowSeconds() };
  return { server, peer };
}

/** Send one request on a connection of its own, as a Python client does, and return the response. */
async function pySend(port: number, request: Request): Promise<Record<string, unknown>> {
  const socket = await RawSocket.open(port);
  await socket.write(frameBytes(encode(request)));
  const response = (await socket.nextFrame()) as Record<string, unknown>;
  socket.stop();
  return response;
}

/** `_synapse.join(peer)` from the Python-like node to `node`. */
async function pyJoin(node: Node, peer: Peer): Promise<void> {
  const response = await pySend(node.port, { ...joinTemplate, id: randomBytes(32).toString("hex"), args: [peer] });
  expect(response.ok).toBe(true);
}

/** A task event authored by the Python-like node, in the vector's key order, sent to `node`. */
async function pyEvent(node: Node, peer: Peer, taskId: string, kind: string, payload: Record<string, unknown>, parentId: string | null = null): Promise<ConversationEvent> {
  const event: ConversationEvent = {
    conversation_id: taskId,
    event_id: randomBytes(32).toString("hex"),
    kind,
    peer,
    payload,
    parent_id: parentId,
    created_at: nowSeconds(),
    metadata: {},
  };
  const response = await pySend(node.port, { ...eventTemplate, id: randomBytes(32).toString("hex"), args: [event] });
  expect(response).toEqual({ id: expect.any(String), ok: true, result: { ok: true, stored: true }, error: null, type: "response" });
  return event;
}

/** The task events a Python-like node received, of one kind (checking each request is one Python accepts). */
function received(server: PythonLikeServer, kind: string): ConversationEvent[] {
  const out: ConversationEvent[] = [];
  for (const r of server.requestsFor("_synapse.conversation.event")) {
    expect(Object.keys(decode(r.raw) as object)).toEqual(["endpoint", "id", "args", "kwargs", "type"]);
    const event = r.args[0] as ConversationEvent;
    expect(Object.keys(event)).toEqual(Object.keys(eventTemplate.args[0] as object));
    if (event.kind === kind) out.push(event);
  }
  return out;
}

describe("teams - a Bun team with Python-like workers", () => {
  test("two Python workers claim: the first is granted, progress and done complete the task", async () => {
    const [boss] = await crew(["boss"], { swarm: "golden" });
    const py1 = pythonNode("py-one");
    const py2 = pythonNode("py-two");
    await pyJoin(boss!, py1.peer);
    await pyJoin(boss!, py2.peer);
    const team = new Team(boss!);
    const task = await team.offer("port the parser", { spec: { module: "parser.py" }, requires: ["python"] });

    // Both Python workers hear the offer, exactly as Python's payload spells it.
    await eventually(() => received(py1.server, "task.offer").length === 1 && received(py2.server, "task.offer").length === 1, 5000, "offers");
    const offer = received(py1.server, "task.offer")[0]!;
    expect(offer.conversation_id).toBe(task.id);
    expect(offer.payload).toEqual({ task_id: task.id, title: "port the parser", spec: { module: "parser.py" }, requires: ["python"], attempt: 1 });

    const claim1 = await pyEvent(boss!, py1.peer, task.id, "task.claim", { task_id: task.id, attempt: 1, capabilities: ["python"] }, offer.event_id);
    await pyEvent(boss!, py2.peer, task.id, "task.claim", { task_id: task.id, attempt: 1, capabilities: ["python"] }, offer.event_id);
    await eventually(() => received(py1.server, "task.grant").length === 1 && received(py2.server, "task.grant").length === 1, 5000, "grants");
    const grant = received(py2.server, "task.grant")[0]!;
    expect(grant.payload).toEqual({ task_id: task.id, worker_id: py1.peer.id, worker_name: "py-one" });
    expect(grant.parent_id).toBe(claim1.event_id);
    expect((await eventsOf(boss!, task.id, "task.grant")).length).toBe(1);

    await pyEvent(boss!, py1.peer, task.id, "task.progress", { task_id: task.id, message: "working", heartbeat: true });
    await pyEvent(boss!, py1.peer, task.id, "task.progress", { task_id: task.id, message: "tests pass", passed: 12 });
    await pyEvent(boss!, py1.peer, task.id, "task.done", { task_id: task.id, result: { files: ["parser.ts"] } });
    expect(await team.wait(task, { timeout: 10 })).toEqual({ files: ["parser.ts"] });
    expect(task.assignee).toEqual({ id: py1.peer.id, name: "py-one" });
    expect(task.progress.map((p) => [p.message, p.data])).toEqual([["tests pass", { passed: 12 }]]);
    team.close();
  });

  test("stale claims from an earlier attempt get nothing; a claim without attempt counts (as in Python)", async () => {
    const [boss] = await crew(["boss"], { swarm: "golden" });
    const py = pythonNode("py-late");
    await pyJoin(boss!, py.peer);
    const team = new Team(boss!, { lease: 0.3 });
    const task = await team.offer("flaky");
    await eventually(() => received(py.server, "task.offer").length >= 2, 5000, "a re-offer");
    const reoffer = received(py.server, "task.offer").at(-1)!;
    expect(reoffer.payload.attempt).toBeGreaterThanOrEqual(2);
    // A claim for an earlier attempt is ignored: no grant, still offered.
    await pyEvent(boss!, py.peer, task.id, "task.claim", { task_id: task.id, attempt: task.attempt - 1, capabilities: [] }, reoffer.event_id);
    expect(task.status).toBe("offered");
    const current = await pyEvent(boss!, py.peer, task.id, "task.claim", { task_id: task.id, attempt: task.attempt, capabilities: [] }, reoffer.event_id);
    expect(task.status).toBe("claimed");
    const grants = await eventsOf(boss!, task.id, "task.grant");
    expect(grants.map((g) => g.parent_id)).toEqual([current.event_id]);
    team.close();

    const team2 = new Team(boss!, { lease: 30 });
    const second = await team2.offer("steady");
    await eventually(() => received(py.server, "task.offer").some((o) => o.conversation_id === second.id), 5000, "offer");
    await pyEvent(boss!, py.peer, second.id, "task.claim", { task_id: second.id, attempt: 7, capabilities: [] });
    await pyEvent(boss!, py.peer, second.id, "task.claim", { task_id: second.id, capabilities: [] });
    await eventually(() => second.status === "claimed", 5000, "granted on the claim without attempt");
    const secondGrants = await eventsOf(boss!, second.id, "task.grant");
    expect(secondGrants.length).toBe(1);
    const claims = await eventsOf(boss!, second.id, "task.claim");
    expect(secondGrants[0]!.parent_id).toBe(claims.find((c) => c.payload.attempt === undefined)!.event_id);
    team2.close();
  });

  test("malformed task events from the network are stored but never break the team", async () => {
    const [boss] = await crew(["boss"], { swarm: "golden" });
    const py = pythonNode("py-odd");
    await pyJoin(boss!, py.peer);
    const team = new Team(boss!);
    const task = await team.offer("sturdy");
    await pyEvent(boss!, py.peer, task.id, "task.claim", { task_id: 42, attempt: "one" });
    await pyEvent(boss!, py.peer, task.id, "task.claim", { task_id: task.id, attempt: -1 });
    await pyEvent(boss!, py.peer, uuidv7(), "task.done", { task_id: task.id, result: "wrong conversation" });
    await pyEvent(boss!, py.peer, task.id, "task.progress", { task_id: task.id, message: { nested: true } });
    await pyEvent(boss!, py.peer, task.id, "task.failed", { task_id: task.id });
    expect(task.status).toBe("failed");
    expect(task.error).toBe("task failed");
    expect(task.progress.map((p) => p.message)).toEqual(['{"nested":true}']);
    expect((await eventsOf(boss!, task.id, "task.grant")).length).toBe(0);
    team.close();
  });
});

describe("teams - a Python-like team with Bun workers", () => {
  test("a Bun worker claims, runs only on its own grant, renews and reports done", async () => {
    const [hand] = await crew(["hand"], { swarm: "golden", capabilities: ["typescript"] });
    const py = pythonNode("py-architect");
    await pyJoin(hand!, py.peer);
    const ran: string[] = [];
    new Worker(hand!, { renewInterval: 0.05 }).task(async (a) => {
      ran.push(a.title);
      await eventually(() => received(py.server, "task.progress").length >= 1, 5000, "a heartbeat");
      return { title: a.title, by: "hand", team: a.team.name };
    });

    // An offer this worker cannot take (requires rust): no claim.
    const rust = uuidv7();
    await pyEvent(hand!, py.peer, rust, "task.offer", { task_id: rust, title: "rust job", spec: {}, requires: ["rust"], attempt: 1 });
    // An offer granted to someone else: claimed, but the handler never runs.
    const other = uuidv7();
    const otherOffer = await pyEvent(hand!, py.peer, other, "task.offer", { task_id: other, title: "someone else's", spec: {}, requires: [], attempt: 1 });
    await eventually(() => received(py.server, "task.claim").length === 1, 5000, "claim of the other offer");
    const otherClaim = received(py.server, "task.claim")[0]!;
    await pyEvent(hand!, py.peer, other, "task.grant", { task_id: other, worker_id: "f".repeat(64), worker_name: "elsewhere" }, otherClaim.event_id);
    // The one granted here.
    const mine = uuidv7();
    const offer = await pyEvent(hand!, py.peer, mine, "task.offer", { task_id: mine, title: "type the api", spec: { file: "api.ts" }, requires: ["typescript"], attempt: 1 });
    await eventually(() => received(py.server, "task.claim").length === 2, 5000, "claim");
    const claim = received(py.server, "task.claim")[1]!;
    expect(claim.conversation_id).toBe(mine);
    expect(claim.parent_id).toBe(offer.event_id);
    expect(claim.payload).toEqual({ task_id: mine, attempt: 1, capabilities: ["typescript"] });
    expect(otherClaim.parent_id).toBe(otherOffer.event_id);
    await pyEvent(hand!, py.peer, mine, "task.grant", { task_id: mine, worker_id: hand!.id, worker_name: "hand" }, claim.event_id);

    await eventually(() => received(py.server, "task.done").length === 1, 10_000, "done");
    const done = received(py.server, "task.done")[0]!;
    expect(done.conversation_id).toBe(mine);
    expect(done.payload).toEqual({ task_id: mine, result: { title: "type the api", by: "hand", team: "py-architect" } });
    const heartbeat = received(py.server, "task.progress")[0]!;
    expect(heartbeat.payload).toEqual({ task_id: mine, message: "working", heartbeat: true });
    expect(ran).toEqual(["type the api"]);
    expect(received(py.server, "task.claim").map((c) => c.conversation_id)).toEqual([other, mine]);
    // A duplicate grant (at-least-once delivery) does not run the handler twice.
    await pyEvent(hand!, py.peer, mine, "task.grant", { task_id: mine, worker_id: hand!.id, worker_name: "hand" }, claim.event_id);
    expect(ran).toEqual(["type the api"]);
  });

  test("a Bun worker reports a throwing handler as task.failed with the error text", async () => {
    const [hand] = await crew(["hand"], { swarm: "golden" });
    const py = pythonNode("py-architect");
    await pyJoin(hand!, py.peer);
    new Worker(hand!).task(() => {
      throw new Error("cannot parse spec");
    });
    const id = uuidv7();
    await pyEvent(hand!, py.peer, id, "task.offer", { task_id: id, title: "bad", spec: {}, requires: [], attempt: 3 });
    await eventually(() => received(py.server, "task.claim").length === 1, 5000, "claim");
    const claim = received(py.server, "task.claim")[0]!;
    expect(claim.payload.attempt).toBe(3);
    await pyEvent(hand!, py.peer, id, "task.grant", { task_id: id, worker_id: hand!.id, worker_name: "hand" }, claim.event_id);
    await eventually(() => received(py.server, "task.failed").length === 1, 5000, "failed");
    expect(received(py.server, "task.failed")[0]!.payload).toEqual({ task_id: id, error: "cannot parse spec" });
  });
});
