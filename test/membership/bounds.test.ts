/**
 * The bounds of issue #14 on what other nodes can make membership hold or do: the peer table cap,
 * second-hand peers verified by a probe within a budget per source, bounded join answers and peer
 * lists, and pool channels released with their peers. Each attack runs with a bounded count, and
 * the node is then shown to still serve a genuine peer.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import type { Peer } from "../../src/types.ts";
import { encode } from "../../src/wire/codec.ts";
import { Pool } from "../../src/transport/pool.ts";
import { DEFAULT_MAX_PEERS, MAX_LISTED_PEERS, UNVERIFIED_PER_SOURCE, PeerCap, PeerTable } from "../../src/membership/index.ts";
import { Admission, ChannelReleases, FAILED_PROBES_PER_HOST, PROBES_PER_HOST } from "../../src/membership/bounds.ts";
import { ConfigError } from "../../src/errors.ts";
import { LEAVE_ENDPOINT } from "../../src/wire/protocol.ts";
import { freePort, LOOPBACK, stopAll as stopHelpers } from "../helpers/net.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { captureLogs, eventually, startNode, stopAll } from "./fixtures.ts";

afterEach(async () => {
  await stopAll();
  await stopHelpers();
});

const SWARM = "bounds";
/** Nothing on a schedule: the tests run rounds by hand. */
const QUIET = { heartbeatInterval: null, peerTimeout: null } as const;

/** A peer record of this swarm. */
function fake(id: string, address: string, port: number, name = `fake-${id.slice(0, 6)}`): Peer {
  return { id, address, port, swarm: SWARM, team: "default", name, kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
}

/** A 64-character hex id made from `n`. */
function idOf(n: number, prefix = "f"): string {
  return prefix + n.toString(16).padStart(63, "0");
}

/** A Python-like node that answers heartbeats as `self` (and nothing else of membership). */
function listeningPeer(id: string, name: string): { server: PythonLikeServer; peer: Peer } {
  const server = new PythonLikeServer().start();
  const peer = fake(id, LOOPBACK, server.port, name);
  server.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...peer, role: null, description: null } }));
  return { server, peer };
}

describe("bounds - peer table cap", () => {
  test("2,000 heartbeats with fresh ids: the table stops at maxPeers, refusals are counted, a known peer still refreshes, ping and a newcomer are served", async () => {
    const maxPeers = 100;
    const node = await startNode({ name: "target", swarm: SWARM, maxPeers, ...QUIET });
    const attacker = new Client(LOOPBACK, node.port);
    const flood = 2000;
    const calls: Array<Promise<unknown>> = [];
    // Each record names the caller's own address (loopback): direct contact, so only the cap holds them back.
    for (let i = 0; i < flood; i++) calls.push(attacker.call("_synapse.heartbeat", fake(idOf(i), LOOPBACK, 20000 + (i % 40000))));
    const answers = await Promise.all(calls);
    expect(answers.every((a) => (a as { ok: boolean }).ok === true)).toBe(true);
    expect(node.membership.table.size).toBe(maxPeers);
    expect(node.membership.stats.peersRefused).toBe(flood - maxPeers);
    expect(node.membership.stats.heartbeatsReceived).toBe(flood);

    // A known peer's refresh still works while the table is full.
    const first = node.membership.table.get(idOf(0))!;
    const before = first.peer.last_seen;
    await attacker.call("_synapse.heartbeat", { ...fake(idOf(0), LOOPBACK, 20000), name: "renamed", last_seen: before + 10 });
    expect(node.membership.table.get(idOf(0))!.peer.name).toBe("renamed");
    expect(node.membership.table.size).toBe(maxPeers);

    // The node still serves: ping, and a join answer that names at most the sample.
    expect(await new Client(LOOPBACK, node.port).ping()).toBe("pong");
    const newcomer = await startNode({ name: "newcomer", swarm: SWARM, ...QUIET, seeds: [`${LOOPBACK}:${node.port}`] });
    const joined = await newcomer.join();
    expect(joined.map((p) => p.id)).toContain(node.id);
    // The table is full: the newcomer is answered but not kept; once a peer leaves there is room.
    expect(node.peers.has(newcomer.id)).toBe(false);
    await attacker.call(LEAVE_ENDPOINT, fake(idOf(1), LOOPBACK, 20001));
    await newcomer.membership.heartbeat();
    expect(node.peers.has(newcomer.id)).toBe(true);
    expect(node.membership.table.size).toBe(maxPeers);
  });

  test("the default cap is 1,000; maxPeers must be a positive integer", async () => {
    const node = await startNode({ name: "n", swarm: SWARM, ...QUIET });
    expect(node.membership.maxPeers).toBe(DEFAULT_MAX_PEERS);
    expect(DEFAULT_MAX_PEERS).toBe(1000);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(startNode({ name: "bad", swarm: SWARM, maxPeers: bad, ...QUIET })).rejects.toBeInstanceOf(ConfigError);
    }
  });

  test("a full table refuses new ids, lets known ones refresh, and warns once per time it fills", async () => {
    const table = new PeerTable();
    const cap = new PeerCap(table, 2);
    const { lines } = await captureLogs("warn", async () => {
      for (const id of ["a", "b"]) {
        expect(cap.allows(id.repeat(64))).toBe(true);
        table.upsert(fake(id.repeat(64), LOOPBACK, 1), "join");
      }
      expect(cap.allows("c".repeat(64))).toBe(false);
      expect(cap.allows("d".repeat(64))).toBe(false);
      expect(cap.allows("a".repeat(64))).toBe(true); // a refresh
      table.remove("a".repeat(64));
      table.remove("b".repeat(64));
      expect(cap.allows("c".repeat(64))).toBe(true); // room again
      table.upsert(fake("c".repeat(64), LOOPBACK, 1), "join");
      table.upsert(fake("d".repeat(64), LOOPBACK, 1), "join");
      expect(cap.allows("e".repeat(64))).toBe(false);
    });
    expect(cap.refused).toBe(3);
    expect(lines.filter((l) => l.includes("peer table full")).length).toBe(2);
  });
});

describe("bounds - join answers and peer lists", () => {
  test("a join answer and _synapse.peers name at most 256 peers, however many are known, and stay small", async () => {
    const node = await startNode({ name: "big", swarm: SWARM, ...QUIET });
    for (let i = 0; i < 600; i++) node.membership.table.upsert(fake(idOf(i), LOOPBACK, 30000 + i), "join");
    const client = new Client(LOOPBACK, node.port);
    const answer = await client.call<{ accepted: boolean; self: Peer; peers: Peer[] }>("_synapse.join", fake(idOf(9999, "e"), LOOPBACK, 40000, "joiner"));
    expect(answer.accepted).toBe(true);
    expect(answer.self.id).toBe(node.id);
    expect(answer.peers.length).toBe(MAX_LISTED_PEERS);
    expect(new Set(answer.peers.map((p) => p.id)).size).toBe(MAX_LISTED_PEERS);
    expect(encode(answer).length).toBeLessThan(256 * 1024);
    const listed = await client.call<Peer[]>("_synapse.peers");
    expect(listed.length).toBe(MAX_LISTED_PEERS);
  });

});

describe("bounds - second-hand peers are verified first", () => {
  test("a join answer listing 5,000 fake peers: only the ones that answer a probe as themselves become peers; probes stay within the budget; no channel is left", async () => {
    const genuine = [listeningPeer(idOf(1, "a"), "real-1"), listeningPeer(idOf(2, "a"), "real-2")];
    // An impostor listens but answers as someone else.
    const impostor = listeningPeer(idOf(3, "a"), "impostor");
    const claimed = fake(idOf(4, "a"), LOOPBACK, impostor.server.port, "claimed");
    const deadPort = freePort();
    const fakes = Array.from({ length: 5000 }, (_, i) => fake(idOf(i), LOOPBACK, deadPort));
    const seed = new PythonLikeServer().start();
    const seedSelf = fake(idOf(0, "b"), LOOPBACK, seed.port, "seed");
    seed.endpoint("_synapse.join", () => ({ accepted: true, self: seedSelf, peers: [...genuine.map((g) => g.peer), claimed, ...fakes] }));
    seed.endpoint("_synapse.heartbeat", () => ({ ok: true, self: { ...seedSelf, role: null, description: null } }));

    const node = await startNode({ name: "joiner", swarm: SWARM, ...QUIET, seeds: [`${LOOPBACK}:${seed.port}`] });
    await node.join();
    expect([...node.peers.values()].map((p) => p.name).sort()).toEqual(["real-1", "real-2", "seed"]);
    const stats = node.membership.stats;
    // Every record is on one host (loopback): past the source's budget, the host's budget of failed
    // probes holds the probes back (the genuine ones, listed first, ran in the first turn).
    expect(stats.unverifiedProbed).toBeGreaterThanOrEqual(2 + FAILED_PROBES_PER_HOST);
    expect(stats.unverifiedProbed).toBeLessThanOrEqual(2 + FAILED_PROBES_PER_HOST + PROBES_PER_HOST - 1);
    expect(stats.unverifiedVerified).toBe(2);
    expect(stats.unverifiedProbed + stats.unverifiedDropped).toBe(genuine.length + 1 + fakes.length);
    // The probes that failed (the fakes, the impostor) left no channel in the pool.
    const ports = node.pool.list().map((c) => c.port);
    expect(ports).not.toContain(deadPort);
    expect(ports).not.toContain(impostor.server.port);
    // Nothing unverified is handed out.
    const listed = await new Client(LOOPBACK, node.port).call<Peer[]>("_synapse.peers");
    expect(listed.map((p) => p.name).sort()).toEqual(["real-1", "real-2", "seed"]);
  });

  test("heartbeats in the name of peers elsewhere: not admitted; at most the budget is probed; the real peer still joins", async () => {
    // A probe timeout of 1 s (half the peer timeout): where TEST-NET-1 swallows packets rather than
    // refusing them, each probe waits it out, and the three turns of probes stay within one window.
    const node = await startNode({ name: "target", swarm: SWARM, ...QUIET, peerTimeout: 2 });
    const attacker = new Client(LOOPBACK, node.port);
    // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so every probe fails.
    const forged = 3 * UNVERIFIED_PER_SOURCE;
    await Promise.all(Array.from({ length: forged }, (_, i) => attacker.call("_synapse.heartbeat", fake(idOf(i), "192.0.2.1", 9000 + i))));
    expect(node.peers.size).toBe(0);
    await eventually(() => node.membership.stats.unverifiedProbed + node.membership.stats.unverifiedDropped === forged, 10_000, "every forged heartbeat handled");
    // The source's budget lets 64 through; of those, the host's budget of failed probes lets
    // FAILED_PROBES_PER_HOST fail, plus the turns already under way when the last of them failed.
    expect(node.membership.stats.unverifiedProbed).toBe(FAILED_PROBES_PER_HOST + PROBES_PER_HOST - 1);
    expect(node.membership.stats.unverifiedDropped).toBe(forged - FAILED_PROBES_PER_HOST - PROBES_PER_HOST + 1);
    expect(node.membership.stats.unverifiedVerified).toBe(0);
    expect(node.peers.size).toBe(0);
    expect(await attacker.ping()).toBe("pong");
    const genuine = await startNode({ name: "genuine", swarm: SWARM, ...QUIET, seeds: [`${LOOPBACK}:${node.port}`] });
    await genuine.join();
    expect(node.peers.has(genuine.id)).toBe(true);
  });
});

describe("bounds - a probe waiting its turn", () => {
  test("is not made when the peer became known meanwhile (gossip membership's exchange named it)", async () => {
    const known = new Set<string>();
    const answers: Array<() => void> = [];
    const called: string[] = [];
    const self = fake(idOf(999, "s"), "127.0.0.1", 1);
    const admission = new Admission(
      {
        self: () => self,
        knows: (id) => known.has(id),
        hasRoom: () => true,
        call: (target) => {
          const peer = peers.find((p) => p.port === target.peer.port)!;
          called.push(peer.id);
          return new Promise((resolve) => answers.push(() => resolve({ self: { id: peer.id, name: peer.name } })));
        },
        admit: (peer) => {
          known.add(peer.id);
          return null;
        },
        release: () => {},
      },
      () => 2,
    );
    const peers = Array.from({ length: PROBES_PER_HOST + 1 }, (_, i) => fake(idOf(i), "127.0.0.1", 20_000 + i));
    const results = peers.map((p) => admission.introduce(p, "seed", "join"));
    await eventually(() => called.length === PROBES_PER_HOST, 2_000, "the host's turns to be taken");
    // The last one waits for a turn; it becomes known before it gets one.
    known.add(peers[PROBES_PER_HOST]!.id);
    for (const answer of answers) answer();
    expect((await Promise.all(results)).at(-1)).toBe("verified");
    expect(called).not.toContain(peers[PROBES_PER_HOST]!.id);
    expect(admission.counts.probed).toBe(PROBES_PER_HOST);
  });
});

describe("bounds - pool channels are released with their peers", () => {
  test("Pool.release closes and forgets one channel; unknown ones are a no-op", () => {
    const pool = new Pool();
    const ch = pool.channel(LOOPBACK, 1);
    pool.channel(LOOPBACK, 2);
    expect(pool.release(LOOPBACK, 1)).toBe(true);
    expect(ch.retired).toBe(true);
    expect(pool.list().map((c) => c.port)).toEqual([2]);
    expect(pool.release(LOOPBACK, 1)).toBe(false);
    pool.closeAll();
  });

  test("the releases of one turn are checked in one walk of the table; an address and port a known peer still uses is kept", async () => {
    const table = new PeerTable();
    const rec = (id: string, port: number): Peer => ({ id: id.repeat(64), address: LOOPBACK, port, swarm: SWARM, team: "default", name: id, kind: "node", capabilities: [], last_seen: 0 });
    table.upsert(rec("a", 4001), "seed");
    let walks = 0;
    const counted = { list: () => (walks++, table.list()) };
    const released: string[] = [];
    const releases = new ChannelReleases(counted, (host, port) => void released.push(`${host}:${port}`));
    // A killed process's peers leave together: 50 releases in one turn, one of them at a port a
    // known peer is still reached at (a restarted node with a new id), and one asked for twice.
    for (let port = 5000; port < 5049; port++) releases.add({ dialHost: LOOPBACK, fallbackHost: null, peer: { port } });
    releases.add({ dialHost: LOOPBACK, fallbackHost: "10.0.0.9", peer: { port: 4001 } });
    releases.add({ dialHost: LOOPBACK, fallbackHost: null, peer: { port: 5000 } });
    expect(released).toEqual([]);
    await Promise.resolve();
    expect(walks).toBe(1);
    expect(released.length).toBe(50);
    expect(released).not.toContain(`${LOOPBACK}:4001`);
    expect(released).toContain("10.0.0.9:4001");
    expect(released.filter((r) => r === `${LOOPBACK}:5000`).length).toBe(1);
    // A later turn walks again.
    releases.add({ dialHost: LOOPBACK, fallbackHost: null, peer: { port: 6000 } });
    await Promise.resolve();
    expect(walks).toBe(2);
    expect(released.at(-1)).toBe(`${LOOPBACK}:6000`);
  });

  test("a node on a shared pool does not close a channel other nodes of the pool use", async () => {
    const pool = new Pool();
    try {
      const c = await startNode({ name: "c", swarm: SWARM, ...QUIET });
      const a = await startNode({ name: "a", swarm: SWARM, ...QUIET, pool, seeds: [`${LOOPBACK}:${c.port}`] });
      const b = await startNode({ name: "b", swarm: SWARM, ...QUIET, pool, seeds: [`${LOOPBACK}:${c.port}`] });
      await a.join();
      await b.join();
      const channel = () => pool.list().find((ch) => ch.port === c.port);
      const before = channel();
      expect(before).toBeDefined();
      // c leaves a only: a drops it, b still holds it and calls it on the same channel.
      expect(a.membership.left(a.peers.get(c.id)!, LOOPBACK)).toBe(true);
      expect(a.peers.has(c.id)).toBe(false);
      expect(channel()).toBe(before);
      expect(before!.retired).toBe(false);
      await b.membership.heartbeat();
      expect(b.peers.has(c.id)).toBe(true);
    } finally {
      pool.closeAll();
    }
  });

  test("a peer that leaves, and one that goes silent, leave no channel in the pool", async () => {
    const a = await startNode({ name: "a", swarm: SWARM, heartbeatInterval: 0.2, peerTimeout: 1 });
    const b = await startNode({ name: "b", swarm: SWARM, ...QUIET, seeds: [`${LOOPBACK}:${a.port}`] });
    const c = await startNode({ name: "c", swarm: SWARM, ...QUIET, seeds: [`${LOOPBACK}:${a.port}`] });
    await b.join();
    await c.join();
    await a.membership.heartbeat();
    const channelTo = (port: number) => a.pool.list().some((ch) => ch.port === port);
    expect(channelTo(b.port) && channelTo(c.port)).toBe(true);
    const bPort = b.port;
    const cPort = c.port;
    await b.stop(); // it says it leaves: a drops it at once
    await eventually(() => !a.peers.has(b.id) && !channelTo(bPort), 5000, "b dropped and its channel released");
    await c.stop({ leave: false }); // silent: a drops it after its peer timeout
    await eventually(() => !a.peers.has(c.id) && !channelTo(cPort), 10000, "c dropped and its channel released");
  });
});
