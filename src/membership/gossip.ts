/**
 * Gossip membership among Bun peers: the bridge between a node's peer table and a {@link SwimCore}.
 *
 * A peer becomes SWIM's (the bridge "owns" it) once this node knows it speaks SWIM: its hello
 * answer offered {@link SWIM_FEATURE}, or a SWIM member vouched for it in gossip. Membership then
 * stops heartbeating it and stops reaping it by silence; SWIM's probes decide instead, and SWIM's
 * verdicts become the node's events (`peer.joined`, `peer.suspect`, `peer.alive`, `peer.heartbeat`
 * on a probe's ack, `peer.offline` when it is dead or left). Everyone else (Python peers, Bun
 * peers in mesh mode) keeps today's heartbeats, untouched.
 *
 * First contact stays as today (a seed's `_synapse.join`, mDNS, a heartbeat); once a peer is seen
 * to speak SWIM, this node exchanges full state with it (push-pull): a joiner learns the swarm so.
 * A SWIM message is taken when its sender is a peer held here calling from its own address, or
 * when it introduces its sender (its own alive claim, signed when claims are checked, naming the
 * calling address: taken first-hand); a ping from anyone else, or a message from a member held
 * dead (told so in the answer: it refutes), is answered with its updates ignored. Second-hand
 * peers come only from verified members; `maxPeers` bounds SWIM's list too. A node introduces
 * itself to members that have not heard from it (else a mass join's first messages are refused).
 * A first join through a seed sends SWIM's exchange beside the seed's `_synapse.join` (as soon as
 * the connection's hello says the seed speaks SWIM), not after its answer ({@link Gossip.joinAt}).
 *
 * Longer than 400 lines: the bridge's two directions (what SWIM decides becomes the table's and the
 * node's events; what comes from the network is checked before SWIM takes it) share its state.
 *
 * @module
 */
import { CallTimeoutError, EndpointError, ErrorCode } from "../errors.ts";
import { createLogger } from "../log.ts";
import { outOfDescriptors } from "../transport/connect-failure.ts";
import type { Peer } from "../types.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { monotonicMs, nowSeconds } from "../util/time.ts";
import { SWIM_DIGEST_FEATURE, SWIM_ENDPOINTS, SWIM_FEATURE, SWIM_LEAN_FEATURE, SWIM_PACKED_FEATURE, SWIM_SUM_FEATURE } from "../wire/protocol.ts";
import type { AdmitOptions } from "./discovery.ts";
import { KNOWS_THIS_NODE, SWIM_OWNED, swimBit, dialTarget, fromPeerAddress, sharedMeta, type PeerEntry, type PeerSource, type PeerTable } from "./peer-table.ts";
import { type Meta, metaOf, peerOf, pickMeta, refusedConnect, sameMeta, scopedPeerOf } from "./gossip-records.ts";
import { afterTurn, watchLoopLag, type LoopLag } from "./loop-lag.ts";
import { SwimCore } from "./swim.ts";
import type { MemberUpdate, SwimClaims, SwimConfig, SwimMessage, SwimState, SwimStats, SwimTarget } from "./swim-types.ts";
import { readWhole, sigBytes, toWire, wantsLean, wantsPacked } from "./swim-wire.ts";

const log = createLogger("gossip");

/** A peer to call: its dial host, the fallback address, and its port. */
type Target = Pick<PeerEntry, "dialHost" | "fallbackHost"> & { peer: Pick<Peer, "port"> };

/** What the bridge needs of membership. */
export interface GossipHost {
  /** This node's record (its meta goes into its alive updates). */
  self(): Peer;
  /** Moves on whenever the meta of {@link self} may have changed (absent: read from `self()` for every message sent). */
  selfVersion?(): number;
  readonly table: Pick<PeerTable, "get" | "touch" | "refresh" | "list" | "own"> & Partial<Pick<PeerTable, "memberStore" | "at">>;
  /** What the peer at `host:port` answered to this node's hello (null when unknown). */
  features(host: string, port: number): Readonly<Record<string, unknown>> | null;
  /** The same once the connection being set up to `host:port` is (null: none, or not a Bun node); see {@link Gossip.joinAt}. */
  hello?(host: string, port: number): Promise<Readonly<Record<string, unknown>> | null>;
  /** Call `endpoint` on a peer (with the fallback to its advertised address). */
  call(target: Target, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
  /** Add a peer SWIM vouched for (fires `peer.joined`); null when refused (another swarm, table full). */
  admit(peer: Peer, source: PeerSource, options?: AdmitOptions): PeerEntry | null;
  /** Drop a peer SWIM found dead (`probe`: keep probing it by heartbeat) or that left; fires `peer.offline`. */
  drop(id: string, probe: boolean): void;
  /** A SWIM probe of a peer was acked (`peer.heartbeat`). */
  heard(peer: Peer): void;
  /** SWIM suspects a peer, or a suspected peer refuted it. */
  emit(event: "peer.suspect" | "peer.alive", peer: Peer): void;
  /** Be told of a peer that closed a pooled connection unannounced (`Pool.onDropped`); returns the unsubscriber. */
  watchDropped?(listener: (host: string, port: number) => boolean): () => void;
}

/** Gossip options beyond membership's timing. */
export interface GossipOptions {
  /** SWIM tuning; the defaults are derived from the heartbeat interval and peer timeout. */
  swim?: Partial<SwimConfig>;
  /** Signing of self-claims (see {@link SwimClaims}); default: unsigned. */
  claims?: SwimClaims;
  /**
   * Seconds a full-state exchange with a peer just met (SWIM's join) may take: a seed answering a
   * mass join is slow (default: the periodic exchange's timeout; membership passes its `joinTimeout`).
   */
  joinTimeout?: number;
}

/** The SWIM timing of a node: probes every heartbeat interval, detection within about the peer timeout. */
export function swimConfig(timing: { heartbeatInterval: number; heartbeatTimeout: number; peerTimeout: number | null; maxPeers: number }): Partial<SwimConfig> {
  const interval = timing.heartbeatInterval;
  const peerTimeout = timing.peerTimeout;
  return {
    probeInterval: interval,
    probeTimeout: Math.min(timing.heartbeatTimeout, interval / 2),
    // A crashed peer is offline about peerTimeout after its last ack even when nobody confirms the
    // suspicion: one interval to be probed, one for the indirect probes, at most the rest in
    // suspicion (half that once others confirm it).
    suspicionMaxTimeout: peerTimeout === null ? Number.POSITIVE_INFINITY : Math.max(interval, peerTimeout - 2 * interval) / 2,
    suspicionMaxMult: 2,
    gossipInterval: Math.min(0.2, interval / 5),
    pushPullInterval: Math.max(30, 6 * interval),
    deadRetention: Math.max(300, 10 * (peerTimeout ?? 0)),
    maxMembers: timing.maxPeers,
  };
}


/** The bridge (see the module header). */
export class Gossip {
  #core: SwimCore | null = null;
  /** The process's event-loop monitor, while running. */
  #lag: LoopLag | null = null;
  /** Full-state exchanges under way, by peer id (see {@link exchange}). */
  readonly #exchanges = new Map<string, Promise<boolean>>();
  /** First joins sent beside a seed's `_synapse.join`, by the seed's `host:port` (see {@link joinAt}). */
  readonly #early = new Map<string, Promise<boolean>>();
  /** This node's meta as last disseminated, to notice a change. */
  #meta: Meta | null = null;
  /** The host's {@link GossipHost.selfVersion} when {@link #meta} was read (null: never, or the host has none). */
  #metaVersion: number | null = null;
  /** Stops telling this node of dropped connections (while running). */
  #unwatch: (() => void) | null = null;

  constructor(
    private readonly host: GossipHost,
    private readonly config: Partial<SwimConfig>,
    private readonly options: GossipOptions = {},
  ) {}

  /** The running core (null before `start()`). */
  get core(): SwimCore | null {
    return this.#core;
  }

  /** SWIM's counters (null before the first start). */
  stats(): SwimStats | null {
    return this.#core?.stats() ?? null;
  }

  /** True when SWIM decides this peer's liveness (membership neither heartbeats nor reaps it). */
  owns(id: string): boolean {
    return swimBit(this.host.table.get(id), SWIM_OWNED);
  }

  /** SWIM decides for the known peer `id` from now on (`owned`), or no longer; true when it did. */
  #own(id: string, owned: boolean): boolean {
    const entry = this.host.table.get(id);
    if (!entry) return false;
    return this.host.table.own(entry, owned);
  }

  /** Start SWIM as this node (it listens now: its address and port are final). */
  start(): void {
    if (this.#core?.running) return;
    const self = this.host.self();
    this.#meta = metaOf(self);
    const config = { ...this.config, ...this.options.swim };
    const callTimeout = Math.max(2 * (config.probeInterval ?? 1), 1);
    this.#lag?.release();
    const lag = (this.#lag = watchLoopLag());
    this.#core = new SwimCore(
      // A wall-clock incarnation: a restarted node's first alive outranks what its past life said.
      { id: self.id, address: self.address, port: self.port, meta: metaOf(self), incarnation: Math.floor(nowSeconds()) },
      {
        now: () => monotonicMs() / 1000,
        // A verdict waits one more turn of the event loop (a plain delay: not secondsToMs, whose 0 means "never").
        schedule: afterTurn,
        send: (to, message, timeout) => this.#send(to, message, Math.max(callTimeout, timeout ?? 0)),
        // SWIM's records on the table's entries: one map keyed by id for both.
        claims: this.options.claims, members: this.host.table.memberStore?.(), stalled: lag.stalled,
        isRefused: refusedConnect, isLocal: outOfDescriptors, isTimeout: (error) => error instanceof CallTimeoutError, readsDigest: (to) => this.#offered(this.#targetOf(to), SWIM_DIGEST_FEATURE),
        readsLean: (to) => this.#leans(this.#targetOf(to)),
        readsSum: (to) => this.#offered(this.#targetOf(to), SWIM_SUM_FEATURE),
        readMeta: (meta) => (isMap(meta) ? meta : undefined),
        // Shared strings and lists: a member's meta is held for as long as the member is.
        keepMeta: (meta) => (isMap(meta) ? sharedMeta(meta) : meta),
        onChange: (member, previous) => this.#changed(member, previous),
        onAck: (id) => {
          const entry = this.host.table.get(id);
          if (!entry) return;
          this.host.table.touch(id, nowSeconds());
          this.host.heard(entry.peer);
        },
      },
      config,
    );
    this.#core.start();
    this.#unwatch?.();
    this.#unwatch = this.host.watchDropped?.((host, port) => this.#dropped(host, port)) ?? null;
  }

  /**
   * The peer at `host:port` closed a pooled connection unannounced: SWIM probes it out of turn when
   * it owns it (`SwimCore.dropped`). False when no such member or no probe now (another node may).
   */
  #dropped(host: string, port: number): boolean {
    const core = this.#core;
    // A peer whose hello offered no SWIM (a Bun node in mesh mode) is no member: no walk of the table.
    if (!core?.running || this.host.features(host, port)?.[SWIM_FEATURE] !== true) return false;
    const entry = this.host.table.at?.(host, port);
    return entry !== undefined && this.owns(entry.id) && core.dropped(entry.id);
  }

  /** Stop SWIM (after {@link leave} when leaving); the owned peers go back to membership. */
  stop(): void {
    this.#unwatch?.();
    this.#unwatch = null;
    this.#core?.stop();
    this.#lag?.release();
    this.#lag = null;
    for (const entry of this.host.table.list()) {
      this.host.table.own(entry, false);
      entry.swim = 0;
    }
  }

  /** Disseminate this node's `left` update, waiting at most `timeout` seconds. */
  async leave(timeout: number): Promise<void> {
    if (this.#core?.running) await this.#core.leave(timeout);
  }

  /**
   * A peer that membership would drop for silence, not owned here: SWIM takes it over when it holds
   * the member alive and the peer speaks SWIM (its probes and gossip decide from now on, as they do
   * for every member an update made this node's); true then. A member SWIM holds suspect, dead or not
   * at all, or a peer that does not speak SWIM (a Python peer, which heartbeats keep), is left to the
   * reaper: a suspect silent for the peer timeout is offline, as SWIM's suspicion would soon say.
   */
  adopt(entry: PeerEntry): boolean {
    const core = this.#core;
    if (!core?.running || core.member(entry.id)?.state !== "alive" || !this.#speaksSwim(entry)) return false;
    this.#own(entry.id, true);
    return true;
  }

  /**
   * SWIM's first join with the seed at `host:port`, sent beside the `_synapse.join` call that was
   * just made to it: the exchange goes out as soon as that connection's hello says the seed speaks
   * SWIM (at once when it is open already), so a join waits for the two answers together, not in
   * turn. In the 1,000-node join a slow join waited on each for 1.5 to 4 s. The seed's id is not
   * known yet: the exchange is addressed to `host:port`, and the seed's answer names it. One attempt
   * only; meanwhile {@link exchange} waits for it, and does its own join as before when it failed
   * (refused: a seed that does not take a push-pull from a peer it has not met, another swarm's
   * seed; or unanswered in `timeout` seconds). Nothing when this node has joined already, does not
   * run SWIM, or `host:port` is its own listener.
   *
   * @returns the attempt (true when answered), or null when none was started.
   */
  joinAt(host: string, port: number, timeout = this.options.joinTimeout): Promise<boolean> | null {
    const core = this.#core, key = `${host}:${port}`;
    if (!core?.running || core.joined || !this.host.hello || this.#early.has(key)) return null;
    const self = this.host.self(), local = dialTarget(host).dialHost;
    if (port === self.port && (host === self.address || local === "127.0.0.1" || local === "::1")) return null;
    const run = this.host
      .hello(host, port)
      .then((features) => (features?.[SWIM_FEATURE] === true && core.running && !core.joined ? core.join({ address: host, port }, timeout, undefined, true) : false))
      .catch(() => false)
      .finally(() => this.#early.delete(key));
    this.#early.set(key, run);
    return run;
  }

  /**
   * A peer answered this node (a heartbeat, a join): when its hello offered SWIM, exchange full
   * state with it and let SWIM decide for it from now on (see {@link exchange}).
   */
  contact(entry: PeerEntry): void {
    void this.exchange(entry);
  }

  /**
   * SWIM's join with a peer this node holds: when its hello offered SWIM and SWIM does not hold it
   * alive yet (or, `seed`, whatever SWIM holds while this node has had nobody's state: in a mass
   * join the seed's gossip often came first), exchange full state with it (push-pull; one at a
   * time per peer), waiting at most `timeout` seconds. SWIM decides for it from then on; if SWIM
   * does not hold it alive afterwards, membership keeps heartbeating it (and tries again).
   *
   * @returns true when SWIM holds the peer alive and the exchange (if any) was answered.
   */
  exchange(entry: PeerEntry, timeout = this.options.joinTimeout, seed = false): Promise<boolean> {
    const core = this.#core, id = entry.id, pending = this.#exchanges.get(id);
    if (!core?.running) return Promise.resolve(false);
    if (pending) return pending;
    const known = core.member(id);
    // A first join sent beside a seed's `_synapse.join` is under way (see joinAt): its answer makes
    // this node joined, and the seed (and every member it named) alive; then nothing is left to
    // exchange. Only if it failed does the join go out from here, as without it.
    if (this.#early.size > 0 && !core.joined && (seed || known?.state !== "alive")) {
      const after = Promise.allSettled(this.#early.values()).then(() => {
        this.#exchanges.delete(id);
        return this.exchange(entry, timeout, seed);
      });
      this.#exchanges.set(id, after);
      return after;
    }
    const join = seed && !core.joined && this.#speaksSwim(entry);
    // SWIM holds it alive already (gossip named it, or it introduced itself): nothing to exchange.
    // A full-state exchange with every peer met would be N² member lists in a mass join.
    if (!join && known?.state === "alive") {
      this.#own(id, true);
      return Promise.resolve(true);
    }
    if (!join && (this.owns(id) || !this.#speaksSwim(entry))) return Promise.resolve(this.owns(id));
    this.#own(id, true);
    // A member SWIM holds suspect or dead (a heartbeat found it again) is told so and refutes: one
    // message. A full exchange for each would make every false death cost a member list.
    // An unanswered join attempt hands the peer back to heartbeats while SWIM sends it again: not
    // yet SWIM's member, it was watched by nobody (a link cut mid-join went unseen for 15 s and more).
    const exchanged = !join && known && known.state !== "left" ? core.remind(id) : core.join({ id, address: entry.peer.address, port: entry.peer.port }, timeout, () => this.#own(id, false));
    const run = exchanged
      .then((ok) => {
        // SWIM's if alive there, exchange or not: handed back, it was reaped by silence (false offline).
        const alive = core.member(id)?.state === "alive";
        this.#own(id, alive);
        return ok && alive;
      })
      .finally(() => this.#exchanges.delete(id));
    this.#exchanges.set(id, run);
    return run;
  }

  /**
   * Answer a SWIM message from the network (endpoint `kind`), from `remoteAddress`.
   *
   * @throws {EndpointError} `bad_request` when SWIM is not running, the message is malformed or
   * not of this endpoint's kind, or (but for a ping) its sender is not a known peer calling from
   * its own address.
   */
  async receive(kind: SwimMessage["kind"], message: unknown, remoteAddress: string): Promise<unknown> {
    const core = this.#core;
    if (!core?.running) throw new EndpointError(ErrorCode.BadRequest, "gossip membership is not running");
    if (!isMap(message) || message.kind !== kind) throw new EndpointError(ErrorCode.BadRequest, `expected a ${kind} message`);
    // A node given its own address as a seed (see joinAt): nothing to learn from itself.
    if (message.from === core.id) throw new EndpointError(ErrorCode.BadRequest, "swim message refused: it comes from this node itself");
    let entry = typeof message.from === "string" ? this.host.table.get(message.from) : undefined;
    // A sender not held yet that introduced itself from its own address is taken first-hand.
    entry ??= this.#introduced(message, remoteAddress);
    const sender = entry !== undefined && fromPeerAddress({ address: entry.address, dialHost: entry.dialHost, fallbackHost: entry.fallbackHost }, remoteAddress) ? entry : null;
    const known = sender !== null;
    if (sender) {
      swimBit(sender, KNOWS_THIS_NODE, true);
      core.heardFrom(sender.id);
    }
    // A ping from a member not heard of yet (it joined a moment ago) is still acked, so that it is
    // not suspected for it; so is any message from a member SWIM holds dead, from its address (the
    // answer tells it of its death first: it refutes at once). What either carries is not taken.
    const held = typeof message.from === "string" ? core.member(message.from) : undefined;
    const heldDead = held?.state === "dead" && fromPeerAddress({ address: held.address, ...dialTarget(held.address) }, remoteAddress);
    if (!known && kind !== "ping" && !heldDead) throw new EndpointError(ErrorCode.BadRequest, "swim message refused: its sender is not a known peer at that address");
    // A message from a peer is news that it is alive: its last_seen moves, as a heartbeat's would.
    if (sender && swimBit(sender, SWIM_OWNED)) this.host.table.touch(sender.id, nowSeconds());
    const answer = await core.handle(known ? message : { ...message, ...(kind === "push_pull" ? { members: [] } : { updates: [] }) });
    if (answer === null) throw new EndpointError(ErrorCode.BadRequest, `malformed ${kind} message`);
    // Packed updates (and lean deaths) only to an asker that said it reads them (swim-wire.ts).
    return toWire(answer, { pack: wantsPacked(message), lean: wantsLean(message), reads: false });
  }

  /**
   * The entry of a sender not held yet, admitted now: the message carries its own alive claim (signed
   * when claims are checked) naming the calling address, first-hand as a new peer's heartbeat is.
   * Undefined otherwise, or for another swarm or team (its updates are then ignored, or it is refused).
   */
  #introduced(message: Record<string, unknown>, remoteAddress: string): PeerEntry | undefined {
    const from = message.from;
    if (typeof from !== "string") return undefined;
    const raw = message.kind === "push_pull" ? message.members : message.updates;
    if (!Array.isArray(raw)) return undefined;
    // The claim is looked for among the first few updates only: a sender puts it first.
    const claim = raw.slice(0, 4).map((u) => readWhole(u, (meta) => (isMap(meta) ? meta : undefined))).find((u) => u?.id === from);
    if (!claim || claim.state !== "alive") return undefined;
    if (!fromPeerAddress({ address: claim.address, ...dialTarget(claim.address) }, remoteAddress)) return undefined;
    const { id, incarnation, state, address, port, meta } = claim;
    if (this.options.claims && !this.options.claims.verify({ id, incarnation, state, address, port, meta }, sigBytes(claim.sig))) return undefined;
    // Not one membership refuses (SWIM would spread and probe it); SWIM takes it first, so that the
    // peer admitted (`#changed`) is one it holds alive.
    const peer = scopedPeerOf(claim, this.host.self());
    if (!peer) return undefined;
    this.#core?.learn(claim);
    return this.host.table.get(from) ?? (this.host.admit(peer, "gossip", { remoteAddress }) || undefined);
  }

  /** True when this node runs SWIM and `entry`'s hello (or mDNS `ext`) offered it. */
  speaksSwim(entry: PeerEntry): boolean {
    return this.#core?.running === true && this.#speaksSwim(entry);
  }

  #speaksSwim(entry: PeerEntry): boolean {
    return entry.extensions.includes(SWIM_FEATURE) || this.#offered(entry, SWIM_FEATURE);
  }

  /** True when the hello answer of the peer at `target` (at its dial or fallback host) offered `feature`. */
  #offered(target: Target, feature: string): boolean {
    // No array of the two hosts: this runs a few times for every SWIM message sent.
    if (this.host.features(target.dialHost, target.peer.port)?.[feature] === true) return true;
    return target.fallbackHost !== null && this.host.features(target.fallbackHost, target.peer.port)?.[feature] === true;
  }

  /** True when the peer at `target` reads lean deaths: its hello offered them and the packed form (swim-wire.ts). */
  #leans(target: Target): boolean {
    return this.#offered(target, SWIM_LEAN_FEATURE) && this.#offered(target, SWIM_PACKED_FEATURE);
  }

  /** Disseminate this node's meta (name, capabilities) when it changed: checked as messages go out. */
  #refreshMeta(): void {
    // The node's meta as of its last change (the record built, its capabilities listed and the
    // clock read for every message sent were about 2% of a settled node's CPU).
    const version = this.host.selfVersion?.() ?? null;
    if (version !== null && version === this.#metaVersion) return;
    this.#metaVersion = version;
    const meta = metaOf(this.host.self());
    const last = this.#meta;
    // Field by field, not as JSON: this runs for every message sent (a JSON string of the meta
    // each time was 0.5% of a worker's samples in the 1,000-node join).
    if (last !== null && sameMeta(last, meta)) return;
    this.#meta = meta;
    if (last !== null) this.#core?.setMeta(meta);
  }

  #send(to: SwimTarget, message: SwimMessage, timeout: number): Promise<unknown> {
    this.#refreshMeta();
    const entry = to.id === undefined ? undefined : this.host.table.get(to.id);
    if (message.kind !== "push_pull" && !swimBit(entry, KNOWS_THIS_NODE) && this.#core) {
      // A push-pull carries this node's claim anyway (first); others get it first too, where the
      // receiver looks. A claim already queued (a refutation, a left) goes first as it is.
      // A walk, not a find and a filter (their closures, for most messages of a large swarm).
      const updates = message.updates;
      const id = this.#core.id;
      let at = 0;
      while (at < updates.length && updates[at]!.id !== id) at++;
      if (at === updates.length) message = { ...message, updates: [this.#core.introduction(), ...updates] };
      else if (at > 0) message = { ...message, updates: [updates[at]!, ...updates.slice(0, at), ...updates.slice(at + 1)] };
    }
    const target = this.#targetOf(to, entry);
    // Packed updates (and lean deaths) only to a peer whose hello offered them; every request asks for them in its answer.
    const pack = this.#offered(target, SWIM_PACKED_FEATURE);
    const lean = pack && this.#offered(target, SWIM_LEAN_FEATURE);
    return this.host.call(target, SWIM_ENDPOINTS[message.kind], [toWire(message, { pack, lean, reads: true })], timeout);
  }

  /** Where to call member `to`: its table entry's hosts when held at that port (not the entry: its `peer` is made at each read), else its address. */
  #targetOf(to: SwimTarget, entry = to.id === undefined ? undefined : this.host.table.get(to.id)): Target {
    return entry && entry.port === to.port ? { dialHost: entry.dialHost, fallbackHost: entry.fallbackHost, peer: { port: to.port } } : { ...dialTarget(to.address), peer: { port: to.port } };
  }

  /** SWIM changed its mind about a member: the table and the node's events follow. */
  #changed(member: Readonly<MemberUpdate>, previous: SwimState | null): void {
    const entry = this.host.table.get(member.id);
    try {
      if (member.state === "alive") {
        if (!entry) {
          const peer = peerOf(member);
          if (!peer || !this.host.admit(peer, "gossip")) return;
        } else {
          if (isMap(member.meta)) this.host.table.refresh(member.id, pickMeta(member.meta));
          if (previous === "suspect") this.host.emit("peer.alive", entry.peer);
        }
        this.#own(member.id, true);
      } else if (member.state === "suspect") {
        // Once per suspicion spell: a new suspicion at a newer incarnation is not a second event.
        if (previous !== "suspect" && swimBit(entry, SWIM_OWNED)) this.host.emit("peer.suspect", entry!.peer);
      } else if ((swimBit(entry, KNOWS_THIS_NODE, false), this.#own(member.id, false))) {
        // Dead: probed by heartbeat now and then (a healed partition); left: gone for good.
        this.host.drop(member.id, member.state === "dead");
      }
    } catch (error) {
      log.warn(`membership update about ${member.id.slice(0, 8)} failed: ${errorMessage(error)}`);
    }
  }
}
