/**
 * The dashboard without a browser: its model (bounded threads, edges, counters, statuses), the JSON
 * API and the WebSocket against live loopback nodes, the checks that keep other sites out, and
 * `sn dashboard` itself.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { DashboardModel } from "../../src/dashboard/model.ts";
import { listenWarning, parseListen } from "../../src/cli/dashboard.ts";
import { Observer } from "../../src/dashboard/observer.ts";
import { jsonText } from "../../src/dashboard/server.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import type { ConversationEvent, Node, Peer } from "../../src/index.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";
import { SnStream, killAll } from "../cli/run-sn.ts";
import { startDashboard, type RunningDashboard } from "./fixture.ts";

const SWARM = "dash-api";
const dashboards: RunningDashboard[] = [];

afterEach(async () => {
  for (const d of dashboards.splice(0)) await d.stop();
  await stopAll();
  await killAll();
});

function peer(id: string, name = id): Peer {
  return { id, name, address: "127.0.0.1", port: 1000, swarm: "s", team: "default", kind: "node", capabilities: [], last_seen: 0 };
}

function event(conversation: string, id: string, kind: string, author: Peer, at: number, payload: Record<string, unknown> = {}): ConversationEvent {
  return { conversation_id: conversation, event_id: id, kind, peer: author, payload, parent_id: kind === "message" ? null : conversation, created_at: at, metadata: {} };
}

describe("dashboard model", () => {
  test("a thread: the opening first even when it arrives last, events in time order, duplicates once, counts by kind", () => {
    const m = new DashboardModel({ heartbeat: 1 });
    const [a, b] = [peer("a"), peer("b")];
    m.event(event("c1", "e2", "ack", b, 11), 11);
    m.event(event("c1", "e2", "ack", b, 11), 11);
    m.event(event("c1", "e3", "task.claim", b, 12, { task: "t" }), 12);
    expect(m.hasOpening("c1")).toBe(false);
    m.event(event("c1", "c1", "message", a, 10, { endpoint: "synapse.ask", args: ["fix it"], kwargs: {} }), 13);
    m.reply("c1", b, { ok: 1 }, 14);
    const view = m.conversation("c1")!;
    expect(view.events.map((e) => e.kind)).toEqual(["message", "ack", "task.claim", "reply"]);
    expect(view).toMatchObject({ title: "fix it", endpoint: "synapse.ask", origin: { id: "a" }, counts: { ack: 1, "task.claim": 1, reply: 1 }, startedAt: 10, updatedAt: 14 });
    expect(m.edges(14)).toEqual([{ from: "b", to: "a", count: 3, last: 14 }]); // the ACK and the claim counted once the opening told who asked
    expect(m.edges(14 + 61)).toEqual([]);
  });

  test("a team task is its own conversation, named by its offer; its state follows the events and stays at done", () => {
    const m = new DashboardModel({ heartbeat: 1 });
    const [team, worker] = [peer("team"), peer("w")];
    m.event(event("t1", "o1", "task.offer", team, 1, { task_id: "t1", title: "write the tests", attempt: 1 }), 1);
    expect(m.conversation("t1")).toMatchObject({ title: "task: write the tests", origin: { id: "team" }, endpoint: null, task: "offer" });
    m.event(event("t1", "c1", "task.claim", worker, 2, { task_id: "t1" }), 2);
    m.event(event("t1", "d1", "task.done", worker, 4, { task_id: "t1", result: "ok" }), 4);
    m.event(event("t1", "p1", "task.progress", worker, 3, { task_id: "t1", message: "late" }), 5); // arrives after the end
    expect(m.conversation("t1")).toMatchObject({ task: "done", counts: { "task.offer": 1, "task.claim": 1, "task.progress": 1, "task.done": 1 } });
    expect(m.conversation("t1")!.events.map((e) => e.kind)).toEqual(["task.offer", "task.claim", "task.progress", "task.done"]);
  });

  test("bounded: the oldest conversations and a long thread's oldest events are let go, the opening kept", () => {
    const m = new DashboardModel({ heartbeat: 1, maxConversations: 3, maxThreadEvents: 4 });
    const removed: string[] = [];
    m.onChange((c) => c.type === "conversation.removed" && removed.push(c.id));
    const a = peer("a");
    for (let i = 0; i < 5; i++) m.event(event(`c${i}`, `c${i}`, "message", a, i, { endpoint: "x", args: [], kwargs: {} }), i);
    expect(removed).toEqual(["c0", "c1"]);
    expect(m.conversations().map((c) => c.id)).toEqual(["c4", "c3", "c2"]);
    for (let i = 0; i < 10; i++) m.event(event("c4", `e${i}`, "note", peer("b"), 10 + i), 10 + i);
    const thread = m.conversation("c4")!;
    expect(thread.events.map((e) => e.event_id)).toEqual(["c4", "e7", "e8", "e9"]);
    expect(thread.dropped).toBe(7);
  });

  test("statuses change with time alone and are reported on the tick; counters per second", () => {
    const m = new DashboardModel({ heartbeat: 1, keepOffline: 10 });
    const changes: string[] = [];
    m.onChange((c) => {
      if (c.type === "peer") changes.push(`${c.peer.name}:${c.peer.status}`);
      if (c.type === "peer.removed") changes.push(`removed ${c.id}`);
    });
    m.joined(peer("p"), 100);
    m.heartbeat(peer("p"), 100.5);
    m.tick(101);
    m.tick(106); // 5 s after joining, silent for more than two heartbeats
    m.offline(peer("p"), 107);
    m.tick(118);
    expect(changes).toEqual(["p:fresh", "p:stale", "p:offline", "removed p"]);
    expect(m.series(101.2, 2)).toEqual([{ time: 99, calls: 0, events: 0, beats: 0 }, { time: 100, calls: 0, events: 0, beats: 1 }]);
  });

  test("what the wire can carry and JSON cannot (BigInt, Map, bytes, huge strings) is cut or turned into text, never thrown", () => {
    const m = new DashboardModel({ heartbeat: 1 });
    const a = peer("a");
    const payload = { big: 2n ** 70n, map: new Map<unknown, unknown>([[1, "one"]]), bytes: new Uint8Array(9), long: "x".repeat(5000), list: Array.from({ length: 80 }, (_, i) => i) };
    m.event(event("c", "c", "message", a, 1, { endpoint: "e", args: [2n ** 64n], kwargs: {} }), 1);
    m.event(event("c", "e1", "note", a, 2, payload), 2);
    m.reply("c", peer("b"), 7n, 3);
    const thread = JSON.parse(jsonText(m.conversation("c")));
    expect(thread.events[1].payload).toMatchObject({ big: "1180591620717411303424", map: { "1": "one" }, bytes: "<9 bytes>" });
    expect(thread.events[1].payload.long).toHaveLength(2001);
    expect(thread.events[1].payload.list).toHaveLength(50);
    expect(thread.events[2].payload).toEqual({ result: "7" });
    expect(thread.title).toBe("e(18446744073709551616)");
  });

  test("setDetails: implementation, version, role and metrics join the peer's row", () => {
    const m = new DashboardModel({ heartbeat: 1 });
    m.joined(peer("p", "pat"), 1);
    m.setDetails("p", { implementation: "python", role: "cook" }, 1);
    m.setDetails("p", { metrics: { calls: 3 } }, 2);
    expect(m.peer("p", 2)).toMatchObject({ name: "pat", implementation: "python", role: "cook", metrics: { calls: 3 } });
  });

  test("--listen: HOST:PORT, HOST, :PORT, [v6]:PORT; default 127.0.0.1:8080", () => {
    expect(parseListen(undefined)).toEqual({ hostname: "127.0.0.1", port: 8080 });
    expect(parseListen("0.0.0.0:9000")).toEqual({ hostname: "0.0.0.0", port: 9000 });
    expect(parseListen("localhost")).toEqual({ hostname: "localhost", port: 8080 });
    expect(parseListen(":0")).toEqual({ hostname: "127.0.0.1", port: 0 });
    expect(parseListen("[::1]:81")).toEqual({ hostname: "::1", port: 81 });
    expect(() => parseListen("host:99999")).toThrow("--listen: invalid port");
    expect(() => parseListen("web:80:81")).toThrow("--listen: expected HOST:PORT");
  });

  test("a warning for any listen address but loopback", () => {
    for (const host of ["127.0.0.1", "127.0.0.2", "localhost", "::1"]) expect(listenWarning(host)).toBeNull();
    for (const host of ["0.0.0.0", "::", "10.0.0.5"]) expect(listenWarning(host)).toBe(`warning: the dashboard listens on ${host}, not on loopback: anyone who can reach it sees the swarm (there is no login)`);
  });
});

async function worker(name: string, seed?: Node): Promise<Node> {
  const node = await startNode({ name, role: `${name}-role`, swarm: SWARM, mdns: false, heartbeatInterval: 0.3, peerTimeout: 1.5, ...(seed ? { seeds: [`127.0.0.1:${seed.port}`] } : {}) });
  node.ask(async (task: string) => `${name}: ${task}`);
  if (seed) await node.join();
  return node;
}

async function getJson(url: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() };
}

describe("dashboard - JSON API and WebSocket", () => {
  test("peers, conversations, one conversation, metrics, a card; unknown ids are 404", async () => {
    const hub = await worker("hub");
    const asker = await worker("asker", hub);
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    await eventually(() => d.model.peers(Date.now() / 1000).length === 2 && d.model.peers(Date.now() / 1000).every((p) => p.implementation === "bun"), 10_000, "both peers probed");
    const sent = await asker.broadcast("synapse.ask", "count");
    await eventually(() => (d.model.conversation(sent.nonce)?.counts.reply ?? 0) === 1, 10_000, "the reply");

    const peers = await getJson(`${d.url}api/peers`);
    expect(peers.status).toBe(200);
    expect(peers.body.self).toMatchObject({ id: d.node.id, name: "dashboard", swarm: SWARM });
    expect(peers.body.peers.map((p: { name: string }) => p.name).sort()).toEqual(["asker", "hub"]);
    expect(peers.body.peers.find((p: { name: string }) => p.name === "hub")).toMatchObject({ role: "hub-role", implementation: "bun", version: expect.stringMatching(/^synapse-p2p-bun /) });

    const list = await getJson(`${d.url}api/conversations?limit=5`);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ id: sent.nonce, endpoint: "synapse.ask", title: "count", origin: { name: "asker" }, counts: { ack: 1, reply: 1 } });
    const one = await getJson(`${d.url}api/conversations/${sent.nonce}`);
    expect(one.body.events.map((e: { kind: string; peer: { name: string } }) => `${e.kind} ${e.peer.name}`)).toEqual(["message asker", "ack hub", "reply hub"]);
    expect(one.body.events[2].payload).toEqual({ result: "hub: count" });

    const metrics = await getJson(`${d.url}api/metrics`);
    expect(metrics.body.peers).toMatchObject({ offline: 0 });
    expect(metrics.body.conversations).toBe(1);
    expect(metrics.body.series.length).toBeGreaterThan(0);
    expect(Object.keys(metrics.body.rates).sort()).toEqual(["beats", "calls", "events"]);

    const card = await getJson(`${d.url}api/peers/${hub.id}/card`);
    expect(card.body).toMatchObject({ info: { name: "hub", role: "hub-role" }, capabilities: [], artifacts: [], errors: {} });
    expect((await getJson(`${d.url}api/peers/${hub.id}/artifacts/nothing`)).body.error).toContain("unknown artifact: nothing");
    expect((await getJson(`${d.url}api/peers/nobody`)).status).toBe(404);
    expect((await getJson(`${d.url}api/conversations/nothing`)).status).toBe(404);
    expect((await fetch(`${d.url}api/peers`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${d.url}api/peers/%E0%A4%A`)).status).toBe(400);
  });

  test("the WebSocket sends a snapshot, then the changes; a foreign Origin or Host is refused", async () => {
    const hub = await worker("hub");
    const d = await startDashboard(SWARM, hub);
    dashboards.push(d);
    const messages: Array<{ type: string; changes?: Array<{ type: string; peer?: { name: string } }>; peers?: unknown[] }> = [];
    const ws = new WebSocket(`${d.url.replace("http", "ws")}ws`);
    ws.onmessage = (m) => messages.push(JSON.parse(String(m.data)));
    try {
      await eventually(() => messages.length > 0, 10_000, "the snapshot");
      expect(messages[0]).toMatchObject({ type: "snapshot", self: { id: d.node.id } });
      await worker("newcomer", hub);
      await eventually(() => messages.some((m) => m.type === "changes" && m.changes!.some((c) => c.type === "peer" && c.peer!.name === "newcomer")), 10_000, "the newcomer pushed");
      await eventually(() => messages.some((m) => m.type === "changes" && m.changes!.some((c) => c.type === "tick")), 10_000, "a tick");
    } finally {
      ws.close();
    }
    const port = new URL(d.url).port;
    const foreignWs = await fetch(`${d.url}ws`, { headers: { origin: "http://evil.example", connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" } });
    expect(foreignWs.status).toBe(403);
    const rebound = await fetch(`${d.url}api/peers`, { headers: { host: `evil.example:${port}` } });
    expect(rebound.status).toBe(403);
    expect((await fetch(d.url)).headers.get("content-security-policy")).toContain("default-src 'self'");
  });
});

describe("dashboard observer - probing peers", () => {
  test("a Python peer refuses the hello: marked python, its role read from _synapse.info; no metrics", async () => {
    const py = new PythonLikeServer().endpoint("_synapse.info", () => ({ id: "p".repeat(64), name: "py", kind: "node", address: "127.0.0.1", port: 1, swarm: SWARM, team: "default", role: "chef", description: "cooks", capabilities: [] })).start();
    const observerNode = await startNode({ name: "dashboard", mdns: false });
    const model = new DashboardModel({ heartbeat: 1 });
    const observer = new Observer(observerNode, model, { timeout: 2 });
    const p = { ...peer("p".repeat(64), "py"), port: py.port };
    model.joined(p, 1);
    await observer.probe(p);
    expect(model.peer(p.id, 1)).toMatchObject({ implementation: "python", version: null, role: "chef", description: "cooks", metrics: null });
    // The pool's own negotiation asks once, the probe once more (the pool does not publish what it learned).
    expect(py.requestsFor("_synapse.hello").length).toBeGreaterThanOrEqual(1);
    expect(py.requestsFor("_synapse.info")).toHaveLength(1);
    const card = await observer.card(p);
    expect(card.info).toMatchObject({ role: "chef" });
    expect(card.errors.capabilities).toContain("Unregistered endpoint called: _node.capabilities");
  });

  test("a Bun peer serves _synapse.metrics: marked bun with its version, metrics shown and read again", async () => {
    const served = await startNode({ name: "metered", role: "meter", mdns: false });
    const observerNode = await startNode({ name: "dashboard", mdns: false });
    const model = new DashboardModel({ heartbeat: 1 });
    const observer = new Observer(observerNode, model, { timeout: 2, metricsInterval: 0.05 }).attach();
    try {
      const p = served.toPeer();
      observerNode.events.emit("peer.joined", p); // as membership announces a peer
      await eventually(() => model.peer(p.id, Date.now() / 1000)?.metrics !== null && model.peer(p.id, Date.now() / 1000)?.metrics !== undefined, 10_000, "metrics read");
      expect(model.peer(p.id, Date.now() / 1000)).toMatchObject({ implementation: "bun", version: expect.stringMatching(/^synapse-p2p-bun \d/), role: "meter" });
      // Each reading counts the probes before it: calls_received grows from one reading to the next.
      const first = model.peer(p.id, Date.now() / 1000)!.metrics!.calls_received as number;
      expect(Object.keys(model.peer(p.id, Date.now() / 1000)!.metrics!).slice(0, 3)).toEqual(["peers_alive", "calls_received", "calls_sent"]);
      await eventually(() => ((model.peer(p.id, Date.now() / 1000)?.metrics?.calls_received as number) ?? 0) > first, 10_000, "metrics read again");
    } finally {
      observer.detach();
    }
  });
});

describe("sn dashboard", () => {
  test("joins the swarm, serves the page and the API on loopback, stops on SIGTERM", async () => {
    const hub = await worker("hub");
    const dash = SnStream.start(["dashboard", SWARM, "--no-mdns", "-s", `127.0.0.1:${hub.port}`, "--listen", "127.0.0.1:0", "--json", "--heartbeat", "0.3"]);
    const started = await dash.record((r) => r.event === "dashboard.started", 15_000, "dashboard.started");
    const url = String(started.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/app.js" defer></script>');
    let names: string[] = [];
    for (let i = 0; i < 100 && !names.includes("hub"); i++) {
      names = ((await getJson(`${url}api/peers`)).body.peers as Array<{ name: string }>).map((p) => p.name);
      if (!names.includes("hub")) await Bun.sleep(100);
    }
    expect(names).toEqual(["hub"]);
    dash.signal("SIGTERM");
    const { code, stderr } = await dash.exit(10_000);
    expect(code).toBe(0);
    expect(stderr).toBe("");
    expect(dash.records.at(-1)).toEqual({ event: "dashboard.stopped", reason: "SIGTERM" });
  });
});
