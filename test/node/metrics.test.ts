/**
 * `node.metrics()` and `_synapse.metrics`: calls and bytes by endpoint group, counted at the
 * listener and at the node's own Clients; peers by state; the layers' counters.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { Pool } from "../../src/transport/pool.ts";
import { METRICS_ENDPOINT, TRAFFIC_GROUPS, TrafficCounters, endpointGroup, type NodeMetrics } from "../../src/node-metrics.ts";
import { METRICS_ENDPOINT as DASHBOARD_METRICS_ENDPOINT } from "../../src/dashboard/observer.ts";
import { request } from "../../src/wire/messages.ts";
import { LOOPBACK, RawSocket, eventually, frame, startNode, stopAll } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";

const pools: Pool[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

function client(port: number): Client {
  const pool = new Pool();
  pools.push(pool);
  return new Client(LOOPBACK, port, { pool, timeout: 5 });
}

describe("metrics - endpoint groups", () => {
  test("user endpoints are rpc; membership, conversation and other built-ins by name", () => {
    expect(endpointGroup("sum")).toBe("rpc");
    expect(endpointGroup("weather.today")).toBe("rpc");
    for (const name of ["_synapse.join", "_synapse.peers", "_synapse.heartbeat", "_synapse.leave", "_synapse.swim.ping", "_synapse.swim.push_pull"]) {
      expect(endpointGroup(name)).toBe("membership");
    }
    for (const name of [
      "_synapse.broadcast.reply",
      "_synapse.conversation.event",
      "_synapse.conversation.sync",
      "_synapse.conversation.batch",
      "_synapse.artifacts",
      "_synapse.artifact.get",
      "_node.ask",
      "synapse.ask",
    ]) {
      expect(endpointGroup(name)).toBe("conversation");
    }
    for (const name of ["_synapse.ping", "_synapse.info", "_synapse.hello", "_synapse.methods", "_node.info", "_node.capabilities", METRICS_ENDPOINT, ""]) {
      expect(endpointGroup(name)).toBe("other");
    }
  });

  test("the counters file each frame under its group and direction", () => {
    const t = new TrafficCounters();
    t.sent("sum", 40, true); // a call made
    t.received("sum", 30, false); // its answer
    t.received("_synapse.heartbeat", 100, true); // a call served
    t.sent("_synapse.heartbeat", 60, false); // its answer
    const { total, groups } = t.snapshot();
    expect(groups.rpc).toEqual({ calls_sent: 1, calls_received: 0, bytes_sent: 40, bytes_received: 30 });
    expect(groups.membership).toEqual({ calls_sent: 0, calls_received: 1, bytes_sent: 60, bytes_received: 100 });
    expect(groups.conversation).toEqual({ calls_sent: 0, calls_received: 0, bytes_sent: 0, bytes_received: 0 });
    expect(total).toEqual({ calls_sent: 1, calls_received: 1, bytes_sent: 100, bytes_received: 130 });
    expect(Object.keys(groups)).toEqual([...TRAFFIC_GROUPS]);
  });

  test("the dashboard probes the endpoint the node serves", () => {
    expect(DASHBOARD_METRICS_ENDPOINT).toBe(METRICS_ENDPOINT);
  });
});

describe("metrics - a node's traffic", () => {
  test("a served call counts its request and answer frames byte for byte", async () => {
    const node = await startNode();
    node.endpoint("sum", (a: number, b: number) => a + b);
    const before = node.metrics().traffic.rpc;
    const raw = await RawSocket.open(node.port, { rawBytes: true });
    const bytes = frame(request("sum", "r1", [1, 2], {}));
    await raw.write(bytes);
    await raw.until(() => raw.received > 4 && raw.received >= 4 + new DataView(raw.bytes().buffer).getUint32(0), 5000, "the answer");
    const after = node.metrics().traffic.rpc;
    expect(after.calls_received - before.calls_received).toBe(1);
    expect(after.bytes_received - before.bytes_received).toBe(bytes.length);
    expect(after.bytes_sent - before.bytes_sent).toBe(raw.received);
    expect(after.calls_sent).toBe(0);
  });

  test("an undecodable frame is counted under other", async () => {
    const node = await startNode();
    const raw = await RawSocket.open(node.port);
    await raw.write(frame("not a request"));
    await raw.nextFrame();
    const m = node.metrics();
    expect(m.traffic.other.calls_received).toBe(1);
    expect(m.traffic.other.bytes_sent).toBeGreaterThan(0);
    expect(m.traffic.rpc.calls_received).toBe(0);
  });

  test("join, broadcast and reply are counted on both sides under their groups", async () => {
    const a = await startNode({ name: "a" });
    const b = await startNode({ name: "b", seeds: [`${LOOPBACK}:${a.port}`] });
    b.endpoint("echo", (x: unknown, ctx: { broadcast?: unknown }) => (ctx.broadcast ? null : x));
    await b.join({ wait: 0 });
    await eventually(() => a.peers.size === 1, 5000, "a knows b");
    expect(b.metrics().traffic.membership.calls_sent).toBeGreaterThanOrEqual(1);
    expect(a.metrics().traffic.membership.calls_received).toBeGreaterThanOrEqual(1);

    const broadcast = await a.broadcast("echo", 42);
    await eventually(() => b.metrics().traffic.rpc.calls_received === 1, 5000, "b served the broadcast call");
    expect(a.metrics().traffic.rpc.calls_sent).toBe(1);
    expect(a.metrics().traffic.rpc.bytes_received).toBeGreaterThan(0); // the answer

    await b.reply(broadcast, "hi");
    await eventually(() => a.metrics().traffic.conversation.calls_received >= 1, 5000, "a got the reply");
    // The reply to the origin by its own call, then batch rounds between the Bun nodes: conversation calls too.
    expect(b.metrics().traffic.conversation.calls_sent).toBeGreaterThanOrEqual(1);
    expect(a.metrics().conversation.events_received).toBe(1);
    // a relays a reply first heard from b to its other peers: it has none but b, the author.
    expect(a.metrics().conversation.events_forwarded).toBe(0);

    // The same reply again is a duplicate: not stored, not forwarded.
    await client(a.port).call("_synapse.broadcast.reply", broadcast.nonce, b.toPeer(), "hi");
    expect(a.metrics().conversation.events_received).toBe(2);
    expect(a.metrics().conversation.duplicates_dropped).toBe(1);
  });

  test("calls to a Python-like peer are counted too (one request per connection)", async () => {
    const py = new PythonLikeServer().endpoint("_synapse.join", () => ({ accepted: true, peers: [] })).start();
    const node = await startNode();
    await node.join({ seeds: [`${LOOPBACK}:${py.port}`], wait: 0 });
    await eventually(() => py.requestsFor("_synapse.join").length >= 1, 5000, "the join reached the fake");
    const m = node.metrics();
    expect(m.traffic.membership.calls_sent).toBeGreaterThanOrEqual(1);
    // The hello the Python node refused is counted under other, and sent nothing more.
    expect(m.traffic.other.calls_sent).toBeGreaterThanOrEqual(1);
    expect(m.traffic.membership.bytes_sent).toBe(py.requestsFor("_synapse.join").reduce((sum, r) => sum + r.raw.length + 4, 0));
  });
});

describe("metrics - the record and the endpoint", () => {
  test("totals, peers by state, the layers' counters in snake_case, uptime", async () => {
    const a = await startNode();
    const b = await startNode({ seeds: [`${LOOPBACK}:${a.port}`] });
    await b.join({ wait: 0 });
    await eventually(() => a.peers.size === 1, 5000, "a knows b");
    const m = a.metrics();
    expect(m.peers_alive).toBe(1);
    expect(m.membership).toMatchObject({ alive: 1, suspect: 0, offline: 0 });
    expect(m.membership.joins_received).toBeGreaterThanOrEqual(1);
    // Gossip membership (the default among Bun peers): the SWIM core's counters, prefixed.
    expect(typeof m.membership.swim_probes_sent).toBe("number");
    await eventually(() => a.metrics().membership.swim_alive === 1, 10_000, "a's SWIM core has b");
    expect(m.conversation).toEqual({ events_received: 0, events_forwarded: 0, duplicates_dropped: 0, batches_sent: 0, batches_received: 0, repairs: 0 });
    const sum = (k: keyof NodeMetrics["traffic"]["rpc"]) => TRAFFIC_GROUPS.reduce((s, g) => s + m.traffic[g][k], 0);
    expect(m.calls_received).toBe(sum("calls_received"));
    expect(m.calls_sent).toBe(sum("calls_sent"));
    expect(m.bytes_received).toBe(sum("bytes_received"));
    expect(m.bytes_sent).toBe(sum("bytes_sent"));
    expect(m.uptime).toBeGreaterThanOrEqual(0);
    expect(m.time).toBeGreaterThan(1_600_000_000);
    // The dashboard's peer list shows the first three numbers of the record.
    expect(Object.keys(m).slice(0, 3)).toEqual(["peers_alive", "calls_received", "calls_sent"]);
    await a.stop();
    expect(a.metrics().uptime).toBe(0);
  });

  test("a peer that fell silent is counted offline; one that left is not (mesh mode: its timing is exact)", async () => {
    const a = await startNode({ heartbeatInterval: 0.1, peerTimeout: 0.4, membership: "mesh" });
    const silent = await startNode({ seeds: [`${LOOPBACK}:${a.port}`], membership: "mesh" });
    const leaving = await startNode({ seeds: [`${LOOPBACK}:${a.port}`], membership: "mesh" });
    await Promise.all([silent.join({ wait: 0 }), leaving.join({ wait: 0 })]);
    await eventually(() => a.peers.size === 2, 5000, "a knows both");
    expect(a.metrics().membership).toMatchObject({ alive: 2, suspect: 0, offline: 0 });
    await leaving.stop(); // says it leaves: dropped at once, never probed again
    await silent.stop({ leave: false }); // as a crash: dropped after the peer timeout, then probed now and then
    await eventually(() => a.peers.size === 0, 5000, "a dropped both");
    expect(a.metrics().membership).toMatchObject({ alive: 0, suspect: 0, offline: 1 });
  });

  test("a mesh-mode node has no gossip counters", async () => {
    const node = await startNode({ membership: "mesh" });
    expect(Object.keys(node.metrics().membership).filter((k) => k.startsWith("swim_"))).toEqual([]);
    expect(node.metrics().membership.heartbeats_sent).toBe(0);
  });

  test("_synapse.metrics answers the same record, unpublished", async () => {
    const node = await startNode();
    const remote = (await client(node.port).call(METRICS_ENDPOINT)) as NodeMetrics;
    expect(Object.keys(remote)).toEqual(Object.keys(node.metrics()));
    // The pool's hello, then this very call, counted before it is answered.
    expect(remote.traffic.other.calls_received).toBe(2);
    expect(node.endpoints.list().find((e) => e.name === METRICS_ENDPOINT)?.publish).toBe(false);
  });
});
