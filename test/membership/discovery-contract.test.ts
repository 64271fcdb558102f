/**
 * The contract every Discovery keeps, run over each implementation (seed and mDNS) against fakes
 * of its host, with no socket: mDNS runs on an in-memory multicast group.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Discovery } from "../../src/membership/discovery.ts";
import { MdnsDiscovery } from "../../src/membership/mdns.ts";
import { SeedDiscovery } from "../../src/membership/seed-discovery.ts";
import type { PeerSource } from "../../src/membership/peer-table.ts";
import type { Peer } from "../../src/types.ts";
import { FakeDiscoveryHost, FakeMulticast, peer } from "./fakes.ts";

/** One implementation under test, with a peer it can find. */
interface Rig {
  host: FakeDiscoveryHost;
  discovery: Discovery;
  /** A peer reachable through this discovery. */
  remote: Peer;
  /** The source the discovery admits with. */
  source: PeerSource;
  /** Let every answer in flight arrive. */
  settle(): Promise<void>;
  /** Stop whatever the rig started. */
  close(): Promise<void>;
}

const ME = peer("me", "198.51.100.1", 9001);
const REMOTE = peer("remote", "198.51.100.2", 9002, { capabilities: ["python"] });

/** Seed discovery: the remote is a seed; this node is a seed too (it must skip itself). */
function seedRig(): Rig {
  const host = new FakeDiscoveryHost(ME);
  host.network.set(REMOTE.address, REMOTE.port, () => ({ accepted: true, self: { ...REMOTE, last_seen: Date.now() / 1000 }, peers: [] }));
  host.network.set(ME.address, ME.port, () => ({ accepted: true, self: host.self(), peers: [] }));
  const seeds = [
    { host: REMOTE.address, port: REMOTE.port },
    { host: ME.address, port: ME.port },
  ];
  const discovery = new SeedDiscovery(host, seeds, { heartbeatInterval: 5, peerTimeout: 20, joinTimeout: 1 });
  return { host, discovery, remote: REMOTE, source: "seed", settle: async () => {}, close: () => discovery.stop() };
}

/** mDNS discovery: the remote is another node on the group; this node hears its own advertisement. */
function mdnsRig(): Rig {
  const group = new FakeMulticast();
  const host = new FakeDiscoveryHost(ME);
  const discovery = new MdnsDiscovery(host, { hostName: "box-a", querySchedule: [0, 3600] }, group.opener(ME.address));
  const remoteHost = new FakeDiscoveryHost(REMOTE);
  const remote = new MdnsDiscovery(remoteHost, { hostName: "box-b", querySchedule: [0, 3600] }, group.opener(REMOTE.address));
  remote.start();
  return {
    host,
    discovery,
    remote: REMOTE,
    source: "mdns",
    settle: () => group.idle(),
    close: async () => {
      await Promise.all([discovery.stop(), remote.stop()]);
    },
  };
}

const implementations: Array<[string, () => Rig]> = [
  ["seeds", seedRig],
  ["mdns", mdnsRig],
];

for (const [name, makeRig] of implementations) {
  describe(`discovery contract - ${name}`, () => {
    let rig: Rig;
    afterEach(() => rig?.close());

    /** Start (when asked), refresh, and let the answers arrive. */
    async function look(start = false): Promise<void> {
      if (start) rig.discovery.start();
      await rig.discovery.refresh();
      await rig.settle();
    }

    test("it has a name and a non-negative settle time", () => {
      rig = makeRig();
      expect(rig.discovery.name).toBe(name);
      expect(rig.discovery.settleTime).toBeGreaterThanOrEqual(0);
    });

    test("before start it admits nothing, even when asked to refresh", async () => {
      rig = makeRig();
      await look();
      expect(rig.host.admitted).toEqual([]);
    });

    test("after start, refresh finds the remote peer with its record", async () => {
      rig = makeRig();
      await look(true);
      const found = rig.host.admitted.filter((a) => a.peer.id === rig.remote.id);
      expect(found.length).toBeGreaterThanOrEqual(1);
      expect(found[0]!.source).toBe(rig.source);
      const { last_seen: _seen, ...record } = found[0]!.peer;
      const { last_seen: _remoteSeen, ...expected } = rig.remote;
      expect(record).toEqual(expected);
      expect(rig.host.knows(rig.remote.id)).toBe(true);
    });

    test("it never offers this node itself", async () => {
      rig = makeRig();
      await look(true);
      await look();
      expect(rig.host.offered(rig.remote.id)).toBeGreaterThanOrEqual(1);
      expect(rig.host.offered(ME.id)).toBe(0);
    });

    test("a peer the host forgot is found again (rediscovery)", async () => {
      rig = makeRig();
      await look(true);
      const before = rig.host.offered(rig.remote.id);
      rig.host.forget(rig.remote.id);
      rig.discovery.peerLost(rig.remote);
      await look();
      expect(rig.host.offered(rig.remote.id)).toBeGreaterThan(before);
      expect(rig.host.knows(rig.remote.id)).toBe(true);
    });

    test("after stop nothing is admitted; stop is idempotent; a new start works again", async () => {
      rig = makeRig();
      rig.discovery.start();
      await rig.discovery.stop();
      await rig.discovery.stop();
      rig.discovery.peerLost(rig.remote);
      await look();
      expect(rig.host.admitted).toEqual([]);
      await look(true);
      expect(rig.host.knows(rig.remote.id)).toBe(true);
    });

    test("stop before any start resolves, and peerLost before start does nothing", async () => {
      rig = makeRig();
      rig.discovery.peerLost(rig.remote);
      await rig.discovery.stop();
      await rig.settle();
      expect(rig.host.admitted).toEqual([]);
    });
  });
}
