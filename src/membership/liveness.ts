/**
 * Liveness: heartbeat rounds (every known peer concurrently, each call with its own timeout, so
 * one unreachable peer never delays the rest), reaping peers not heard from for `peerTimeout`,
 * and probing recently dropped peers so that a healed partition heals the membership too.
 *
 * It works through a {@link LivenessHost}, not membership itself, so it can run against fakes.
 *
 * @module
 */
import { createLogger } from "../log.ts";
import { every } from "../schedule/every.ts";
import type { Peer } from "../types.ts";
import { isMap } from "../util/guards.ts";
import { nowSeconds, wallStepsSince } from "../util/time.ts";
import { readNodeInfo } from "../wire/peer.ts";
import type { AdmitOptions, TaskScheduler } from "./discovery.ts";
import type { MembershipTiming } from "./options.ts";
import { sharedList, type PeerEntry, type PeerSource, type PeerTable } from "./peer-table.ts";

const log = createLogger("heartbeat");

/** Dropped peers are remembered (and probed) for at most this many. */
const MAX_LOST = 1024;
/** ...and for at least this long (seconds), or ten peer timeouts when that is longer. */
const MIN_LOST_RETENTION = 300;
/**
 * Dropped peers probed in one heartbeat round, at most; the others due wait for the next rounds,
 * the longest waiting first. A killed process of 250 nodes left each of 750 survivors 249 dropped
 * peers, each probed every peer timeout for five minutes: 46,000 refused heartbeats a second over
 * the swarm, each with its signed claim, which took the survivors' CPU while the kill's news was
 * still spreading; at 4 a round, 3,000 a second were still 5 to 9% of a survivor's CPU over the
 * kill. One answer is enough to heal a partition (the peer found again brings the rest back
 * through its peer list or gossip's exchange), and every node of the other side probes: one a
 * round each (Serf reconnects to one failed member every 30 s).
 */
export const MAX_LOST_PROBES = 1;

/**
 * Seconds between two looks for dropped peers past their retention (at least 300 s): a round
 * walks only the peers due for a probe, so one past its retention may stay counted
 * ({@link Liveness.offlineCount}) up to this much longer.
 */
const LOST_SWEEP = 10;

/** Who to heartbeat: a table entry, or what is left of a dropped one. */
export type HeartbeatTarget = Pick<PeerEntry, "dialHost" | "fallbackHost" | "peer" | "extensions">;

/** What liveness needs of membership. */
export interface LivenessHost {
  /** This node's record, sent with every heartbeat. */
  self(): Peer;
  /** True while the node runs; no round starts otherwise. */
  running(): boolean;
  /**
   * The known peers. Rounds and reaps take those gossip does not own as the table keeps them
   * (`unowned`): a walk of the whole table every interval and every reap cost each node O(N) a
   * second (10 to 20% of a bench worker's CPU at 200 nodes), and, kept while the table and the
   * owned set stood, was still made again every second of a paced join.
   */
  readonly table: Pick<PeerTable, "get" | "touch" | "refresh" | "remove" | "unowned" | "unownedCount">;
  /** Call `endpoint` on a peer (with the fallback to its advertised address). */
  call(target: HeartbeatTarget, endpoint: string, args: unknown[], timeout: number): Promise<unknown>;
  /** Add a peer that answered although it was not known (back in the swarm). */
  admit(peer: Peer, source: PeerSource, options?: AdmitOptions): PeerEntry | null;
  /** A known peer answered a heartbeat (`peer.heartbeat`). */
  heard(peer: Peer): void;
  /** A peer was dropped (`peer.offline`). */
  dropped(peer: Peer): void;
  /**
   * A peer silent for `peerTimeout` that gossip does not own: true when gossip membership takes it
   * over instead (its SWIM holds the member alive), and the reaper spares it (see {@link Liveness.reap}).
   */
  adopt?(entry: PeerEntry): boolean;
  /** A peer left the table, or a probe of a dropped one failed: release its pooled channels. */
  released?(target: HeartbeatTarget): void;
  /**
   * Seconds this process's event loop was blocked within the last `seconds` (`LoopLag.stalledWithin`):
   * time in which it could hear nobody, which the reaper does not count as a peer's silence.
   * Absent: every second counts.
   */
  stalledWithin?(seconds: number): number;
  /** Where the heartbeat and reaping rounds go. */
  readonly scheduler: TaskScheduler;
}

/** The timing liveness follows (seconds), and its clock. */
export interface LivenessTiming extends Pick<MembershipTiming, "heartbeatInterval" | "peerTimeout" | "heartbeatTimeout"> {
  /** Unix seconds now (default: the wall clock); tests pass their own. */
  now?: () => number;
  /**
   * Seconds the clock was stepped since a time it gave (see `wallStepsSince` of util/time.ts, the
   * default with the default clock; none with a clock of the caller's unless given).
   */
  stepsSince?: (at: number) => number;
}

/** Heartbeat counters, and the reaper's. */
export interface HeartbeatCounts {
  sent: number;
  answered: number;
  failed: number;
  /** Silent peers the reaper left to gossip membership instead of dropping them (see {@link Liveness.reap}). */
  adopted: number;
  /** Reaps of a peer put off because this process's event loop was blocked for part of its silence (see {@link Liveness.reap}). */
  spared: number;
}

interface LostPeer {
  target: HeartbeatTarget;
  droppedAt: number;
  /** When its wait for the next probe began (dropped, or probed last): a time of the clock, whose steps are taken off. */
  waitFrom: number;
}

/** The heartbeat and reaping work of one membership. */
export class Liveness {
  /** Heartbeats sent, answered and failed. */
  readonly counts: HeartbeatCounts = { sent: 0, answered: 0, failed: 0, adopted: 0, spared: 0 };

  private readonly inFlight = new Set<string>();
  private readonly lost = new Map<string, LostPeer>();
  /**
   * Peers that said they left, with the {@link leaves} count at that moment: a heartbeat answer sent
   * before the leave and arriving after it must not bring the peer back.
   */
  private readonly left = new Map<string, number>();
  private leaves = 0;
  private readonly now: () => number;
  private readonly stepsSince: (at: number) => number;
  private scheduled = false;
  /** When (this clock) the dropped peers past their retention are next looked for (see {@link LOST_SWEEP}). */
  private nextSweep = Number.NEGATIVE_INFINITY;
  /** Unix seconds of the last start. */
  private startedAt = 0;

  constructor(
    private readonly host: LivenessHost,
    private readonly timing: LivenessTiming,
  ) {
    this.now = timing.now ?? nowSeconds;
    this.stepsSince = timing.stepsSince ?? (timing.now ? () => 0 : wallStepsSince);
  }

  /** Peers dropped lately and still probed now and then (a healed partition brings them back). */
  get offlineCount(): number {
    return this.lost.size;
  }

  /** The node (re)started. */
  started(): void {
    this.startedAt = this.now();
  }

  /**
   * A peer is (again) in the table: stop probing it. The first peer puts the liveness work on the
   * scheduler (a node alone has none, and its timetable stays its own).
   */
  found(id: string): void {
    this.schedule();
    this.lost.delete(id);
    this.left.delete(id);
  }

  /** True when a {@link round} would call anyone: a peer gossip does not own, or a dropped peer (probed when due). */
  hasWork(): boolean {
    return this.host.table.unownedCount > 0 || this.lost.size > 0;
  }

  /** One round: a heartbeat to every known peer, and a probe to the dropped peers that are due. */
  async round(): Promise<void> {
    if (!this.host.running()) return;
    const now = this.now();
    // One record of this node for the whole round: its claim is signed once, not once per peer; and
    // none when the round calls nobody (a gossip node whose peers SWIM owns, most rounds).
    let record: Peer | undefined;
    const self = (): Peer => (record ??= this.host.self());
    const calls: Array<Promise<boolean>> = this.host.table.unowned().map((entry) => this.beat(entry, self()));
    const retention = Math.max(MIN_LOST_RETENTION, 10 * (this.timing.peerTimeout ?? 0));
    const expired = (lost: LostPeer): boolean => now - lost.droppedAt - this.stepsSince(lost.droppedAt) > retention;
    // Every LOST_SWEEP seconds (or at once after the clock stepped back past the last look).
    if (now >= this.nextSweep || now < this.nextSweep - LOST_SWEEP) {
      this.nextSweep = now + LOST_SWEEP;
      for (const [id, lost] of this.lost) if (expired(lost)) this.lost.delete(id);
    }
    // The map is in the order the peers' waits began (dropped, or probed: a probed one goes to the
    // back), so the longest waiting come first and the walk ends at the first one not due. A walk
    // of every dropped peer each round was 3% of a survivor's CPU over a 1,000-node kill (249
    // dropped peers each, for five minutes).
    const wait = this.probeWait();
    const probed: LostPeer[] = [];
    for (const lost of this.lost.values()) {
      if (probed.length >= MAX_LOST_PROBES || now - lost.waitFrom - this.stepsSince(lost.waitFrom) < wait) break;
      if (expired(lost)) {
        this.lost.delete(lost.target.peer.id);
        continue;
      }
      lost.waitFrom = now;
      probed.push(lost);
      calls.push(this.beat(lost.target, self()));
    }
    for (const lost of probed) {
      this.lost.delete(lost.target.peer.id);
      this.lost.set(lost.target.peer.id, lost);
    }
    await Promise.all(calls);
  }

  /**
   * Heartbeat one peer. On an answer the peer is marked seen (and re-added when it had been
   * dropped meanwhile); on a failure nothing happens: silence is what the reaper counts.
   *
   * @returns true when the peer answered as itself.
   */
  async beat(target: HeartbeatTarget, self: Peer = this.host.self()): Promise<boolean> {
    const host = this.host;
    const id = target.peer.id;
    if (this.inFlight.has(id) || !host.running()) return false;
    this.inFlight.add(id);
    this.counts.sent++;
    const leavesBefore = this.leaves;
    try {
      const answer = await host.call(target, "_synapse.heartbeat", [self], this.timing.heartbeatTimeout);
      const info = readNodeInfo(isMap(answer) ? answer.self : undefined);
      if (info.id !== undefined && info.id !== id) {
        // Another node now listens at that address; the old peer stays silent and will be reaped.
        this.counts.failed++;
        log.debug(`${target.dialHost}:${target.peer.port} answered as ${info.id.slice(0, 8)}, not ${id.slice(0, 8)}`);
        return false;
      }
      this.counts.answered++;
      const now = this.now();
      const entry = host.table.get(id);
      if (entry) {
        host.table.refresh(id, refreshed(info));
        host.table.touch(id, now);
        host.heard(entry.peer);
      } else if ((this.left.get(id) ?? -1) >= leavesBefore) {
        // It said it left while this heartbeat was on its way: the answer is from before the leave.
        return false;
      } else {
        // Dropped (or never admitted) but alive: back in the swarm.
        const peer: Peer = Object.assign({ ...target.peer, capabilities: [...target.peer.capabilities], last_seen: now }, refreshed(info));
        const back = host.admit(peer, "heartbeat", { extensions: target.extensions });
        if (back) host.heard(back.peer);
      }
      return true;
    } catch (error) {
      this.counts.failed++;
      // A dropped peer's probe made a channel again: it is not kept for a peer that is not there.
      if (!host.table.get(id)) host.released?.(target);
      log.debug(`heartbeat to ${target.peer.name || id.slice(0, 8)} at ${target.dialHost}:${target.peer.port} failed`, error);
      return false;
    } finally {
      this.inFlight.delete(id);
    }
  }

  /**
   * Drop every peer not heard from for `peerTimeout` (but those gossip membership takes over,
   * `adopt`); `peer.offline` fires once for each. The seconds this process's event loop was
   * blocked during a peer's silence do not count (`stalledWithin`): a process stopped and
   * continued, or blocked by a long task, reads the heartbeats that arrived meanwhile only after
   * its timers, and had dropped every peer it had. Nor do steps of the system clock since the
   * peer was heard from (`stepsSince`).
   */
  reap(): Peer[] {
    const timeout = this.timing.peerTimeout;
    if (timeout === null) return [];
    const now = this.now();
    const dropped: Peer[] = [];
    // After a (re)start every peer gets a full timeout: the node could not hear anyone while stopped.
    if (now - this.startedAt - this.stepsSince(this.startedAt) < timeout) return dropped;
    const cutoff = now - timeout;
    for (const entry of this.host.table.unowned()) {
      // A step of the system clock since the peer was heard from is no silence (forward), nor is
      // silence hidden by one (backward): a box that booted without a real-time clock has its
      // clock set by NTP, and had dropped every peer it had, or kept dead ones for the step's length.
      const stepped = this.stepsSince(entry.peer.last_seen);
      if (entry.peer.last_seen + stepped >= cutoff) continue;
      const silent = now - entry.peer.last_seen - stepped;
      if (this.host.stalledWithin && silent - this.host.stalledWithin(silent) < timeout) {
        this.counts.spared++;
        continue;
      }
      // Silent to this node's heartbeats, but alive in its gossip membership: SWIM decides for it
      // from now on. In a saturated 1,000-node swarm, 13 nodes of one process reaped a late joiner
      // their SWIM held alive (its heartbeats unanswered for 5 s): false offlines in the steady window.
      if (this.host.adopt?.(entry)) {
        this.counts.adopted++;
        continue;
      }
      if (!this.host.table.remove(entry.peer.id)) continue;
      this.remember(entry, now);
      log.debug(`peer ${entry.peer.name} (${entry.peer.id.slice(0, 8)}) silent for ${silent.toFixed(1)} s: offline`);
      dropped.push(entry.peer);
      this.host.dropped(entry.peer);
      this.host.released?.(entry);
    }
    return dropped;
  }

  /**
   * Forget a peer at once (an mDNS goodbye, a `_synapse.leave`); `peer.offline` fires when it was
   * known. With `probe` false the peer is not probed afterwards (it said it left: a node that comes
   * back joins again by itself).
   */
  drop(id: string, probe = true): Peer | null {
    const entry = this.host.table.remove(id);
    if (!entry) return null;
    if (probe) this.remember(entry, this.now());
    else {
      this.lost.delete(id);
      if (this.left.size >= MAX_LOST) this.left.delete(this.left.keys().next().value!);
      this.left.set(id, this.leaves++);
    }
    this.host.dropped(entry.peer);
    this.host.released?.(entry);
    return entry.peer;
  }

  /** Seconds between two probes of a dropped peer. */
  private probeWait(): number {
    return Math.max(this.timing.heartbeatInterval ?? 5, this.timing.peerTimeout ?? 0);
  }

  private remember(entry: PeerEntry, now: number): void {
    if (this.lost.size >= MAX_LOST) {
      // The first in the order: the one waiting longest for a probe (a round moves those it probed to the back).
      const first = this.lost.keys().next().value;
      if (first !== undefined) this.lost.delete(first);
    }
    // Its fields, not a spread: the entry's record is an accessor (`TableEntry`).
    const target: HeartbeatTarget = { peer: entry.peer, dialHost: entry.dialHost, fallbackHost: entry.fallbackHost, extensions: entry.extensions };
    this.lost.set(target.peer.id, { target, droppedAt: now, waitFrom: now });
  }

  /** Put heartbeat rounds and reaping on the scheduler, once. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const { heartbeatInterval, peerTimeout } = this.timing;
    if (heartbeatInterval !== null) {
      // A random pause before each round (up to a quarter interval, at most 1 s) keeps nodes that
      // started together from heartbeating in lockstep bursts.
      const jitterMs = Math.min(1000, (heartbeatInterval * 1000) / 4);
      this.host.scheduler.add(
        every({ seconds: heartbeatInterval }),
        async () => {
          // Nobody to call (gossip owns every peer, none was dropped): no pause, no round. A gossip
          // node's rounds found nobody to heartbeat, and each was a timer and a turn of the event
          // loop a node an interval.
          if (!this.hasWork()) return;
          // The pause neither keeps the process alive nor outlives the node: a round that would
          // start after stop() does not start.
          await new Promise<void>((resolve) => setTimeout(resolve, Math.random() * jitterMs).unref?.());
          if (!this.host.running()) return;
          await this.round();
        },
        { name: "membership.heartbeat" },
      );
    }
    if (peerTimeout !== null) {
      const step = Math.max(0.05, Math.min(2, peerTimeout / 4));
      this.host.scheduler.add(every({ seconds: step }), () => void this.reap(), { name: "membership.reap" });
    }
  }
}

/**
 * What a heartbeat answer's `self` says of a peer record's name, kind and capabilities (those it
 * gives). The capability list is the table's shared one (as gossip's updates give it), not the
 * decoded array of each answer.
 */
function refreshed(info: Partial<Pick<Peer, "name" | "kind" | "capabilities">>): Partial<Pick<Peer, "name" | "kind" | "capabilities">> {
  const out: Partial<Pick<Peer, "name" | "kind" | "capabilities">> = {};
  if (info.name !== undefined) out.name = info.name;
  if (info.kind !== undefined) out.kind = info.kind;
  if (info.capabilities !== undefined) out.capabilities = sharedList(info.capabilities);
  return out;
}
