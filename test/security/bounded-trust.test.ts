/**
 * Bounded trust in what peers say (issue #13, built on the bounds of #14): peer lists that point
 * at many ports or ids of one victim host, from several sources at once, cost that host at most
 * FAILED_PROBES_PER_HOST failed probes plus the PROBES_PER_HOST - 1 already under way per window,
 * while a host with many genuine peers still has them all verified, a few at a time.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { TCPSocketListener } from "bun";
import { FAILED_PROBES_PER_HOST, PROBES_PER_HOST, UNVERIFIED_PER_SOURCE } from "../../src/membership/bounds.ts";
import { MdnsDiscovery } from "../../src/membership/mdns.ts";
import { Membership, type MembershipHost } from "../../src/membership/membership.ts";
import type { NodeInfo, Peer } from "../../src/types.ts";
import { FakeDiscoveryHost, FakeMulticast, FakeNetwork, FakeScheduler, heartbeatAnswer, peer } from "../membership/fakes.ts";
import { LOOPBACK, startNode, stopAll, track } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
  await stopAll();
});

const SWARM = "bounded";

function record(n: number, port: number, name = `peer-${n}`): Peer {
  return { id: `b${n.toString(16).padStart(63, "0")}`, address: LOOPBACK, port, swarm: SWARM, team: "default", name, kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
}

/** A Python-like seed whose join answer lists `peers`. */
function seedListing(peers: Peer[], n: number): PythonLikeServer {
  const seed = track(new PythonLikeServer().start());
  const self = record(100_000 + n, seed.port, `seed-${n}`);
  seed.endpoint("_synapse.join", () => ({ accepted: true, self, peers }));
  seed.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...self, role: null, description: null } }));
  return seed;
}

describe("security - bounded trust: a peer list cannot make the node flood a host", () => {
  test("three seeds each list 300 ids at one victim's port: the victim gets at most the host's budget of connections", async () => {
    let connections = 0;
    // The victim runs no synapse node: it accepts and hangs up, as a web or SSH server would to our heartbeat.
    const victim: TCPSocketListener<undefined> = Bun.listen({
      hostname: LOOPBACK,
      port: 0,
      socket: {
        open(socket) {
          connections++;
          socket.end();
        },
        data() {},
      },
    });
    track({ stop: () => victim.stop(true) });
    const seeds = [0, 1, 2].map((s) => seedListing(Array.from({ length: 300 }, (_, i) => record(s * 1000 + i, victim.port)), s));
    const node = await startNode({ name: "joiner", swarm: SWARM, heartbeatInterval: null, peerTimeout: null, seeds: seeds.map((s) => `${LOOPBACK}:${s.port}`) });
    await node.join();
    const stats = node.membership.stats;
    // Without the host's budget, each seed's 64 probes would all have dialed the victim (192 probes).
    expect(3 * UNVERIFIED_PER_SOURCE).toBeGreaterThan(FAILED_PROBES_PER_HOST + PROBES_PER_HOST);
    expect(stats.unverifiedProbed).toBeLessThanOrEqual(FAILED_PROBES_PER_HOST + PROBES_PER_HOST - 1);
    expect(stats.unverifiedProbed).toBeGreaterThanOrEqual(FAILED_PROBES_PER_HOST);
    // A probe of a host that hangs up costs at most two connections: the pool's first one says
    // hello (as to any new peer) and, closed on it, the call is retried as to a Python node.
    expect(connections).toBeGreaterThanOrEqual(stats.unverifiedProbed);
    expect(connections).toBeLessThanOrEqual(2 * stats.unverifiedProbed);
    expect(stats.unverifiedVerified).toBe(0);
    expect(stats.unverifiedProbed + stats.unverifiedDropped).toBe(3 * 300);
    // Only the seeds (direct contact) are peers.
    expect([...node.peers.values()].map((p) => p.name).sort()).toEqual(["seed-0", "seed-1", "seed-2"]);
  });

  test("a host with many genuine peers has them all verified, a few at a time", async () => {
    const count = 3 * PROBES_PER_HOST;
    const genuine = Array.from({ length: count }, (_, i) => {
      const server = track(new PythonLikeServer().start());
      const peer = record(i, server.port);
      server.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...peer, role: null, description: null } }));
      return peer;
    });
    const seed = seedListing(genuine, 0);
    const node = await startNode({ name: "joiner", swarm: SWARM, heartbeatInterval: null, peerTimeout: null, seeds: [`${LOOPBACK}:${seed.port}`] });
    await node.join();
    expect(node.membership.stats.unverifiedVerified).toBe(count);
    expect(node.membership.stats.unverifiedDropped).toBe(0);
    expect(node.peers.size).toBe(count + 1);
  });
});

describe("security - bounded trust: mDNS advertisements are probed first", () => {
  /** A membership with mDNS on a fake multicast group and a fake network (no socket). */
  function membershipOnLink(group: FakeMulticast) {
    const me = peer("me", "198.51.100.1", 9001, { swarm: "lab" });
    const network = new FakeNetwork();
    const info: NodeInfo = { id: me.id, name: me.name, kind: me.kind, address: me.address, port: me.port, swarm: "lab", team: me.team, role: null, description: null, capabilities: [] };
    let up = true;
    const joined: string[] = [];
    const host: MembershipHost = {
      id: me.id,
      swarm: "lab",
      team: me.team,
      scheduler: new FakeScheduler(),
      running: () => up,
      self: () => ({ ...me, last_seen: Date.now() / 1000 }),
      info: () => ({ ...info }),
      call: (h, p, endpoint, args) => network.call(h, p, endpoint, args),
      emit: (event, payload) => void (event === "peer.joined" && joined.push(payload.name)),
    };
    const membership = new Membership(host, { heartbeatInterval: 5, peerTimeout: 20 }, (h) => ({
      seeds: null,
      others: [new MdnsDiscovery(h, { hostName: "box-a", querySchedule: [0, 3600] }, group.opener(me.address))],
    }));
    membership.start();
    cleanups.push(() => {
      up = false;
      return membership.stop();
    });
    return { membership, network, joined };
  }

  /** Start an advertiser of `record` on the group, sending from `from`. */
  function advertise(group: FakeMulticast, record: Peer, from: string): void {
    const discovery = new MdnsDiscovery(new FakeDiscoveryHost(record), { hostName: `box-${record.port}`, querySchedule: [0, 3600] }, group.opener(from));
    discovery.start();
    cleanups.push(() => discovery.stop());
  }

  test("advertisements naming 30 ports of a victim host: none joins, and the victim gets at most the host's budget of heartbeats", async () => {
    const group = new FakeMulticast();
    const { membership, network, joined } = membershipOnLink(group);
    const victim = "198.51.100.9";
    // One genuine peer on the link is found as before: it answers the probe as itself.
    const genuine = peer("genuine", "198.51.100.2", 9002, { swarm: "lab" });
    network.set(genuine.address, genuine.port, heartbeatAnswer(() => genuine));
    advertise(group, genuine, genuine.address);
    // The attacker's advertisements name the victim's address (nothing of the swarm runs there).
    for (let i = 0; i < 30; i++) advertise(group, peer(`fake-${i}`, victim, 10_000 + i, { swarm: "lab" }), "198.51.100.66");
    await membership.join({ wait: 0 });
    await group.idle();
    await Bun.sleep(0);
    const heartbeats = network.calls.filter((c) => c.to.startsWith(`${victim}:`) && c.endpoint === "_synapse.heartbeat").length;
    expect(heartbeats).toBeGreaterThan(0);
    expect(heartbeats).toBeLessThanOrEqual(FAILED_PROBES_PER_HOST + PROBES_PER_HOST - 1);
    expect(joined).toEqual(["genuine"]);
    expect([...membership.peers.values()].map((p) => p.name)).toEqual(["genuine"]);
    expect(membership.stats.unverifiedVerified).toBe(1);
  });
});
