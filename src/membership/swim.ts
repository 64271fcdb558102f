/**
 * SWIM membership with Lifeguard's refinements (memberlist's design), as a pure, transport-free
 * core: it owns the member list and the protocol's timers, and talks to the world only through
 * the {@link SwimPorts} it is given, so a node drives it over RPC and a discrete-event simulation
 * drives thousands of cores in one process.
 *
 * The interface (kept stable; the simulation and `node.metrics()` build on it):
 * - `new SwimCore(self, ports, config?)`: `self` is `{ id, address, port, meta?, incarnation? }`;
 *   `ports` are `now()` (seconds), `schedule(delay, fn) → cancel`, `send(target, message) →
 *   Promise<answer>`, and optionally `random()` (seedable: {@link seededRandom}), `claims`
 *   (`sign(claim) → Uint8Array | null`, `verify(claim, sig) → boolean`, applied to alive and left
 *   claims a member makes about itself; default: unsigned, all accepted), `measure(update)`,
 *   `readMeta(meta)`, `keepMeta(meta)`, `onChange(member, previous)`, `onAck(id)`, `stalled()` and
 *   `isRefused(error)`. `config` overrides {@link SwimConfig}.
 * - `start()`, `stop()`, `join(target, timeout?)` (push-pull with a seed, then catch-up pulls),
 *   `learn(update)` (first-hand contact), `heardFrom(id)` (a message from the member itself),
 *   `remind(id)` (tell a member held suspect or dead),
 *   `leave(timeout)`, `setMeta(meta)`.
 * - `handle(message)`: answer a decoded message from the network (`ping`, `ping_req`, `push_pull`,
 *   `gossip`); null for a malformed one. Never throws.
 * - `members()`, `member(id)`, `size`, `stats()` ({@link SwimStats}).
 *
 * The protocol: every `probeInterval` one member is probed (round-robin over a shuffled list; new
 * members go in at a random place). No ack within `probeTimeout` → `indirectChecks` other members
 * are asked to probe it (`ping_req`; they answer ack or nack). No ack by the end of the interval →
 * the member is suspected. A suspicion times out after mult × log10(N) × interval, stretched up to
 * `suspicionMaxMult` × that and shrinking as independent members confirm it; then the member is
 * dead. A member that hears it is suspected (or dead) refutes with a higher incarnation. Updates
 * are queued (one per member, newest wins) and piggybacked on every message, each sent
 * retransmitMult × log10(N + 1) times within a byte budget (a newcomer's alive claim relayed by
 * another member: 6 times, 3 while this node's local health is degraded), and gossiped every
 * `gossipInterval` to `gossipNodes` random members (to one while this node's local health is
 * degraded, except in a mass failure) while any is queued. Every `pushPullInterval` (longer past
 * 32 members) one random member and this node exchange their full state; a dead member is asked
 * the same now and then, so a healed partition merges. A joiner asks its seed for a page;
 * a seed at full health answers its whole state while within `joinWholeRecords` a second, else
 * (when it holds more) a page of its live members (those catching up at it, when it has some:
 * `swim-pullers.ts`; else a random sample), and the joiner exchanges full state with one member
 * of it. The joiner pulls what changed where its state came from (`since` its last look) while
 * that keeps changing, then exchanges full state once with a random member. Lifeguard's
 * local health stretches this node's own timeouts, suspicions and intervals while its probes fail,
 * its nacks go missing or its event loop runs late; timeouts do not count time the loop was blocked
 * (`stalled`). A suspect is told at once; a send refused by a member's port (`isRefused`) probes
 * that member out of turn (so does a connection the member closed unannounced,
 * {@link SwimCore.dropped}), and a probe whose ping is refused finds it dead, without a suspicion;
 * so does any refused send to a member held suspect. A ping lost with its connection (closed or
 * reset) is sent once more. Between peers that read lean deaths (`SwimPorts.readsLean`), a request
 * carries a filter of its sender's recent deaths and the answer adds the recent deaths it lacks
 * (`swim-deaths.ts`).
 *
 * Longer than 400 lines: the protocol's rounds (probes, probes out of turn, gossip, push-pull and
 * a joiner's catch-up pulls) share the core's private state and timers; what holds no protocol
 * logic of its own is in `swim-queue.ts`, the member list's rules in `swim-members.ts`.
 *
 * @module
 */
import { sample } from "../util/random.ts";
import { Corrections, isGone, MemberList, type RelayCaps, type SwimCounters, type SwimMember, type SwimSelf } from "./swim-members.ts";
import { filterHolds, holdsDeaths, MAX_RESENT, RESEND_WINDOW, saltsOf } from "./swim-deaths.ts";
import { answerDigest, wanted, writeDigest } from "./swim-digest.ts";
import { PULLER_WINDOW, RecentPullers } from "./swim-pullers.ts";
import { afterOwnTime, Awareness, BroadcastQueue } from "./swim-queue.ts";
import { estimateBytes, leanDeathBytes } from "./swim-read.ts";
import { SUM_DOUBTS, SUM_GAP, SUM_WAIT, SumExchanges } from "./swim-sum.ts";
import {
  DEFAULT_SWIM_CONFIG,
  type MemberUpdate,
  type SwimAnswer,
  type SwimConfig,
  type SwimMessage,
  type SwimPorts,
  type SwimPushPull,
  type SwimStats,
  type SwimTarget,
} from "./swim-types.ts";
import { forgetPacked, readMessage, wantsLean, type InboundUpdate } from "./swim-wire.ts";

export type { SwimMember, SwimSelf } from "./swim-members.ts";

/**
 * Catch-up pulls after a join, at most (one per probe interval while the seed's view keeps
 * changing): two minutes of a join. With 30, the first joiners of 1,000 paced at 25 a second (a
 * join of 40 s) stopped pulling before the last ones came; gossip missed a few of those at each of
 * them, and every node knew every other 1.25 to 4.03 s after the last join returned (0.07 to 1.07
 * s with 120, five runs each).
 */
const MAX_CATCH_UPS = 120;

/** A join's requests to its seed, at most (see {@link SwimCore.join}). */
const JOIN_ATTEMPTS = 3;

/** Members of a seed's page a joiner asks in turn for the whole state, at most. */
const PAGE_HELPERS = 2;

/**
 * Members that pulled here lately kept, at most: those a page names (see {@link SwimCore.#page}),
 * and those answered past the budget for joiners (so at most this many pulls a probe interval then).
 */
const MAX_PULLERS = 256;

/** Members pulling here that a busy answer names, at most (the mover goes on at one of them). */
const MOVER_NAMES = 4;

/**
 * Times an alive claim about a member new to this node, relayed by another member, is gossiped on
 * (the member's own claim, first-hand, goes the full 6 × ⌈log10(N + 1)⌉). In a mass join every
 * node forwarded every newcomer's claim 18 to 24 times while each newcomer also reached each node
 * by the catch-up pulls: the broadcast queues held 300 updates per node for 40 s and more. In the
 * simulation of a 500-node mass join, 6 halves the gossip (23,220 messages to 11,666) and leaves
 * 499 updates queued swarm-wide when all know all instead of 201,844; the join converges in 3.1
 * virtual seconds rather than 2.1 (a simulated node costs no CPU).
 */
const RELAYED_NEWCOMER_TRANSMITS = 6;

/**
 * Times a death relayed by another member (its verdict, not this node's) is gossiped on while this
 * node has taken {@link MASS_FAILURE} deaths or more within the last {@link RESEND_WINDOW} probe
 * intervals (a mass failure); else, and for this node's own verdict, the full 4 × ⌈log10(N + 1)⌉.
 * With a killed process of 249 nodes at 1,000, every survivor received each death about 12 times:
 * 92% of the updates it read over the kill were copies of deaths it held already, read while its
 * event loop ran a second late. Relayed 6 times, half as many updates were sent and read, and the
 * kill was seen everywhere about 1 s sooner. A node the gossip misses takes such a death from the
 * answer to any of its requests, which carry its recent deaths (`swim-deaths.ts`: up to 256 in
 * one answer, those of the same window). A single death is relayed in full: its copies cost
 * little, and with 6 a lone killed node was dead everywhere 0.6 s later in the simulation.
 */
const MASS_RELAYED_DEATH_TRANSMITS = 6;

/** Deaths taken within {@link RESEND_WINDOW} probe intervals from which a failure counts as a mass one (see {@link MASS_RELAYED_DEATH_TRANSMITS}). */
const MASS_FAILURE = 16;

/** Scratch for {@link SwimCore}'s `#resend`: empty but while it runs (synchronously). */
const CARRIED_IDS = new Set<string>();

/**
 * Times an alive claim about a member new here, relayed by another member, is gossiped on while
 * this node's local health is degraded (Lifeguard's awareness score above 0: its probes went
 * unanswered or its timers ran late), rather than {@link RELAYED_NEWCOMER_TRANSMITS}: a node behind
 * on its work spent its turns on copies. In 16 alternated pairs of the 1,000-node join at 25 a second,
 * every node knew every other 4.7 s after the last start rather than 6.3 (12 pairs of 16 sooner),
 * with a fifth fewer updates sent and 5% less CPU. The same 3 in every node, healthy or not, slowed a
 * lone join into 1,000 simulated nodes (which never run late) twofold; taken only while a node is
 * behind, the simulation is unchanged.
 */
const OVERLOADED_RELAYED_NEWCOMER_TRANSMITS = 3;

/**
 * Members a gossip round goes to while this node's local health is degraded (Lifeguard's awareness
 * score above 0), rather than `gossipNodes`, unless it is in a mass failure (see
 * {@link MASS_FAILURE}): the rounds keep their pace (those hurried by a death or a newcomer, at
 * `gossipInterval`), each with one message rather than two, and a node behind on its work spends
 * fewer turns on calls whose news most members have from others. In 28 alternated pairs of the
 * 1,000-node join at 25 a second, every node knew every other 4.8 s after the last start rather
 * than 5.3 (median; sooner in 20 pairs of 28, most where the join ran away), with 8% fewer gossip
 * messages, the same CPU and the same kill. The simulation's nodes never run late: unchanged there.
 * In a mass failure the deaths must spread, and every survivor is behind: the rounds keep their
 * fan-out.
 */
const OVERLOADED_GOSSIP_NODES = 1;

/**
 * The caps {@link SwimCore} gives relayed news (see `MemberList.applyRelayed`): a newcomer's claim
 * by whether this node's local health is degraded, a death by whether it is in a mass failure.
 * One frozen object for each of the four cases, so that no message makes one.
 */
const RELAY_CAPS: readonly (readonly RelayCaps[])[] = [false, true].map((massFailure) =>
  [false, true].map((overloaded) =>
    Object.freeze({
      newcomer: overloaded ? OVERLOADED_RELAYED_NEWCOMER_TRANSMITS : RELAYED_NEWCOMER_TRANSMITS,
      death: massFailure ? MASS_RELAYED_DEATH_TRANSMITS : Number.POSITIVE_INFINITY,
    }),
  ),
);

/**
 * Pulls of a whole state a joiner tries after its catch-up, at most (see {@link SwimCore.#settle}):
 * with doubling pauses from one probe interval, over about a minute. Three within a few seconds
 * all timed out at 1,000 nodes, whose event loops ran seconds late through the join.
 */
const SETTLE_ATTEMPTS = 6;

/** Looks at an unchanged seed after which a joiner is caught up. */
const CAUGHT_UP = 2;

/**
 * Messages' worth of queued updates (`maxPiggybackBytes` each) whose packed form a node keeps
 * between messages: 256 KB at the default budget, about 1,200 updates, more than a node's queue
 * held in a 1,000-node mass join (300 to 990). With 4 messages' worth (32 KB) most takes packed
 * their updates again: fewest-sent first cycles through the whole queue, so past the budget most
 * updates were released before they were taken again (packing the queue's updates, first packings
 * and repacks, was 14% of a profiled worker's CPU). A saturated queue (4,096 updates at most)
 * still keeps only this much encoded.
 */
const ENCODED_MESSAGES = 32;

/**
 * A probe out of turn (on a refused send, or a connection the member dropped) starts while at most
 * this many probes are under way, the round's own included (so up to 5 at once without it).
 */
const MAX_EVIDENCE_PROBES = 4;
/**
 * The same bound for a probe that settles a doubted death (see `#evidence`). Such
 * a member is most likely dead (another node declared it so), and its probe is then one refused
 * connection. With four at a time, a survivor of a kill of 249 at 1,000 that doubted 9 to 18
 * deaths settled them four by four, each probe as slow as its event loop (1 to 2 s late), and
 * was the last to take them dead, seconds after the rest of the swarm (docs/performance-log.md, s28).
 */
const MAX_DOUBT_PROBES = 32;

/**
 * Last pings of suspects whose suspicion ran out (see {@link SwimCore.#expired}) under way at once,
 * at most; past it a suspicion that runs out is a verdict at once, as before (many at once are a
 * mass failure or a partition, whose members would not answer).
 */
const MAX_LAST_PINGS = 4;

/** The SWIM core (see the module header for its interface and protocol). */
export class SwimCore {
  readonly config: Readonly<SwimConfig>;
  readonly #ports: SwimPorts;
  readonly #list: MemberList;
  readonly #queue: BroadcastQueue;
  readonly #awareness: Awareness;
  readonly #timers = new Set<() => void>();
  #running = false;
  #probing = false;
  /** Members being probed now (the round's one, and those probed out of turn on evidence). */
  readonly #probed = new Set<string>();
  /** Until then the gossip rounds keep the configured pace (see {@link #gossipDelay}). */
  #hurryUntil = Number.NEGATIVE_INFINITY;
  /** The next pull of a mass failure, armed (see {@link #armPulls}). */
  #pullTimer: (() => void) | null = null;
  /** The salt of each filter of recent deaths, a new one each time (see {@link #deathFilter}). */
  readonly #nextSalt: () => number;
  /** Last pings under way (see {@link #expired}). */
  #lastPings = 0;
  /** Doubted deaths waiting for a probe (see {@link #evidence}). */
  readonly #doubtsWaiting = new Set<string>();
  /** A member whose probe failed while this node's own loop ran late, probed again at the next round (see {@link #probeOnce}). */
  #again: { id: string; incarnation: number } | null = null;
  /** The next probe round, armed (see {@link #armProbe}). */
  #probeTimer: (() => void) | null = null;
  /** The loop's blocked time (`ports.stalled()`) when the last probe round started. */
  #roundStalled = 0;
  /** Members a join through which was answered (see {@link joined}). */
  readonly #joinedWith = new Set<string>();
  /** True once a catch-up started (see {@link #catchUp}): a later join then adds no catch-up of its own. */
  #caughtUp = false;
  /** The rest of a paged join under way or done (see {@link whole}). */
  #whole: Promise<void> | null = null;
  /** When the current second of records given joiners began, and the records so far (see {@link #joinerRecords}). */
  #wholeSince = Number.NEGATIVE_INFINITY;
  #wholeRecords = 0;
  /** Resolves the pauses under way (see {@link #pause}): a stopped core's join ends. */
  readonly #wakers = new Set<() => void>();
  /** Cancels the gossip rounds' pending timer (see {@link #armGossip}). */
  #gossipTimer: (() => void) | null = null;
  /** When the gossip rounds came to rest, the queue empty (seconds; null while a round is armed: see {@link #armGossip}). */
  #gossipRestedAt: number | null = null;
  /** The exchanges a different checksum starts (see {@link #compare}). */
  readonly #sums: SumExchanges;
  /** The members catching up here lately: a page's members (see {@link #page}). */
  readonly #pullers = new RecentPullers(MAX_PULLERS);
  readonly #counters: SwimCounters = {
    probesSent: 0, probesFailed: 0, indirectProbes: 0, indirectAcks: 0, nacks: 0, missedNacks: 0, suspects: 0, confirmations: 0, refutations: 0,
    corrections: 0, lastPings: 0, lateProbes: 0, probesUnsent: 0, deathsDeclared: 0, deathsRefused: 0, deathsRefusedSuspect: 0, deathsSettled: 0, refusedSends: 0, deathsDoubted: 0, evidenceProbes: 0, droppedProbes: 0, deathsResent: 0, deathsHeld: 0, deathPulls: 0, sumExchanges: 0, sumDoubts: 0, stalls: 0, gossipSent: 0, pushPulls: 0, joins: 0, catchUps: 0, catchUpsRefused: 0, catchUpsMoved: 0, messagesReceived: 0, updatesSent: 0, updatesApplied: 0, updatesIgnored: 0, malformed: 0, badClaims: 0,
  };

  constructor(self: SwimSelf, ports: SwimPorts, config: Partial<SwimConfig> = {}) {
    this.config = Object.freeze({ ...DEFAULT_SWIM_CONFIG, ...config });
    this.#ports = ports;
    this.#sums = new SumExchanges(SUM_GAP * this.config.probeInterval, SUM_WAIT * this.config.probeInterval);
    // Encoded updates kept for the queue's next messages: a few messages' worth (see EncodedBudget).
    const encoded = { bytes: ENCODED_MESSAGES * this.config.maxPiggybackBytes, release: forgetPacked };
    const measure = ports.measure ?? ((u: MemberUpdate) => estimateBytes(u));
    // A death's size as a lean one (`[id, incarnation]`) for a message to a peer that reads them.
    const measureLean = (u: MemberUpdate): number => (u.state === "dead" ? leanDeathBytes(u.id) : measure(u));
    this.#queue = new BroadcastQueue(measure, undefined, encoded, measureLean);
    this.#queue.onQueued = () => this.#wakeGossip();
    this.#awareness = new Awareness(this.config.awarenessMax);
    const parts = { config: this.config, ports, queue: this.#queue, awareness: this.#awareness, counters: this.#counters, running: () => this.#running, onDoubt: (id: string) => this.#evidence(id, true), onGone: () => this.#hurry(), onExpired: (m: SwimMember) => this.#expired(m) };
    this.#list = new MemberList(self, parts);
    this.#nextSalt = saltsOf(self.id);
  }

  /** This node's id. */
  get id(): string {
    return this.#list.id;
  }

  /** Members known (not counting this node), in any state. */
  get size(): number {
    return this.#list.members.size;
  }

  /** True between `start()` and `stop()`. */
  get running(): boolean {
    return this.#running;
  }

  /** Every known member (not this node). */
  members(): IterableIterator<Readonly<SwimMember>> {
    return this.#list.members.values();
  }

  /** One member (a live view of the core's record: copy it to keep a snapshot), or undefined. */
  member(id: string): Readonly<SwimMember> | undefined {
    return this.#list.members.get(id);
  }

  /** Counters and current counts. */
  stats(): SwimStats {
    const byState = this.#list.countStates();
    return { ...this.#counters, incarnation: this.#list.incarnation, awareness: this.#awareness.score, ...byState, queued: this.#queue.size };
  }

  /** Start probing, gossiping and exchanging state. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#list.leaving = false;
    // Both stretch with local health, as memberlist stretches its probe interval: an overloaded
    // node sends less, where a fixed pace fed the overload (late answers, suspicions, refutations
    // to gossip, more load) until live nodes were declared dead by the thousand. Once the overload
    // has passed (a direct ack read on time, and the loop on time since the round before started)
    // the next round keeps the configured pace, as memberlist's fixed probe ticker does when acks
    // come, so that the node regains its health a point a probe interval. Stretched until then, a
    // node left at the worst health by a mass join probed every 9 s and took 44 s to recover,
    // probing a ninth as often as configured meanwhile; returning to the pace at any on-time ack
    // added a quarter to a saturated join's probes and a fifth to its CPU (docs/performance-log.md, Dec 4, s39).
    this.#armProbe(this.#awareness.scale(this.config.probeInterval));
    this.#armGossip(this.#gossipDelay());
    this.#loop(() => this.#pushPullDelay(), () => void this.#pushPullRound());
  }

  /** Stop every timer (members are kept; a restarted core carries on). */
  stop(): void {
    this.#running = false;
    for (const cancel of this.#timers) cancel();
    this.#timers.clear();
    this.#gossipTimer = null;
    this.#probeTimer = null;
    this.#pullTimer = null;
    this.#gossipRestedAt = null;
    for (const wake of this.#wakers) wake();
    this.#wakers.clear();
    this.#doubtsWaiting.clear();
    this.#list.clearSuspicions();
  }

  /** Change this node's meta: a new incarnation, disseminated as an alive update. */
  setMeta(meta: unknown): void {
    this.#list.setMeta(meta);
  }

  /**
   * Join through `target` (a seed, or a peer just met): exchange state with it, waiting at most
   * `timeout` seconds each time (default: the periodic exchange's); true when it answered.
   *
   * The request asks for a page ({@link SwimConfig.joinPage}): a seed holding more members answers
   * a random sample of its live ones, and this node then exchanges full state with one of those
   * (another if that one does not answer; not waited for: see {@link whole}) and pulls what
   * changes there; the seed's share of a mass join is a page per joiner. A seed of fewer members
   * (or an older Bun node) answers its whole state, and this node catches up at the seed. An unanswered first join is sent
   * again, {@link JOIN_ATTEMPTS} times in all at most, each after a jittered, doubling pause (a
   * late answer is still merged when it comes): retries at a fixed pace stacked up on a starved
   * seed. A node that has joined already exchanges its whole state with `target`, once.
   *
   * @param unanswered called each time an attempt went unanswered in time and another is to be
   * sent: until an answer comes this core holds no member for `target`, so nothing here would
   * notice it fall silent (the bridge hands it back to heartbeats meanwhile).
   * @param once one attempt only (the bridge's join beside a seed's `_synapse.join`, whose
   * failure is followed by a join of the usual kind: `Gossip.joinAt`).
   */
  async join(target: SwimTarget, timeout?: number, unanswered?: () => void, once = false): Promise<boolean> {
    this.#counters.joins++;
    // A node that has had a state already (a peer met later, a healed partition) takes its whole state, once.
    const first = !this.joined;
    const page = first && this.config.joinPage > 0 ? this.config.joinPage : undefined;
    let answer: SwimPushPull<InboundUpdate> | null = null;
    // Sent again only when it went unanswered in time: a refused send or an error answer is final.
    let failed = false;
    const onError = (error: unknown): void => void (failed = !this.#ports.isTimeout?.(error));
    for (let attempt = 0; attempt < (first && !once ? JOIN_ATTEMPTS : 1) && !answer && !failed && this.#running; attempt++) {
      if (attempt > 0) {
        unanswered?.();
        await this.#pause(this.config.probeInterval * 2 ** (attempt - 1) * (0.5 + this.#random()));
      }
      // A first join's answer is the swarm's own news (what its seed holds): not gossiped on, as a
      // catch-up's is not (see #catchUp). Merged at the usual cap, each joiner of a 1,000-node paced
      // join sent the whole membership on twice: 0.8 million old updates read in the bench's join.
      if (this.#running) answer = await this.#pushPull(target, true, timeout, page, onError, first ? 0 : undefined);
    }
    if (!answer) return false;
    this.#joinedWith.add(answer.from);
    // Not waited for: the node is joined, the rest of the state follows. A join() that waited for
    // it converged no sooner at 500 nodes, and held more false deaths at 1,000 (docs/performance-log.md).
    // A later join (a peer met after this node had a state) is one exchange once a catch-up ran: no
    // pulls and no exchange after them of its own. In a 1,000-node join a node met up to a dozen
    // peers SWIM did not hold yet, and each started up to 30 pulls. (A node whose first join gave
    // no catch-up, its page's members having failed it, still catches up at the peer met later.)
    if (!first && this.#caughtUp) return true;
    this.#whole = answer.partial ? this.#rest(target, answer, timeout) : null;
    if (!answer.partial && answer.version !== undefined) this.#catchUp(target, answer.version, 0, 0, target);
    return true;
  }

  /**
   * After a join answered with a page (see {@link join}): settles once the rest of the state was
   * taken from a member of the page, or that failed; null when the last join's state came whole.
   */
  get whole(): Promise<void> | null {
    return this.#whole;
  }

  /**
   * A seed answered a join with a page of its members: exchange full state with one of them (at
   * most {@link PAGE_HELPERS} tried in turn, in random order), then pull what changes there. If
   * none answers, one full exchange with a random member a probe interval later (as after a
   * catch-up); gossip and the periodic push-pull bring the rest.
   */
  async #rest(seed: SwimTarget, page: SwimPushPull<InboundUpdate>, timeout?: number): Promise<void> {
    const ids = page.members.map((u) => u.id);
    const helpers: SwimMember[] = [];
    while (ids.length > 0 && helpers.length < PAGE_HELPERS) {
      const m = this.#list.members.get(ids.splice(Math.floor(this.#random() * ids.length), 1)[0]!);
      if (m?.state === "alive" && m.id !== page.from && !sameAddress(m, seed)) helpers.push(m);
    }
    for (const helper of helpers) {
      if (!this.#running) return;
      // The rest of a first join's state: not gossiped on either (see join).
      const state = await this.#pushPull(helper, true, timeout, undefined, undefined, 0);
      if (!state) continue;
      if (state.version !== undefined) this.#catchUp(helper, state.version, 0, 0, seed);
      return;
    }
    this.#settle(seed, seed);
  }

  /** Resolve after `delay` seconds, or at once when the core stops. */
  #pause(delay: number): Promise<void> {
    return new Promise((resolve) => {
      this.#after(delay, () => {
        this.#wakers.delete(resolve);
        resolve();
      });
      this.#wakers.add(resolve);
    });
  }

  /** Run `fn` in `delay` seconds unless the core stops first ({@link stop} cancels it); returns its cancel (see {@link #drop}). */
  #after(delay: number, fn: () => void): () => void {
    const cancel = this.#ports.schedule(delay, () => {
      this.#timers.delete(cancel);
      fn();
    });
    this.#timers.add(cancel);
    return cancel;
  }

  /** Cancel a timer {@link #after} made, if any (a slot's timer armed again, or cleared). */
  #drop(cancel: (() => void) | null): void {
    if (cancel === null) return;
    cancel();
    this.#timers.delete(cancel);
  }

  #random(): number {
    return (this.#ports.random ?? Math.random)();
  }

  /**
   * True once a {@link join} was answered: this node has had a member's whole state (and pulls what
   * changes there). Holding the seed alive is not the same: gossip may name a seed, or the seed
   * introduce itself, before this node's join exchange with it is done.
   */
  get joined(): boolean {
    return this.#joinedWith.size > 0;
  }

  /**
   * After a join: every probe interval, pull what changed at `target` since the last look (its
   * `version`), until it has not changed for {@link CAUGHT_UP} looks in a row (a mass join keeps it
   * changing: the members that join after this node), at most {@link MAX_CATCH_UPS} pulls; one
   * that goes unanswered is tried again. Each member comes once and is not gossiped on (the others
   * catch up too): in a mass join the epidemic would send each of N newcomers to each node many times.
   * A pull waits the push-pull timeout: with one probe interval, in a 1,000-node join whose
   * processes ran 1 to 3 s late, many answers came after it, and the same pull was made again
   * from the same version (its answer repeating what the late one brought, or the late one lost).
   */
  #catchUp(target: SwimTarget, version: number, round: number, quiet: number, seed: SwimTarget): void {
    if (!this.#running) return;
    this.#caughtUp = true;
    if (round >= MAX_CATCH_UPS || quiet >= CAUGHT_UP) return this.#settle(target, seed);
    this.#after(this.config.probeInterval, () => {
      if (!this.#running) return;
      this.#counters.pushPulls++;
      this.#counters.catchUps++;
      void this.#request(target, this.#list.pull(version), this.#pushPullTimeout(), 0).then((answer) => {
        if (answer?.kind !== "push_pull") return this.#catchUp(target, version, round + 1, quiet, seed);
        if (answer.busy) return this.#catchUpElsewhere(target, round + 1, seed, answer.members);
        // A peer without catch-ups (an older Bun node) answered with its whole state: nothing more to pull.
        if (answer.version === undefined) return;
        this.#catchUp(target, answer.version, round + 1, answer.version === version ? quiet + 1 : 0, seed);
      });
    });
  }

  /**
   * `busy` answered a catch-up pull (it gave joiners its records' worth for the second: see
   * {@link SwimPushPull.busy}): go on at one of the members the answer `named` (those pulling at
   * `busy`) that this node holds alive, else at a random other live member; the exchange of
   * digests tells that member what this node lacks and gives its version to pull from. None left,
   * or the exchange went unanswered or busy: the catch-up ends as any does ({@link #settle}). In a
   * 1,000-node paced join every joiner that had the seed's whole state pulled there once a second
   * for the rest of the join: 100 to 280 pulls a second at one node, more than it could send.
   */
  #catchUpElsewhere(busy: SwimTarget, round: number, seed: SwimTarget, named: readonly { id: string }[]): void {
    this.#counters.catchUpsMoved++;
    const candidates: SwimMember[] = [];
    for (const u of named) {
      const m = this.#list.members.get(u.id);
      if (m !== undefined && this.#isOtherLive(m, busy, seed)) candidates.push(m);
    }
    const other = sample(candidates, 1, () => this.#random())[0] ?? this.#otherLive(busy, seed);
    if (!other || !this.#running) return this.#settle(busy, seed);
    this.#counters.pushPulls++;
    void this.#request(other, this.#exchangeRequest(other, false, true), this.#pushPullTimeout(), 0).then((answer) => {
      if (answer?.kind !== "push_pull" || answer.busy || answer.version === undefined) return this.#settle(busy, seed);
      void this.#push(other, answer);
      this.#catchUp(other, answer.version, round, 0, seed);
    });
  }

  /** A random live member that is neither `a` nor `b` (by id or address) nor in `tried`, if any. */
  #otherLive(a: SwimTarget, b: SwimTarget, tried?: ReadonlySet<string>): SwimMember | undefined {
    return this.#list.sample(1, (m) => this.#isOtherLive(m, a, b) && !tried?.has(m.id))[0];
  }

  /** True when `m` is alive and neither `a` nor `b` (by id or address). */
  #isOtherLive(m: SwimMember, a: SwimTarget, b: SwimTarget): boolean {
    return m.state === "alive" && m.id !== a.id && m.id !== b.id && !sameAddress(m, a) && !sameAddress(m, b);
  }

  /**
   * A catch-up is over: a probe interval later, one pull of the whole state of a random member other than
   * the one pulled from and the seed joined through (memberlist's push-pull, brought forward from
   * its period: minutes past 100 members). What the pulls missed (a member the pulled node held dead
   * when this node looked, and that refuted after the pulls ended; news whose gossip the other
   * joiners' pulls had taken out of their queues) is known to most members; without it, a
   * 500-node mass join left a few (node, member) pairs unknown until the periodic push-pull.
   * One that goes unanswered is made again with another member, {@link SETTLE_ATTEMPTS} in all at
   * most, after doubling pauses: a joiner whose exchanges with the page's members had failed (no
   * catch-up pull at all) had only this one, and when it failed too, a few members stayed unknown
   * to it until the periodic push-pull (minutes away past 100 members).
   */
  #settle(target: SwimTarget, seed: SwimTarget, tried = new Set<string>()): void {
    // The first a probe interval after the pulls, each retry after twice the last pause: the
    // attempts span about a minute, not the few seconds of an overload that made them fail.
    this.#after(this.config.probeInterval * 2 ** tried.size, () => {
      if (!this.#running) return;
      const other = this.#otherLive(target, seed, tried);
      if (!other) return;
      tried.add(other.id);
      // A pull: this node's own claim (and its digest: the answer is then only what this node
      // lacks, and this node pushes what the member lacks), not this node's whole state (what it
      // holds came from the swarm a moment ago). At 1,000 nodes encoding and merging the full
      // states of the exchanges was a third of a worker's CPU in the mass join.
      this.#counters.pushPulls++;
      void this.#request(other, this.#exchangeRequest(other, false, true), this.#pushPullTimeout()).then((answer) => {
        if (answer?.kind === "push_pull") this.#push(other, answer);
        else if (tried.size < SETTLE_ATTEMPTS) this.#settle(target, seed, tried);
      });
    });
  }

  /**
   * Tell member `id` what this node holds about it when that is a suspicion or a death (it was
   * heard from again: a heartbeat answered), so that a live member refutes in its answer: one
   * message, where a full-state exchange would cost the whole member list. True when the member is
   * alive here afterwards.
   */
  async remind(id: string, timeout = this.config.probeInterval): Promise<boolean> {
    const m = this.#list.members.get(id);
    if (!m || m.state === "left") return false;
    if (m.state !== "alive") {
      const message: SwimMessage = { kind: "gossip", from: this.id, updates: [{ ...this.#list.update(m), from: m.from ?? this.id }, ...this.#piggyback(m.id, this.#leans(m))] };
      await this.#request(m, message, timeout);
    }
    return this.#list.members.get(id)?.state === "alive";
  }

  /**
   * This node's own claim that it is alive (left, once leaving; signed when claims are), for a
   * member that may not know this node yet: it lets the receiver take the sender in first-hand
   * (see `gossip.ts`).
   */
  introduction(): MemberUpdate {
    return this.#list.claim();
  }

  /** Apply an update learnt first-hand (the member itself told the node). True when it changed anything. */
  learn(update: MemberUpdate): boolean {
    return this.#list.apply(update);
  }

  /**
   * Member `id` sent this node a message from its own address (checked by the caller): first-hand
   * news that it is alive now, which makes another node's verdict of its death doubtful here.
   */
  heardFrom(id: string): void {
    this.#list.heard(id);
  }

  /**
   * Leave: disseminate a `left` update about this node (to `gossipNodes` members at once, and on
   * anything answered until stopped), waiting at most `timeout` seconds for those sends.
   */
  async leave(timeout: number): Promise<void> {
    this.#list.leaving = true;
    const update = this.#list.selfUpdate("left");
    this.#queue.push(update);
    const targets = this.#list.sample(this.config.gossipNodes, (m) => !isGone(m.state));
    const message = { kind: "gossip" as const, from: this.id, updates: [update] };
    const sends = targets.map((m) => this.#ports.send(m, message).then(() => true, () => false));
    await this.#firstOf(sends, timeout, (all) => all.length === sends.length);
  }

  /** Answer a decoded message from the network; null when it is malformed (counted). Never throws. */
  async handle(raw: unknown): Promise<SwimAnswer | null> {
    const read = readMessage(raw, this.#ports.readMeta);
    if (!read) {
      this.#counters.malformed++;
      return null;
    }
    this.#counters.malformed += read.malformed;
    this.#counters.messagesReceived++;
    const message = read.message;
    // An asker that reads lean deaths gets them in the answer (`swim-wire.ts`): more fit its budget.
    const lean = wantsLean(raw);
    switch (message.kind) {
      case "ping": {
        // What the message said that this node knows to be refuted goes back first (see #correct).
        const corrections = new Corrections();
        this.#applyAll(message.updates, message.from, true, corrections);
        this.#compare(message.from, message.sum, undefined, message.deaths);
        if (message.target !== this.id) return this.#toldOf(message.from, { kind: "nack", from: this.id, updates: this.#corrected(corrections, []) });
        return this.#resend(message.deaths, lean, message.from, this.#toldOf(message.from, this.#ack(message.from, lean, corrections, message.sum !== undefined, message.deaths)));
      }
      case "gossip": {
        const corrections = new Corrections();
        this.#applyAll(message.updates, message.from, true, corrections);
        this.#compare(message.from, message.sum, undefined, message.deaths);
        return this.#resend(message.deaths, lean, message.from, this.#toldOf(message.from, this.#ack(message.from, lean, corrections, message.sum !== undefined, message.deaths)));
      }
      case "ping_req": {
        const corrections = new Corrections();
        this.#applyAll(message.updates, message.from, true, corrections);
        this.#compare(message.from, message.sum, undefined, message.deaths);
        const ping: SwimMessage = { kind: "ping", from: this.id, target: message.target.id, updates: this.#piggyback(message.target.id, this.#leans(message.target)) };
        const answer = await this.#request(message.target, ping, this.#awareness.scale(this.config.probeTimeout));
        const ok = answer?.kind === "ack" && answer.from === message.target.id;
        return this.#resend(message.deaths, lean, message.from, this.#toldOf(message.from, { kind: ok ? "ack" : "nack", from: this.id, updates: this.#corrected(corrections, this.#piggyback(message.from, lean, message.deaths)) }));
      }
      case "push_pull": {
        this.#list.merge(message);
        // A joiner that asks for a page gets a sample when this node holds more and cannot afford its whole state (see `join`).
        if (message.page !== undefined && message.since === undefined && this.#list.members.size > message.page && !this.#affordsWhole()) return this.#page(message.page);
        // Answered after the merge, so a refutation it caused goes back at once (a healed partition).
        if (message.digest !== undefined && message.since === undefined) return answerDigest(this.#list, message.digest);
        if (message.since === undefined) return this.#list.state(false);
        // A pull of what changed since (a joiner's catch-up, or the push after a digest's `want`):
        // its records count against what this node gives joiners a second. Past that, a member
        // pulling here lately is still answered (the set holds still: `swim-pullers.ts`), and a
        // newcomer is answered busy, with members of that set to go on at (what it pushed was
        // taken above). A newcomer answered joins the set while it has room.
        const window = this.#pullerWindow();
        const held = this.#pullers.holds(message.from, window);
        if (!held && this.config.joinWholeRecords > 0 && this.#joinerRecords(0) >= this.config.joinWholeRecords) {
          this.#counters.catchUpsRefused++;
          return { kind: "push_pull", from: this.id, join: false, members: [this.#list.claim(), ...this.#named(message.from, window)], busy: true };
        }
        const changed = this.#list.state(false, message.since);
        this.#joinerRecords(changed.members.length);
        if (held || this.#pullers.count(window) < MAX_PULLERS) this.#pullers.add(message.from, this.#ports.now());
        return changed;
      }
      default:
        this.#counters.malformed++;
        return null;
    }
  }

  /**
   * `answer` to a request from `from` that carried `filter`, the asker's recent deaths (Bun peers
   * that read lean deaths, `lean`: `swim-deaths.ts`), with the deaths this node took in the last
   * {@link RESEND_WINDOW} probe intervals that the filter does not hold and that are dead here
   * still added (lean, about 74 bytes each; at most {@link MAX_RESENT}). A mass death's news
   * reaches every node that asks a node holding it, not only those its gossip happens to reach.
   */
  #resend(filter: Uint8Array | undefined, lean: boolean, from: string, answer: SwimAnswer): SwimAnswer {
    if (filter === undefined || !lean || answer.kind === "push_pull") return answer;
    const ids = this.#list.recent.missing(filter, this.#ports.now() - RESEND_WINDOW * this.config.probeInterval, MAX_RESENT);
    if (ids.length === 0) return answer;
    // The ids the answer carries already, in one set for the process (filled and emptied here, in
    // one go): a set made for each answer was 3% of a survivor's CPU over a 1,000-node kill, its
    // table fresh each time and the answers' piggybacks 100 updates long.
    const carried = CARRIED_IDS;
    const added: MemberUpdate[] = [];
    try {
      for (const u of answer.updates) carried.add(u.id);
      for (const id of ids) {
        const m = this.#list.members.get(id);
        if (m?.state === "dead" && id !== from && !carried.has(id)) added.push(this.#list.update(m));
      }
    } finally {
      carried.clear();
    }
    if (added.length === 0) return answer;
    this.#counters.deathsResent += added.length;
    return { ...answer, updates: [...answer.updates, ...added] };
  }

  /** This node's recent deaths as a filter for a request (`swim-deaths.ts`): twice the window an answer adds from, and the deaths it doubts. */
  #deathFilter(): Uint8Array {
    const since = this.#ports.now() - 2 * RESEND_WINDOW * this.config.probeInterval;
    return this.#list.recent.filter(since, this.#list.doubtedIds(), this.#nextSalt());
  }

  /**
   * An answer to member `from`, with what this node holds about it first when that is a suspicion
   * or a death: the sender is alive (it just sent this), so it refutes in one round trip. Gossip
   * goes to live members only, so a member declared dead by mistake heard of it only at its next
   * full exchange (minutes past 100 members), and was re-declared dead wherever it went meanwhile:
   * at 1,000 nodes on two loaded cores, tens of thousands of false deaths undid a join.
   */
  #toldOf(from: string, answer: SwimAnswer): SwimAnswer {
    const m = this.#list.members.get(from);
    if (!m || (m.state !== "suspect" && m.state !== "dead") || answer.kind === "push_pull") return answer;
    return { ...answer, updates: [{ ...this.#list.update(m), from: m.from ?? this.id }, ...answer.updates.filter((u) => u.id !== from)] };
  }

  // --- probing -----------------------------------------------------------------------------

  async #probeRound(): Promise<void> {
    if (this.#probing || !this.#running) return;
    const again = this.#probeAgain();
    const target = again ?? this.#list.nextTarget();
    if (!target) return;
    this.#probing = true;
    const started = this.#ports.now();
    const stalledBefore = this.#roundStalled;
    this.#roundStalled = this.#ports.stalled?.() ?? 0;
    try {
      // Acked on time, and the loop ran on time since the round before started (the overload has
      // passed, not a lull within it): the next round at the configured pace from this one's start
      // (never later than the one armed, a probe interval stretched by local health after it).
      const onTime = await this.#probe(target, again !== undefined);
      const calm = (this.#ports.stalled?.() ?? 0) - stalledBefore <= this.config.probeTimeout / 2;
      if (onTime && calm && this.#running) {
        this.#armProbe(Math.max(0, started + this.config.probeInterval - this.#ports.now()));
      }
    } finally {
      this.#probing = false;
    }
  }

  /** Arm the next probe round `delay` seconds from now (in place of one armed), each next one a stretched probe interval after it starts. */
  #armProbe(delay: number): void {
    this.#drop(this.#probeTimer);
    this.#probeTimer = this.#after(delay, () => {
      this.#probeTimer = null;
      if (!this.#running) return;
      // Armed once the round has started (what its start did to local health counts).
      void this.#probeRound();
      this.#armProbe(this.#awareness.scale(this.config.probeInterval));
    });
  }

  /** The member to probe again this round (see {@link #probeOnce}), if it is still alive here at the incarnation its probe failed at. */
  #probeAgain(): SwimMember | undefined {
    const again = this.#again;
    this.#again = null;
    const m = again === null ? undefined : this.#list.members.get(again.id);
    return m !== undefined && m.incarnation === again!.incarnation && (m.state === "alive" || m.state === "suspect") ? m : undefined;
  }

  /**
   * A send to member `id` was refused (nothing listens at its address: it crashed, or its process
   * was killed): probe it now, out of the round-robin turn, so a mass crash is found in the time
   * of one probe rather than when each dead member's turn comes. The probe runs as usual
   * (indirect probes, then suspicion), so a member that is only slow is protected as ever; at
   * most {@link MAX_EVIDENCE_PROBES} at a time, one per member. `doubted`: a suspect whose death
   * another node declared and this node doubted (see `MemberList`): its probe settles it (up to
   * {@link MAX_DOUBT_PROBES} probes under way then).
   */
  #evidence(id: string, doubted = false, counter: "evidenceProbes" | "droppedProbes" = "evidenceProbes"): boolean {
    const m = this.#list.members.get(id);
    if (!this.#running || !m || m.state !== (doubted ? "suspect" : "alive") || this.#probed.has(id)) return false;
    if (this.#probed.size > (doubted ? MAX_DOUBT_PROBES : MAX_EVIDENCE_PROBES)) {
      // A doubted death waits for a free probe (one that ends frees one): left to its suspicion's
      // timeout it would be called dead seconds after the rest of the swarm did.
      if (doubted) this.#doubtsWaiting.add(id);
      return false;
    }
    this.#counters[counter]++;
    void this.#probe(m);
    return true;
  }

  /**
   * Member `id` closed this node's pooled connection to it without a going-away (a Bun node says
   * so before it closes one): its process most likely died. Probe it now, out of turn, as after a
   * refused send ({@link #evidence}): a dead member's connect is refused, its verdict at once,
   * without waiting for its turn or for another node's send; a live one (a link that broke) acks,
   * and nothing changes. In a killed process's first moments every survivor's connections to it
   * close together, so its members' first verdicts come in the time of one connect.
   *
   * @returns true when this node holds the member and has nothing more to do for it (its probe is
   * under way, or it is not alive here); false when it does not hold it, or too many probes are
   * under way already (another node sharing the pool may take it).
   */
  dropped(id: string): boolean {
    const m = this.#list.members.get(id);
    if (!this.#running || !m) return false;
    return m.state !== "alive" || this.#probed.has(id) || this.#evidence(id, false, "droppedProbes");
  }

  /**
   * A send to member `id` was refused. Held suspect (on another member's word, or after a probe of
   * this node's that went unanswered), it is dead now: nothing listens at its port, evidence that
   * a live member cannot give (a slow one does not refuse; a restarted one comes back at a higher
   * incarnation), as a refused probe is ({@link #probeOnce}). Without it such a member waited out
   * its suspicion here (stretched by local health) while confirmations went round the swarm, and a
   * death this node doubted waited for a probe of its own. An alive member is probed out of turn
   * ({@link #evidence}).
   */
  #refusedBy(id: string): void {
    const m = this.#list.members.get(id);
    if (this.#running && m?.state === "suspect") {
      this.#counters.deathsRefusedSuspect++;
      this.#list.declareDead(m);
      return;
    }
    this.#evidence(id);
  }

  /** Probe `m` (unless a probe of it is under way); true when it acked directly while this node's loop ran on time. */
  async #probe(m: SwimMember, again = false): Promise<boolean> {
    if (this.#probed.has(m.id)) return false;
    this.#probed.add(m.id);
    try {
      return await this.#probeOnce(m, again);
    } finally {
      this.#probed.delete(m.id);
      for (const id of this.#doubtsWaiting) {
        this.#doubtsWaiting.delete(id);
        if (!this.#list.doubted(id)) continue; // refuted, or dead by now
        this.#evidence(id, true);
        break;
      }
    }
  }

  async #probeOnce(m: SwimMember, again = false): Promise<boolean> {
    const started = this.#ports.now();
    const incarnation = m.incarnation;
    const interval = this.#awareness.scale(this.config.probeInterval);
    // Late, for local health: a wait stretched for a blocked loop, or a loop blocked for more than
    // half a probe timeout while the probe ran (its ack was read late too, if in time).
    let stalled = false;
    const onStall = (): void => void (stalled = true);
    const blockedAtStart = this.#ports.stalled?.() ?? 0;
    const late = (): boolean => stalled || (this.#ports.stalled?.() ?? 0) - blockedAtStart > this.config.probeTimeout / 2;
    this.#counters.probesSent++;
    // Lifeguard's buddy system: a suspect hears of its suspicion in the probe itself, and refutes.
    const updates = m.state === "suspect" ? [{ ...this.#list.update(m), from: this.id }, ...this.#piggyback(m.id, this.#leans(m))] : this.#piggyback(m.id, this.#leans(m));
    const ping: SwimMessage = { kind: "ping", from: this.id, target: m.id, updates };
    // Nothing listening at its port (see the suspicion below).
    let refusedDirect = false;
    const onRefused = (): void => void (refusedDirect = true);
    // A ping lost with its connection (closed or reset, neither refused nor timed out) is sent once
    // more: in a killed process's first moments the pings on its pooled connections fail so, and
    // such a probe waited out its helpers and a stretched suspicion where a new connect is refused.
    let lost = false;
    // The ping could not be made: this process has no descriptor left (see below).
    let unsent = false;
    const onLost = (error: unknown): void => {
      unsent = this.#ports.isLocal?.(error) === true;
      lost = !unsent && !this.#ports.isRefused?.(error) && !this.#ports.isTimeout?.(error);
    };
    const direct = this.#request(m, ping, interval, undefined, onRefused, onLost)
      .then((a) => (a === null && lost && this.#running ? this.#request(m, ping, interval, undefined, onRefused) : a))
      .then((a) => a?.kind === "ack" && a.from === m.id);
    if (await this.#firstOf([direct], this.#awareness.scale(this.config.probeTimeout), undefined, onStall)) {
      const wasLate = late();
      this.#awareness.apply(wasLate ? 1 : -1);
      this.#list.heard(m.id);
      this.#ports.onAck?.(m.id);
      return !wasLate;
    }
    // A doubted death (see below) whose own ping found nothing listening at the member's port:
    // this node's evidence agrees with the verdict already, with no helper to wait for (under load
    // their nacks took seconds, and a killed process's members are doubted by many nodes).
    if (refusedDirect && this.#settleDoubt(m.id, incarnation, true)) return false;
    // A refused ping asks no helper: they would meet the same closed port (three ping-reqs and three
    // pings, each refused ping a probe out of turn at its helper: with a killed quarter of 500
    // simulated nodes, 60% of the kill's messages), and its suspicion is the shortest anyway. Nor
    // does a ping this node could not make (below): its requests to helpers need what it lacks.
    const helpers = refusedDirect || unsent ? [] : this.#list.sample(this.config.indirectChecks, (h) => h.state === "alive" && h.id !== m.id);
    this.#counters.indirectProbes += helpers.length;
    let nacks = 0;
    // A helper whose port refused is gone, not a sign of this node's own trouble: not a missed nack.
    let refused = 0;
    const indirect = helpers.map((h) => {
      const req: SwimMessage = { kind: "ping_req", from: this.id, target: { id: m.id, address: m.address, port: m.port }, updates: this.#piggyback(h.id, this.#leans(h)) };
      return this.#request(h, req, interval, undefined, () => void refused++).then((a) => {
        if (a?.kind === "nack") nacks++;
        return a?.kind === "ack" && a.from === h.id;
      });
    });
    const remaining = Math.max(0, started + interval - this.#ports.now());
    const acked = await this.#firstOf([direct, ...indirect.map((p) => p.then((ok) => ok && !!++this.#counters.indirectAcks))], remaining, undefined, onStall);
    if (!this.#running) return false;
    if (acked) {
      this.#awareness.apply(late() ? 1 : -1);
      this.#list.heard(m.id);
      this.#ports.onAck?.(m.id);
      return false;
    }
    // Lifeguard: missing nacks mean this node's own links are bad, and a blocked event loop that
    // this node itself is slow: either way it grows more careful.
    const missed = helpers.length - nacks - refused;
    this.#counters.nacks += nacks;
    this.#counters.missedNacks += missed;
    this.#awareness.apply((refusedDirect ? 0 : helpers.length > refused ? missed : 1) + (late() ? 1 : 0));
    // The ping could not be made (this process out of file descriptors: `isLocal`): no evidence
    // about the member at all. Before the transport told this apart, Bun called such a connect
    // refused, and a node out of descriptors declared each live member it probed dead at once. The
    // member stays as it is; this node's local health worsened above (no helper: one missed).
    if (unsent) {
      this.#counters.probesUnsent++;
      return false;
    }
    this.#counters.probesFailed++;
    // Another node declared it dead, this node doubted that (it had heard from it a moment
    // before), and now its own probe failed too: dead, without a suspicion of its own on top.
    if (this.#settleDoubt(m.id, incarnation)) return false;
    const current = this.#list.members.get(m.id);
    // A probe that failed while this node's own loop ran late (its waits stretched, or blocked
    // for half a probe timeout) is no evidence against the member yet: its ack may have come while
    // this node could not read it. The member is probed again at the next round, and that probe's
    // failure counts whatever the loop did. In the 1,000-node join every suspicion was made by a
    // late prober (456 in one run, docs/performance-log.md s26), each one a wave of its suspicion and
    // its refutation through the whole swarm. A refused ping is evidence whatever the loop did.
    if (!again && !refusedDirect && late() && this.#again === null && current !== undefined && current.incarnation === incarnation && (current.state === "alive" || current.state === "suspect")) {
      this.#again = { id: m.id, incarnation };
      this.#counters.lateProbes++;
      return false;
    }
    if (current && current.state === "alive" && current.incarnation === incarnation) {
      // Nothing listens at its port (a refused connect, which the kernel answers whatever the
      // load): dead now, not suspect first. Lifeguard's suspicion protects a member that is only
      // slow, and a slow member does not refuse; a restarted one comes back at a higher incarnation.
      // The suspicion (1 s at 1,000 nodes with a 4 s peer timeout) delayed every verdict of a killed
      // process, and its gossip and confirmations were a third of the updates the kill sent (in
      // the simulation of a killed quarter of 1,000 loaded nodes: docs/performance-log.md, Dec 1).
      if (refusedDirect) {
        this.#counters.deathsRefused++;
        this.#list.declareDead(current);
        return false;
      }
      this.#counters.suspects++;
      const suspicion: MemberUpdate = { id: m.id, incarnation, state: "suspect", address: m.address, port: m.port, from: this.id };
      this.#list.apply(suspicion);
      // Told at once too (not only when its next probe comes): a live member refutes in its ack.
      void this.#request(m, { kind: "gossip", from: this.id, updates: [suspicion, ...this.#piggyback(m.id, this.#leans(m))] }, interval);
    } else if (current && current.state === "suspect" && current.incarnation === incarnation) {
      // Held suspect on another node's word, and this node's own probe failed too: an independent
      // confirmation (memberlist's suspectNode on a suspect), counted here and spread, so that the
      // suspicion shrinks towards its minimum everywhere. Without it, confirmations came only from
      // nodes that had suspected the member before they heard anyone else's suspicion.
      this.#list.apply({ ...this.#list.update(current), state: "suspect", from: this.id });
    }
    return false;
  }

  /**
   * A suspicion of member `m` ran out here: ping it once more, its suspicion first, before the
   * verdict (true: the member list waits for the answer). A live member answers with its
   * refutation (an answer puts it first: `MemberList.#correct`), and is alive here at once; no ack
   * within a probe timeout (or a refused connect) is the verdict. In the 1,000-node mass join the
   * last false deaths (and the last pairs the swarm waited for) were suspicions that ran out,
   * 10 to 15 s after the joins, at nodes that had missed a refutation made seconds before; each
   * verdict then spread to hundreds of nodes and had to be refuted again. It costs one ping per
   * suspicion that runs out, and delays the verdict of a silent crash by at most a probe timeout
   * (a refused one not at all); at most {@link MAX_LAST_PINGS} at once.
   */
  #expired(m: SwimMember): boolean {
    if (!this.#running || this.#lastPings >= MAX_LAST_PINGS) return false;
    this.#lastPings++;
    this.#counters.lastPings++;
    const incarnation = m.incarnation;
    const ping: SwimMessage = { kind: "ping", from: this.id, target: m.id, updates: [{ ...this.#list.update(m), from: this.id }, ...this.#piggyback(m.id, this.#leans(m))] };
    void this.#request(m, ping, this.#awareness.scale(this.config.probeTimeout)).then((answer) => {
      this.#lastPings--;
      this.#list.expired(m.id, incarnation, answer?.kind === "ack" && answer.from === m.id);
    });
    return true;
  }

  /**
   * Member `id` is held suspect at `incarnation` because this node doubted another node's verdict
   * of its death, and this node's own probe failed: dead here now (true), as the verdict said.
   */
  #settleDoubt(id: string, incarnation: number, refused = false): boolean {
    const current = this.#list.members.get(id);
    if (!current || current.state !== "suspect" || current.incarnation !== incarnation || !this.#list.doubted(id)) return false;
    if (refused) this.#counters.deathsRefused++;
    else this.#counters.deathsSettled++;
    this.#list.declareDead(current);
    return true;
  }

  /**
   * Send and read the answer (its piggybacked updates applied; a push-pull's records merged, alive
   * ones only with `liveOnly`); null on failure (`onError` told) or after `timeout`. When the
   * answer holds a suspicion or death this node knows to be refuted, the newer records are sent
   * back to the answerer at once (`correct`: not for an answer to such a correction itself), as an
   * answer to a request carries them (see `MemberList.#correct`).
   */
  async #request(to: SwimTarget, message: SwimMessage, timeout: number, mergeCap?: number, onRefused?: () => void, onError?: (error: unknown) => void, correct = true, liveOnly = false): Promise<SwimAnswer<InboundUpdate> | null> {
    this.#counters.updatesSent += "updates" in message ? message.updates.length : 0;
    // To a peer that reads lean deaths, the filter of this node's recent deaths: the answer adds those it lacks (see #resend).
    if (message.kind !== "push_pull" && this.#leans(to)) message = { ...message, deaths: this.#deathFilter() };
    // To a peer that reads checksums, this node's: its ack carries its own (see #compare).
    if (message.kind !== "push_pull" && this.#ports.readsSum?.(to) === true) message = { ...message, sum: this.#list.sum() };
    const sent = this.#ports.send(to, message, timeout).then(
      (raw) => {
        const read = readMessage(raw, this.#ports.readMeta);
        if (!read || read.message.kind === "ping" || read.message.kind === "ping_req" || read.message.kind === "gossip") {
          this.#counters.malformed++;
          return null;
        }
        this.#counters.malformed += read.malformed;
        const answer = read.message;
        // A message of its own: deaths and accusations of this node only (not others' suspicions).
        const corrections = correct && this.#running ? new Corrections(false) : undefined;
        if (answer.kind === "push_pull") this.#list.merge(answer, mergeCap, corrections, liveOnly);
        else this.#applyAll(answer.updates, answer.from, false, corrections);
        if (answer.kind === "ack") this.#compare(answer.from, answer.sum, to);
        if (corrections && corrections.updates.length > 0) {
          this.#counters.corrections += corrections.updates.length;
          const back: SwimMessage = { kind: "gossip", from: this.id, updates: [...corrections.updates] };
          void this.#request({ id: answer.from, address: to.address, port: to.port }, back, this.config.probeInterval, undefined, undefined, undefined, false);
        }
        return answer;
      },
      (error: unknown) => {
        onError?.(error);
        if (!this.#ports.isRefused?.(error)) return null;
        this.#counters.refusedSends++;
        onRefused?.();
        if (to.id !== undefined) this.#refusedBy(to.id);
        return null;
      },
    );
    let answer: SwimAnswer<InboundUpdate> | null = null;
    await this.#firstOf([sent.then((a) => ((answer = a), true))], timeout);
    return answer;
  }

  /**
   * Resolve true as soon as one of `promises` resolves true (or `done(results)` says so), false
   * when all resolved otherwise or `timeout` seconds of this node's own time passed (`onStall`
   * told when the wait was stretched by a blocked event loop).
   */
  #firstOf(promises: Promise<boolean>[], timeout: number, done?: (results: boolean[]) => boolean, onStall?: () => void): Promise<boolean> {
    return new Promise((resolve) => {
      const results: boolean[] = [];
      let settled = false;
      const finish = (value: boolean): void => {
        if (settled) return;
        settled = true;
        cancel();
        resolve(value);
      };
      // The wait does not count time this node's event loop was blocked (up to awarenessMax timeouts more).
      const cancel = afterOwnTime((d, f) => this.#ports.schedule(d, f), this.#ports.stalled, timeout, timeout * this.config.awarenessMax, () => finish(false), () => {
        this.#counters.stalls++;
        onStall?.();
      });
      if (promises.length === 0) finish(false);
      for (const p of promises) {
        p.then((ok) => {
          results.push(ok);
          if (ok && !done) finish(true);
          else if (done?.(results) || results.length === promises.length) finish(done ? true : false);
        }, () => {
          results.push(false);
          if (results.length === promises.length) finish(false);
        });
      }
    });
  }

  // --- dissemination -----------------------------------------------------------------------

  /**
   * The wait before the next gossip round: stretched by local health (an overloaded node sends
   * less), but for a while after a member went dead or left here, at the configured pace, so that
   * a crash spreads in rounds of `gossipInterval` rather than of up to (awarenessMax + 1) times that (a node that is merely slow would otherwise
   * slow every survivor's detection).
   */
  #gossipDelay(): number {
    return this.#ports.now() < this.#hurryUntil ? this.config.gossipInterval : this.#awareness.scale(this.config.gossipInterval);
  }

  /**
   * A member went dead or left here: gossip it at once, then at the configured pace for as many
   * rounds as its transmissions take at `gossipNodes` a round (a node whose local health is
   * degraded gossips to one member a round, see {@link OVERLOADED_GOSSIP_NODES}, and sends what is
   * left after them at its stretched pace).
   */
  #hurry(): void {
    const now = this.#ports.now();
    const hurrying = now < this.#hurryUntil;
    const transmissions = this.config.retransmitMult * Math.ceil(Math.log10(this.#list.members.size + 2));
    this.#hurryUntil = now + Math.ceil(transmissions / Math.max(1, this.config.gossipNodes)) * this.config.gossipInterval;
    // A round now, and the next ones at the configured pace (the wait armed may be a stretched one).
    if (!hurrying && this.#running) this.#armGossip(0);
    if (this.#pullTimer === null) this.#armPulls();
  }

  /** True while this node is in a mass failure: {@link MASS_FAILURE} deaths or more taken within {@link RESEND_WINDOW} probe intervals. */
  #massFailure(): boolean {
    // The clock only when there were that many deaths at all (asked at every member learnt by gossip, see #hurry).
    const recent = this.#list.recent;
    return recent.size >= MASS_FAILURE && recent.atLeast(MASS_FAILURE, this.#ports.now() - RESEND_WINDOW * this.config.probeInterval);
  }

  /**
   * In a mass failure, once a probe interval (not stretched by local health) while this node has
   * nothing queued: a request of nothing but its filter of recent deaths, to one random live member
   * that reads lean deaths, whose answer adds the recent deaths the filter lacks (see #resend).
   * A node that has gossiped on what it took sends no gossip, and its probes are stretched by its
   * local health (up to 9 probe intervals apart): in a 1,000-node kill one such survivor, at local
   * health 6, took the last death it lacked 4.7 s after every other survivor had it. Armed as a
   * death is taken (see {@link #hurry}); stops once the mass failure is past.
   */
  #armPulls(): void {
    if (!this.#running || !this.#massFailure()) return;
    this.#pullTimer = this.#after(this.config.probeInterval, () => {
      this.#pullTimer = null;
      if (!this.#running) return;
      if (this.#queue.size === 0) this.#pullDeaths();
      this.#armPulls();
    });
  }

  #pullDeaths(): void {
    const to = this.#list.sample(1, (m) => !isGone(m.state) && this.#leans(m))[0];
    if (!to) return;
    this.#counters.deathPulls++;
    // No updates: #request adds the filter (a peer that reads lean deaths), the answer what it lacks.
    void this.#request(to, { kind: "gossip", from: this.id, updates: [] }, this.config.probeInterval);
  }

  /**
   * (Re-)arm the gossip rounds: the next in `delay` seconds, then each after {@link #gossipDelay}.
   * A round that finds the queue empty (and no death to hurry) arms none: the rounds rest until
   * an update is queued ({@link #wakeGossip}). A settled node sends nothing in them anyway, and
   * each one was two turns of the event loop (a timer, then the turn after it) five times a
   * second per node: a settled swarm of 250 in one process took 0.66 ms of CPU a node a second
   * with them, 0.52 without (`bench/settled.ts`, medians of three runs).
   */
  #armGossip(delay: number): void {
    this.#gossipRestedAt = null;
    this.#drop(this.#gossipTimer);
    this.#gossipTimer = this.#after(delay, () => {
      this.#gossipTimer = null;
      if (!this.#running) return;
      this.#gossipRound();
      const now = this.#ports.now();
      if (this.#queue.size === 0 && now >= this.#hurryUntil) this.#gossipRestedAt = now;
      else this.#armGossip(this.#gossipDelay());
    });
  }

  /**
   * An update went into the empty queue: rounds that rested start again, the next where the
   * rounds would have been had they gone on (in step with the rounds' pace since they rested).
   */
  #wakeGossip(): void {
    const rested = this.#gossipRestedAt;
    if (rested === null || !this.#running) return;
    const pace = this.#gossipDelay();
    this.#armGossip(pace - ((this.#ports.now() - rested) % pace));
  }

  /**
   * Members a gossip round goes to: `gossipNodes`, but {@link OVERLOADED_GOSSIP_NODES} while this
   * node's local health is degraded and it is not in a mass failure (see the constant).
   */
  #gossipFanout(): number {
    const fanout = this.config.gossipNodes;
    return this.#awareness.degraded && !this.#massFailure() ? Math.min(OVERLOADED_GOSSIP_NODES, fanout) : fanout;
  }

  #gossipRound(): void {
    if (this.#queue.size === 0) return;
    for (const m of this.#list.sample(this.#gossipFanout(), (t) => !isGone(t.state))) {
      const updates = this.#piggyback(m.id, this.#leans(m));
      // None for this member (it sent this node the news queued): another may get some.
      if (updates.length === 0) continue;
      this.#counters.gossipSent++;
      void this.#request(m, { kind: "gossip", from: this.id, updates }, this.config.probeInterval);
    }
  }

  async #pushPullRound(): Promise<void> {
    const alive = this.#list.sample(1, (m) => !isGone(m.state))[0];
    if (alive) await this.#pushPull(alive, false);
    // A dead member may be alive behind a partition that healed: try one now and then.
    const dead = this.#list.sample(1, (m) => m.state === "dead")[0];
    if (dead) await this.#pushPull(dead, false);
  }

  async #pushPull(target: SwimTarget, join: boolean, timeout = this.#pushPullTimeout(), page?: number, onError?: (error: unknown) => void, mergeCap?: number): Promise<SwimPushPull<InboundUpdate> | null> {
    this.#counters.pushPulls++;
    const request = page === undefined ? this.#exchangeRequest(target, join, false) : { ...this.#list.state(join), page };
    const answer = await this.#request(target, request, timeout, mergeCap, undefined, onError);
    if (answer?.kind !== "push_pull") return null;
    this.#push(target, answer);
    return answer;
  }

  /**
   * A full-state exchange's request (`pull`: this node's own claim only, the whole state asked
   * back). With {@link SwimConfig.digests} it carries a digest of this node's members, and a node
   * that reads it answers only what this node lacks or holds older (`swim-digest.ts`); to a peer
   * known to read it, the digest goes instead of the whole state. At 1,000 nodes the records of
   * whole states, encoded and merged, were a quarter to a third of a worker's CPU in a mass join.
   */
  #exchangeRequest(target: SwimTarget, join: boolean, pull: boolean): SwimPushPull {
    const bare = pull || (this.config.digests && this.#ports.readsDigest?.(target) === true);
    const request: SwimPushPull = bare ? { ...this.#list.pull(), join } : this.#list.state(join);
    if (this.config.digests) request.digest = writeDigest(this.#list);
    return request;
  }

  /**
   * The answer to a digest named members this node holds and the answerer lacks or holds older
   * (`want`): push them, as a push-pull whose answer is only what changed there since (alive
   * records only, both ways, with `liveOnly`: see {@link #compare}).
   */
  #push(target: SwimTarget, answer: SwimPushPull<InboundUpdate>, liveOnly = false): Promise<unknown> | undefined {
    if (answer.want === undefined || answer.version === undefined || !this.#running) return;
    const all = wanted(this.#list, answer.want);
    if (liveOnly) this.#doubt(all);
    const members = liveOnly ? all.filter((m) => m.state === "alive") : all;
    if (members.length === 0) return;
    this.#counters.pushPulls++;
    const own = this.#list.claim();
    return this.#request(target, { kind: "push_pull", from: this.id, join: false, members: [own, ...members], since: answer.version }, this.#pushPullTimeout(), undefined, undefined, undefined, true, liveOnly);
  }

  /**
   * Members a checksum's exchange found that the peer holds alive (it wanted them) and this node
   * holds dead: ask a few of them directly ({@link SUM_DOUBTS}), each a ping with its death first,
   * as a probe of a suspect carries its suspicion. A live one refutes in its ack, which this node
   * takes and spreads at once (a refuted death is hurried); a dead one does not answer, or its
   * port refuses, and nothing changes. In a loaded swarm's storms of false deaths, most members
   * held dead had not heard of it yet, and the swarm waited for them to.
   */
  #doubt(members: readonly MemberUpdate[]): void {
    let asked = 0;
    for (const u of members) {
      if (asked >= SUM_DOUBTS) break;
      const m = this.#list.members.get(u.id);
      if (m?.state !== "dead") continue;
      asked++;
      this.#counters.sumDoubts++;
      const ping: SwimMessage = { kind: "ping", from: this.id, target: m.id, updates: [{ ...this.#list.update(m), from: m.from ?? this.id }] };
      void this.#request(m, ping, this.#awareness.scale(this.config.probeTimeout));
    }
  }

  /**
   * Member `from` sent its membership checksum (`swim-sum.ts`; `to`: where it answered from). When
   * it differs from this node's, and a different one was met {@link SUM_WAIT} probe intervals ago
   * already with no change to this node's set of live members since (gossip has not brought the
   * difference), exchange digests with `from`: each side then gets the members it lacks. One at a
   * time, and further apart after each exchange that changed nothing here (`SumExchanges`). Not
   * while deaths are in flight: this node took one in the last {@link RESEND_WINDOW} probe
   * intervals, or the request's filter of its sender's recent deaths (`deaths`) holds some. The
   * difference is then most likely those deaths, which an exchange of alive records cannot settle
   * and which gossip and the answers' recent deaths carry (after a killed process of 250 at 1,000,
   * 228 to 315 such exchanges found nothing, and the survivors' detection took more CPU).
   */
  #compare(from: string, sum: number | undefined, to?: SwimTarget, deaths?: Uint8Array): void {
    if (sum === undefined || !this.#running || !this.joined) return;
    const now = this.#ports.now();
    if (sum === this.#list.sum() || (deaths !== undefined && holdsDeaths(deaths))) return;
    if (now - this.#list.recent.latest < RESEND_WINDOW * this.config.probeInterval) return;
    if (!this.#sums.differs(now, this.#list.liveVersion)) return;
    const m = this.#list.members.get(from);
    if (m === undefined || m.state !== "alive") return;
    const target: SwimTarget = to === undefined ? m : { id: m.id, address: to.address, port: to.port };
    this.#sums.begin(this.#list.liveVersion);
    this.#counters.sumExchanges++;
    this.#counters.pushPulls++;
    // Alive records only, both ways: an exchange a checksum started fills in members, it spreads no
    // verdict (a death one side holds of a member that has not refuted yet would reach the other as
    // a suspicion, and exchanges every few seconds would carry a loaded swarm's false deaths further).
    const timeout = this.#pushPullTimeout();
    void this.#request(target, this.#exchangeRequest(target, false, true), timeout, undefined, undefined, undefined, true, true).then(async (answer) => {
      if (answer?.kind === "push_pull") await this.#push(target, answer, true);
      this.#sums.end(this.#ports.now(), this.#list.liveVersion, this.#pushPullDelay());
    });
  }

  /**
   * True when this node can answer a joiner that asked for a page with its whole state instead
   * (then counted): at full local health, within {@link SwimConfig.joinWholeRecords} member
   * records a second. A paced join's joiners then have the swarm in one answer, where a page sent
   * them to a member of it that, in a saturated swarm, answered seconds late; a mass join's past
   * the first few get pages, as before (a seed that gave each its whole state never got done).
   */
  #affordsWhole(): boolean {
    const records = this.#list.members.size + 1;
    if (this.#awareness.degraded || this.#joinerRecords(0) + records > this.config.joinWholeRecords) return false;
    this.#joinerRecords(records);
    return true;
  }

  /**
   * Count `records` sent to joiners (whole states, and the catch-up pulls that follow them: in a
   * mass join those of the first joiners use up the second's budget, and the rest get pages);
   * the records counted so far in the current second.
   */
  #joinerRecords(records: number): number {
    const now = this.#ports.now();
    if (now - this.#wholeSince >= 1) {
      this.#wholeSince = now;
      this.#wholeRecords = 0;
    }
    return (this.#wholeRecords += records);
  }

  /** When a member's last pull must have come for it to count as pulling here ({@link PULLER_WINDOW} probe intervals ago). */
  #pullerWindow(): number {
    return this.#ports.now() - PULLER_WINDOW * this.config.probeInterval;
  }

  /** The live members that pulled here at `window` or later (`except` apart). */
  #livePullers(window: number, except?: string): SwimMember[] {
    const live = (id: string): boolean => id !== except && this.#list.members.get(id)?.state === "alive";
    return this.#pullers.since(window, live).map((id) => this.#list.members.get(id)!);
  }

  /** Up to {@link MOVER_NAMES} live members pulling here lately, `from` apart: where a catch-up answered busy goes on. */
  #named(from: string, window: number): MemberUpdate[] {
    return sample(this.#livePullers(window, from), MOVER_NAMES, () => this.#random()).map((m) => this.#list.update(m));
  }

  /**
   * A joiner's page (see {@link join}): this node's own claim and up to `k` live members, marked
   * partial; no version, as nothing is to be pulled here after it. The members are a random sample
   * of those catching up here lately when there are {@link PAGE_HELPERS} of them or more; else of
   * all live members.
   */
  #page(k: number): SwimPushPull {
    const pullers = this.#livePullers(this.#pullerWindow());
    // The joiner takes the rest of its state from a member of the page, and catches up there: a
    // member catching up here keeps it two hops from this node (`swim-pullers.ts`).
    const page = pullers.length >= PAGE_HELPERS ? sample(pullers, k, () => this.#random()) : this.#list.sample(k, (m) => m.state === "alive");
    const members = [this.#list.claim(), ...page.map((m) => this.#list.update(m))];
    return { kind: "push_pull", from: this.id, join: false, members, partial: true };
  }

  /** The periodic exchange's timeout, seconds. */
  #pushPullTimeout(): number {
    return Math.max(this.config.probeInterval, this.config.probeTimeout * 4);
  }

  /**
   * Push-pull every interval, scaled up past 32 members (memberlist's `pushPullScale`), but for a
   * node that has had nobody's whole state (see {@link joined}: every join it made went unanswered,
   * or it never joined, as a seed): in a 1,000-node join one such node still missed a member a
   * minute after the swarm had settled, its next exchange 180 s away.
   */
  #pushPullDelay(): number {
    if (!this.joined) return this.config.pushPullInterval;
    const n = this.#list.members.size + 1;
    const scale = n <= 32 ? 1 : Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
    return this.config.pushPullInterval * scale;
  }

  /**
   * Apply a message's updates. An alive claim about a member new here, relayed by another member
   * (not the member's own), is gossiped on {@link RELAYED_NEWCOMER_TRANSMITS} times at most
   * ({@link OVERLOADED_RELAYED_NEWCOMER_TRANSMITS} while this node's local health is degraded), and
   * in a mass failure a death {@link MASS_RELAYED_DEATH_TRANSMITS} times. With
   * `echo` (a request, not an answer), copies of alive claims this node spreads count as its transmissions.
   */
  #applyAll(updates: readonly InboundUpdate[], from: string, echo: boolean, corrections?: Corrections): void {
    const caps = RELAY_CAPS[this.#massFailure() ? 1 : 0]![this.#awareness.degraded ? 1 : 0]!;
    this.#list.applyRelayed(updates, from, caps, echo, corrections);
  }

  /**
   * An ack to member `to`, with `corrections` (see {@link #corrected}) first; `lean`: the asker
   * reads lean deaths; `sum`: with this node's membership checksum (the request carried the asker's);
   * `deaths`: the asker's filter of its recent deaths, whose deaths the ack leaves out (see {@link #piggyback}).
   */
  #ack(to: string, lean: boolean, corrections?: Corrections, sum = false, deaths?: Uint8Array): SwimAnswer {
    const updates = this.#corrected(corrections, this.#piggyback(to, lean, deaths));
    return sum ? { kind: "ack", from: this.id, updates, sum: this.#list.sum() } : { kind: "ack", from: this.id, updates };
  }

  /**
   * An answer's updates: `corrections` (newer records of what the asker said, see
   * `MemberList.#correct`) first, then `updates` but for those about the same members.
   */
  #corrected(corrections: Corrections | undefined, updates: MemberUpdate[]): MemberUpdate[] {
    const first = corrections?.updates;
    if (first === undefined || first.length === 0) return updates;
    this.#counters.corrections += first.length;
    return [...first, ...updates.filter((u) => !first.some((c) => c.id === u.id))];
  }

  /**
   * The queued updates a message to member `to` carries (none that `to` itself sent this node last:
   * see `BroadcastQueue.take`); `lean`: `to` reads lean deaths, so each death takes its lean size
   * of the budget (`swim-wire.ts`). With `deaths` (an answer to `to`'s request, which carried the
   * filter of its recent deaths), the deaths the filter holds are left out: over a kill of 249 at
   * 1,000 nodes most of the deaths an answer piggybacked were ones its asker held already.
   */
  #piggyback(to: string, lean: boolean, deaths?: Uint8Array): MemberUpdate[] {
    const n = this.#list.members.size + 1;
    const limit = Math.max(1, this.config.retransmitMult * Math.ceil(Math.log10(n + 1)));
    // An answer to an asker whose request carried its recent deaths leaves out those it holds (counted).
    const holds = deaths === undefined || !lean ? null : filterHolds(deaths, this.#list.recent);
    const skip =
      holds === null
        ? null
        : (id: string): boolean => {
            if (!holds(id)) return false;
            this.#counters.deathsHeld++;
            return true;
          };
    return this.#queue.take(this.config.maxPiggybackBytes, limit, to, lean, skip);
  }

  /** True when a request to `target` goes with lean deaths (its hello offered them: `SwimPorts.readsLean`). */
  #leans(target: SwimTarget): boolean {
    return this.#ports.readsLean?.(target) === true;
  }

  /** Run `fn` every `delay` seconds (a number, or a function for a changing delay) while running. */
  #loop(delay: number | (() => number), fn: () => void): void {
    const arm = (): void => {
      if (!this.#running) return;
      this.#after(typeof delay === "number" ? delay : delay(), () => {
        fn();
        arm();
      });
    };
    arm();
  }
}

/** True when member `m` is at `target`'s address and port (a target may come without an id). */
function sameAddress(m: SwimTarget, target: SwimTarget): boolean {
  return m.address === target.address && m.port === target.port;
}
