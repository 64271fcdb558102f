/**
 * The SWIM core's member list: who is known in which state at which incarnation, the shuffled
 * probe order, the suspicions and their timers, and the rules that decide whether an update is
 * news (memberlist's `aliveNode`, `suspectNode`, `deadNode` and `mergeState`). Every update that
 * changes the view is queued for dissemination; one about this node is refuted.
 *
 * Longer than 400 lines: the rules for each state, the suspicions with their timers and the doubted
 * deaths share the list's private state (members, counts, probe order, suspicions); what needs none
 * of it is in `swim-queue.ts` (queue, suspicion, local health) and `swim-wire.ts` (the wire forms).
 *
 * @module
 */
import { afterOwnTime, Suspicion, type Awareness, type BroadcastQueue } from "./swim-queue.ts";
import { SWIM_STATES, type MemberStore, type MemberUpdate, type SwimClaim, type SwimConfig, type SwimPorts, type SwimPushPull, type SwimState, type SwimStats } from "./swim-types.ts";
import { ChangeLog } from "./swim-changes.ts";
import { RecentDeaths } from "./swim-deaths.ts";
import { GoneIds } from "./gone-ids.ts";
import { DigestSlots, idHash } from "./swim-digest.ts";
import { RECORDS_WINDOW, SentRecords } from "./swim-records.ts";
import { hashMix, memberMix } from "./swim-sum.ts";
import { adoptLean, adoptPacked, keptRecord, keptSig, PackedUpdate, sigBytes, type InboundUpdate } from "./swim-wire.ts";

/** This node as the core starts it. */
export interface SwimSelf {
  id: string;
  address: string;
  port: number;
  meta?: unknown;
  /** Start at this incarnation (default 0). */
  incarnation?: number;
}

/** A member as the core holds it: its last update and when its state last changed (seconds). */
export interface SwimMember extends MemberUpdate {
  since: number;
  /** When this node last heard from the member itself (an ack to its own or an indirect probe, or a message from the member's address), if ever. */
  heard?: number;
  /** The list's {@link MemberList.version} when this record last changed (what a catch-up compares). */
  version: number;
  /**
   * The 48-bit hash of its id that digests carry (`swim-digest.ts`'s `idHash`), made once as the
   * member is first known: every digest exchange lists every member, and hashing each 64-character
   * id anew (about 110 ns) was 2% of a worker's CPU in the 1,000-node paced join. The id never
   * changes on a record; a member forgotten and known again is a new record, hashed anew.
   */
  readonly hash: number;
  /** Its place in the list's {@link DigestSlots} (-1 once forgotten). */
  slot: number;
}

/** The monotonic counters of {@link SwimStats}. */
export type SwimCounters = Omit<SwimStats, "incarnation" | "awareness" | "alive" | "suspect" | "dead" | "left" | "queued">;

/** How many times relayed news is gossiped on, at most (see {@link MemberList.applyRelayed}). */
export interface RelayCaps {
  /** An alive claim about a member new to this node, not the sender's own. */
  readonly newcomer: number;
  /** A death: another node's verdict (a member never sends its own). */
  readonly death: number;
}

/** Times an update learnt from a push-pull (not about its sender) is gossiped on. */
export const MERGED_TRANSMITS = 2;

/**
 * Times a confirmation of a suspicion made by another member is gossiped on (this node's own goes
 * the full count). Each new confirmation put the member back at the head of every queue it
 * reached, for the full count again: a killed quarter of 500 simulated nodes made 92,000
 * confirmations, and relaying each in full doubled the updates the kill sent (1.35 million
 * against 0.77 million with 2), with the same time to dead everywhere.
 */
export const RELAYED_CONFIRMATION_TRANSMITS = 2;

/**
 * Newer records a node sends back in answer to one message's refuted suspicions and deaths, at
 * most (see `MemberList.#correct`): a message piggybacks up to 8 KB of updates, and a correction is
 * a record (about 150 bytes) on top of the answer's own.
 */
export const MAX_CORRECTIONS = 16;

/**
 * Newer records to send back to the node whose message held suspicions or deaths this node knows
 * to be refuted (see `MemberList.#correct`). `suspicions`: also those of other members' suspicions;
 * false keeps only deaths and accusations of this node, for a correction that costs a message of
 * its own (an answer's: in the 1,000-node mass join, refuted suspicions of other members were
 * about 100 per node per minute).
 */
export class Corrections {
  /** The records found (made with the first: every SWIM message received makes a `Corrections`, few find any). */
  #updates: MemberUpdate[] | null = null;
  constructor(readonly suspicions = true) {}

  get updates(): readonly MemberUpdate[] {
    return this.#updates ?? NO_UPDATES;
  }

  add(update: MemberUpdate): void {
    (this.#updates ??= []).push(update);
  }
}

const NO_UPDATES: readonly MemberUpdate[] = Object.freeze([]);

/** True for the states of a member no longer in the swarm. */
export const isGone = (state: SwimState): boolean => state === "dead" || state === "left";

/** The member list (see the module header); owned by one `SwimCore`. */
export class MemberList {
  /** The members by id: a `Map`, or the store the ports give (`SwimPorts.members`: the peer table's entries). */
  readonly members: MemberStore<SwimMember>;
  /** Every member's digest entry (`swim-digest.ts`), kept as {@link #changed} changes them. */
  readonly slots = new DigestSlots<SwimMember>();
  readonly #counts: Record<SwimState, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
  /** Probe order: every member's id, shuffled; round-robin through `#next`. */
  #order: string[] = [];
  #next = 0;
  /** Suspicions under way. */
  readonly #suspicions = new Map<string, { suspicion: Suspicion; cancel: () => void }>();
  readonly #self: SwimSelf & { incarnation: number };
  /** The last self-update made (see {@link selfUpdate}). */
  #lastSelf: Readonly<MemberUpdate> | null = null;
  readonly #random: () => number;
  /** True once this node said it leaves: suspicions about it are answered `left`, not refuted. */
  leaving = false;
  /** Changes made to the list so far (each member's record is stamped with it: see {@link state}). */
  version = 0;
  /** The changes in order, for a catch-up's answer (`swim-changes.ts`): every change is logged in {@link #changed}. */
  readonly #changes: ChangeLog<SwimMember>;
  /** Changes to the set of members held live (alive or suspect) so far. */
  liveVersion = 0;
  /** The members' share of {@link sum}: the XOR of the mixes of those held live. */
  #sum = 0;
  /** This node's own mix (made at the first {@link sum}). */
  #selfMix: number | null = null;

  readonly #config: Readonly<SwimConfig>;
  readonly #ports: SwimPorts;
  readonly #queue: BroadcastQueue;
  readonly #awareness: Awareness;
  readonly #counters: SwimCounters;
  readonly #running: () => boolean;
  /** Told when this node doubts another node's verdict of a member's death (the core probes it). */
  readonly #onDoubt: (id: string) => void;
  /**
   * Told when a member went dead or left here, or a death was refuted (a member held dead is alive
   * again, or this node refuted its own): the core spreads it without delay.
   */
  readonly #onGone: () => void;
  /**
   * Told when a suspicion ran out here: true when the core pings the suspect once more before the
   * verdict (it then calls {@link expired}); false to declare it dead at once.
   */
  readonly #onExpired: (m: SwimMember) => boolean;
  /** Suspects whose death another node declared while this node doubted it (see {@link doubted}). */
  readonly #doubted = new Set<string>();
  /** Records as answers send them, kept for a moment (see `swim-records.ts`). */
  readonly #records: SentRecords;
  /** The deaths this node took lately (`swim-deaths.ts`). */
  readonly recent = new RecentDeaths();
  /** The ids of the members held dead or left (see {@link #take}). */
  readonly #gone = new GoneIds();
  /**
   * The clock read once for a message's updates or a merged state ({@link applyRelayed},
   * {@link merge}), null outside them: every member learnt or changed there is dated by it (a clock
   * read per member was about 1% of a kill's survivor's CPU, and the updates of one message are
   * taken within a few milliseconds).
   */
  #batchNow: number | null = null;

  constructor(
    self: SwimSelf,
    parts: { config: Readonly<SwimConfig>; ports: SwimPorts; queue: BroadcastQueue; awareness: Awareness; counters: SwimCounters; running: () => boolean; onDoubt?: (id: string) => void; onGone?: () => void; onExpired?: (m: SwimMember) => boolean },
  ) {
    this.#self = { ...self, incarnation: self.incarnation ?? 0 };
    // The store keeps what it is given: this list's records.
    this.members = (parts.ports.members as MemberStore<SwimMember> | undefined) ?? new Map<string, SwimMember>();
    this.#config = parts.config;
    this.#ports = parts.ports;
    this.#queue = parts.queue;
    this.#awareness = parts.awareness;
    this.#counters = parts.counters;
    this.#running = parts.running;
    this.#onDoubt = parts.onDoubt ?? (() => {});
    this.#onGone = parts.onGone ?? (() => {});
    this.#onExpired = parts.onExpired ?? (() => false);
    this.#random = parts.ports.random ?? Math.random;
    this.#records = new SentRecords(parts.ports.schedule, RECORDS_WINDOW * parts.config.probeInterval, compact);
    this.#changes = new ChangeLog((m) => this.members.get(m.id) === m);
    // The signed claims this list keeps are what the checker knows of its members' signing.
    parts.ports.claims?.attach?.({ holds: (id) => this.members.get(id)?.sig !== undefined, held: () => this.#signed() });
  }

  /** Ids of the members whose signed claim the list keeps (see `SwimClaims.attach`). */
  *#signed(): Iterable<string> {
    for (const m of this.members.values()) if (m.sig !== undefined) yield m.id;
  }

  /** This node's id. */
  get id(): string {
    return this.#self.id;
  }

  /** This node's incarnation. */
  get incarnation(): number {
    return this.#self.incarnation;
  }

  /** Change this node's meta: a new incarnation, queued as an alive update. */
  setMeta(meta: unknown): void {
    this.#self.meta = meta;
    this.#self.incarnation++;
    this.#queue.push(this.selfUpdate("alive"));
  }

  /** Members by state (kept as they change: `stats()` is cheap however many members). */
  countStates(): Record<SwimState, number> {
    return { ...this.#counts };
  }

  /** The checksum of this node's view (`swim-sum.ts`): the ids of the members it holds alive or suspect, and its own unless leaving. */
  sum(): number {
    if (this.leaving) return this.#sum;
    this.#selfMix ??= memberMix(this.#self.id);
    return (this.#sum ^ this.#selfMix) >>> 0;
  }

  /** Cancel every suspicion timer and drop the kept records (the core stops). */
  clearSuspicions(): void {
    this.#records.clear();
    for (const s of this.#suspicions.values()) s.cancel();
    this.#suspicions.clear();
    this.#doubted.clear();
  }

  /**
   * True when member `id` is suspect here because another node declared it dead while this node
   * had just heard from it: this node's own failed probe of it is then enough to call it dead.
   */
  doubted(id: string): boolean {
    return this.#doubted.has(id);
  }

  /** The suspects whose death this node doubted (see {@link doubted}). */
  doubtedIds(): Iterable<string> {
    return this.#doubted;
  }

  nextTarget(): SwimMember | undefined {
    for (let step = 0; step <= this.#order.length; step++) {
      if (this.#next >= this.#order.length) this.#reshuffle();
      const m = this.members.get(this.#order[this.#next++] ?? "");
      if (m && !isGone(m.state)) return m;
    }
    return undefined;
  }

  /** Forget members gone longer than `deadRetention`, and shuffle the probe order. */
  #reshuffle(): void {
    const cutoff = this.#ports.now() - this.#config.deadRetention;
    for (const m of this.members.values()) {
      if (isGone(m.state) && m.since < cutoff) {
        this.members.delete(m.id);
        this.#gone.delete(m.id);
        this.slots.delete(m);
        if (m.sig !== undefined) this.#ports.claims?.forgot?.(m.id);
        this.#counts[m.state]--;
        this.#queue.delete(m.id);
      }
    }
    // The log's entries of forgotten members go now, not at its next change (they hold the records).
    this.#changes.fit(this.members.size);
    const order = [...this.members.keys()];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    this.#order = order;
    this.#next = 0;
  }

  /**
   * This node's state: itself and every member, or (`since` given) only the members whose record
   * changed after that version (a catch-up: what is new since the asker's last look), found in the
   * log of changes (oldest change first), not by a walk of every member.
   */
  state(join: boolean, since?: number): SwimPushPull {
    const members: MemberUpdate[] = [this.claim()];
    const add = (m: SwimMember): void => void members.push(this.#records.get(m));
    if (since === undefined) this.members.forEach(add);
    else this.#changes.after(since, add);
    return { kind: "push_pull", from: this.id, join, members, version: this.version };
  }

  /** A pull: this node's own claim only, asking for what changed after `since` (a catch-up), or without it for the whole state. */
  pull(since?: number): SwimPushPull {
    const members = [this.claim()];
    return since === undefined ? { kind: "push_pull", from: this.id, join: false, members } : { kind: "push_pull", from: this.id, join: false, members, since };
  }

  /**
   * Merge a remote state: a remote `dead` only makes a suspect here (memberlist's `mergeState`).
   * The sender's own claim is gossiped as any news; the rest, the sender's view, only
   * {@link MERGED_TRANSMITS} times: re-gossiping it in full made every joiner of a mass join
   * retransmit the whole swarm (N² log N updates that drowned the event loops), while a few
   * transmissions still fill the gaps an epidemic leaves (`cap`: 0 for a joiner's first state and
   * its catch-ups: what its seed holds is the swarm's own news). With `liveOnly` (an exchange a
   * membership checksum started: `swim-sum.ts`) only alive records are taken: it fills in members,
   * it spreads no verdict.
   */
  merge(state: SwimPushPull<InboundUpdate>, cap = MERGED_TRANSMITS, corrections?: Corrections, liveOnly = false): void {
    this.#dated(() => {
      for (const u of state.members) {
        if (liveOnly && u.state !== "alive") continue;
        const spread = u.id === state.from ? Number.POSITIVE_INFINITY : cap;
        this.#take(u, spread, u.state === "dead" || u.state === "suspect" ? state.from : undefined, spread, undefined, corrections);
      }
    });
  }

  /**
   * Apply the updates a message from member `from` piggybacked. An alive claim about a member new
   * here that is not `from`'s own (relayed) is spread at most `caps.newcomer` times, a death (the
   * verdict of another node; one this node doubts becomes a suspicion under the same cap) at most
   * `caps.death` times; the rest as any news. (One lookup of each update's member: in a mass join
   * most of them are old news, and a second lookup of each freshly decoded id was 3% of a worker's
   * CPU.) With `echo` (a request `from` sent of its own accord, not an answer: an answer may carry
   * back what this node just sent), a copy of an alive claim this node spreads too counts as one
   * of its transmissions (`BroadcastQueue.echo`).
   */
  applyRelayed(updates: readonly InboundUpdate[], from: string, caps: RelayCaps, echo: boolean, corrections?: Corrections): void {
    this.#dated(() => {
      for (const u of updates) {
        // News queued here as `from` sent it: no message to `from` carries it back (`BroadcastQueue.take`).
        if (this.#take(u, u.state === "dead" ? caps.death : Number.POSITIVE_INFINITY, undefined, u.id === from ? Number.POSITIVE_INFINITY : caps.newcomer, echo ? from : undefined, corrections)) this.#queue.heardFrom(u.id, u.incarnation, u.state, from);
      }
    });
  }

  /** Run `batch` with the clock read once for all it learns ({@link #batchNow}; an enclosing batch's clock, if any). */
  #dated(batch: () => void): void {
    const outer = this.#batchNow;
    this.#batchNow ??= this.#ports.now();
    try {
      batch();
    } finally {
      this.#batchNow = outer;
    }
  }

  /** The time now: the batch's clock within {@link applyRelayed} and {@link merge}, else the clock's. */
  #now(): number {
    return this.#batchNow ?? this.#ports.now();
  }

  /**
   * Apply one update; true when it changed this node's view (then it is queued for others, sent at
   * most `spread` times); one about this node is refuted. With `corrections`, a suspicion or death
   * this node knows to be refuted is answered there (see {@link #correct}).
   */
  apply(u: InboundUpdate, spread = Number.POSITIVE_INFINITY, corrections?: Corrections): boolean {
    return this.#take(u, spread, undefined, spread, undefined, corrections);
  }

  /**
   * {@link apply}, and `suspectedBy` (a push-pull's sender): its suspicion or death is taken as a
   * suspicion. Old news is dropped on id, incarnation and state: a packed update's body is read only
   * when it may be news (then counted if malformed).
   */
  #take(u: InboundUpdate, spread: number, suspectedBy: string | undefined, newcomerSpread = spread, echoFrom?: string, corrections?: Corrections): boolean {
    // A suspicion or death of a member held dead or left changes nothing, whatever its incarnation
    // (see #stale), nor has a correction to send (#correct): told without the member map. Nearly
    // every update a kill's survivor reads is such a copy (`gone-ids.ts`).
    if (u.state !== "alive" && this.#gone.has(u.id)) {
      this.#counters.updatesIgnored++;
      return false;
    }
    let applied = false;
    const m = u.id === this.id ? undefined : this.members.get(u.id);
    if (this.#stale(u.id, m, u.incarnation, suspectedBy === undefined ? u.state : "suspect")) {
      // Gossip of an alive claim this node holds and spreads too: a transmission done by another
      // (see `BroadcastQueue.echo`). Not a death: a relayed one is capped in a mass failure instead
      // (`applyRelayed`'s caps), and this node's own verdict goes the full count.
      if (echoFrom !== undefined && u.state === "alive") this.#queue.echo(u.id, u.incarnation, u.state, echoFrom);
    } else {
      // A lean death takes the member's address and port from its record here, or this node's own (`swim-wire.ts`).
      const whole = u instanceof PackedUpdate ? u.read(this.#ports.readMeta, m ?? (u.id === this.id ? this.#self : undefined)) : u;
      if (whole === null) {
        this.#counters.malformed++;
        return false;
      }
      const update: MemberUpdate = suspectedBy === undefined ? whole : { ...whole, state: "suspect", from: suspectedBy };
      // A relay goes on as the bytes it came in (see #queued): not a suspicion made of a push-pull's death.
      const arrived = suspectedBy === undefined && u instanceof PackedUpdate ? u : undefined;
      applied = update.id === this.id ? this.#aboutSelf(update) : this.#aboutMember(update, m === undefined ? Math.min(spread, newcomerSpread) : spread, arrived);
    }
    if (corrections) this.#correct(u, m, corrections);
    if (applied) this.#counters.updatesApplied++;
    else this.#counters.updatesIgnored++;
    return applied;
  }

  /**
   * A suspicion or death that this node knows to be refuted, in a message from another node: the
   * newer record goes into `corrections` (at most {@link MAX_CORRECTIONS}, one per member), for the
   * caller to send back to that node. About this node: its own current claim (it refuted just now, or
   * had before). About a member held alive here at a higher incarnation: that record. A node that
   * still holds a refuted suspicion or death repeats it on its gossip, so the nodes its rumour
   * reaches are the ones that tell it (issue #12: in a 1,000-node mass join, every member held
   * dead by mistake had refuted already, and nodes held its death for seconds more). `m` is the
   * member's record as `#take` looked it up (a suspicion or death never replaces it), not looked
   * up again for every copy of a death: a kill's survivors receive each death about a dozen times.
   */
  #correct(u: InboundUpdate, m: SwimMember | undefined, corrections: Corrections): void {
    const out = corrections.updates;
    if ((u.state !== "suspect" && u.state !== "dead") || out.length >= MAX_CORRECTIONS || out.some((c) => c.id === u.id)) return;
    if (u.id === this.id) {
      corrections.add(this.claim());
      return;
    }
    if (u.state === "suspect" && !corrections.suspicions) return;
    if (m?.state === "alive" && m.incarnation > u.incarnation) corrections.add(this.#records.get(m));
  }

  /**
   * True when an update with this id, incarnation and state changes nothing here, whatever else it
   * says (memberlist's early returns). Checked first: in a mass join most updates received are
   * repeats, and a signature check each (~100 µs), or decoding their bodies, kept the event loops
   * too busy to answer probes in time.
   */
  #stale(id: string, m: SwimMember | undefined, incarnation: number, state: SwimState): boolean {
    if (!SWIM_STATES.includes(state)) return true;
    if (id === this.id) {
      if (state === "alive") return incarnation <= this.#self.incarnation;
      return incarnation < this.#self.incarnation || (this.leaving && state === "left");
    }
    // Only first-hand or relayed alive claims introduce a member; a rumour about a stranger is dropped.
    if (!m) return state !== "alive" || this.members.size >= this.#config.maxMembers;
    if (incarnation < m.incarnation) return true;
    return state === "alive" ? incarnation === m.incarnation : isGone(m.state);
  }

  /** Member `id` acked this node, or sent it a message from its own address, just now (see {@link SwimMember.heard}). */
  heard(id: string): void {
    const m = this.members.get(id);
    if (m) m.heard = this.#ports.now();
  }

  /** An update about this node that is not stale: refute a suspicion, a death or a stale claim by a newer incarnation. */
  #aboutSelf(u: MemberUpdate): boolean {
    this.#self.incarnation = u.incarnation + 1;
    this.#counters.refutations++;
    this.#awareness.apply(1);
    this.#queue.push(this.claim());
    // A death is spread at the configured pace (see #changed): so is its refutation.
    if (u.state === "dead") this.#onGone();
    return true;
  }

  /** An update about another member that is not stale (see {@link #stale}); `arrived`: the packed update it was read from, if any. */
  #aboutMember(u: MemberUpdate, spread: number, arrived?: PackedUpdate): boolean {
    if ((u.state === "alive" || u.state === "left") && !this.#verify(u)) return false;
    const m = this.members.get(u.id);
    if (!m) {
      const member: SwimMember = { ...this.#kept(u), since: this.#now(), version: 0, hash: idHash(u.id), slot: -1 };
      this.members.set(u.id, member);
      this.#insertInOrder(u.id);
      this.#changed(member, null, u, spread, arrived);
      return true;
    }
    const previous = m.state;
    switch (u.state) {
      case "alive":
        this.members.changing?.(m.id);
        // The id string the list holds already (see #knownId), not the update's copy.
        Object.assign(m, this.#kept(u), { id: m.id });
        delete m.from;
        break;
      case "suspect":
        if (previous === "suspect" && u.incarnation === m.incarnation) return this.#confirm(m, this.#knownId(u.from ?? ""), spread);
        // A suspicion at a newer incarnation than the one held suspect here: the member refuted that
        // one (only it raises its incarnation), so this is a new suspicion with a timeout of its own,
        // not a confirmation that shortens the refuted one's (memberlist confirms it: in the mass
        // join, the refuted suspicions' timers ran out and declared live members dead).
        if (previous === "suspect") this.#clearSuspicion(m.id);
        m.state = "suspect";
        m.incarnation = u.incarnation;
        // Who suspected it (a reminder names them: `remind`), as for a death below.
        if (u.from !== undefined) m.from = this.#knownId(u.from);
        this.#suspect(m, u.from === undefined ? "" : this.#knownId(u.from));
        break;
      default: // dead or left
        // Another node's verdict of death about a member this node heard from a moment ago (a
        // healed partition's other side, whose deaths are of members this side kept): a suspicion
        // here instead (or a confirmation of one), so that it refutes before anyone here calls it
        // offline. See {@link #doubtWindow}.
        if (u.state === "dead" && u.from !== this.id && m.heard !== undefined && this.#ports.now() - m.heard <= this.#doubtWindow()) {
          this.#counters.deathsDoubted++;
          const changed = this.#aboutMember({ ...u, state: "suspect" }, spread);
          if (m.state === "suspect" && !this.#doubted.has(m.id)) {
            this.#doubted.add(m.id);
            // Settled by a probe of this node's own, now, not by a suspicion's timeout.
            this.#onDoubt(m.id);
          }
          return changed;
        }
        m.state = u.state;
        m.incarnation = u.incarnation;
        // A lean death names no author: not the one of an earlier suspicion either.
        if (u.state === "dead") {
          if (u.from !== undefined) m.from = this.#knownId(u.from);
          else delete m.from;
        }
        if (u.state === "left" && u.sig) m.sig = keptSig(u.sig);
    }
    if (previous === "suspect" && m.state !== "suspect") this.#clearSuspicion(m.id);
    this.#changed(m, previous, u.state === "alive" ? m : { ...compact(m), from: u.from === undefined ? undefined : this.#knownId(u.from) }, spread, arrived);
    return true;
  }

  /**
   * Seconds after hearing from a member during which another node's verdict of its death is
   * doubted. A member that really died is declared dead no sooner than the shortest suspicion
   * after it last answered anyone, so a verdict within that time is wrong. The window is also at
   * least two of this node's probe intervals as its local health stretches them (a node that
   * missed nacks through a partition probes, and so hears, its own side less often). The few
   * nodes that heard from a member that then truly died probe it once more before they call it
   * dead (see {@link doubted}).
   */
  #doubtWindow(): number {
    const shortestSuspicion = Math.min(this.#config.suspicionMult * this.#config.probeInterval, this.#config.suspicionMaxTimeout);
    return Math.max(shortestSuspicion, 2 * this.#awareness.scale(this.#config.probeInterval));
  }

  /**
   * `id` as the list holds it already (a member's own id string, or this node's), else `id`. A
   * member's record keeps the id string it was first known by, and a suspicion's or death's author
   * is named by that string too: each update decoded from the wire brings its own copy (80 bytes
   * for a 64-character id), and a record that took every new copy held a second string per member
   * besides the one the list's map is keyed by.
   */
  #knownId(id: string): string {
    return id === this.#self.id ? this.#self.id : (this.members.get(id)?.id ?? id);
  }

  /** The compact record of an alive update that is news, its meta as the node keeps it. */
  #kept(u: MemberUpdate): MemberUpdate {
    const kept = compact(u);
    if (kept.meta !== undefined && this.#ports.keepMeta) kept.meta = this.#ports.keepMeta(kept.meta);
    // Its bytes as a string (80 bytes, not 112: see `Signature`); the queued update shares it.
    if (kept.sig !== undefined) kept.sig = keptSig(kept.sig);
    return kept;
  }

  /** Member `m` changed here (it was `previous`; null: new here). */
  #changed(m: SwimMember, previous: SwimState | null, update: MemberUpdate, spread: number, arrived?: PackedUpdate): void {
    // A member new here was given its `since` as it was made (one clock read a member learnt, not two).
    if (previous !== null && previous !== m.state) m.since = this.#now();
    if (m.state === "dead" && previous !== "dead") this.recent.add(m.id, m.since);
    // The gone ids: a member gone here goes in; one back out. (A member new to the list is in none:
    // the one way out of the list, forgetting in #reshuffle, takes its id out too.)
    if (isGone(m.state)) {
      if (previous === null || !isGone(previous)) this.#gone.add(m.id);
    } else if (previous !== null && isGone(previous)) this.#gone.delete(m.id);
    m.version = ++this.version;
    if (previous === null) this.slots.add(m);
    else this.slots.set(m);
    this.#changes.add(m, this.members.size);
    if ((previous !== null && !isGone(previous)) !== !isGone(m.state)) {
      this.#sum ^= hashMix(m.hash);
      this.liveVersion++;
    }
    if (previous) this.#counts[previous]--;
    this.#counts[m.state]++;
    // Not to be spread (0): a queued older update about it would spread stale news, so it goes too.
    if (spread > 0) {
      const [queued, encoded] = this.#queued(update, arrived);
      this.#queue.push(queued, spread, encoded);
    } else this.#queue.delete(m.id);
    // A death spreads at the configured pace, not at one stretched by local health; so does its
    // refutation where the member was held dead: in the 1,000-node mass join (Dec 1, s13) false
    // deaths outran their refutations, and nodes held live members dead for 10 s and more. So does
    // a member new here: with the last ping (#expired) a mass join has few false deaths, and their
    // hurried gossip had been what carried the newcomers' claims (Dec 1, s13heal).
    if (spread > 0 && (previous === null ? m.state === "alive" : isGone(m.state) ? !isGone(previous) : m.state === "alive" && previous === "dead")) this.#onGone();
    this.#ports.onChange?.(m, previous);
  }

  /**
   * The update to queue for `update`, and whether it is encoded already: when it says what the
   * packed update it was read from said (`arrived`: its id, incarnation and state; a relay, not a
   * suspicion made of a doubted death), it goes on as the bytes it came in (`adoptPacked`; a lean
   * death's to the peers that read lean deaths, `adoptLean`).
   */
  #queued(update: MemberUpdate, arrived: PackedUpdate | undefined): [MemberUpdate, boolean] {
    const queued = compact(update);
    if (arrived === undefined || arrived.id !== queued.id || arrived.incarnation !== queued.incarnation || arrived.state !== queued.state) return [queued, false];
    const packed = arrived.packedForm;
    if (packed !== null) {
      adoptPacked(queued, packed);
      return [queued, true];
    }
    // A lean death (it names no author, nor does the death queued of it): its bytes go on to the peers that read lean deaths.
    const lean = arrived.leanForm;
    if (lean === null || queued.state !== "dead" || queued.from !== undefined) return [queued, false];
    adoptLean(queued, lean);
    return [queued, true];
  }

  #verify(u: MemberUpdate): boolean {
    if (!this.#ports.claims) return true;
    if (this.#ports.claims.verify(claimOf(u), sigBytes(u.sig))) return true;
    this.#counters.badClaims++;
    return false;
  }

  /**
   * Start a suspicion: Lifeguard's timeout between min and max, shrinking with confirmations, and
   * stretched by this node's local health (a node that is itself slow gives the suspect longer).
   * A member whose port refused this node's probe is not suspected here: it is dead at once
   * (`SwimCore`'s probe).
   */
  #suspect(m: SwimMember, from: string): void {
    const alive = this.#counts.alive + 1;
    const base = this.#config.suspicionMult * Math.max(1, Math.log10(Math.max(1, alive))) * this.#config.probeInterval;
    const shortest = Math.min(base, this.#config.suspicionMaxTimeout);
    const min = this.#awareness.scale(shortest);
    const max = this.#config.suspicionMaxMult * min;
    const k = alive - 2 < this.#config.suspicionMult - 2 ? 0 : this.#config.suspicionMult - 2;
    const suspicion = new Suspicion(this.#ports.now(), min, max, k, from);
    this.#suspicions.set(m.id, { suspicion, cancel: this.#suspicionTimer(m, suspicion) });
  }

  #confirm(m: SwimMember, from: string, spread: number): boolean {
    const entry = this.#suspicions.get(m.id);
    if (!entry || !entry.suspicion.confirm(from)) return false;
    this.#counters.confirmations++;
    entry.cancel();
    entry.cancel = this.#suspicionTimer(m, entry.suspicion);
    // Another member's confirmation is passed on a few times only (see RELAYED_CONFIRMATION_TRANSMITS).
    const cap = from === this.id ? spread : Math.min(spread, RELAYED_CONFIRMATION_TRANSMITS);
    if (cap > 0) this.#queue.push({ ...compact(m), from }, cap);
    return true;
  }

  /**
   * The suspicion's deadline, not counting time this node's event loop was blocked (a refutation
   * may be waiting unread).
   */
  #suspicionTimer(m: SwimMember, suspicion: Suspicion): () => void {
    const wait = Math.max(0, suspicion.deadline - this.#ports.now());
    const schedule = (delay: number, fn: () => void): (() => void) => this.#ports.schedule(delay, fn);
    const stalled = () => void this.#counters.stalls++;
    return afterOwnTime(schedule, this.#ports.stalled, wait, suspicion.max, () => {
      if (!this.#running() || this.#suspicions.get(m.id)?.suspicion !== suspicion || m.state !== "suspect") return;
      if (!this.#onExpired(m)) this.declareDead(m);
    }, stalled);
  }

  /**
   * The last ping of a suspect whose suspicion ran out here (see `SwimCore`) ended: unless the
   * member refuted meanwhile (or was declared dead another way), it is dead now; if it acked without
   * refuting, it is suspected anew (its ack is no refutation, but it is alive: no verdict).
   */
  expired(id: string, incarnation: number, acked: boolean): void {
    const m = this.members.get(id);
    if (!this.#running() || m?.state !== "suspect" || m.incarnation !== incarnation) return;
    if (!acked) return this.declareDead(m);
    m.heard = this.#ports.now();
    this.#suspicions.get(id)?.cancel();
    this.#suspect(m, this.id);
  }

  #clearSuspicion(id: string): void {
    this.#suspicions.get(id)?.cancel();
    this.#suspicions.delete(id);
    this.#doubted.delete(id);
  }

  /**
   * A member's record as an update (wire fields only): frozen, and the same object while the
   * record holds, for a moment (see `swim-records.ts`); a caller that changes it makes a copy.
   */
  update(m: SwimMember): Readonly<MemberUpdate> {
    return this.#records.get(m);
  }

  /** This node's own current claim: alive, or left once it is leaving. */
  claim(): Readonly<MemberUpdate> {
    return this.selfUpdate(this.leaving ? "left" : "alive");
  }

  /**
   * This node's own verdict: member `m` is dead (its suspicion ran out, or nothing listens at its
   * port), counted and spread as any news.
   */
  declareDead(m: MemberUpdate): void {
    this.#counters.deathsDeclared++;
    this.apply({ ...compact(m), state: "dead", from: this.id });
  }

  /** Records kept for answers now (for tests: see `swim-records.ts`). */
  get keptRecords(): number {
    return this.#records.size;
  }

  selfUpdate(state: "alive" | "left"): Readonly<MemberUpdate> {
    const { id, incarnation, address, port, meta } = this.#self;
    // Signed once per incarnation and state: it goes out on every push-pull and introduction.
    // The same (frozen) object each time, so that its packed form is encoded once too (swim-wire.ts).
    const last = this.#lastSelf;
    if (last && last.state === state && last.incarnation === incarnation && last.meta === meta) return last;
    const update: MemberUpdate = { id, incarnation, state, address, port };
    if (meta !== undefined) update.meta = meta;
    const sig = this.#ports.claims?.sign(claimOf(update));
    if (sig) update.sig = sig;
    this.#lastSelf = keptRecord(update);
    return this.#lastSelf;
  }

  /** A new member goes in at a random place of the probe order (memberlist), O(1) by a swap. */
  #insertInOrder(id: string): void {
    this.#order.push(id);
    const last = this.#order.length - 1;
    const j = this.#next + Math.floor(this.#random() * (last - this.#next + 1));
    [this.#order[last], this.#order[j]] = [this.#order[j]!, this.#order[last]!];
  }

  /** Up to `k` distinct random members that pass `accept`, in O(k) tries (scanning small lists). */
  sample(k: number, accept: (m: SwimMember) => boolean): SwimMember[] {
    const ids = this.#order;
    const picked = new Map<string, SwimMember>();
    const tries = ids.length <= 4 * k ? ids.length : 8 * k;
    const offset = Math.floor(this.#random() * ids.length);
    for (let i = 0; i < tries && picked.size < k; i++) {
      const at = ids.length <= 4 * k ? (offset + i) % ids.length : Math.floor(this.#random() * ids.length);
      const m = this.members.get(ids[at] ?? "");
      if (m && !picked.has(m.id) && accept(m)) picked.set(m.id, m);
    }
    return [...picked.values()];
  }
}

/**
 * An update with only the wire fields (no `since`): `meta` only on alive updates (the only ones
 * that introduce a member), `sig` on the self-claims (alive, left), `from` on suspect and dead.
 */
function compact(m: MemberUpdate): MemberUpdate {
  const out: MemberUpdate = { id: m.id, incarnation: m.incarnation, state: m.state, address: m.address, port: m.port };
  if (m.meta !== undefined && m.state === "alive") out.meta = m.meta;
  if (m.sig !== undefined && (m.state === "alive" || m.state === "left")) out.sig = m.sig;
  if (m.from !== undefined && (m.state === "suspect" || m.state === "dead")) out.from = m.from;
  return out;
}

function claimOf(u: MemberUpdate): SwimClaim {
  const claim: SwimClaim = { id: u.id, incarnation: u.incarnation, state: u.state, address: u.address, port: u.port };
  if (u.meta !== undefined) claim.meta = u.meta;
  return claim;
}
