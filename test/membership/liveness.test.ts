import { afterEach, describe, expect, test } from "bun:test";
import type { Peer } from "../../src/types.ts";
import type { Node } from "../../src/node.ts";
import { peerNames, record, startNode, stopAll, eventually } from "./fixtures.ts";

afterEach(stopAll);

/**
 * Two nodes of swarm "lab" that know each other, in mesh mode: these tests are about the direct
 * heartbeats (what every node still does towards Python peers); gossip mode is in gossip.test.ts.
 */
async function pair(options: { heartbeatInterval?: number | null; peerTimeout?: number | null } = {}): Promise<[Node, Node]> {
  const a = await startNode({ name: "a", swarm: "lab", membership: "mesh", ...options });
  const b = await startNode({ name: "b", swarm: "lab", membership: "mesh", seeds: [`127.0.0.1:${a.port}`], ...options });
  await b.join();
  await eventually(() => a.peers.has(b.id) && b.peers.has(a.id), 3000, "a and b to know each other");
  return [a, b];
}

describe("membership - heartbeats", () => {
  test("heartbeats run both ways, fire peer.heartbeat and move last_seen forward", async () => {
    const [a, b] = await pair();
    const beatsOnA = record<Peer>((fn) => a.on("peer.heartbeat", fn));
    const beatsOnB = record<Peer>((fn) => b.on("peer.heartbeat", fn));
    const before = a.peers.get(b.id)!.last_seen;
    await eventually(() => beatsOnA.length >= 3 && beatsOnB.length >= 3, 5000, "three heartbeats each way");
    expect(beatsOnA.every((p) => p.id === b.id)).toBe(true);
    expect(beatsOnB.every((p) => p.id === a.id)).toBe(true);
    expect(a.peers.get(b.id)!.last_seen).toBeGreaterThan(before);
    expect(beatsOnA.at(-1)!.last_seen).toBeGreaterThan(before);
    expect(a.membership.stats.heartbeatsSent).toBeGreaterThan(0);
    expect(a.membership.stats.heartbeatsReceived).toBeGreaterThan(0);
    expect(a.membership.stats.heartbeatsFailed).toBe(0);
  });

  test("heartbeats and reaping are tasks on the node's scheduler, added with the first peer", async () => {
    const lone = await startNode({ name: "lone" });
    expect(lone.scheduler.list()).toEqual([]);
    const [a, b] = await pair();
    expect(a.scheduler.list().map((t) => t.name)).toEqual(["membership.heartbeat", "membership.reap"]);
    expect(b.scheduler.list().map((t) => t.name)).toEqual(["membership.seeds", "membership.heartbeat", "membership.reap"]);
    const quiet = await startNode({ name: "quiet", swarm: "lab", heartbeatInterval: null, peerTimeout: null, seeds: [`127.0.0.1:${a.port}`] });
    await quiet.join();
    expect(quiet.peers.size).toBe(2);
    expect(quiet.scheduler.list().map((t) => t.name)).toEqual(["membership.seeds"]);
  });

  test("heartbeatInterval null sends none; peerTimeout null never drops a silent peer", async () => {
    const [a, b] = await pair({ heartbeatInterval: null, peerTimeout: null });
    const offline = record<Peer>((fn) => a.on("peer.offline", fn));
    await b.stop({ leave: false }); // silent, as a crash: no _synapse.leave
    await Bun.sleep(600);
    expect(a.membership.stats.heartbeatsSent).toBe(0);
    expect(b.membership.stats.heartbeatsSent).toBe(0);
    expect(offline).toEqual([]);
    expect(peerNames(a)).toEqual(["b"]);
  });

  test("a heartbeat refreshes the peer's name and capabilities from its answer", async () => {
    const [a, b] = await pair();
    b.capability("translate");
    await eventually(() => a.peers.get(b.id)!.capabilities.includes("translate"), 3000, "the new capability to reach a");
    expect(a.peers.get(b.id)!.capabilities).toEqual(["translate"]);
  });
});

describe("membership - offline and rejoin", () => {
  test("a silent peer is dropped after peerTimeout and peer.offline fires once", async () => {
    const [a, b] = await pair();
    const offline = record<Peer>((fn) => a.on("peer.offline", fn));
    const stoppedAt = Date.now();
    await b.stop({ leave: false }); // silent, as a crash: only the timeout can drop it
    await eventually(() => offline.length > 0, 6000, "peer.offline on a");
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1000); // not before the 1.5 s timeout (minus the last heartbeat's age)
    expect(offline[0]!.id).toBe(b.id);
    expect(offline[0]!.name).toBe("b");
    expect(a.peers.has(b.id)).toBe(false);
    await Bun.sleep(1000); // several reaper and heartbeat runs later
    expect(offline.length).toBe(1);
    expect(a.membership.stats.heartbeatsFailed).toBeGreaterThan(0);
  });

  test("a peer that comes back fires peer.joined again; a restarted node does not drop its peers", async () => {
    const [a, b] = await pair();
    const joined = record<Peer>((fn) => a.on("peer.joined", fn));
    const offline = record<Peer>((fn) => a.on("peer.offline", fn));
    const offlineOnB = record<Peer>((fn) => b.on("peer.offline", fn));
    await b.stop();
    await eventually(() => offline.length === 1, 6000, "b offline on a");
    await b.start();
    await eventually(() => joined.length === 1, 6000, "b back on a");
    expect(joined[0]!.id).toBe(b.id);
    expect(joined[0]!.port).toBe(b.port);
    expect(peerNames(a)).toEqual(["b"]);
    await Bun.sleep(600);
    expect(offline.length).toBe(1);
    expect(offlineOnB).toEqual([]);
    expect(peerNames(b)).toEqual(["a"]);
  });

  test("a dropped peer that forgot us is found again by probing (a healed partition)", async () => {
    const [a, b] = await pair({ heartbeatInterval: 0.2, peerTimeout: 0.8 });
    const joinedOnA = record<Peer>((fn) => a.on("peer.joined", fn));
    const joinedOnB = record<Peer>((fn) => b.on("peer.joined", fn));
    const offline = record<Peer>((fn) => a.on("peer.offline", fn));
    await b.stop({ leave: false }); // a partition: b says nothing, a keeps probing it
    await eventually(() => offline.length === 1, 5000, "b offline on a");
    b.membership.table.clear(); // b comes back knowing nobody, and has no seed to ask
    (b.membership as unknown as { seeds: unknown[] }).seeds.length = 0;
    await b.start();
    await eventually(() => joinedOnA.length === 1 && joinedOnB.length === 1, 8000, "a to probe b and both to meet again");
    expect(joinedOnA[0]!.id).toBe(b.id);
    expect(joinedOnB[0]!.id).toBe(a.id);
  });

  test("one unresponsive peer never holds up heartbeats to the others", async () => {
    // A "black hole": accepts connections and never answers anything.
    const hole = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const [a, b] = await pair();
      const beats = record<Peer>((fn) => a.on("peer.heartbeat", fn));
      const offline = record<Peer>((fn) => a.on("peer.offline", fn));
      await a.membership.join(); // no-op, keeps the API exercised
      const ghost: Peer = { id: "9".repeat(64), address: "127.0.0.1", port: hole.port, swarm: "lab", team: "default", name: "ghost", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
      expect(a.membership.called(ghost, "join", "127.0.0.1")).not.toBeNull();
      await eventually(() => offline.some((p) => p.name === "ghost"), 6000, "the ghost to be dropped");
      const fromB = beats.filter((p) => p.id === b.id).length;
      // The ghost was pending for its whole timeout; b kept answering in the meantime.
      expect(fromB).toBeGreaterThanOrEqual(3);
      expect(offline.map((p) => p.name)).toEqual(["ghost"]);
      expect(peerNames(a)).toEqual(["b"]);
    } finally {
      hole.stop(true);
    }
  });
});
