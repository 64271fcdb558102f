/**
 * Swarm membership: one {@link PeerTable}, the peers' liveness (see `liveness.ts`) and the
 * discoveries that find them (seeds, mDNS: see `discovery.ts`). Each part works through a narrow
 * port that membership builds from its own table and events; the endpoints that other nodes call
 * are registered by `endpoints.ts`. Among Bun peers, gossip membership (`gossip.ts`, a SWIM core)
 * decides liveness instead of heartbeats.
 *
 * Longer than 400 lines: it is where the parts meet, one small port per part (liveness, admission,
 * discovery, gossip); the logic stays in the parts.
 *
 * @module
 */
import { ConfigError, ConnectionError, EndpointError, ErrorCode } from "../errors.ts";
import { createLogger, logEnabled } from "../log.ts";
import { warnOwnTrouble } from "../transport/connect-failure.ts";
import type { NodeInfo, Peer } from "../types.ts";
import { nowSeconds } from "../util/time.ts";
import type { DiscoveryFactory } from "./discoveries.ts";
import { Admission, ChannelReleases, maxPeersOption, PeerCap, type AdmissionHost } from "./bounds.ts";
import type { AdmitOptions, Discovery, DiscoveryHost, TaskScheduler } from "./discovery.ts";
import { LEAVE_TIMEOUT, leaveRefusal, sendLeave } from "./leave.ts";
import { Gossip, swimConfig, type GossipHost, type GossipOptions } from "./gossip.ts";
import { Liveness, type LivenessHost } from "./liveness.ts";
import { watchLoopLag, type LoopLag } from "./loop-lag.ts";
import { membershipTiming, type JoinOptions, type MembershipOptions, type MembershipTiming, type StopOptions } from "./options.ts";
import { fromPeerAddress, dialTarget, plainAddress, PeerTable, type PeerEntry, type PeerSource } from "./peer-table.ts";
import { membershipRefusal, type MembershipScope } from "./scope.ts";
import type { SeedDiscovery, SeedStatus } from "./seed-discovery.ts";
import { parseSeed, type SeedLike } from "./seeds.ts";
import type { SwimStats } from "./swim-types.ts";
import { claimOf, moves, secondHandMove } from "./claims.ts";
import type { MemberClaim } from "../security/records.ts";

const log = createLogger("membership");

/** Membership events, emitted on the node's emitter. Each payload is a copy of the peer's record. */
export interface MembershipEvents {
  /** A peer became known (first contact, or back after `peer.offline`). */
  "peer.joined": Peer;
  /** A heartbeat was exchanged with a known peer (it called us, or it answered ours). */
  "peer.heartbeat": Peer;
  /**
   * A peer was dropped: not heard from for `peerTimeout` seconds, or it said it left (an mDNS
   * goodbye, or a Bun peer's `_synapse.leave` as it stopped).
   */
  "peer.offline": Peer;
  /** Gossip membership suspects a Bun peer (it missed its probes; it may still refute). */
  "peer.suspect": Peer;
  /** A suspected Bun peer proved alive (it refuted the suspicion). */
  "peer.alive": Peer;
}

/** What membership needs from its node. */
export interface MembershipHost extends MembershipScope {
  readonly id: string;
  /** Where liveness and seed rejoins put their periodic work. */
  readonly scheduler: TaskScheduler;
  /** True while the node runs. */
  running(): boolean;
  /** This node as a Peer record (what joins and heartbeats send). */
  self(): Peer;
  /**
   * A number that moves on whenever {@link self}'s name, kind or capabilities may have changed
   * (absent: they are read from `self()` each time). Gossip checks its own claim's meta against the
   * node's before every message it sends: with it, that is a comparison of two numbers.
   */
  selfVersion?(): number;
  /** This node's info (what a heartbeat answers). */
  info(): NodeInfo;
  /** Call `endpoint(...args)` on `host:port` with the node's pool, waiting at most `timeout` seconds. */
  call(host: string, port: number, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
  /** Emit a membership event on the node. */
  emit<K extends keyof MembershipEvents>(event: K, payload: MembershipEvents[K]): void;
  /** False when nobody listens to `event` on the node (its payload, a copy of a record, is then not made); absent: always made. */
  listens?(event: keyof MembershipEvents): boolean;
  /**
   * What the peer at `host:port` answered to this node's hello (null when unknown): how a stopping
   * node learns which peers answer `_synapse.leave`. Without it only mDNS `ext` tells.
   */
  features?(host: string, port: number): Readonly<Record<string, unknown>> | null;
  /**
   * What the peer at `host:port` answers to this node's hello, once the connection being set up to
   * it is (null when none is open or under way, or it is a Python node): a seed's join sends SWIM's
   * exchange as soon as the hello says the seed speaks it (`Gossip.joinAt`).
   */
  hello?(host: string, port: number): Promise<Readonly<Record<string, unknown>> | null>;
  /** Release the pool's channel of `host:port`: its peer left the table, or a probe of it failed. */
  release?(host: string, port: number): void;
  /**
   * Be told when a peer closes a pooled connection of the node's unannounced (`Pool.onDropped`);
   * returns the function that stops it. Gossip membership probes such a peer at once.
   */
  watchDropped?(listener: (host: string, port: number) => boolean): () => void;
  /**
   * Why a member's claim about itself (carrying `sig`, or none) is not believed, or null
   * (`SignedRecords.claimRefusal`, docs/security.md). `changes`: believing it would move a known
   * peer's entry. Without it every claim is believed, as a Python node believes them.
   */
  claimRefusal?(claim: MemberClaim, sig: unknown, changes: boolean): string | null;
  /**
   * True when a member's claim is no newer than its newest claim already verified here
   * (`SignedRecords.claimStale`): a replay, which must not count as a sign of life.
   */
  claimStale?(claim: MemberClaim): boolean;
}

/** Counters, for tests and benchmarks. */
export interface MembershipStats {
  heartbeatsSent: number;
  heartbeatsAnswered: number;
  heartbeatsFailed: number;
  heartbeatsReceived: number;
  joinsReceived: number;
  joinsSent: number;
  /** New peers not added because the table held `maxPeers` (a known peer's refresh still works). */
  peersRefused: number;
  /** Peers silent for `peerTimeout` that gossip membership took over instead of their being dropped (its SWIM held them alive). */
  silentAdopted: number;
  /** Reaps put off because this process's event loop was blocked for part of the peer's silence (it heard nobody meanwhile). */
  reapsSpared: number;
  /** Second-hand peers probed; of those, verified (they answered as themselves); not probed (budget spent, table full). */
  unverifiedProbed: number;
  unverifiedVerified: number;
  unverifiedDropped: number;
  /** Gossip membership's counters (probes, indirect probes, suspects, refutations, members by state); null in mesh mode. */
  swim: SwimStats | null;
}

/** A peer to call: its dial host, the fallback address, and its port. */
export type CallTarget = Pick<PeerEntry, "dialHost" | "fallbackHost"> & { peer: Pick<Peer, "port"> };

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
  /** The most peers the table holds; past it new peers are refused. */
  readonly maxPeers: number;

  private readonly liveness: Liveness;
  /** This process's event-loop monitor while the node runs: its stalls are no peer's silence (see `Liveness.reap`). */
  private lag: LoopLag | null = null;
  private readonly admission: Admission;
  private readonly cap: PeerCap;
  private readonly seeds: SeedDiscovery | null;
  private readonly discoveries: readonly Discovery[];
  /** Gossip (SWIM) membership among Bun peers; null in mesh mode or with heartbeats off. */
  readonly gossip: Gossip | null;
  private readonly listeners = new Set<() => void>();
  /** Channels released with their peers (made with the first release). */
  private releases: ChannelReleases | null = null;
  private joinsReceived = 0;
  private heartbeatsReceived = 0;

  /**
   * @param host what membership needs of its node.
   * @param options timing (seconds); the discovery options are read by `discover`.
   * @param discover builds the discoveries on membership's port (the node passes
   * `discoveriesFromOptions(options)`).
   * @param gossip gossip mode's SWIM tuning and self-claim signing (see `gossip.ts`).
   * @throws {ConfigError} for invalid timing, an invalid `maxPeers` or `membership` mode.
   */
  constructor(
    readonly host: MembershipHost,
    options: Pick<MembershipOptions, "heartbeatInterval" | "peerTimeout" | "heartbeatTimeout" | "joinTimeout" | "maxPeers" | "membership">,
    discover: DiscoveryFactory,
    gossip: GossipOptions = {},
  ) {
    const timing: MembershipTiming = membershipTiming(options);
    this.heartbeatInterval = timing.heartbeatInterval;
    this.peerTimeout = timing.peerTimeout;
    this.heartbeatTimeout = timing.heartbeatTimeout;
    this.joinTimeout = timing.joinTimeout;
    this.maxPeers = maxPeersOption(options.maxPeers);
    this.cap = new PeerCap(this.table, this.maxPeers);
    this.admission = new Admission(this.admissionPort(), () => this.heartbeatTimeout);
    this.liveness = new Liveness(this.livenessPort(), timing);
    const mode = options.membership ?? "gossip";
    if (mode !== "gossip" && mode !== "mesh") throw new ConfigError(`membership must be "gossip" or "mesh", got ${String(mode)}`);
    const { heartbeatInterval, heartbeatTimeout, peerTimeout } = timing;
    this.gossip = mode === "gossip" && heartbeatInterval !== null ? new Gossip(this.gossipPort(), swimConfig({ heartbeatInterval, heartbeatTimeout, peerTimeout, maxPeers: this.maxPeers }), { joinTimeout: timing.joinTimeout, ...gossip }) : null;
    const { seeds, others } = discover(this.discoveryPort(), timing);
    this.seeds = seeds;
    this.discoveries = seeds ? [seeds, ...others] : [...others];
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
    return this.discoveries.some((d) => d.name === "mdns");
  }

  /** A snapshot of the counters. */
  get stats(): MembershipStats {
    const beats = this.liveness.counts;
    return {
      heartbeatsSent: beats.sent,
      heartbeatsAnswered: beats.answered,
      heartbeatsFailed: beats.failed,
      heartbeatsReceived: this.heartbeatsReceived,
      joinsReceived: this.joinsReceived,
      joinsSent: this.seeds?.joinsSent ?? 0,
      peersRefused: this.cap.refused,
      silentAdopted: beats.adopted,
      reapsSpared: beats.spared,
      unverifiedProbed: this.admission.counts.probed,
      unverifiedVerified: this.admission.counts.verified,
      unverifiedDropped: this.admission.counts.dropped,
      swim: this.gossip?.stats() ?? null,
    };
  }

  /**
   * Peers by state: `alive` (in the table and not suspected), `suspect` (Bun peers that gossip
   * membership suspects: still in the table, they may refute; none in mesh mode, where a silent
   * peer is alive until its timeout drops it) and `offline` (dropped lately as silent or dead, still
   * probed now and then; a peer that left is not counted).
   */
  get states(): { alive: number; suspect: number; offline: number } {
    const suspect = Math.min(this.gossip?.stats()?.suspect ?? 0, this.table.size);
    return { alive: this.table.size - suspect, suspect, offline: this.liveness.offlineCount };
  }

  /** The configured seeds and how joining them went. */
  seedStatus(): SeedStatus[] {
    return this.seeds?.status() ?? [];
  }

  /**
   * Look for peers now: join every seed (concurrently; an unreachable seed is logged and
   * skipped), add the peers they return and announce this node to them, ask mDNS; then wait up
   * to `wait` seconds for late answers. Starts nothing: the node must be running.
   *
   * @returns the known peers afterwards.
   * @throws {ConfigError} for an invalid seed, or seeds given to a membership without seed discovery.
   */
  async join(options: JoinOptions = {}): Promise<Peer[]> {
    if (options.seeds && options.seeds.length > 0) {
      if (!this.seeds) throw new ConfigError("join({ seeds }): this membership runs no seed discovery");
      this.seeds.add(options.seeds.map((s) => parseSeed(s)));
    }
    await Promise.all(this.discoveries.map((d) => d.refresh()));
    const wait = options.wait ?? Math.max(0, ...this.discoveries.map((d) => d.settleTime));
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

  /** Start the discoveries. Called by the node once it listens. */
  start(): void {
    this.lag?.release();
    this.lag = watchLoopLag();
    this.liveness.started();
    this.gossip?.start();
    for (const d of this.discoveries) d.start();
  }

  /**
   * Leave: tell the Bun peers that answer `_synapse.leave` (at most {@link LEAVE_TIMEOUT} seconds,
   * best-effort) while the discoveries stop (mDNS says goodbye). Known peers are kept here.
   */
  async stop(options: StopOptions = {}): Promise<void> {
    for (const wake of [...this.listeners]) wake();
    const leave = options.leave === false ? [] : [this.leave(), this.gossip?.leave(LEAVE_TIMEOUT)];
    await Promise.all([...leave, ...this.discoveries.map((d) => d.stop())]);
    this.gossip?.stop();
    this.lag?.release();
    this.lag = null;
  }

  /**
   * Tell the peers known to answer `_synapse.leave` that this node leaves, so that they drop it now
   * rather than after their peer timeout (the peers gossip membership owns learn it by a `left`
   * update instead). Done by {@link stop}; bounded by `timeout` seconds.
   *
   * @returns the ids of the peers that acknowledged.
   */
  leave(timeout: number = LEAVE_TIMEOUT): Promise<string[]> {
    const features = this.host.features?.bind(this.host) ?? (() => null);
    return sendLeave(
      {
        self: () => this.host.self(),
        entries: () => this.table.unowned(),
        features,
        call: (entry, endpoint, args, seconds) => this.callPeer(entry, endpoint, args, seconds),
      },
      timeout,
    );
  }

  /**
   * A peer called `_synapse.leave` (its record already checked): drop it now, firing
   * `peer.offline`, when the call came from its own address ({@link leaveRefusal}).
   *
   * @returns true when the peer was known and is dropped; false when it was not known.
   * @throws {EndpointError} `bad_request` when the call did not come from the peer's address.
   */
  left(peer: Peer, remoteAddress: string): boolean {
    const entry = this.table.get(peer.id);
    if (!entry) return false;
    const refusal = leaveRefusal(entry, remoteAddress);
    if (refusal) {
      log.debug(`leave refused: ${refusal}`);
      throw new EndpointError(ErrorCode.BadRequest, `leave refused: ${refusal}`);
    }
    log.debug(`peer ${entry.peer.name} (${peer.id.slice(0, 8)}) left`);
    return this.liveness.drop(peer.id, false) !== null;
  }

  /**
   * A peer called `_synapse.join` or `_synapse.heartbeat` (its record already checked): it is
   * alive now. Counts the call; a heartbeat from a known peer fires `peer.heartbeat`. A new peer
   * calling from another address than its record's is probed first (`bounds.ts`); null until then.
   */
  called(peer: Peer, via: "join" | "heartbeat", remoteAddress: string, sig?: unknown): PeerEntry | null {
    if (via === "join") this.joinsReceived++;
    else this.heartbeatsReceived++;
    // A known peer's entry moves only by its owner's signature (closed swarm: every claim is signed).
    const claim = claimOf(peer);
    // Judged before the claim is checked (which records it as the newest): a signed claim no newer
    // than one already verified is a replay, so it is no sign of life: a known peer's entry is left
    // as it is (silence still takes it offline), an unknown one is probed first, wherever it calls from.
    const stale = sig !== undefined && sig !== null && this.host.claimStale?.(claim) === true;
    const refusal = this.host.claimRefusal?.(claim, sig, moves(this.table, peer, remoteAddress));
    if (refusal) throw new EndpointError(ErrorCode.BadRequest, `${via} refused: ${refusal}`);
    if (stale) {
      log.debug(`${via} of ${peer.id.slice(0, 8)} is no newer than one already seen (a replay?): not counted as a sign of life`);
      if (!this.table.has(peer.id) && peer.id !== this.host.id) void this.admission.introduce({ ...peer, last_seen: nowSeconds() }, plainAddress(remoteAddress), via);
      return null;
    }
    if (!this.table.has(peer.id) && peer.id !== this.host.id && !fromPeerAddress({ address: peer.address, ...dialTarget(peer.address) }, remoteAddress)) {
      void this.admission.introduce({ ...peer, last_seen: nowSeconds() }, plainAddress(remoteAddress), via);
      return null;
    }
    const entry = this.admit({ ...peer, last_seen: nowSeconds() }, via, { remoteAddress });
    if (entry && via === "heartbeat") this.emit("peer.heartbeat", entry.peer);
    return entry;
  }

  /**
   * Call `endpoint` on a peer: at its dial host, then (when that address refuses the connection)
   * at its advertised address, which is then kept.
   */
  async callPeer(entry: CallTarget, endpoint: string, args: unknown[], timeout: number): Promise<unknown> {
    try {
      return await this.host.call(entry.dialHost, entry.peer.port, endpoint, args, timeout);
    } catch (error) {
      // No descriptor left, no route: said once a minute, since the caller goes on without it.
      warnOwnTrouble(error);
      const fallback = entry.fallbackHost;
      if (!(error instanceof ConnectionError) || error.sent || !fallback) throw error;
      const result = await this.host.call(fallback, entry.peer.port, endpoint, args, timeout);
      entry.dialHost = fallback;
      entry.fallbackHost = null;
      return result;
    }
  }

  // ---------------------------------------------------------------- the parts' ports

  private livenessPort(): LivenessHost {
    return {
      self: () => this.host.self(),
      running: () => this.host.running(),
      table: this.table,
      call: (target, endpoint, args, timeout) => this.callPeer(target, endpoint, args, timeout),
      admit: (peer, source, options) => this.admit(peer, source, options),
      heard: (peer) => {
        this.emit("peer.heartbeat", peer);
        const entry = this.table.get(peer.id);
        if (entry) this.gossip?.contact(entry);
      },
      dropped: (peer) => this.emit("peer.offline", peer),
      adopt: (entry) => this.gossip?.adopt(entry) ?? false,
      released: (target) => this.release(target),
      stalledWithin: (seconds) => this.lag?.stalledWithin(seconds) ?? 0,
      scheduler: this.host.scheduler,
    };
  }

  private gossipPort(): GossipHost {
    return {
      self: () => this.host.self(),
      selfVersion: this.host.selfVersion?.bind(this.host),
      table: this.table,
      features: (host, port) => this.host.features?.(host, port) ?? null,
      hello: this.host.hello?.bind(this.host),
      call: (target, endpoint, args, timeout) => this.callPeer(target, endpoint, args, timeout),
      admit: (peer, source, options) => this.admit(peer, source, options),
      drop: (id, probe) => void this.liveness.drop(id, probe),
      heard: (peer) => this.emit("peer.heartbeat", peer),
      emit: (event, peer) => this.emit(event, peer),
      watchDropped: this.host.watchDropped?.bind(this.host),
    };
  }

  private admissionPort(): AdmissionHost {
    return {
      self: () => this.host.self(),
      knows: (id) => this.table.has(id),
      hasRoom: () => this.table.size < this.maxPeers,
      call: (target, endpoint, args, timeout) => this.callPeer(target, endpoint, args, timeout),
      admit: (peer, source, options) => this.admit(peer, source, options),
      release: (target) => this.release(target),
    };
  }

  private discoveryPort(): DiscoveryHost {
    return {
      self: () => this.host.self(),
      running: () => this.host.running(),
      knows: (id) => this.table.has(id),
      peerCount: () => this.table.size,
      admit: (peer, source, options) => this.admit(peer, source, options) !== null,
      introduce: (peer, source, via = "exchange", options) => {
        if (peer.id === this.host.id || membershipRefusal(this.host, peer)) return Promise.resolve("failed");
        return this.admission.introduce(peer, source, via, options);
      },
      gossipJoin: (id, timeout) => {
        const entry = this.table.get(id);
        return entry && this.gossip?.speaksSwim(entry) ? this.gossip.exchange(entry, timeout, true) : Promise.resolve(null);
      },
      gossipJoinAt: (host, port, timeout) => this.gossip?.joinAt(host, port, timeout),
      gossipWhole: () => this.gossip?.core?.whole ?? null,
      forget: (id) => void this.liveness.drop(id),
      call: (host, port, endpoint, args, timeout) => this.host.call(host, port, endpoint, args, timeout),
      scheduler: this.host.scheduler,
    };
  }

  /** True when `event` reaches anyone: the node's listeners, a wait for peers (`peer.joined`), the discoveries (`peer.offline`). */
  private wants(event: keyof MembershipEvents): boolean {
    return this.host.listens?.(event) !== false || (event === "peer.joined" && this.listeners.size > 0) || (event === "peer.offline" && this.discoveries.length > 0);
  }

  /** Emit a membership event with a copy of the record, and tell the parts that care. */
  private emit<K extends keyof MembershipEvents>(event: K, peer: Peer): void {
    // A copy for the listeners, made only when there are any (a join's every admission, every ack's heartbeat).
    if (this.host.listens?.(event) !== false) this.host.emit(event, { ...peer, capabilities: [...peer.capabilities] });
    if (event === "peer.joined") for (const wake of [...this.listeners]) wake();
    if (event === "peer.offline") for (const d of this.discoveries) d.peerLost(peer);
  }

  /**
   * Add `peer` (learned from `source`) unless it is this node or of another swarm/team. Emits
   * `peer.joined` for a new peer. Returns the entry, or null when refused.
   */
  private admit(peer: Peer, source: PeerSource, options: AdmitOptions = {}): PeerEntry | null {
    if (peer.id === this.host.id) return null;
    const refusal = membershipRefusal(this.host, peer);
    if (refusal) {
      log.debug(`ignoring ${peer.name || peer.id.slice(0, 8)} from ${source}: ${refusal}`);
      return null;
    }
    if (!this.cap.allows(peer.id)) return null;
    const known = this.table.get(peer.id);
    if (known && secondHandMove(this.host, this.table, peer, source, options.remoteAddress)) return known;
    const { entry, result } = this.table.upsert(peer, source, options);
    if (result === "added") {
      this.liveness.found(peer.id);
      // Built only when printed: a 1,000-node join admits a million peers over the swarm.
      if (logEnabled("debug")) log.debug(`peer ${peer.name} (${peer.id.slice(0, 8)}) at ${entry.address}:${entry.port} joined via ${source}`);
      // The record is made only when someone takes it (a 1,000-node join admits a million peers).
      if (this.wants("peer.joined")) this.emit("peer.joined", entry.peer);
      if (options.announce) void this.liveness.beat(entry);
      this.gossip?.contact(entry);
    }
    return entry;
  }

  /** Release the pool's channels of a peer that left the table (or was never admitted). */
  private release(target: CallTarget): void {
    if (!this.host.release) return;
    (this.releases ??= new ChannelReleases(this.table, this.host.release.bind(this.host))).add(target);
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
        if (this.table.size >= minPeers || !this.host.running()) done();
      };
      const timer = setTimeout(done, seconds * 1000);
      this.listeners.add(check);
    });
  }
}
