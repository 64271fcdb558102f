/**
 * Membership through its ports, with fakes only (no socket, no root): liveness (reap, probing a
 * dropped peer back), mDNS on an in-memory multicast group (goodbye, PTR-only advertisements,
 * socket trouble), and Membership itself wired to the real discoveries over a fake network
 * (join, peer exchange, rejoin, goodbye, rediscovery) and its endpoints.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { discoveriesFromOptions, type DiscoveryFactory } from "../../src/membership/discoveries.ts";
import type { Discovery, DiscoveryHost } from "../../src/membership/discovery.ts";
import { registerMembershipEndpoints } from "../../src/membership/endpoints.ts";
import { MdnsDiscovery } from "../../src/membership/mdns.ts";
import { Membership, type MembershipEvents, type MembershipHost } from "../../src/membership/membership.ts";
import { EndpointRegistry } from "../../src/rpc/endpoints.ts";
import { Liveness } from "../../src/membership/liveness.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { disableLogging, enableLogging } from "../../src/log.ts";
import type { NodeInfo, Peer } from "../../src/types.ts";
import { request, type ResponseMessage } from "../../src/wire/messages.ts";
import { FakeDiscoveryHost, FakeLivenessHost, FakeMulticast, FakeNetwork, FakeScheduler, heartbeatAnswer, peer } from "./fakes.ts";

const ME = peer("me", "198.51.100.1", 9001);
const now = () => Date.now() / 1000;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn();
});

describe("membership ports - liveness", () => {
  const TIMING = { heartbeatInterval: 5, peerTimeout: 20, heartbeatTimeout: 1 };

  test("reap drops the peers silent for peerTimeout, once each, and none within a timeout of the start", () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    const b = peer("b", "198.51.100.3", 9003);
    host.add(a, host.clock - 30);
    host.add(b, host.clock + 10);
    expect(liveness.reap()).toEqual([]); // just started: everyone gets a full timeout
    host.clock += 25;
    expect(liveness.reap().map((p) => p.name)).toEqual(["a"]);
    expect(liveness.reap()).toEqual([]);
    expect(host.droppedPeers.map((p) => p.name)).toEqual(["a"]);
    expect(host.table.list().map((e) => e.peer.name)).toEqual(["b"]);
  });

  test("the seconds this process's event loop was blocked are no peer's silence", () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    host.clock += 60; // long past the start's grace
    const a = peer("a", "198.51.100.2", 9002);
    const b = peer("b", "198.51.100.3", 9003);
    host.add(a, host.clock - 3);
    host.add(b, host.clock - 30);
    host.stall(18); // stopped and continued: a was silent 21 s, 3 of them heard-able; b 48 s, 30
    expect(liveness.reap().map((p) => p.name)).toEqual(["b"]);
    expect(liveness.counts.spared).toBe(1);
    // Once a has been silent 20 s of this process's own time, it is dropped.
    host.clock += 16;
    expect(liveness.reap()).toEqual([]);
    host.clock += 1;
    expect(liveness.reap().map((p) => p.name)).toEqual(["a"]);
    // A stall that ended before the peer was last heard from does not count for it.
    const c = peer("c", "198.51.100.4", 9004);
    host.stall(10);
    host.add(c, host.clock);
    host.clock += 21;
    expect(liveness.reap().map((p) => p.name)).toEqual(["c"]);
  });

  test("a step of the system clock is no silence, and hides none (the real clock, Date.now stepped)", async () => {
    const host = new FakeLivenessHost(ME);
    const liveness = (host.liveness = new Liveness(host, { heartbeatInterval: 5, peerTimeout: 0.2, heartbeatTimeout: 0.1 }));
    liveness.started();
    await Bun.sleep(250); // past the start's grace
    const real = Date.now.bind(Date);
    const clock = spyOn(Date, "now");
    try {
      host.add(peer("a", "198.51.100.2", 9002), nowSeconds());
      clock.mockImplementation(() => real() + 3_600_000); // NTP sets a clock an hour behind
      expect(liveness.reap()).toEqual([]); // heard from a moment ago, by the clock before the step
      await Bun.sleep(250);
      expect(liveness.reap().map((p) => p.name)).toEqual(["a"]);
      host.add(peer("b", "198.51.100.3", 9003), nowSeconds());
      clock.mockImplementation(() => real() - 3_600_000); // and two hours back
      expect(liveness.reap()).toEqual([]);
      await Bun.sleep(250);
      // Silent for 0.25 s, though the clock reads two hours before it was last heard from.
      expect(liveness.reap().map((p) => p.name)).toEqual(["b"]);
    } finally {
      clock.mockRestore();
      nowSeconds(); // the step back to the real clock, noticed now
    }
  });

  test("a dropped peer is still probed after its wait when the clock is stepped back (the real clock, Date.now stepped)", async () => {
    const host = new FakeLivenessHost(ME);
    const liveness = (host.liveness = new Liveness(host, { heartbeatInterval: 0.1, peerTimeout: 0.2, heartbeatTimeout: 0.1 }));
    liveness.started();
    await Bun.sleep(250); // past the start's grace
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, nowSeconds() - 1);
    expect(liveness.reap().map((p) => p.name)).toEqual(["a"]);
    const probes = () => host.network.calls.filter((c) => c.endpoint === "_synapse.heartbeat" && c.to.endsWith(":9002")).length;
    const real = Date.now.bind(Date);
    const clock = spyOn(Date, "now");
    try {
      clock.mockImplementation(() => real() - 3_600_000); // NTP sets a clock an hour ahead
      nowSeconds();
      await liveness.round();
      expect(probes()).toBe(0); // its wait (a peer timeout) is not over
      await Bun.sleep(250);
      await liveness.round();
      expect(probes()).toBe(1); // after a peer timeout, not an hour
    } finally {
      clock.mockRestore();
      nowSeconds(); // the step back to the real clock, noticed now
    }
  });

  test("a round heartbeats every peer: an answer refreshes the record and counts; silence counts as failed", async () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    const b = peer("b", "198.51.100.3", 9003);
    host.add(a, host.clock - 3);
    host.add(b, host.clock - 3);
    host.network.set(a.address, a.port, heartbeatAnswer(() => ({ ...a, name: "a2", capabilities: ["translate"] })));
    await liveness.round();
    const entry = host.table.get(a.id)!;
    expect(entry.peer.name).toBe("a2");
    expect(entry.peer.capabilities).toEqual(["translate"]);
    expect(entry.peer.last_seen).toBe(host.clock);
    expect(host.table.get(b.id)!.peer.last_seen).toBe(host.clock - 3);
    expect(host.heardOf.map((p) => p.name)).toEqual(["a2"]);
    expect(liveness.counts).toEqual({ sent: 2, answered: 1, failed: 1, adopted: 0, spared: 0 });
    // What a heartbeat carries: this node's record.
    expect(host.network.calls.find((c) => c.endpoint === "_synapse.heartbeat")!.args).toEqual([host.self()]);
  });

  test("a dropped peer is probed once its wait is over and is back when it answers (rediscovery)", async () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock - 30);
    host.clock += 25;
    liveness.reap();
    host.network.set(a.address, a.port, heartbeatAnswer(() => a));
    await liveness.round(); // not due yet: the probe waits max(interval, timeout)
    expect(host.network.callsTo(a.address, a.port, "_synapse.heartbeat")).toBe(0);
    host.clock += 20;
    await liveness.round();
    expect(host.network.callsTo(a.address, a.port, "_synapse.heartbeat")).toBe(1);
    expect(host.readmitted.map((p) => p.name)).toEqual(["a"]);
    expect(host.table.get(a.id)!.peer.last_seen).toBe(host.clock);
    host.clock += 20;
    await liveness.round(); // back in the table: a heartbeat, not a probe
    expect(host.readmitted.length).toBe(1);
  });

  test("an answer from another node at the peer's address is not taken for the peer", async () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock - 3);
    host.network.set(a.address, a.port, heartbeatAnswer(() => peer("impostor", a.address, a.port)));
    expect(await liveness.beat(host.table.get(a.id)!)).toBe(false);
    expect(host.heardOf).toEqual([]);
    expect(host.table.get(a.id)!.peer.last_seen).toBe(host.clock - 3);
    expect(liveness.counts.failed).toBe(1);
  });

  test("drop (a goodbye) forgets at once; the work is scheduled once, with the first peer", () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start(TIMING);
    expect(host.scheduler.names()).toEqual([]);
    const a = peer("a", "198.51.100.2", 9002);
    host.add(a, host.clock);
    host.add(peer("b", "198.51.100.3", 9003), host.clock);
    expect(host.scheduler.names()).toEqual(["membership.heartbeat", "membership.reap"]);
    expect(liveness.drop(a.id)?.name).toBe("a");
    expect(liveness.drop(a.id)).toBeNull();
    expect(host.droppedPeers.map((p) => p.name)).toEqual(["a"]);
  });

  test("with heartbeats and timeouts off nothing is scheduled and nobody is reaped", () => {
    const host = new FakeLivenessHost(ME);
    const liveness = host.start({ heartbeatInterval: null, peerTimeout: null, heartbeatTimeout: 1 });
    host.add(peer("a", "198.51.100.2", 9002), 0);
    host.clock += 1e6;
    expect(liveness.reap()).toEqual([]);
    expect(host.scheduler.names()).toEqual([]);
  });
});

describe("membership ports - mDNS on a fake multicast group", () => {
  function node(group: FakeMulticast, p: Peer, hostName: string): { host: FakeDiscoveryHost; mdns: MdnsDiscovery } {
    const host = new FakeDiscoveryHost(p);
    const mdns = new MdnsDiscovery(host, { hostName, querySchedule: [0, 3600] }, group.opener(p.address));
    cleanups.push(() => mdns.stop());
    return { host, mdns };
  }

  test("a goodbye (TTL 0) makes the host forget the peer at once; its next advertisement brings it back", async () => {
    const group = new FakeMulticast();
    const a = node(group, ME, "box-a");
    const b = node(group, peer("b", "198.51.100.2", 9002), "box-b");
    a.mdns.start();
    b.mdns.start(); // a hears b's announcement; b hears of a when a answers its query
    await b.mdns.refresh();
    await group.idle();
    expect(a.host.knows(b.host.me.id)).toBe(true);
    expect(b.host.knows(ME.id)).toBe(true);
    await b.mdns.stop();
    await group.idle();
    expect(a.host.forgotten).toEqual([b.host.me.id]);
    expect(a.host.knows(b.host.me.id)).toBe(false);
    // b's last datagram (a's second announcement, on a real 1 s timer, may come after it on a loaded machine).
    const goodbye = group.sent.filter((s) => s.from === b.host.me.address).at(-1)!.packet;
    expect(goodbye.answers!.every((r) => (r as { ttl?: number }).ttl === 0)).toBe(true);
    b.mdns.start();
    await group.idle();
    expect(a.host.knows(b.host.me.id)).toBe(true);
  });

  test("the advertisement: PTR, SRV, TXT (PROTOCOL.md keys plus ext) and A", async () => {
    const group = new FakeMulticast();
    const a = node(group, { ...ME, capabilities: ["python"] }, "box-a");
    a.mdns.start();
    await group.idle();
    const first = group.sent[0]!.packet;
    const instance = `me-${ME.id.slice(0, 8)}._synapse._tcp.local`;
    expect(first.answers!.map((r) => `${r.type} ${r.name}`)).toEqual([
      "PTR _synapse._tcp.local",
      `SRV ${instance}`,
      `TXT ${instance}`,
      `A me-${ME.id.slice(0, 8)}.local`,
    ]);
    const txt = first.answers!.find((r) => r.type === "TXT")!.data as Buffer[];
    expect(txt.map(String)).toEqual([`id=${ME.id}`, "name=me", "kind=node", "swarm=lab", "team=default", "host=box-a", "capabilities=python", "ext=mux,leave"]);
  });

  test("an instance seen only by its PTR is asked for its SRV and TXT, then admitted (a Python advertiser)", async () => {
    const group = new FakeMulticast();
    const a = node(group, ME, "box-a");
    const python = peer("py", "198.51.100.9", 7000);
    const instance = `py-${python.id.slice(0, 8)}._synapse._tcp.local`;
    const raw = group.opener(python.address)({ port: 5353, interface: null, onSocketError: () => {} });
    const records = [
      { name: instance, type: "SRV" as const, ttl: 120, data: { port: python.port, target: "python-host.local" } },
      { name: instance, type: "TXT" as const, ttl: 4500, data: [`id=${python.id}`, "name=py", "kind=node", "swarm=lab", "team=default", "capabilities=numpy"] },
      { name: "python-host.local", type: "A" as const, ttl: 120, data: python.address },
    ];
    raw.on("query", (query) => {
      const names = query.questions.map((q) => q.name);
      if (names.includes("_synapse._tcp.local")) raw.respond({ answers: [{ name: "_synapse._tcp.local", type: "PTR", ttl: 4500, data: instance }] }, () => {});
      else if (names.includes(instance)) raw.respond({ answers: records }, () => {});
    });
    cleanups.push(() => raw.destroy());
    a.mdns.start();
    await a.mdns.refresh();
    await group.idle();
    const asked = group.sent.filter((s) => s.from === ME.address && s.packet.questions?.some((q) => q.name === instance));
    expect(asked.length).toBeGreaterThanOrEqual(1);
    for (const s of asked) expect(s.packet.questions!.map((q) => q.type)).toEqual(["SRV", "TXT"]);
    expect(a.host.known.get(python.id)).toMatchObject({ name: "py", address: python.address, port: 7000, capabilities: ["numpy"] });
  });

  test("socket trouble: no multicast warns once and keeps going; a port it cannot use disables it; start never throws", async () => {
    const lines: string[] = [];
    enableLogging("warn", (level, _scope, message) => lines.push(`${level} ${message}`));
    cleanups.push(disableLogging);
    const group = new FakeMulticast();
    const a = node(group, ME, "box-a");
    a.mdns.start();
    const socket = [...group.members][0]!;
    socket.fail("warning", "ENODEV");
    socket.fail("warning", "ENETUNREACH");
    expect(a.mdns.active).toBe(true);
    socket.fail("error", "EADDRINUSE");
    expect(a.mdns.active).toBe(false);
    expect(socket.destroyed).toBe(true);
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain("mDNS unavailable on this host (ENODEV");

    const broken = new MdnsDiscovery(new FakeDiscoveryHost(ME), {}, () => {
      throw Object.assign(new Error("bind EACCES"), { code: "EACCES" });
    });
    expect(() => broken.start()).not.toThrow();
    expect(broken.active).toBe(false);
    await broken.refresh();
    await broken.stop();
  });
});

/** A Membership on fakes: a fake network behind `call`, a recording scheduler and event log. */
function membershipRig(discover: DiscoveryFactory) {
  const network = new FakeNetwork();
  const scheduler = new FakeScheduler();
  const events: Array<[keyof MembershipEvents, string]> = [];
  let up = true;
  const info: NodeInfo = { id: ME.id, name: ME.name, kind: ME.kind, address: ME.address, port: ME.port, swarm: ME.swarm, team: ME.team, role: null, description: null, capabilities: [] };
  const host: MembershipHost = {
    id: ME.id,
    swarm: ME.swarm,
    team: ME.team,
    scheduler,
    running: () => up,
    self: () => ({ ...ME, last_seen: now() }),
    info: () => ({ ...info }),
    call: (h, p, endpoint, args) => network.call(h, p, endpoint, args),
    emit: (event, payload) => events.push([event, payload.name]),
  };
  const membership = new Membership(host, { heartbeatInterval: 5, peerTimeout: 20 }, discover);
  membership.start();
  cleanups.push(() => {
    up = false;
    return membership.stop();
  });
  return { network, scheduler, events, membership };
}

/** A Discovery that only records what membership tells it. */
class RecordingDiscovery implements Discovery {
  readonly name = "recording";
  readonly settleTime = 0;
  host: DiscoveryHost | null = null;
  readonly lost: string[] = [];
  refreshed = 0;
  start(): void {}
  stop(): Promise<void> {
    return Promise.resolve();
  }
  refresh(): Promise<void> {
    this.refreshed++;
    return Promise.resolve();
  }
  peerLost(p: Peer): void {
    this.lost.push(p.name);
  }
}

describe("membership ports - Membership on fakes", () => {
  const seed = peer("seed", "198.51.100.10", 9000);
  const fresh = peer("fresh", "198.51.100.11", 9000);
  const stale = peer("stale", "198.51.100.12", 9000);
  const stranger = peer("stranger", "198.51.100.13", 9000, { swarm: "other" });

  function seedNetwork(network: FakeNetwork): void {
    network.set(seed.address, seed.port, (endpoint) => {
      if (endpoint === "_synapse.heartbeat") return { ok: true, self: seed };
      const t = now();
      return { accepted: true, self: { ...seed, last_seen: t }, peers: [{ ...fresh, last_seen: t - 1 }, { ...stale, last_seen: t - 100 }, { ...stranger, last_seen: t }, { ...ME, last_seen: t }] };
    });
    network.set(fresh.address, fresh.port, heartbeatAnswer(() => fresh));
  }

  test("join through a seed: the seed and the fresh peers it lists are admitted and announced to; stale, foreign and self are not", async () => {
    const captured: { host?: DiscoveryHost } = {};
    const fromOptions = discoveriesFromOptions({ seeds: [`${seed.address}:${seed.port}`] });
    const rig = membershipRig((h, timing) => {
      captured.host = h;
      return fromOptions(h, timing);
    });
    seedNetwork(rig.network);
    const peers = await rig.membership.join();
    expect(peers.map((p) => p.name)).toEqual(["seed", "fresh"]);
    expect(rig.events.filter(([e]) => e === "peer.joined").map(([, n]) => n)).toEqual(["seed", "fresh"]);
    expect(rig.network.callsTo(fresh.address, fresh.port, "_synapse.heartbeat")).toBe(1);
    expect(rig.network.callsTo(stale.address, stale.port, "_synapse.heartbeat")).toBe(0);
    expect(rig.scheduler.names()).toEqual(["membership.seeds", "membership.heartbeat", "membership.reap"]);
    expect(rig.membership.seedStatus()).toMatchObject([{ seed: "198.51.100.10:9000", peerId: seed.id, failures: 0, lastError: null, exchangeSeconds: null }]);
    // The join call's length (the rig's network answers at once); no state exchange in mesh mode.
    const { joinSeconds } = rig.membership.seedStatus()[0]!;
    expect(typeof joinSeconds === "number" && joinSeconds >= 0 && joinSeconds < 60).toBe(true);
    expect(rig.membership.stats.joinsSent).toBe(1);

    // The seed is dropped (here: a goodbye); the seeds task joins it again.
    captured.host!.forget(seed.id);
    expect(rig.events.at(-1)).toEqual(["peer.offline", "seed"]);
    await rig.scheduler.run("membership.seeds");
    expect(rig.membership.peers.has(seed.id)).toBe(true);
    expect(rig.events.at(-1)).toEqual(["peer.joined", "seed"]);
    expect(rig.membership.stats.joinsSent).toBe(2);
  });

  test("an unreachable seed is skipped with a backoff: the seeds task does not retry it at once", async () => {
    const rig = membershipRig(discoveriesFromOptions({ seeds: ["198.51.100.99:9000"] }));
    expect(await rig.membership.join()).toEqual([]);
    expect(rig.membership.seedStatus()[0]).toMatchObject({ failures: 1, lastError: "connect ECONNREFUSED 198.51.100.99:9000", joinSeconds: null, exchangeSeconds: null });
    await rig.scheduler.run("membership.seeds");
    expect(rig.membership.stats.joinsSent).toBe(1);
  });

  test("an mDNS goodbye reaches the node as peer.offline, every discovery hears of the loss, and the peer comes back", async () => {
    const group = new FakeMulticast();
    const recording = new RecordingDiscovery();
    const rig = membershipRig((h) => ({
      seeds: null,
      others: [new MdnsDiscovery(h, { hostName: "box-a", querySchedule: [0, 3600] }, group.opener(ME.address)), recording],
    }));
    const b = peer("b", "198.51.100.2", 9002);
    rig.network.set(b.address, b.port, heartbeatAnswer(() => b));
    const remote = new MdnsDiscovery(new FakeDiscoveryHost(b), { hostName: "box-b", querySchedule: [0, 3600] }, group.opener(b.address));
    cleanups.push(() => remote.stop());
    remote.start();
    expect(rig.membership.mdnsEnabled).toBe(true);
    await rig.membership.join({ wait: 0 });
    await group.idle();
    expect(recording.refreshed).toBe(1);
    expect([...rig.membership.peers.values()].map((p) => p.name)).toEqual(["b"]);
    expect(rig.network.callsTo(b.address, b.port, "_synapse.heartbeat")).toBe(1); // probed (which announces this node)

    await remote.stop();
    await group.idle();
    expect(rig.membership.peers.size).toBe(0);
    // An advertised peer is probed before it joins (bounds.ts): it joins on the probe's answer.
    expect(rig.events.map(([e, n]) => `${e} ${n}`)).toEqual(["peer.joined b", "peer.offline b"]);
    expect(recording.lost).toEqual(["b"]);

    remote.start(); // its announcement brings it back
    await group.idle();
    expect(rig.events.slice(2).map(([e, n]) => `${e} ${n}`)).toEqual(["peer.joined b"]);
    expect(rig.membership.peers.has(b.id)).toBe(true);
  });

  test("join waits for late answers as long as the slowest discovery asks, unless told otherwise", async () => {
    const slow = Object.assign(new RecordingDiscovery(), { settleTime: 3600 });
    const rig = membershipRig(() => ({ seeds: null, others: [slow] }));
    const joined = rig.membership.join({ minPeers: 1 });
    await Bun.sleep(0); // join is waiting now
    expect(slow.refreshed).toBe(1);
    // A peer found meanwhile ends the wait at once (else this test would time out).
    const b = peer("b", "198.51.100.2", 9002);
    rig.membership.called(b, "join", b.address);
    expect((await joined).map((p) => p.name)).toEqual(["b"]);
    await expect(rig.membership.join({ seeds: ["198.51.100.5"] })).rejects.toThrow("runs no seed discovery");
  });
});

describe("membership ports - endpoints", () => {
  function call(registry: EndpointRegistry, endpoint: string, args: unknown[]): ResponseMessage {
    return registry.dispatch(request(endpoint, "1", args, {}), { address: "198.51.100.50", port: 40000 }) as ResponseMessage;
  }

  test("_synapse.join, _synapse.heartbeat and _synapse.peers; refusals in the Python wording", () => {
    const rig = membershipRig(() => ({ seeds: null, others: [] }));
    const registry = new EndpointRegistry();
    registerMembershipEndpoints(registry, rig.membership);
    const b = peer("b", "0.0.0.0", 9002);

    const joined = call(registry, "_synapse.join", [b]);
    expect(joined.ok).toBe(true);
    const answer = joined.result as { accepted: boolean; self: Peer; peers: Peer[] };
    expect(answer.accepted).toBe(true);
    expect(answer.self.id).toBe(ME.id);
    // A wildcard address is replaced by the caller's.
    expect(answer.peers.map((p) => [p.name, p.address])).toEqual([["b", "198.51.100.50"]]);

    const beat = call(registry, "_synapse.heartbeat", [b]);
    expect(beat.result).toMatchObject({ ok: true, self: { id: ME.id, role: null } });
    expect(rig.events.map(([e, n]) => `${e} ${n}`)).toEqual(["peer.joined b", "peer.heartbeat b"]);
    expect(rig.membership.stats).toMatchObject({ joinsReceived: 1, heartbeatsReceived: 1 });
    expect((call(registry, "_synapse.peers", []).result as Peer[]).map((p) => p.name)).toEqual(["b"]);

    const refusals: Array<[string, unknown[], string]> = [
      ["_synapse.join", [{ ...b, swarm: "other" }], "peer requested a different swarm"],
      ["_synapse.heartbeat", [{ ...b, team: "red" }], "peer requested a different team"],
      ["_synapse.join", [{ id: b.id, address: b.address }], "invalid peer record: missing 'port'"],
      ["_synapse.join", [], "_synapse.join() missing required argument: 'peer'"],
      ["_synapse.heartbeat", [b, b], "_synapse.heartbeat() takes 1 positional argument but 2 were given"],
    ];
    for (const [endpoint, args, message] of refusals) {
      expect(call(registry, endpoint, args).error).toEqual({ code: "bad_request", message });
    }
    expect(registry.list().every((e) => !e.publish)).toBe(true);
  });
});
