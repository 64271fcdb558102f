/**
 * Seed discovery: join the configured seeds (`_synapse.join`), add the peers they list (peer
 * exchange), and join again whenever a seed has been lost, with a backoff for seeds that fail.
 *
 * @module
 */
import { CallTimeoutError, RemoteError } from "../errors.ts";
import { createLogger } from "../log.ts";
import { every } from "../schedule/every.ts";
import type { Peer } from "../types.ts";
import { monotonicMs, nowSeconds, wallStepsSince } from "../util/time.ts";
import { readPeer } from "../wire/peer.ts";
import type { Discovery, DiscoveryHost, IntroduceResult } from "./discovery.ts";
import type { MembershipTiming } from "./options.ts";
import type { Seed } from "./seeds.ts";
import { errorMessage, isMap } from "../util/guards.ts";
import { afterTurn, watchLoopLag, type LoopLag } from "./loop-lag.ts";
import { afterOwnTime } from "./swim-queue.ts";

const log = createLogger("membership");

/** What seed discovery needs of membership. */
export type SeedHost = Pick<DiscoveryHost, "self" | "running" | "knows" | "peerCount" | "admit" | "introduce" | "call" | "scheduler" | "gossipJoin" | "gossipJoinAt" | "gossipWhole" | "stalled">;

/**
 * How much longer than `joinTimeout` (as a multiple of it) a seed join may wait when this
 * process's event loop was blocked meanwhile: the timeout counts this node's own time, as SWIM's
 * do. In a saturated process (a mass join of hundreds of nodes on two cores) the loop ran 1 to 3 s
 * late a turn: a new connection's hello and the join's request and answer each waited for a turn,
 * and a join timed out before it had even reached the seed. It then waited out a backoff that
 * doubles with each failure, and 130 nodes of 1,000 were still failing 10 s after the last join.
 */
export const JOIN_STALL_EXTRA = 3;

/** The timing seed discovery follows (seconds). */
export type SeedTiming = Pick<MembershipTiming, "heartbeatInterval" | "peerTimeout" | "joinTimeout">;

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
  /** Seconds the last successful join's `_synapse.join` call took (its answer included), or null. */
  joinSeconds: number | null;
  /**
   * Seconds the join waited for the state exchange after the call's answer (gossip membership:
   * SWIM's join push-pull with the seed, whole state or a page; until it failed, when it did), or
   * null: none made (mesh mode, a seed of another swarm). The exchange is sent beside the call, so
   * this is what was left of it once the call was answered (plus a join of the usual kind made
   * then, when that one failed).
   */
  exchangeSeconds: number | null;
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
  joinSeconds: number | null;
  exchangeSeconds: number | null;
  /** When the seed may be tried again (monotonic seconds: a step of the system clock moves no backoff). */
  nextAttempt: number;
  /** The last answer listed peers that were not verified (budget spent, or no answer): ask again. */
  partial: boolean;
  inFlight: Promise<boolean> | null;
}

/** Joins seeds at start, on {@link refresh}, and again whenever one has been lost. */
export class SeedDiscovery implements Discovery {
  readonly name = "seeds";
  /** `refresh` waits for every seed's answer: nothing comes late. */
  readonly settleTime = 0;
  private readonly seeds: SeedState[] = [];
  private task = false;
  private active = false;
  private sent = 0;

  constructor(
    private readonly host: SeedHost,
    seeds: readonly Seed[],
    private readonly timing: SeedTiming,
  ) {
    this.add(seeds);
  }

  /** Joins sent so far, for statistics. */
  get joinsSent(): number {
    return this.sent;
  }

  /** Add seeds (known ones are skipped); they are joined on the next refresh or rejoin round. */
  add(seeds: readonly Seed[]): void {
    for (const seed of seeds) {
      if (this.seeds.some((s) => s.seed.host === seed.host && s.seed.port === seed.port)) continue;
      this.seeds.push({ seed, peerId: null, self: false, member: false, joinedAt: null, failures: 0, lastError: null, joinSeconds: null, exchangeSeconds: null, nextAttempt: 0, partial: false, inFlight: null });
    }
    if (this.seeds.length > 0) this.ensureTask();
  }

  /** The seeds and how joining them went. */
  status(): SeedStatus[] {
    return this.seeds.map((s) => ({
      seed: `${s.seed.host}:${s.seed.port}`,
      peerId: s.peerId,
      joinedAt: s.joinedAt,
      failures: s.failures,
      lastError: s.lastError,
      joinSeconds: s.joinSeconds,
      exchangeSeconds: s.exchangeSeconds,
    }));
  }

  start(): void {
    this.active = true;
  }

  stop(): Promise<void> {
    // A join in flight finishes on its own; no new one starts.
    this.active = false;
    return Promise.resolve();
  }

  /** Join every seed now (concurrently; an unreachable seed is logged and skipped). */
  async refresh(): Promise<void> {
    await Promise.all(this.seeds.filter((s) => !s.self).map((s) => this.attempt(s)));
  }

  /** Nothing to do at once: the rejoin round notices a lost seed by itself. */
  peerLost(): void {}

  /** Joins the seeds at start, and again whenever a seed has been lost (with a backoff). */
  private ensureTask(): void {
    if (this.task) return;
    this.task = true;
    this.host.scheduler.add(every({ seconds: this.timing.heartbeatInterval ?? 5 }), () => this.rejoin(), {
      name: "membership.seeds",
      skipIfRunning: true,
    });
  }

  /**
   * Join the seeds that are due: never joined; joined as a peer that has since been dropped; whose
   * last answer listed peers that could not all be probed yet (the per-source budget of
   * `bounds.ts`); or (a seed outside our swarm, such as a swarm-less bootstrap node) not asked for
   * peers for a while. Failed seeds wait out their backoff.
   */
  private async rejoin(): Promise<void> {
    const now = nowSeconds();
    const refresh = this.timing.peerTimeout ?? 60;
    const due = this.seeds.filter((s) => {
      if (s.self || s.inFlight || monotonicMs() / 1000 < s.nextAttempt) return false;
      if (s.joinedAt === null || s.peerId === null || s.partial) return true;
      if (s.member) return !this.host.knows(s.peerId);
      // Steps of the system clock since the join are no time passed (util/time.ts).
      return now - s.joinedAt - wallStepsSince(s.joinedAt) >= refresh;
    });
    await Promise.all(due.map((s) => this.attempt(s)));
  }

  /** One join of one seed (shared with a concurrent attempt); true on success. */
  private attempt(s: SeedState): Promise<boolean> {
    s.inFlight ??= this.join(s).finally(() => {
      s.inFlight = null;
    });
    return s.inFlight;
  }

  /**
   * `_synapse.join` on the seed, timed out after `joinTimeout` seconds of this node's own time: the
   * seconds its event loop was blocked meanwhile are waited again, up to {@link JOIN_STALL_EXTRA}
   * times `joinTimeout` more in all (see there). Rejects with the transport's error, or a
   * {@link CallTimeoutError} when the time ran out.
   */
  private callSeed(s: SeedState, label: string): Promise<unknown> {
    const timeout = this.timing.joinTimeout;
    const extra = timeout * JOIN_STALL_EXTRA;
    // The host's measure of the loop's stalls, or the process's monitor for the length of this call.
    const lag: LoopLag | null = this.host.stalled ? null : watchLoopLag();
    const stalled = lag ? lag.stalled : () => this.host.stalled!();
    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      const settle = (): boolean => {
        if (settled) return false;
        settled = true;
        lag?.release();
        return true;
      };
      const cancel = afterOwnTime(afterTurn, stalled, timeout, extra, () => {
        if (settle()) reject(new CallTimeoutError("_synapse.join", label, Math.round(timeout * 1000)));
      });
      // The transport's own timeout only past the longest wait (the answer is dropped once the time ran out).
      let call: Promise<unknown>;
      try {
        call = this.host.call(s.seed.host, s.seed.port, "_synapse.join", [this.host.self()], timeout + extra);
      } catch (error) {
        call = Promise.reject(error);
      }
      call.then(
        (answer) => {
          if (!settle()) return;
          cancel();
          resolve(answer);
        },
        (error: unknown) => {
          if (!settle()) return;
          cancel();
          reject(error);
        },
      );
    });
  }

  private async join(s: SeedState): Promise<boolean> {
    const label = `${s.seed.host}:${s.seed.port}`;
    if (!this.active || !this.host.running()) return false;
    this.sent++;
    let result: unknown;
    const started = monotonicMs();
    try {
      const call = this.callSeed(s, label);
      // SWIM's exchange goes beside the call (once the connection's hello says the seed speaks
      // SWIM), not after its answer: a join waits for the two answers together (see below).
      this.host.gossipJoinAt?.(s.seed.host, s.seed.port, this.timing.joinTimeout);
      result = await call;
    } catch (error) {
      s.failures++;
      s.lastError = errorMessage(error);
      const backoff = Math.min(60, (this.timing.heartbeatInterval ?? 5) * 2 ** Math.min(s.failures - 1, 6));
      s.nextAttempt = monotonicMs() / 1000 + backoff;
      const why = error instanceof RemoteError ? `refused: ${error.message}` : `unreachable: ${errorMessage(error)}`;
      if (s.failures === 1) log.warn(`seed ${label} ${why}; skipping it (retry in ${backoff} s)`);
      else log.debug(`seed ${label} ${why} (${s.failures} failures)`);
      return false;
    }
    const answer = (result ?? {}) as Record<string, unknown>;
    let self: Peer;
    try {
      self = readPeer(answer.self, { mode: "strict" });
    } catch (error) {
      s.failures++;
      s.lastError = `invalid join answer: ${errorMessage(error)}`;
      s.nextAttempt = monotonicMs() / 1000 + (this.timing.heartbeatInterval ?? 5);
      log.warn(`seed ${label} sent an invalid join answer: ${errorMessage(error)}`);
      return false;
    }
    s.failures = 0;
    s.lastError = null;
    s.joinSeconds = (monotonicMs() - started) / 1000;
    s.exchangeSeconds = null;
    s.joinedAt = nowSeconds();
    s.peerId = self.id;
    if (self.id === this.host.self().id) {
      s.self = true;
      log.debug(`seed ${label} is this node; ignoring it`);
      return true;
    }
    const seedNow = typeof self.last_seen === "number" ? self.last_seen : nowSeconds();
    s.member = this.host.admit({ ...self, last_seen: nowSeconds() }, "seed", { remoteAddress: s.seed.host });
    // A seed that gossips membership with this node hands over its whole view in one exchange
    // (memberlist's join), and gossip spreads this node: the SWIM members it listed are known
    // afterwards and need no probe (N probes per joiner made a mass join cost N² heartbeats). Its
    // other listed peers (Python nodes, mesh-mode Bun nodes: not in SWIM's view) are still probed,
    // which is how they hear of this node. An exchange that failed (SWIM's join sends it again a
    // few times, jittered) is not followed by another `_synapse.join`: the seed is joined, and
    // gossip and push-pull with the members bring the state (a join repeated every rejoin round
    // stacked up on a starved seed); nor by probes of the listed peers, which under a mass join's
    // load would only add to it. The exchange went out beside the call (`gossipJoinAt`): this waits
    // for what is left of it, or makes it now if that one failed.
    const exchangeStarted = monotonicMs();
    const gossiped = s.member && this.host.gossipJoin ? await this.host.gossipJoin(self.id, this.timing.joinTimeout) : null;
    if (gossiped !== null) s.exchangeSeconds = (monotonicMs() - exchangeStarted) / 1000;
    if (gossiped === false) {
      s.partial = false;
      log.debug(`seed ${label} answered, its state exchange failed: the members' gossip brings the swarm`);
      return true;
    }
    const peers = Array.isArray(answer.peers) ? answer.peers : [];
    // A seed that answered a page (a large swarm): the listed peers wait until the rest of the
    // state is in (not awaited by the join). Probed at once, the SWIM members the page left out
    // (224 of the 256 listed) were probed by every joiner, 64 per 5 s, and the seed joined again
    // for the rest of its list.
    const whole = gossiped ? (this.host.gossipWhole?.() ?? null) : null;
    if (whole) {
      void whole.then(async () => {
        if (this.active && this.host.running()) s.partial = (await this.exchange(peers, seedNow, label)) > 0;
      });
      return true;
    }
    s.partial = (await this.exchange(peers, seedNow, label)) > 0;
    log.debug(`joined seed ${label}: ${this.host.peerCount()} peer(s) known`);
    return true;
  }

  /**
   * Add the peers a seed listed (peer exchange). Their `last_seen` is the seed's view, so a peer
   * it has not heard from for `peerTimeout` is skipped; clocks are compared through the seed's
   * own timestamp. A new peer is second-hand: it is probed with a heartbeat (which also tells it
   * of this node) and admitted when it answers as itself; the probes run concurrently, and the
   * join waits for them (each bounded by the heartbeat timeout).
   *
   * @returns how many listed peers were not probed (their source's budget was spent).
   */
  private async exchange(records: unknown[], listerNow: number, from: string): Promise<number> {
    const now = nowSeconds();
    const selfId = this.host.self().id;
    const timeout = this.timing.peerTimeout;
    const probes: Array<Promise<IntroduceResult>> = [];
    for (const raw of records) {
      // A peer known already is skipped before its record is read: a gossip joiner knows nearly
      // every peer a seed lists by then (its state exchange brought them), and reading 256 records
      // to skip them was about 1% of a worker's CPU over the 1,000-node join.
      const listed = isMap(raw) ? raw.id : undefined;
      if (typeof listed === "string" && (listed === selfId || this.host.knows(listed))) continue;
      let peer: Peer;
      try {
        peer = readPeer(raw, { mode: "strict", now: listerNow });
      } catch (error) {
        log.debug(`skipping a malformed peer record from ${from}: ${errorMessage(error)}`);
        continue;
      }
      if (peer.id === selfId || this.host.knows(peer.id)) continue;
      const age = Math.max(0, listerNow - peer.last_seen);
      if (timeout !== null && age >= timeout) continue;
      probes.push(this.host.introduce({ ...peer, last_seen: now - age }, from));
    }
    const known = await Promise.all(probes);
    return known.filter((k) => k === "dropped").length;
  }
}
