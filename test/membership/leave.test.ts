/**
 * Leaving gracefully: a stopping Bun node tells the Bun peers that offered the `leave` feature
 * (`_synapse.leave`), they drop it at once (`peer.offline`), a forged leave removes no one, and a
 * peer that never answers cannot hold up `stop()`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import { HELLO_FEATURES, LEAVE_ENDPOINT } from "../../src/wire/protocol.ts";
import { LEAVE_FEATURE, leaveRefusal, sendLeave, speaksLeave, type LeaveHost } from "../../src/membership/leave.ts";
import { dialTarget, type PeerEntry } from "../../src/membership/peer-table.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, LOOPBACK, startNode, stopAll, within } from "../helpers/net.ts";
import { FakeLivenessHost, peer } from "./fakes.ts";

afterEach(stopAll);

const SWARM = "leavers";
/** Long enough that a drop seen in a test can only come from the leave, never from the timeout. */
const NEVER = { heartbeatInterval: null, peerTimeout: 600 } as const;

function record(id: string, address: string, port = 4000): Peer {
  return { id, address, port, swarm: SWARM, team: "default", name: id, kind: "node", capabilities: [], last_seen: 0 };
}

function entry(peer: Peer, extensions: string[] = []): PeerEntry {
  return { id: peer.id, address: peer.address, port: peer.port, peer, ...dialTarget(peer.address), source: "join", extensions, swim: 0 };
}

describe("leave - the feature is negotiated", () => {
  test("the hello offers `leave`, and a Bun node's hello answer says it answers it", async () => {
    expect(HELLO_FEATURES).toContain(LEAVE_FEATURE);
    const node = await startNode({ swarm: SWARM });
    const answer = (await new Client(LOOPBACK, node.port).call("_synapse.hello", { features: [] })) as Record<string, unknown>;
    expect(answer).toMatchObject({ multiplex: true, leave: true });
  });

  test("a peer speaks leave when its hello answer or its mDNS `ext` said so, and only then", () => {
    const none = () => null;
    expect(speaksLeave(entry(record("a", "10.0.0.1")), none)).toBe(false);
    expect(speaksLeave(entry(record("a", "10.0.0.1"), ["mux", "leave"]), none)).toBe(true);
    expect(speaksLeave(entry(record("a", "10.0.0.1"), ["mux"]), none)).toBe(false);
    const hello = (host: string, port: number) => (host === "10.0.0.1" && port === 4000 ? { multiplex: true, leave: true } : null);
    expect(speaksLeave(entry(record("a", "10.0.0.1")), hello)).toBe(true);
    expect(speaksLeave(entry(record("a", "10.0.0.2")), hello)).toBe(false);
    expect(speaksLeave(entry(record("a", "10.0.0.1")), () => ({ multiplex: true }))).toBe(false);
  });
});

describe("leave - a stopping node is dropped at once", () => {
  test("the seed drops a node that stops, with one peer.offline, long before its peer timeout", async () => {
    const seed = await startNode({ name: "seed", swarm: SWARM, ...NEVER });
    const node = await startNode({ name: "short-lived", swarm: SWARM, ...NEVER });
    await node.join({ seeds: [`${LOOPBACK}:${seed.port}`] });
    await eventually(() => seed.peers.has(node.id), 5000, "the seed knows the node");
    const offline: Peer[] = [];
    seed.on("peer.offline", (p) => void offline.push(p));
    const told = node.membership.leave(5);
    expect(await told).toEqual([seed.id]);
    expect(seed.peers.has(node.id)).toBe(false);
    expect(offline.map((p) => p.id)).toEqual([node.id]);
    // A second leave (the stop below) finds nobody to drop: no second event.
    await node.stop();
    expect(offline.length).toBe(1);
  });

  test("stop() says it: every Bun peer that was called drops the node, peers it never called are not told", async () => {
    const seed = await startNode({ name: "seed", swarm: SWARM, ...NEVER });
    const other = await startNode({ name: "other", swarm: SWARM, ...NEVER });
    await other.join({ seeds: [`${LOOPBACK}:${seed.port}`] });
    const node = await startNode({ name: "leaver", swarm: SWARM, ...NEVER });
    await node.join({ seeds: [`${LOOPBACK}:${seed.port}`] });
    // The node learned `other` from the seed and announced itself to it with a heartbeat.
    await eventually(() => other.peers.has(node.id) && seed.peers.has(node.id), 5000, "both peers know the node");
    await node.stop();
    await eventually(() => !seed.peers.has(node.id) && !other.peers.has(node.id), 5000, "both peers dropped the node");
    // The seed never called `other` (it only answered its join, heartbeats are off), so it does not
    // know that `other` speaks leave: its stop leaves `other` to the peer timeout.
    await seed.stop();
    expect(other.peers.has(seed.id)).toBe(true);
  });

  test("a peer that never answers the leave does not hold up stop()", async () => {
    const slow = await startNode({ name: "slow", swarm: SWARM, ...NEVER });
    slow.endpoints.builtin(LEAVE_ENDPOINT, "never answers", ["peer"], () => new Promise<never>(() => {}));
    const node = await startNode({ name: "leaver", swarm: SWARM, ...NEVER });
    await node.join({ seeds: [`${LOOPBACK}:${slow.port}`] });
    const started = Date.now();
    await within(node.stop(), 5000, "stop() with a peer that never answers the leave");
    // The budget is 0.5 s; far below the 5 s of a call timeout, whatever the machine's load.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(slow.peers.has(node.id)).toBe(true);
  });

  test("a leave from a node nobody knows removes nothing and says so", async () => {
    const node = await startNode({ name: "node", swarm: SWARM, ...NEVER });
    const answer = await new Client(LOOPBACK, node.port).call(LEAVE_ENDPOINT, record("f".repeat(64), LOOPBACK));
    expect(answer).toEqual({ ok: true, removed: false });
  });

  test("a leave of another swarm is refused as a join would be", async () => {
    const node = await startNode({ name: "node", swarm: SWARM, ...NEVER });
    const call = new Client(LOOPBACK, node.port).call(LEAVE_ENDPOINT, { ...record("e".repeat(64), LOOPBACK), swarm: "elsewhere" });
    await expect(call).rejects.toThrow("peer requested a different swarm");
  });
});

describe("leave - a forged leave removes no third party", () => {
  test("a leave for a peer on another host, sent from this host, is refused and the peer stays", async () => {
    const node = await startNode({ name: "node", swarm: SWARM, ...NEVER });
    const victim = record("d".repeat(64), "10.77.0.9", 9999);
    // A join in the victim's name from this host does not admit it (it is only probed at its own
    // address, which does not answer); the victim is in the table as a peer that joined directly would be.
    await new Client(LOOPBACK, node.port).call("_synapse.join", victim);
    expect(node.peers.has(victim.id)).toBe(false);
    node.membership.table.upsert(victim, "join");
    expect(node.peers.has(victim.id)).toBe(true);
    const offline: Peer[] = [];
    node.on("peer.offline", (p) => void offline.push(p));
    const forged = new Client(LOOPBACK, node.port).call(LEAVE_ENDPOINT, victim);
    await expect(forged).rejects.toThrow("leave refused");
    expect(node.peers.has(victim.id)).toBe(true);
    expect(offline).toEqual([]);
  });

  test("the address check: the peer's own address, or any local address for a peer on this host", () => {
    const far = entry(record("a", "10.77.0.9"));
    expect(leaveRefusal(far, "10.77.0.9")).toBeNull();
    expect(leaveRefusal(far, "::ffff:10.77.0.9")).toBeNull();
    expect(leaveRefusal(far, "10.77.0.10")).toContain("not from that peer's address");
    expect(leaveRefusal(far, "127.0.0.1")).toContain("not from that peer's address");
    const here = entry(record("b", "127.0.0.1"));
    expect(leaveRefusal(here, "127.0.0.1")).toBeNull();
    expect(leaveRefusal(here, "127.0.0.2")).toBeNull();
    expect(leaveRefusal(here, "10.77.0.9")).toContain("not from that peer's address");
  });
});

describe("leave - sending is bounded and never rejects", () => {
  function host(entries: PeerEntry[], call: LeaveHost["call"]): LeaveHost {
    return { self: () => record("self", "10.0.0.100"), entries: () => entries, features: () => null, call };
  }

  test("only peers that speak leave are called, each with this node's record", async () => {
    const calls: Array<{ id: string; endpoint: string; args: unknown[] }> = [];
    const entries = [entry(record("bun", "10.0.0.1"), ["mux", "leave"]), entry(record("py", "10.0.0.2"))];
    const told = await sendLeave(
      host(entries, async (e, endpoint, args) => {
        calls.push({ id: e.peer.id, endpoint, args });
        return { ok: true, removed: true };
      }),
    );
    expect(told).toEqual(["bun"]);
    expect(calls).toEqual([{ id: "bun", endpoint: LEAVE_ENDPOINT, args: [record("self", "10.0.0.100")] }]);
  });

  test("a failing peer is skipped; a hanging one is given up after the budget", async () => {
    const entries = [entry(record("fails", "10.0.0.1"), ["leave"]), entry(record("hangs", "10.0.0.2"), ["leave"]), entry(record("ok", "10.0.0.3"), ["leave"])];
    const told = await within(
      sendLeave(
        host(entries, (e) => {
          if (e.peer.id === "fails") return Promise.reject(new Error("refused"));
          if (e.peer.id === "hangs") return new Promise<never>(() => {});
          return Promise.resolve({ ok: true });
        }),
        0.2,
      ),
      5000,
      "sendLeave with a hanging peer",
    );
    expect(told).toEqual(["ok"]);
  });
});

describe("leave - a heartbeat answer from before the leave brings no one back", () => {
  const TIMING = { heartbeatInterval: 5, peerTimeout: 20, heartbeatTimeout: 1 };

  test("the answer to a heartbeat sent before the leave arrives after it: the peer stays gone", async () => {
    const host = new FakeLivenessHost(peer("me", "198.51.100.1", 9001));
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock);
    let answer!: () => void;
    host.network.set(a.address, a.port, () => new Promise((resolve) => (answer = () => resolve({ ok: true, self: a }))));
    const beat = liveness.beat(host.table.get(a.id)!);
    await eventually(() => answer !== undefined, 1000, "the heartbeat to be on its way");
    expect(liveness.drop(a.id, false)?.id).toBe(a.id); // the leave
    answer();
    expect(await beat).toBe(false);
    expect(host.table.has(a.id)).toBe(false);
    expect(host.readmitted).toEqual([]);
    // A heartbeat sent after the leave that is answered means the peer is back (it restarted).
    host.network.set(a.address, a.port, () => ({ ok: true, self: a }));
    expect(await liveness.beat({ dialHost: a.address, fallbackHost: null, peer: a, extensions: [] })).toBe(true);
    expect(host.readmitted.map((p) => p.id)).toEqual([a.id]);
  });

  test("a peer that left is not probed as a lost one would be", async () => {
    const host = new FakeLivenessHost(peer("me", "198.51.100.1", 9001));
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock);
    host.network.set(a.address, a.port, () => ({ ok: true, self: a }));
    liveness.drop(a.id, false);
    host.clock += 1000;
    await liveness.round();
    expect(host.network.callsTo(a.address, a.port, "_synapse.heartbeat")).toBe(0);
  });
});
