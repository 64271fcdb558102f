/**
 * Fakes of the membership ports, for tests without sockets and without root: a scheduler that only
 * records its tasks, a discovery host over a map, a liveness host over a real PeerTable with a
 * hand-driven clock, and an in-memory multicast network for mDNS discovery (packets go through
 * dns-packet's encoder and decoder, as `multicast-dns` sends them).
 */
import dnsPacket from "dns-packet";
import { localAddresses } from "../../src/address.ts";
import { isLoopback } from "../../src/util/guards.ts";
import type makeMdns from "multicast-dns";
import type { AdmitOptions, DiscoveryHost, IntroduceResult, TaskScheduler } from "../../src/membership/discovery.ts";
import type { GossipHost } from "../../src/membership/gossip.ts";
import { Liveness, type HeartbeatTarget, type LivenessHost, type LivenessTiming } from "../../src/membership/liveness.ts";
import type { MdnsOpener, MdnsSocket, PacketSource } from "../../src/membership/mdns-socket.ts";
import { PeerTable, SWIM_OWNED, swimBit, type PeerEntry, type PeerSource } from "../../src/membership/peer-table.ts";
import { membershipRefusal } from "../../src/membership/scope.ts";
import type { TaskFunction } from "../../src/schedule/scheduler.ts";
import type { MemberStore } from "../../src/membership/swim-types.ts";
import type { Peer } from "../../src/types.ts";

/** A Peer record with test defaults (swarm "lab", team "default"). */
export function peer(name: string, address: string, port: number, extra: Partial<Peer> = {}): Peer {
  const id = Buffer.from(name).toString("hex").padEnd(64, "0");
  return { id, address, port, swarm: "lab", team: "default", name, kind: "node", capabilities: [], last_seen: 0, ...extra };
}

/**
 * A gossip bridge's host without a network: this node is `selfId`, its table a map, every peer's
 * hello answered `features`; each call is recorded (`calls`) and fails.
 */
export function fakeGossipHost(selfId: string, features: Readonly<Record<string, unknown>> | null = null): { host: GossipHost; table: Map<string, PeerEntry>; calls: Array<{ endpoint: string; args: unknown[] }> } {
  const peerOf = (id: string, port: number): Peer => ({ id, address: "127.0.0.1", port, swarm: "lab", team: "default", name: id.slice(0, 4), kind: "node", capabilities: [], last_seen: 0 });
  const table = new Map<string, PeerEntry>();
  const calls: Array<{ endpoint: string; args: unknown[] }> = [];
  const host: GossipHost = {
    self: () => peerOf(selfId, 1),
    table: { get: (id) => table.get(id), touch: () => true, refresh: (id, fields) => table.has(id) && Object.assign(table.get(id)!.peer, fields) !== null, list: () => [...table.values()], own: (entry, owned) => swimBit(entry, SWIM_OWNED, owned) },
    features: () => features,
    call: (_target, endpoint, args) => {
      calls.push({ endpoint, args });
      return Promise.reject(new Error("no network here"));
    },
    admit: (peer) => {
      const entry: PeerEntry = { id: peer.id, address: peer.address, port: peer.port, peer, dialHost: "127.0.0.1", fallbackHost: null, source: "gossip", extensions: [], swim: 0 };
      table.set(peer.id, entry);
      return entry;
    },
    drop: (id) => void table.delete(id),
    heard: () => {},
    emit: () => {},
  };
  return { host, table, calls };
}

/** Records tasks instead of running them; a test runs them by name. */
export class FakeScheduler implements TaskScheduler {
  readonly tasks: Array<{ name: string; fn: TaskFunction }> = [];

  add(_schedule: unknown, fn: TaskFunction, options: { name?: string } = {}): void {
    this.tasks.push({ name: options.name ?? "task", fn });
  }

  names(): string[] {
    return this.tasks.map((t) => t.name);
  }

  /** Run every task called `name` once. */
  async run(name: string): Promise<void> {
    for (const t of this.tasks) if (t.name === name) await t.fn();
  }
}

/** What a fake remote node answers: by endpoint, given the arguments. */
export type Answerer = (endpoint: string, args: unknown[]) => unknown;

/** Remote nodes reachable at "host:port"; anything else is unreachable. */
export class FakeNetwork {
  readonly nodes = new Map<string, Answerer>();
  readonly calls: Array<{ to: string; endpoint: string; args: unknown[] }> = [];

  set(host: string, port: number, answer: Answerer): void {
    this.nodes.set(`${host}:${port}`, answer);
  }

  delete(host: string, port: number): void {
    this.nodes.delete(`${host}:${port}`);
  }

  async call(host: string, port: number, endpoint: string, args: unknown[]): Promise<unknown> {
    const to = `${host}:${port}`;
    this.calls.push({ to, endpoint, args });
    // Loopback reaches the nodes at one of this machine's own addresses (membership dials a peer
    // whose address is local on loopback).
    const local = isLoopback(host) ? [...this.nodes].find(([at]) => at.endsWith(`:${port}`) && localAddresses().has(at.slice(0, at.lastIndexOf(":")))) : undefined;
    const answer = this.nodes.get(to) ?? local?.[1];
    if (!answer) throw new Error(`connect ECONNREFUSED ${to}`);
    return answer(endpoint, args);
  }

  /** The calls of `endpoint` made to the node at `host:port` (directly or over loopback when it is local). */
  callsTo(host: string, port: number, endpoint: string): number {
    const targets = new Set([`${host}:${port}`]);
    if (localAddresses().has(host)) targets.add(`127.0.0.1:${port}`);
    return this.calls.filter((c) => targets.has(c.to) && c.endpoint === endpoint).length;
  }
}

/**
 * A discovery host over a map of known peers. It refuses what membership refuses (this node, another
 * swarm/team) and records every admission and goodbye.
 */
export class FakeDiscoveryHost implements DiscoveryHost {
  readonly admitted: Array<{ peer: Peer; source: PeerSource; options: AdmitOptions }> = [];
  readonly forgotten: string[] = [];
  readonly known = new Map<string, Peer>();
  readonly scheduler = new FakeScheduler();
  readonly network = new FakeNetwork();
  up = true;

  constructor(readonly me: Peer) {}

  self(): Peer {
    return { ...this.me, capabilities: [...this.me.capabilities], last_seen: Date.now() / 1000 };
  }

  running(): boolean {
    return this.up;
  }

  knows(id: string): boolean {
    return this.known.has(id);
  }

  peerCount(): number {
    return this.known.size;
  }

  admit(p: Peer, source: PeerSource, options: AdmitOptions = {}): boolean {
    this.admitted.push({ peer: p, source, options });
    if (p.id === this.me.id || membershipRefusal(this.me, p)) return false;
    this.known.set(p.id, p);
    return true;
  }

  /** Second-hand peers are admitted as membership admits them once they answer a probe (recorded as `via`, `exchange` by default). */
  async introduce(p: Peer, _source: string, via: PeerSource = "exchange", options: AdmitOptions = {}): Promise<IntroduceResult> {
    return this.admit(p, via, { ...options, announce: true }) ? "verified" : "failed";
  }

  forget(id: string): void {
    this.forgotten.push(id);
    this.known.delete(id);
  }

  call(host: string, port: number, endpoint: string, args: unknown[]): Promise<unknown> {
    return this.network.call(host, port, endpoint, args);
  }

  /** How often `id` was offered. */
  offered(id: string): number {
    return this.admitted.filter((a) => a.peer.id === id).length;
  }
}

/** A liveness host over a real PeerTable, a fake network and a clock the test moves. */
export class FakeLivenessHost implements LivenessHost {
  readonly table = new PeerTable();
  readonly scheduler = new FakeScheduler();
  readonly network = new FakeNetwork();
  readonly heardOf: Peer[] = [];
  readonly droppedPeers: Peer[] = [];
  readonly readmitted: Peer[] = [];
  clock = 1_000_000;
  up = true;
  liveness!: Liveness;
  /** This process's event-loop stalls on {@link clock}: when each ended, and how long it lasted. */
  readonly stalls: Array<{ end: number; seconds: number }> = [];

  constructor(readonly me: Peer) {}

  /** The event loop was blocked for `seconds`, ending now (the clock moves on by as much). */
  stall(seconds: number): void {
    this.clock += seconds;
    this.stalls.push({ end: this.clock, seconds });
  }

  stalledWithin(seconds: number): number {
    const from = this.clock - seconds;
    let sum = 0;
    for (const s of this.stalls) if (s.end > from) sum += Math.min(s.seconds, s.end - from);
    return Math.min(sum, seconds);
  }

  /** The Liveness under test, on this host and its clock. */
  start(timing: Omit<LivenessTiming, "now">): Liveness {
    this.liveness = new Liveness(this, { ...timing, now: () => this.clock });
    this.liveness.started();
    return this.liveness;
  }

  /** Put a peer in the table as membership would, heard from at `lastSeen`. */
  add(p: Peer, lastSeen: number): PeerEntry {
    const { entry } = this.table.upsert({ ...p, last_seen: lastSeen }, "join");
    this.liveness.found(p.id);
    return entry;
  }

  self(): Peer {
    return { ...this.me, last_seen: this.clock };
  }

  running(): boolean {
    return this.up;
  }

  call(target: HeartbeatTarget, endpoint: string, args: unknown[]): Promise<unknown> {
    return this.network.call(target.dialHost, target.peer.port, endpoint, args);
  }

  admit(p: Peer, source: PeerSource, options: AdmitOptions = {}): PeerEntry | null {
    const { entry, result } = this.table.upsert(p, source, options);
    if (result === "added") {
      this.readmitted.push(p);
      this.liveness.found(p.id);
    }
    return entry;
  }

  heard(p: Peer): void {
    this.heardOf.push(p);
  }

  dropped(p: Peer): void {
    this.droppedPeers.push(p);
  }
}

/** A heartbeat answerer: `{ok, self: info}` of `p` (or of whatever `self` returns). */
export function heartbeatAnswer(self: () => Partial<Peer>): Answerer {
  return (endpoint) => {
    if (endpoint !== "_synapse.heartbeat") throw new Error(`unexpected ${endpoint}`);
    return { ok: true, self: self() };
  };
}

type Handlers = {
  query: Array<(packet: makeMdns.QueryPacket, rinfo: PacketSource) => void>;
  response: Array<(packet: makeMdns.ResponsePacket, rinfo: PacketSource) => void>;
  error: Array<(error: Error) => void>;
  warning: Array<(error: Error) => void>;
};

/** One member of the fake multicast group. */
export class FakeMdnsSocket implements MdnsSocket {
  readonly handlers: Handlers = { query: [], response: [], error: [], warning: [] };
  destroyed = false;

  constructor(
    private readonly group: FakeMulticast,
    readonly address: string,
  ) {}

  on(event: "query", listener: (packet: makeMdns.QueryPacket, rinfo: PacketSource) => void): this;
  on(event: "response", listener: (packet: makeMdns.ResponsePacket, rinfo: PacketSource) => void): this;
  on(event: "error" | "warning", listener: (error: Error) => void): this;
  on(event: keyof Handlers, listener: (...args: never[]) => void): this {
    (this.handlers[event] as unknown[]).push(listener);
    return this;
  }

  query(packet: makeMdns.QueryOutgoingPacket, callback: (error: Error | null) => void): void {
    this.send("query", packet, callback);
  }

  respond(packet: makeMdns.ResponseOutgoingPacket, callback: (error: Error | null) => void): void {
    this.send("response", packet, callback);
  }

  destroy(callback?: () => void): void {
    this.destroyed = true;
    this.group.leave(this);
    if (callback) setImmediate(callback);
  }

  /** Emit an error or warning as the real socket would. */
  fail(event: "error" | "warning", code: string): void {
    const error = Object.assign(new Error(code), { code });
    for (const h of this.handlers[event]) h(error);
  }

  private send(type: "query" | "response", packet: dnsPacket.Packet, callback: (error: Error | null) => void): void {
    if (this.destroyed) {
      setImmediate(() => callback(new Error("socket destroyed")));
      return;
    }
    this.group.send(this, dnsPacket.encode({ ...packet, type }));
    setImmediate(() => callback(null));
  }

  /** A datagram arrived. */
  receive(bytes: Buffer, from: string): void {
    if (this.destroyed) return;
    const packet = dnsPacket.decode(bytes) as makeMdns.QueryPacket | makeMdns.ResponsePacket;
    if (packet.type === "query") for (const h of this.handlers.query) h(packet as makeMdns.QueryPacket, { address: from });
    else for (const h of this.handlers.response) h(packet as makeMdns.ResponsePacket, { address: from });
  }
}

/** An in-memory multicast group: every datagram reaches every member (the sender too, like loopback). */
export class FakeMulticast {
  readonly members = new Set<FakeMdnsSocket>();
  /** Every datagram sent, decoded. */
  readonly sent: Array<{ from: string; packet: dnsPacket.DecodedPacket }> = [];
  private pending = 0;

  /** An opener that joins this group with source address `address`. */
  opener(address: string): MdnsOpener {
    return () => {
      const socket = new FakeMdnsSocket(this, address);
      this.members.add(socket);
      return socket;
    };
  }

  send(from: FakeMdnsSocket, bytes: Buffer): void {
    this.sent.push({ from: from.address, packet: dnsPacket.decode(bytes) });
    for (const member of this.members) {
      this.pending++;
      setImmediate(() => {
        this.pending--;
        member.receive(bytes, from.address);
      });
    }
  }

  leave(socket: FakeMdnsSocket): void {
    this.members.delete(socket);
  }

  /** Resolve once no datagram is in flight (answers to answers included). */
  async idle(): Promise<void> {
    do await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending > 0);
  }
}

/** A `Map` as the member store, counting the members its walks visit (`values`, `keys`, `forEach`) and its lookups (`gets`). */
export class CountingStore<M> implements MemberStore<M> {
  readonly #map = new Map<string, M>();
  visits = 0;
  gets = 0;
  get size(): number {
    return this.#map.size;
  }
  get(id: string): M | undefined {
    this.gets++;
    return this.#map.get(id);
  }
  has(id: string): boolean {
    return this.#map.has(id);
  }
  set(id: string, m: M): this {
    this.#map.set(id, m);
    return this;
  }
  delete(id: string): boolean {
    return this.#map.delete(id);
  }
  *values(): IterableIterator<M> {
    for (const m of this.#map.values()) {
      this.visits++;
      yield m;
    }
  }
  *keys(): IterableIterator<string> {
    for (const id of this.#map.keys()) {
      this.visits++;
      yield id;
    }
  }
  forEach(each: (m: M) => void): void {
    for (const m of this.#map.values()) {
      this.visits++;
      each(m);
    }
  }
}
