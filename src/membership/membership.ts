/**
 * Swarm membership: the `_synapse.join`, `_synapse.peers` and `_synapse.heartbeat` endpoints,
 * joining through seeds with peer exchange, liveness (see `heartbeat.ts`) and mDNS discovery
 * (see `mdns.ts`), around one {@link PeerTable}.
 *
 * @module
 */
import { Client } from "../rpc/client.ts";
import type { Pool } from "../transport/pool.ts";
import type { CallContext, EndpointRegistry } from "../rpc/endpoints.ts";
import { ConfigError, ConnectionError, EndpointError, RemoteError } from "../errors.ts";
import { createLogger } from "../log.ts";
import type { Scheduler } from "../schedule/scheduler.ts";
import { every } from "../schedule/every.ts";
import type { NodeInfo, NodeKind, Peer } from "../types.ts";
import { checkMembership, membershipRefusal, parsePeer } from "./peer-record.ts";
import { nowSeconds } from "../util/time.ts";
import { PeerTable, type PeerEntry, type PeerSource } from "./peer-table.ts";
import { parseSeed, parseSeeds, type Seed, type SeedLike } from "./seeds.ts";
import { Liveness } from "./heartbeat.ts";
import { MdnsDiscovery, type MdnsOptions } from "./mdns.ts";

const log = createLogger("membership");

/** Membership events, emitted on the node's emitter. Each payload is a copy of the peer's record. */
export interface MembershipEvents {
  /** A peer became known (first contact, or back after `peer.offline`). */
  "peer.joined": Peer;
  /** A heartbeat was exchanged with a known peer (it called us, or it answered ours). */
  "peer.heartbeat": Peer;
  /** A peer was not heard from for `peerTimeout` seconds (or said goodbye over mDNS) and was dropped. */
  "peer.offline": Peer;
}

/** What membership needs from its node. */
export interface MembershipHost {
  readonly id: string;
  readonly name: string;
  readonly kind: NodeKind;
  readonly swarm: string | null;
  readonly team: string | null;
  /** Advertised address. */
  readonly address: string;
  /** Bound port (valid once running). */
  readonly port: number;
  readonly running: boolean;
  readonly endpoints: EndpointRegistry;
  readonly scheduler: Scheduler;
  /** The node's own connection pool: closed when the node stops. */
  readonly pool: Pool;
  toPeer(): Peer;
  info(): NodeInfo;
  capabilityNames(): string[];
}

/** Options of membership (the node passes its own; times in seconds). */
export interface MembershipOptions {
  /** First contacts: `"host:port"`, `"host"` (port 9999) or `["host", port]`. */
  seeds?: readonly SeedLike[];
  /** Seconds between heartbeat rounds (default 5); `null` turns heartbeats off. */
  heartbeatInterval?: number | null;
  /** A peer not heard from for this many seconds is dropped (default 20); `null` never drops. */
  peerTimeout?: number | null;
  /** Seconds to wait for one heartbeat answer (default: half the peer timeout, at most 5). */
  heartbeatTimeout?: number;
  /** Seconds to wait for a seed's join answer (default 5). */
  joinTimeout?: number;
  /** `true` (or options) to advertise and browse `_synapse._tcp.local.` over mDNS. */
  mdns?: boolean | MdnsOptions;
  /** Network interface (name such as `"eth0"`, or its IPv4 address) for mDNS. */
  interface?: string;
}

/** Options of {@link Membership.join}. */
export interface JoinOptions {
  /**
   * Seconds to wait for discovery after the seeds answered, until `minPeers` peers are known
   * (default: 2 with mDNS, else 0).
   */
  wait?: number;
  /** Stop waiting once this many peers are known (default 1). */
  minPeers?: number;
  /** More seeds to join now (they are kept for later rejoins). */
  seeds?: readonly SeedLike[];
}

/** State of one seed, for diagnostics. */
export interface SeedStatus {
  seed: string;
  /** The seed's node id once it answered. */
  peerId: string | null;
  /** Unix seconds of the last successful join, or null. */
  joinedAt: number | null;
  /** Consecutive failures. */
  failures: number;
  /** The last failure's message. */
  lastError: string | null;
}

/** Counters, for tests and benchmarks. */
export interface MembershipStats {
  heartbeatsSent: number;
  heartbeatsAnswered: number;
  heartbeatsFailed: number;
  heartbeatsReceived: number;
  joinsReceived: number;
  joinsSent: number;
}

interface SeedState {
  seed: Seed;
  peerId: string | null;
  self: boolean;
  /** The seed is of our swarm and team (it went into the peer table). */
  member: boolean;
  joinedAt: number | null;
  failures: number;
  lastError: string | null;
  nextAttempt: number;
  inFlight: Promise<boolean> | null;
}

function positiveOrNull(value: number | null | undefined, fallback: number | null, what: string): number | null {
  if (value === undefined) return fallback;
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) throw new ConfigError(`${what} must be a positive number of seconds or null, got ${String(value)}`);
  return value;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A node's view of its swarm. Created by the node; use it through `node.peers`, `node.join()`
 * and the `peer.*` events.
 */
export class Membership {
  /** Known peers. */
  readonly table = new PeerTable();
  /** Seconds between heartbeat rounds, or null when off. */
  readonly heartbeatInterval: number | null;
  /** Seconds of silence after which a peer is dropped, or null. */
  readonly peerTimeout: number | null;
  /** Seconds to wait for one heartbeat answer. */
  readonly heartbeatTimeout: number;
  /** Seconds to wait for a seed's join answer. */
  readonly joinTimeout: number;
  /** Counters. */
  readonly stats: MembershipStats = {
    heartbeatsSent: 0,
    heartbeatsAnswered: 0,
    heartbeatsFailed: 0,
    heartbeatsReceived: 0,
    joinsReceived: 0,
    joinsSent: 0,
  };

  private readonly seeds: SeedState[] = [];
  private readonly liveness: Liveness;
  private readonly mdns: MdnsDiscovery | null;
  private readonly listeners = new Set<() => void>();
  private seedTask = false;
  private livenessTasks = false;
  private constructed = false;

  constructor(
    readonly host: MembershipHost,
    options: MembershipOptions,
    private readonly emitEvent: <K extends keyof MembershipEvents>(event: K, payload: MembershipEvents[K]) => void,
  ) {
    this.heartbeatInterval = positiveOrNull(options.heartbeatInterval, 5, "heartbeatInterval");
    this.peerTimeout = positiveOrNull(options.peerTimeout, 20, "peerTimeout");
    const hbTimeout = options.heartbeatTimeout ?? Math.max(0.1, Math.min(5, (this.peerTimeout ?? 10) / 2));
    if (!(hbTimeout > 0)) throw new ConfigError(`heartbeatTimeout must be positive, got ${hbTimeout}`);
    this.heartbeatTimeout = hbTimeout;
    this.joinTimeout = options.joinTimeout ?? 5;
    if (!(this.joinTimeout > 0)) throw new ConfigError(`joinTimeout must be positive, got ${this.joinTimeout}`);
    if (this.heartbeatInterval !== null && this.peerTimeout !== null && this.peerTimeout <= this.heartbeatInterval) {
      log.warn(`peerTimeout (${this.peerTimeout} s) is not longer than heartbeatInterval (${this.heartbeatInterval} s): peers will flap offline`);
    }
    for (const seed of parseSeeds(options.seeds)) this.addSeed(seed);
    this.liveness = new Liveness(this);
    const mdnsOptions = options.mdns === true ? {} : options.mdns || null;
    this.mdns = mdnsOptions ? new MdnsDiscovery(this, { interface: options.interface, ...mdnsOptions }) : null;
    this.registerEndpoints(host.endpoints);
    if (this.seeds.length > 0) this.ensureSeedTask();
    this.constructed = true;
  }

  // ---------------------------------------------------------------- public view

  /** Known peers by id (a snapshot; never includes the node itself). */
  get peers(): Map<string, Peer> {
    return new Map(this.table.records().map((p) => [p.id, p]));
  }

  /** Known peers as a list, in the order they became known. */
  list(): Peer[] {
    return this.table.records();
  }

  /** True when mDNS discovery is enabled. */
  get mdnsEnabled(): boolean {
    return this.mdns !== null;
  }

  /** The configured seeds and how joining them went. */
  seedStatus(): SeedStatus[] {
    return this.seeds.map((s) => ({
      seed: `${s.seed.host}:${s.seed.port}`,
      peerId: s.peerId,
      joinedAt: s.joinedAt,
      failures: s.failures,
      lastError: s.lastError,
    }));
  }

  /**
   * Join every seed now (concurrently; an unreachable seed is logged and skipped), add the peers
   * they return, announce this node to those peers, then wait up to `wait` seconds for discovery.
   * Starts nothing: the node must be running.
   *
   * @returns the known peers afterwards.
   */
  async join(options: JoinOptions = {}): Promise<Peer[]> {
    for (const s of options.seeds ?? []) this.addSeed(parseSeed(s));
    await Promise.all(this.seeds.filter((s) => !s.self).map((s) => this.attemptSeed(s)));
    const wait = options.wait ?? (this.mdns ? 2 : 0);
    const minPeers = options.minPeers ?? 1;
    if (wait > 0 && this.table.size < minPeers) await this.waitForPeers(minPeers, wait);
    return this.list();
  }

  /** Run one heartbeat round now (also done every `heartbeatInterval`). */
  heartbeat(): Promise<void> {
    return this.liveness.round();
  }

  /** Drop the peers not heard from for `peerTimeout` (also done on a schedule). */
  reap(): Peer[] {
    return this.liveness.reap();
  }

  /** Start discovery (mDNS). Called by the node once it listens. */
  start(): void {
    this.liveness.started();
    this.mdns?.start();
  }

  /** Stop discovery (mDNS says goodbye). Known peers are kept. */
  async stop(): Promise<void> {
    for (const wake of [...this.listeners]) wake();
    await this.mdns?.stop();
  }

  // ---------------------------------------------------------------- shared with the parts

  /** @internal Emit a membership event with a copy of the record. */
  emit<K extends keyof MembershipEvents>(event: K, peer: Peer): void {
    this.emitEvent(event, { ...peer, capabilities: [...peer.capabilities] } as MembershipEvents[K]);
    if (event === "peer.joined") for (const wake of [...this.listeners]) wake();
    if (event === "peer.offline") this.mdns?.lostPeer();
  }

  /**
   * @internal Add `peer` (learned from `source`) unless it is this node or of another swarm/team.
   * Emits `peer.joined` for a new peer. Returns the entry, or null when refused.
   */
  admit(
    peer: Peer,
    source: PeerSource,
    options: { remoteAddress?: string; sameHost?: boolean; extensions?: string[]; announce?: boolean } = {},
  ): PeerEntry | null {
    if (peer.id === this.host.id) return null;
    const refusal = membershipRefusal(this.host, peer);
    if (refusal) {
      log.debug(`ignoring ${peer.name || peer.id.slice(0, 8)} from ${source}: ${refusal}`);
      return null;
    }
    const { entry, result } = this.table.upsert(peer, source, options);
    if (result === "added") {
      this.ensureLivenessTasks();
      this.liveness.found(peer.id);
      log.debug(`peer ${entry.peer.name} (${peer.id.slice(0, 8)}) at ${entry.peer.address}:${entry.peer.port} joined via ${source}`);
      this.emit("peer.joined", entry.peer);
      if (options.announce) void this.liveness.beat(entry);
    }
    return entry;
  }

  /** @internal Forget a peer at once (an mDNS goodbye); `peer.offline` fires when it was known. */
  forget(id: string): Peer | null {
    return this.liveness.drop(id);
  }

  /**
   * @internal Call `endpoint` on a peer: at its dial host, then (when that address refuses the
   * connection) at its advertised address, which is then kept.
   */
  async callPeer<T>(entry: Pick<PeerEntry, "dialHost" | "fallbackHost" | "peer">, endpoint: string, args: unknown[], timeout: number): Promise<T> {
    try {
      return await new Client(entry.dialHost, entry.peer.port, { timeout, pool: this.host.pool }).call<T>(endpoint, ...args);
    } catch (error) {
      const fallback = entry.fallbackHost;
      if (!(error instanceof ConnectionError) || error.sent || !fallback) throw error;
      const result = await new Client(fallback, entry.peer.port, { timeout, pool: this.host.pool }).call<T>(endpoint, ...args);
      entry.dialHost = fallback;
      entry.fallbackHost = null;
      return result;
    }
  }

  // ---------------------------------------------------------------- endpoints

  private registerEndpoints(registry: EndpointRegistry): void {
    registry.builtin("_synapse.join", "Join the swarm; answers this node and its peers", ["peer"], (args, ctx) => {
      const peer = this.peerArgument("_synapse.join", args);
      this.stats.joinsReceived++;
      this.receive(peer, "join", ctx);
      return { accepted: true, self: this.host.toPeer(), peers: this.table.records() };
    });
    registry.builtin("_synapse.peers", "Known peers", [], () => this.table.records());
    registry.builtin("_synapse.heartbeat", "Liveness: record the caller, answer this node's info", ["peer"], (args, ctx) => {
      const peer = this.peerArgument("_synapse.heartbeat", args);
      this.stats.heartbeatsReceived++;
      const entry = this.receive(peer, "heartbeat", ctx);
      if (entry) this.emit("peer.heartbeat", entry.peer);
      return { ok: true, self: this.host.info() };
    });
  }

  /** The validated peer argument of a membership endpoint. */
  private peerArgument(endpoint: string, given: unknown[]): Peer {
    if (given.length === 0) throw new EndpointError("bad_request", `${endpoint}() missing required argument: 'peer'`);
    if (given.length > 1) throw new EndpointError("bad_request", `${endpoint}() takes 1 argument (peer) but ${given.length} were given`);
    const peer = parsePeer(given[0], nowSeconds());
    checkMembership(this.host, peer);
    return peer;
  }

  /** A peer called us: it is alive now. */
  private receive(peer: Peer, source: PeerSource, ctx: CallContext): PeerEntry | null {
    const record = { ...peer, last_seen: nowSeconds() };
    return this.admit(record, source, { remoteAddress: ctx.remote.address });
  }

  // ---------------------------------------------------------------- seeds

  private addSeed(seed: Seed): void {
    if (this.seeds.some((s) => s.seed.host === seed.host && s.seed.port === seed.port)) return;
    this.seeds.push({ seed, peerId: null, self: false, member: false, joinedAt: null, failures: 0, lastError: null, nextAttempt: 0, inFlight: null });
    if (this.constructed) this.ensureSeedTask();
  }

  /**
   * Put the liveness work on the node's scheduler: heartbeat rounds and reaping. Done when the
   * first peer becomes known (a node alone has no liveness work, and its timetable stays its own).
   */
  private ensureLivenessTasks(): void {
    if (this.livenessTasks) return;
    this.livenessTasks = true;
    const scheduler = this.host.scheduler;
    if (this.heartbeatInterval !== null) {
      // A random pause before each round (up to a quarter interval, at most 1 s) keeps nodes that
      // started together from heartbeating in lockstep bursts.
      const jitterMs = Math.min(1000, (this.heartbeatInterval * 1000) / 4);
      scheduler.add(
        every({ seconds: this.heartbeatInterval }),
        async () => {
          // The pause neither keeps the process alive nor outlives the node: a round that would
          // start after stop() does not start.
          await new Promise<void>((resolve) => setTimeout(resolve, Math.random() * jitterMs).unref?.());
          if (!this.host.running) return;
          await this.liveness.round();
        },
        { name: "membership.heartbeat" },
      );
    }
    if (this.peerTimeout !== null) {
      const step = Math.max(0.05, Math.min(2, this.peerTimeout / 4));
      scheduler.add(every({ seconds: step }), () => void this.liveness.reap(), { name: "membership.reap" });
    }
  }

  /** Joins the seeds at start, and again whenever a seed has been lost (with a backoff). */
  private ensureSeedTask(): void {
    if (this.seedTask) return;
    this.seedTask = true;
    this.host.scheduler.add(every({ seconds: this.heartbeatInterval ?? 5 }), () => this.rejoinSeeds(), {
      name: "membership.seeds",
      skipIfRunning: true,
    });
  }

  /**
   * Join the seeds that are due: never joined; joined as a peer that has since been dropped; or
   * (a seed outside our swarm, such as a swarm-less bootstrap node) not asked for peers for a
   * while. Failed seeds wait out their backoff.
   */
  private async rejoinSeeds(): Promise<void> {
    const now = nowSeconds();
    const refresh = this.peerTimeout ?? 60;
    const due = this.seeds.filter((s) => {
      if (s.self || s.inFlight || now < s.nextAttempt) return false;
      if (s.joinedAt === null || s.peerId === null) return true;
      if (s.member) return !this.table.has(s.peerId);
      return now - s.joinedAt >= refresh;
    });
    await Promise.all(due.map((s) => this.attemptSeed(s)));
  }

  /** One join of one seed (shared with a concurrent attempt); true on success. */
  private attemptSeed(s: SeedState): Promise<boolean> {
    s.inFlight ??= this.joinSeed(s).finally(() => {
      s.inFlight = null;
    });
    return s.inFlight;
  }

  private async joinSeed(s: SeedState): Promise<boolean> {
    const label = `${s.seed.host}:${s.seed.port}`;
    if (!this.host.running) return false;
    this.stats.joinsSent++;
    let result: unknown;
    try {
      const target = { dialHost: s.seed.host, fallbackHost: null, peer: { port: s.seed.port } as Peer };
      result = await this.callPeer(target, "_synapse.join", [this.host.toPeer()], this.joinTimeout);
    } catch (error) {
      s.failures++;
      s.lastError = message(error);
      const backoff = Math.min(60, (this.heartbeatInterval ?? 5) * 2 ** Math.min(s.failures - 1, 6));
      s.nextAttempt = nowSeconds() + backoff;
      const why = error instanceof RemoteError ? `refused: ${error.message}` : `unreachable: ${message(error)}`;
      if (s.failures === 1) log.warn(`seed ${label} ${why}; skipping it (retry in ${backoff} s)`);
      else log.debug(`seed ${label} ${why} (${s.failures} failures)`);
      return false;
    }
    const answer = (result ?? {}) as Record<string, unknown>;
    let self: Peer;
    try {
      self = parsePeer(answer.self, nowSeconds());
    } catch (error) {
      s.failures++;
      s.lastError = `invalid join answer: ${message(error)}`;
      s.nextAttempt = nowSeconds() + (this.heartbeatInterval ?? 5);
      log.warn(`seed ${label} sent an invalid join answer: ${message(error)}`);
      return false;
    }
    s.failures = 0;
    s.lastError = null;
    s.joinedAt = nowSeconds();
    s.peerId = self.id;
    if (self.id === this.host.id) {
      s.self = true;
      log.debug(`seed ${label} is this node; ignoring it`);
      return true;
    }
    const seedNow = typeof self.last_seen === "number" ? self.last_seen : nowSeconds();
    s.member = this.admit({ ...self, last_seen: nowSeconds() }, "seed", { remoteAddress: s.seed.host }) !== null;
    const peers = Array.isArray(answer.peers) ? answer.peers : [];
    this.exchange(peers, seedNow, label);
    log.debug(`joined seed ${label}: ${this.table.size} peer(s) known`);
    return true;
  }

  /**
   * Add the peers a peer listed (peer exchange). Their `last_seen` is the lister's view, so a peer
   * it has not heard from for `peerTimeout` is skipped; clocks are compared through the lister's
   * own timestamp. New peers are announced to (one heartbeat each) so they learn of this node.
   */
  private exchange(records: unknown[], listerNow: number, from: string): void {
    const now = nowSeconds();
    for (const raw of records) {
      let peer: Peer;
      try {
        peer = parsePeer(raw, listerNow);
      } catch (error) {
        log.debug(`skipping a malformed peer record from ${from}: ${message(error)}`);
        continue;
      }
      if (peer.id === this.host.id || this.table.has(peer.id)) continue;
      const age = Math.max(0, listerNow - peer.last_seen);
      if (this.peerTimeout !== null && age >= this.peerTimeout) continue;
      this.admit({ ...peer, last_seen: now - age }, "exchange", { announce: true });
    }
  }

  /** Resolve once `minPeers` peers are known, or after `seconds`. */
  private waitForPeers(minPeers: number, seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      const check = () => {
        if (this.table.size >= minPeers || !this.host.running) done();
      };
      const timer = setTimeout(done, seconds * 1000);
      this.listeners.add(check);
      this.mdns?.query();
    });
  }
}
