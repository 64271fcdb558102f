/**
 * The SWIM core's vocabulary: member states, the member update that gossip carries, the three
 * message kinds and their answers, the ports the core is driven through, its configuration and its
 * counters. The reader of one update from the network is `swim-read.ts`; messages are read, in both
 * wire forms, by `swim-wire.ts`.
 *
 * Keys are single snake_case words, as they go on the wire between Bun peers (see
 * docs/membership.md); a Python node never sees any of this.
 *
 * Longer than 400 lines: the whole vocabulary, each message, option and counter documented where
 * it is declared; split, the core's readers would have to look in several files for one message.
 *
 * @module
 */
export { seededRandom } from "../util/random.ts";

/** A member's state as SWIM sees it: `dead` is what the node calls offline; `left` was said by the member itself. */
export type SwimState = "alive" | "suspect" | "dead" | "left";

/** The states, for validation and for counting. */
export const SWIM_STATES: readonly SwimState[] = ["alive", "suspect", "dead", "left"];

/**
 * One membership update, as gossip carries it and push-pull lists it: "member `id` at
 * `address:port` is `state` at `incarnation`". `meta` is the member's own record (opaque to the
 * core; the node puts a compact Peer there), `sig` an optional signature of an alive/left claim
 * made by the member itself (see {@link SwimClaims}), `from` who suspected or declared it dead.
 */
export interface MemberUpdate {
  id: string;
  incarnation: number;
  state: SwimState;
  address: string;
  port: number;
  meta?: unknown;
  sig?: Signature;
  from?: string;
}

/**
 * A claim's signature as an update holds it: its bytes, or those bytes as a latin1 string, as the
 * member list keeps a member's (a 64-character string takes 80 bytes of heap in JSC, a 64-byte
 * `Uint8Array` 112, and a node keeps one per member). On the wire it is bytes either way
 * (`sigBytes` in `swim-wire.ts`, where updates are encoded); what the network sends is bytes only.
 */
export type Signature = Uint8Array | string;

/** An alive or left claim about a member, made by that member itself: what {@link SwimClaims} signs. */
export type SwimClaim = Pick<MemberUpdate, "id" | "incarnation" | "state" | "address" | "port" | "meta">;

/**
 * Signing of self-claims (alive, join and left updates that a member makes about itself), so that
 * no one else can revive, move or retire it. Default: nothing signed, everything accepted.
 */
export interface SwimClaims {
  /** Sign this node's own claim; null sends it unsigned. */
  sign(claim: SwimClaim): Uint8Array | null;
  /** True to accept a claim about `claim.id` relayed from anyone, with the signature it came with. */
  verify(claim: SwimClaim, sig: Uint8Array | undefined): boolean;
  /**
   * Told once by the member list as it is made: it applies every claim {@link verify} accepts, and
   * `holds(id)` says while it keeps a signed one of `id` (`held()` lists them), so that a checker
   * that remembers who signs needs no entry of its own per member. Optional.
   */
  attach?(list: { holds(id: string): boolean; held(): Iterable<string> }): void;
  /** The list forgot member `id`, whose signed claim it kept (see {@link attach}). Optional. */
  forgot?(id: string): void;
}

/** Where a message goes: a member's id (when known) and its address. */
export interface SwimTarget {
  id?: string;
  address: string;
  port: number;
}

/** What a request (ping, ping-req, gossip) carries besides its updates, to a Bun peer that reads it. */
export interface SwimRequestExtras {
  /** The sender's recent deaths as a filter (`swim-deaths.ts`; to peers that read lean deaths): the answer adds the receiver's that it does not hold. */
  deaths?: Uint8Array;
  /** The sender's membership checksum (`swim-sum.ts`; to peers that offer `swim_sum`): a receiver that keeps meeting another one with no change to its own set of live members exchanges digests with it. */
  sum?: number;
}

/** "Are you alive?" (direct probe), with piggybacked updates. Answered by an {@link SwimAck}. */
export interface SwimPing<U = MemberUpdate> extends SwimRequestExtras {
  kind: "ping";
  from: string;
  /** The member the sender means: a node answers a ping for someone else with a nack. */
  target: string;
  updates: U[];
}

/** "Probe `target` for me" (indirect probe). Answered by an ack (it answered) or a nack (it did not). */
export interface SwimPingReq<U = MemberUpdate> extends SwimRequestExtras {
  kind: "ping_req";
  from: string;
  target: SwimTarget & { id: string };
  updates: U[];
}

/**
 * Full-state exchange: the sender's whole member list; the answer is the receiver's. A catch-up
 * (`since` set) is a pull: the sender lists only itself and asks for what changed at the receiver
 * after the receiver's `version` it last saw.
 */
export interface SwimPushPull<U = MemberUpdate> {
  kind: "push_pull";
  from: string;
  /** True when the sender is joining (it knows no one yet). */
  join: boolean;
  members: U[];
  /** In a request: list only the members changed after this version of yours (a catch-up). */
  since?: number;
  /** In a state: the sender's version (a counter of the changes to its member list). */
  version?: number;
  /**
   * In a join's request: list at most this many members alive (those catching up at the answerer
   * when it has some, else a random sample; the joiner takes the rest from a member of that page,
   * not from the seed). Bun nodes of this version send it; an older one ignores it and answers its
   * whole state.
   */
  page?: number;
  /** In an answer to a `page` request: true when the list is such a sample, not the whole state (no `version` then). */
  partial?: boolean;
  /**
   * In a request: a digest of every member the sender holds (`swim-digest.ts`); a node that reads
   * it answers only what the sender lacks or holds older, and names in {@link want} what it lacks.
   */
  digest?: Uint8Array;
  /** In an answer to a `digest`: the hashes of the members the answerer lacks or holds older (the asker pushes them). */
  want?: Uint8Array;
  /**
   * In an answer to a catch-up pull: the answerer's records for joiners are spent this second
   * ({@link SwimConfig.joinWholeRecords}); pull elsewhere. Its `members`: the answerer's claim and
   * up to 4 live members pulling at it lately, where the asker goes on (an older Bun node merges them).
   */
  busy?: true;
}

/** Gossip: updates only, to a few random members; answered by an ack with the receiver's own updates. */
export interface SwimGossip<U = MemberUpdate> extends SwimRequestExtras {
  kind: "gossip";
  from: string;
  updates: U[];
}

/** A positive answer, with piggybacked updates. */
export interface SwimAck<U = MemberUpdate> {
  kind: "ack";
  from: string;
  updates: U[];
  /** The answerer's membership checksum, when the request carried the asker's (see {@link SwimPing.sum}). */
  sum?: number;
}

/** An indirect probe's negative answer: the intermediary is alive, the target did not answer it. */
export interface SwimNack<U = MemberUpdate> {
  kind: "nack";
  from: string;
  updates: U[];
}

/**
 * Every message a core sends. `U` is how its updates are held: {@link MemberUpdate} as a core
 * makes them; a message read from the network holds them as `swim-wire.ts`'s `InboundUpdate`
 * (some still packed, their bodies unread).
 */
export type SwimMessage<U = MemberUpdate> = SwimPing<U> | SwimPingReq<U> | SwimPushPull<U> | SwimGossip<U>;
/** Every answer a core gives (`U` as in {@link SwimMessage}). */
export type SwimAnswer<U = MemberUpdate> = SwimAck<U> | SwimNack<U> | SwimPushPull<U>;

/**
 * The ports a {@link SwimCore} is driven through: a real node plugs in its RPC pool and the wall
 * clock; a discrete-event simulation plugs in a fake network and a virtual clock.
 */
export interface SwimPorts {
  /** Seconds (any epoch, but monotonic enough for timeouts). */
  now(): number;
  /** Run `fn` after `delay` seconds; returns a cancel function. */
  schedule(delay: number, fn: () => void): () => void;
  /**
   * Send a message and resolve to the answer (a decoded value, validated by the core), or reject.
   * `timeout`: how long the core waits for this answer (seconds), for a transport that needs one.
   */
  send(to: SwimTarget, message: SwimMessage, timeout?: number): Promise<unknown>;
  /** Uniform in [0, 1); default Math.random (see {@link seededRandom}). */
  random?: () => number;
  /** Self-claim signing (default: accept all). */
  claims?: SwimClaims;
  /** Bytes an update takes in a message, for the per-message budget (default: an estimate). */
  measure?: (update: MemberUpdate) => number;
  /** Validate a member's `meta` from the network; return undefined to drop the update (default: keep as is). */
  readMeta?: (meta: unknown) => unknown;
  /**
   * The `meta` to hold for a member whose alive update is news (default: as received): a node
   * shares the strings of the many members it holds; called for news only, not for every copy.
   */
  keepMeta?: (meta: unknown) => unknown;
  /**
   * Where the member list keeps its members by id (default: a `Map` of its own). A node keeps them
   * on its peer table's entries (`PeerTable.memberStore`): one map keyed by id finds a peer's entry
   * and its SWIM record both, instead of one map per layer.
   */
  members?: MemberStore<MemberUpdate>;
  /** A member changed state (`previous` null: newly known). Called after the core's own state changed. */
  onChange?: (member: Readonly<MemberUpdate>, previous: SwimState | null) => void;
  /** A probe of `id` was acked (directly or through an intermediary): SWIM's heartbeat. */
  onAck?: (id: string) => void;
  /**
   * Seconds this node's event loop has been blocked, a running total (see `loop-lag.ts`): the
   * core's timeouts do not count that time, and a node that finds itself late grows more careful
   * (Lifeguard). Default: none measured.
   */
  stalled?: () => number;
  /**
   * True when a send failed because nothing listens at the target (a refused connect): strong
   * evidence that the member is gone, so it is probed at once, out of turn. Default: never.
   */
  isRefused?: (error: unknown) => boolean;
  /**
   * True when a send could not be made for want of this node's own resources (its process out of
   * file descriptors): no evidence about the member at all. A probe whose ping failed so asks no
   * helper and makes no suspicion; this node's local health worsens instead (`probesUnsent`).
   * Default: never.
   */
  isLocal?: (error: unknown) => boolean;
  /**
   * True when a send failed because no answer came in time (the target may be only slow): a
   * first join's request is then sent again (see `SwimCore.join`), as when the core's own wait
   * ran out; a send that failed otherwise (refused, an error answer) is not. Default: never.
   */
  isTimeout?: (error: unknown) => boolean;
  /**
   * True when `to` is known to read digest push-pulls (its hello offered `swim_digest`): a request
   * to it then carries the digest and this node's own claim only, not the whole state. Otherwise
   * the whole state goes with the digest (an older Bun node ignores the digest). Default: never.
   */
  readsDigest?: (to: SwimTarget) => boolean;
  /**
   * True when `to` is known to read lean deaths (its hello offered `swim_lean`, `swim-wire.ts`): a
   * message to it counts each death at its lean size against the piggyback budget, so it carries
   * more of them. Default: never.
   */
  readsLean?: (to: SwimTarget) => boolean;
  /** True when `to` reads membership checksums (its hello offered `swim_sum`, `swim-sum.ts`): requests to it carry this node's. Default: never. */
  readsSum?: (to: SwimTarget) => boolean;
}

/**
 * The member list's records by id: the methods of a `Map` it uses (a `Map` is one). A store keeps
 * what it is given: the list's records, whatever their type.
 */
export interface MemberStore<M> {
  readonly size: number;
  get(id: string): M | undefined;
  has(id: string): boolean;
  set(id: string, member: M): unknown;
  delete(id: string): boolean;
  values(): IterableIterator<M>;
  keys(): IterableIterator<string>;
  /** Call `each` with every member: the list's hot walks (digests, whole states) take no generator (`EntryMembers.forEach`). */
  forEach(each: (member: M) => void): void;
  /**
   * Told before the list changes a held member's address, port or meta in place (a newer alive
   * update): a store whose owner reads those off the member (the peer table's entries) lets it
   * keep what it had first. Optional (a `Map` has none).
   */
  changing?(id: string): void;
}

/** Timing and fan-out (seconds). Defaults follow memberlist's LAN preset, but for the byte budget and the gossip fan-out (noted there). */
export interface SwimConfig {
  /** One probe every this many seconds (default 1). */
  probeInterval: number;
  /** Wait this long for a direct ack before indirect probes (default 0.5); scaled by local health. */
  probeTimeout: number;
  /** Members asked to probe indirectly (default 3). */
  indirectChecks: number;
  /** Suspicion timeout: at least mult × log10(N) × probeInterval (default 4)... */
  suspicionMult: number;
  /** ...and at most this times that without confirmations (default 6). */
  suspicionMaxMult: number;
  /** A cap (seconds) on the shortest suspicion timeout, so the node's peer timeout bounds detection (default none). */
  suspicionMaxTimeout: number;
  /**
   * Each update is sent retransmitMult × ceil(log10(N + 1)) times (default 4, memberlist's LAN
   * preset; 6 until Dec 2, for a gap of the simulated 300-node join that the catch-ups and checksums
   * fill now: at 1,000 real nodes a kill was seen everywhere sooner with 4, on less CPU).
   */
  retransmitMult: number;
  /** Gossip pending updates every this many seconds (default 0.2) ... */
  gossipInterval: number;
  /**
   * ... to this many random members (default 2; memberlist's 3). A gossip message here is a call
   * whose answer carries the receiver's news back, not a one-way datagram, and each costs a
   * round trip of CPU at both ends: in the 1,000-node paced join on two cores, 2 sent 157,000 to
   * 168,000 gossip messages where 3 sent 206,000 to 229,000, and every node knew every other 2.16
   * to 3.02 s after the last join's start (3: 2.49 to 4.29 s). Unloaded (the simulation, where a
   * message costs nothing), a paced join converges as fast with 2 (1.2 s against 1.3 s at 1,000
   * nodes) and a single update reaches 99% of 1,000 nodes in 1.03 s rather than 0.72 s
   * (docs/performance-log.md, s33). While the node's local health is degraded its rounds go to
   * one member, except in a mass failure (docs/membership.md, "Local health").
   */
  gossipNodes: number;
  /** Full-state exchange with one random member every this many seconds, scaled up past 32 members (default 30). */
  pushPullInterval: number;
  /**
   * Members a joiner asks its seed for (default 32; 0: the whole state): past its
   * {@link joinWholeRecords}, the seed answers a page of its live members (those catching up at
   * it, when it has some: `swim-pullers.ts`; else a random sample), and the joiner exchanges full
   * state with one of them and catches up there. A seed that gave every joiner of a mass join its
   * whole state (and took its catch-ups) did O(N²) work alone: at 1,000, never done.
   */
  joinPage: number;
  /**
   * Member records a node gives joiners a second, at most (default 30,000; 0: pages only, catch-ups
   * not limited): whole states in place of pages (at full local health only), and catch-up pulls;
   * past it a page, and a catch-up from a member that has not pulled here within the last 3 probe
   * intervals is answered {@link SwimPushPull.busy} (those that have, 256 at most, are still
   * answered). With 50,000 and no busy answers a 1,000-node join's seed sent more catch-ups than
   * saturated processes read, and stopped reading their connections for up to 53 s: every node
   * found it dead (docs/performance-log.md, s24).
   * 10,000 until Dec 3: at 1,000 members a paced join's last joiners got pages, and the exchange
   * with a member of the page (a new connection into a saturated process) took 1 to 5 s; with
   * 30,000 every node knew every other 2.9 to 6.2 s after the last join's start (median 5.2 s),
   * against 6.2 to 9.2 s (docs/performance-log.md, s31).
   */
  joinWholeRecords: number;
  /** Full-state exchanges carry a digest of the sender's members (`swim-digest.ts`; default true; false: whole states). */
  digests: boolean;
  /**
   * Piggybacked updates per message at most this many bytes (default 8192; memberlist's UDP 1400):
   * a bigger budget spreads a mass join about five times faster in the simulation (300 nodes).
   */
  maxPiggybackBytes: number;
  /** Lifeguard local-health ceiling: timeouts stretch up to (this + 1)× (default 8). */
  awarenessMax: number;
  /** Dead and left members are remembered (and gossiped to) this long before they are forgotten (default 30). */
  deadRetention: number;
  /** Most members held (default 10,000); past it new ones are ignored. */
  maxMembers: number;
}

/** memberlist's LAN defaults, but for the byte budget and the gossip fan-out (see {@link SwimConfig}). */
export const DEFAULT_SWIM_CONFIG: Readonly<SwimConfig> = Object.freeze({
  probeInterval: 1,
  probeTimeout: 0.5,
  indirectChecks: 3,
  suspicionMult: 4,
  suspicionMaxMult: 6,
  suspicionMaxTimeout: Number.POSITIVE_INFINITY,
  retransmitMult: 4,
  gossipInterval: 0.2,
  gossipNodes: 2,
  pushPullInterval: 30,
  joinPage: 32,
  joinWholeRecords: 30_000,
  digests: true,
  maxPiggybackBytes: 8192,
  awarenessMax: 8,
  deadRetention: 30,
  maxMembers: 10_000,
});

/** Counters (monotonic) and current member counts, for tests, `node.metrics()` and benchmarks. */
export interface SwimStats {
  /** Direct probes sent, and of those not acked in time. */
  probesSent: number;
  probesFailed: number;
  /** Indirect probe requests sent to intermediaries, and acks that came back through them. */
  indirectProbes: number;
  indirectAcks: number;
  /** Nacks received (the intermediary was alive), and expected nacks that never came (Lifeguard). */
  nacks: number;
  missedNacks: number;
  /** Members this node marked suspect itself, and suspicions confirmed by others. */
  suspects: number;
  confirmations: number;
  /** Times this node refuted a suspicion (or a death) about itself by a new incarnation. */
  refutations: number;
  /** Newer records sent back to a node whose message held a suspicion or death known here to be refuted. */
  corrections: number;
  /** Pings sent to a suspect whose suspicion ran out here, before the verdict (an ack that refutes keeps it alive). */
  lastPings: number;
  /** Failed probes made while this node's own event loop ran late: no suspicion, the member probed again at the next round. */
  lateProbes: number;
  /** Probes whose ping this node could not make for want of its own resources (`SwimPorts.isLocal`): no helper asked, no suspicion. */
  probesUnsent: number;
  /** Members this node declared dead (its own verdicts: every path below, and a suspicion that timed out). */
  deathsDeclared: number;
  /**
   * Of those: members whose port refused this node's ping (`deathsRefused`), suspects whose port
   * refused a send of this node's (`deathsRefusedSuspect`), and deaths this node doubted that its
   * own probe then failed to reach (`deathsSettled`); the rest are suspicions that timed out.
   */
  deathsRefused: number;
  deathsRefusedSuspect: number;
  deathsSettled: number;
  /** Sends this node made that failed as refused connects (nothing listening at the member's port). */
  refusedSends: number;
  /** Deaths other nodes declared of a member that had just acked this node, taken as suspicions instead. */
  deathsDoubted: number;
  /** Probes out of turn, because a send to the member was refused (nothing listens there). */
  evidenceProbes: number;
  /** Probes out of turn, because the member closed this node's pooled connection to it unannounced ({@link SwimCore.dropped}). */
  droppedProbes: number;
  /** Recent deaths this node added to its answers, the asker's filter not holding them (`swim-deaths.ts`). */
  deathsResent: number;
  /** Deaths this node left out of its answers because the asker's filter held them (`BroadcastQueue.take`): the asker had them already. */
  deathsHeld: number;
  /** Requests of nothing but this node's filter of recent deaths, made in a mass failure while its queue was empty (`SwimCore`'s pulls). */
  deathPulls: number;
  /** Digest exchanges made because peers' membership checksums kept differing from this node's, its set of live members unchanged (`swim-sum.ts`). */
  sumExchanges: number;
  /** Of their findings, members held dead here and alive at the peer, pinged with their death first (`swim-sum.ts`). */
  sumDoubts: number;
  /** Timeouts waited longer because this node's own event loop was blocked meanwhile. */
  stalls: number;
  /** Gossip messages and push-pull exchanges sent; pings, ping-reqs and push-pulls answered. */
  gossipSent: number;
  pushPulls: number;
  messagesReceived: number;
  /** Of the push-pulls: joins (a full exchange with a seed or a peer just met) and a joiner's catch-up pulls. */
  joins: number;
  catchUps: number;
  /** Catch-up pulls answered busy here ({@link SwimPushPull.busy}), and this node's moved elsewhere on such an answer. */
  catchUpsRefused: number;
  catchUpsMoved: number;
  /** Updates piggybacked or gossiped; received updates applied, and ignored as old or duplicate. */
  updatesSent: number;
  updatesApplied: number;
  updatesIgnored: number;
  /** Received messages and updates dropped as malformed, or self-claims whose signature did not verify. */
  malformed: number;
  badClaims: number;
  /** This node's incarnation and local-health score (0 is healthy). */
  incarnation: number;
  awareness: number;
  /** Members (not counting this node) by state, and updates waiting in the broadcast queue. */
  alive: number;
  suspect: number;
  dead: number;
  left: number;
  queued: number;
}
