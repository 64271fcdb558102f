/**
 * The multi-process membership bench: N nodes over a few Bun processes on loopback (the seed in
 * this process, the others in `membership-worker.ts` processes), measured from outside through the
 * workers' answers and `node.metrics()`. See `bench/membership.ts` for what is measured.
 *
 * @module
 */
import { join } from "node:path";
import { Node, type NodeOptions } from "../../src/index.ts";
import type { Census, DetectionPair, JoinStage, WorkerAnswer, WorkerCommand } from "./membership-worker.ts";
import type { TraceBucket } from "./membership-kill-trace.ts";
import { diffSwim, sumSwim, type SwimTotals } from "./membership-swim-totals.ts";

/** How the nodes keep their membership. */
export type SwarmMode = "mesh" | "gossip";

/** One swarm scenario's numbers (times in seconds). */
export interface SwarmResult {
  mode: SwarmMode;
  nodes: number;
  processes: number;
  /** The worker processes' node counts (the last one's killed; the seed's process not counted). */
  layout: number[];
  heartbeatInterval: number;
  peerTimeout: number;
  /** Joins a second over the swarm (`--join-rate`), or 0: every node's `join()` at once. */
  joinRate: number;
  /** From the joins' start until the last join returned. */
  joinSeconds: number;
  /**
   * CPU seconds spent from the joins' start until the last join returned: by the seed's process
   * (which answers every joiner's push-pull with its whole state) and by the workers together.
   */
  joinCpu: { seed: number; workers: number };
  /** Each node's `join()`, seconds from its own start (all at once: the worker's joins' start): median, 90th percentile, highest. */
  joinSpread: Spread;
  /**
   * The joins scheduled within the last {@link STAGE_SECONDS} seconds of the joins' starts, stage by
   * stage (seconds): how late each started (its worker's loop), its `_synapse.join` call, and what
   * it then waited for the state exchange with the seed, which goes beside the call
   * (`SeedStatus.joinSeconds`, `exchangeSeconds`; null when no join had that stage, as no exchange
   * in mesh mode).
   */
  joinStages: { seconds: number; joins: number; late: Spread; call: Spread | null; exchange: Spread | null };
  /**
   * From the last join's return until every node knew every other (the latest moment a node's
   * table came to hold every other, as the nodes noted it; 0 when that came before the last
   * join's return); null if not within the limit.
   */
  allKnowAll: number | null;
  /** The same until the bench's poll saw it (later by the workers' event-loop lateness and the poll's 100 ms interval; the figure before Dec 3, s28). */
  allKnowAllPolled: number | null;
  /**
   * From the last join's start (the latest of the workers' scheduled starts) until every node knew
   * every other, as the nodes noted it: the target's own measure, whether or not the last
   * `join()` had returned by then (null if not within the limit). Before Dec 3, s31, the docs
   * derived it as the join's length less the span of its starts plus {@link allKnowAll}, which
   * counts the last `join()`'s return even when every node knew every other before it.
   */
  allKnowAllFromLastStart: number | null;
  /** Steady window, seconds, and the membership calls each node made per second in it. */
  steadySeconds: number;
  membershipCallsPerNodePerSec: number;
  /**
   * CPU the worker processes spent in the steady window, milliseconds per node per second (their
   * nodes only; the seed's process is left out), and the share of a core the busiest worker used.
   */
  cpuMsPerNodePerSec: number;
  busiestWorkerCores: number;
  /** `peer.offline` events in the steady window, over all nodes (every node is up: false alarms). */
  falseOffline: number;
  /** Heap per known peer per node, bytes (after a full GC once the steady window is over; over the started nodes' heap before joining). */
  heapPerKnownPeer: number;
  /**
   * Whether the baseline was warmed (`--warm-baseline`: each worker ran and stopped a small swarm
   * of its own before it made its nodes, see `membership-worker.ts`). Without it the figure above
   * counts the code compiled while joining as memory of the peers: a constant per process (about
   * 2.7 MB), hundreds of bytes per peer at 200 nodes and tens at 1,000.
   */
  warmBaseline: boolean;
  /** Nodes that died in that warm-up (`--warm-deaths K`), so that the kill ran code compiled already: a diagnostic, not the scenario's kill figure; 0 without. */
  warmDeaths: number;
  /** Of those, the deaths that every kept warm-up node of every worker saw (the fewest; K when all did). */
  warmDeathsSeen: number;
  /**
   * The same without the open connections (about 1 KB an end, `CONNECTION_END_BYTES`): what the
   * peers themselves cost (records, membership state).
   */
  heapPerKnownPeerWithoutConnections: number;
  /** Connections open per process once converged (accepted and pooled). */
  connectionsPerProcess: number;
  /** Nodes in the killed process, and the time from the kill until every other node saw them all offline. */
  killed: number;
  offlineEverywhere: number | null;
  /**
   * Seconds from the kill until a survivor saw a killed node offline, over every (survivor, killed
   * node) pair of the worker processes: median, 90th and 99th percentile (null when not all went).
   */
  offlineDelays: { p50: number; p90: number; p99: number } | null;
  /**
   * The kill's stages, seconds from the kill (null when not all went): per killed node, its first
   * suspicion at any survivor and its first verdict anywhere; per pair, the spread (its offline at
   * that survivor after the killed node's first verdict) and the share of verdicts the survivor
   * reached itself; each worker's worst event-loop lateness (ms), SWIM's counters over the
   * detection, and the local-health scores at the kill (highest, and mean).
   */
  detection: Detection | null;
  /**
   * With `BENCH_CENSUS=1` only (it adds work to the nodes measured): who is missing where, about
   * once a second from the last join until converged (see {@link TracePoint}).
   */
  convergenceTrace?: TracePoint[];
  /** SWIM's counters over the workers' nodes: from the start until converged, and in the steady window. */
  swimJoin: SwimTotals;
  swimSteady: SwimTotals;
  /** The seed's own SWIM counters from its start until converged (the pulls it answered busy: `catchUpsRefused`). */
  seedSwimJoin: SwimTotals;
}

/**
 * One census of the workers' nodes (`BENCH_CENSUS=1`): seconds after the last join; nodes that know
 * everyone; missing (node, member) pairs by what the node's SWIM holds about the member (see
 * `Census`); the distinct members missed and the most missed (with when their own `join()`
 * returned, seconds relative to the last join, and how many nodes miss them); the seed's own
 * missing count; local health, queue lengths, each worker's worst loop lateness (ms) and CPU
 * (cores) since the previous census; SWIM's counters so far.
 */
export interface TracePoint extends Pick<Census, "complete" | "minKnown" | "missing" | "lacking" | "neverJoined" | "seedFailing" | "neverCaughtUp" | "awarenessMax" | "awarenessMean" | "queuedMax" | "queuedMean"> {
  t: number;
  seedMissing: number;
  distinctMissing: number;
  top: Array<{ id: string; nodes: number; joined: number | null; worker: number }>;
  /** Per worker (`lacking`: a few nodes over all workers, `joinedAt` relative to the last join, s). */
  lagMaxMs: number[];
  cores: number[];
  /** Summed over the workers (see `Census`); `refusedLive`: refused connects aimed at a port of the swarm (all alive while joining). */
  deadBy: Census["deadBy"];
  connectErrors: Record<string, number>;
  refusedLive: number;
  swim: SwimTotals;
}

/** p50 / p90 / max of a set of seconds. */
export interface Spread {
  p50: number;
  p90: number;
  max: number;
}

/** See {@link SwarmResult.detection}. */
export interface Detection {
  firstSuspicion: Spread;
  firstVerdict: Spread;
  spread: Spread;
  ownVerdicts: number;
  neverSuspected: number;
  lagMaxMs: number[];
  /** Each surviving worker's CPU seconds from the kill until its nodes all saw the killed ones offline. */
  cpuSeconds: number[];
  swim: SwimTotals;
  awarenessAtKill: { max: number; mean: number };
  /** The ten latest pairs: seconds from the kill, the killed node and the survivor (8 characters), whose verdict, and the survivor's view (see `DetectionPair`). */
  latest: Array<{ at: number; id: string; node: string; own: boolean; swim: string; doubts: number; awareness: number; newer: number; heardAgo: number | null; ownedAtKill: boolean; stateAtKill: string; trace?: DetectionPair["trace"] }>;
  /** Pairs whose survivor's bridge did not own the killed node at the kill (heartbeats decided its liveness), and of those the latest, seconds from the kill. */
  unowned: { pairs: number; latest: number | null };
  /** Pairs whose survivor held the killed node at a newer incarnation than some other node of its process (see `DetectionPair.newer`), and of those the latest, seconds from the kill. */
  newer: { pairs: number; latest: number | null };
  /** With `BENCH_TRACE_KILL=1`: each surviving worker's nodes' trace buckets, averaged (see `membership-kill-trace.ts`). */
  traceMean?: TraceBucket[][];
}

/** The window of {@link SwarmResult.joinStages}: the joins scheduled this many seconds before the last start, or later. */
const STAGE_SECONDS = 5;

/** {@link SwarmResult.joinStages} from the workers' stages (`lastStart`: the latest scheduled start, epoch ms). */
function joinStagesOf(stages: JoinStage[], lastStart: number): SwarmResult["joinStages"] {
  const last = stages.filter((s) => s.at >= lastStart - STAGE_SECONDS * 1000);
  const ofKnown = (values: Array<number | null>) => {
    const known = values.filter((v): v is number => v !== null);
    return known.length > 0 ? spreadOf(known) : null;
  };
  return { seconds: STAGE_SECONDS, joins: last.length, late: spreadOf(last.map((s) => s.late)), call: ofKnown(last.map((s) => s.call)), exchange: ofKnown(last.map((s) => s.exchange)) };
}

function spreadOf(values: number[]): Spread {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p90: at(0.9), max: s[s.length - 1] ?? 0 };
}

/** The kill's stages from the workers' pairs (see {@link SwarmResult.detection}). */
function detectionOf(gone: Array<Extract<WorkerAnswer, { type: "gone" }>>, seen: Array<Extract<WorkerAnswer, { type: "details" }>>, killedAt: number): Detection {
  const pairs = seen.flatMap((g) => g.pairs);
  const firstSuspect = new Map<string, number>();
  const firstVerdict = new Map<string, number>();
  for (const p of pairs) {
    if (p.suspect !== null) firstSuspect.set(p.id, Math.min(firstSuspect.get(p.id) ?? Infinity, p.suspect));
    firstVerdict.set(p.id, Math.min(firstVerdict.get(p.id) ?? Infinity, p.offline));
  }
  const s = (ms: number) => (ms - killedAt) / 1000;
  const scores = seen.flatMap((g) => g.awarenessAtKill);
  return {
    firstSuspicion: spreadOf([...firstSuspect.values()].map(s)),
    firstVerdict: spreadOf([...firstVerdict.values()].map(s)),
    spread: spreadOf(pairs.map((p) => (p.offline - firstVerdict.get(p.id)!) / 1000)),
    ownVerdicts: pairs.filter((p) => p.own).length / Math.max(1, pairs.length),
    neverSuspected: pairs.filter((p) => p.suspect === null).length,
    lagMaxMs: gone.map((g) => Math.round(g.lagMax)),
    cpuSeconds: gone.map((g) => Math.round(g.cpu * 100) / 100),
    swim: sumSwim(seen.map((g) => g.swim)),
    awarenessAtKill: { max: Math.max(0, ...scores), mean: scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length) },
    latest: [...pairs].sort((a, b) => b.offline - a.offline).slice(0, 10).map((p) => ({ at: s(p.offline), id: p.id.slice(0, 8), node: p.node.slice(0, 8), own: p.own, swim: p.swim, doubts: p.doubts, awareness: p.awareness, newer: p.newer, heardAgo: p.heardAgo, ownedAtKill: p.ownedAtKill, stateAtKill: p.stateAtKill, ...(p.trace ? { trace: p.trace } : {}) })),
    unowned: { pairs: pairs.filter((p) => !p.ownedAtKill).length, latest: pairs.some((p) => !p.ownedAtKill) ? Math.max(...pairs.filter((p) => !p.ownedAtKill).map((p) => s(p.offline))) : null },
    ...(seen.some((g) => g.traceMean) ? { traceMean: seen.map((g) => g.traceMean ?? []) } : {}),
    newer: { pairs: pairs.filter((p) => p.newer > 0).length, latest: pairs.some((p) => p.newer > 0) ? Math.max(...pairs.filter((p) => p.newer > 0).map((p) => s(p.offline))) : null },
  };
}

const WORKER = join(import.meta.dir, "membership-worker.ts");

/**
 * What one end of an open, idle connection holds on the heap over TCP: about 1 KB (2,066 bytes for
 * both ends with the pool's channel, measured as in bench/memory.ts; no write buffer once idle).
 */
const CONNECTION_END_BYTES = 1_033;

/** A worker process of the swarm (`membership-worker.ts`) and the one answer it owes. */
export class Worker {
  private waiting: { resolve(a: WorkerAnswer): void; reject(e: Error): void } | null = null;
  readonly proc: ReturnType<typeof Bun.spawn>;

  constructor() {
    this.proc = Bun.spawn([process.execPath, WORKER], {
      stdout: "inherit",
      stderr: "inherit",
      ipc: (message: WorkerAnswer) => {
        const w = this.waiting;
        this.waiting = null;
        if (!w) return;
        if (message.type === "error") w.reject(new Error(`worker: ${message.message}`));
        else w.resolve(message);
      },
    });
  }

  /** Send a command and wait for its answer (at most `seconds`). */
  ask<T extends WorkerAnswer["type"]>(command: WorkerCommand, expect: T, seconds = 120): Promise<Extract<WorkerAnswer, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker gave no ${expect} answer in ${seconds} s`)), seconds * 1000);
      this.waiting = {
        resolve: (a) => {
          clearTimeout(timer);
          if (a.type === expect) resolve(a as Extract<WorkerAnswer, { type: T }>);
          else reject(new Error(`worker answered ${a.type}, expected ${expect}`));
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.proc.send(command);
    });
  }
}

/** The convergence trace (`BENCH_CENSUS=1`): a census of every worker about once a second. */
class Trace {
  readonly points: TracePoint[] = [];
  #last = 0;
  #joined: Record<string, number> = {};
  #cpu: number[];
  #at = Date.now();
  readonly #worker = new Map<string, number>();
  /** Every listening port of the swarm. */
  readonly #ports: Set<number>;

  constructor(
    private readonly workers: Worker[],
    started: Array<{ ids: string[]; ports: number[] }>,
    cpuAtJoin: number[],
    private readonly seed: Node,
    private readonly lastJoin: number,
    private readonly n: number,
  ) {
    this.#cpu = cpuAtJoin;
    started.forEach((s, i) => s.ids.forEach((id) => this.#worker.set(id, i)));
    this.#ports = new Set([seed.port, ...started.flatMap((s) => s.ports)]);
    this.#ids = [seed.id, ...started.flatMap((s) => s.ids)];
  }

  readonly #ids: string[];

  async maybe(): Promise<void> {
    if (Date.now() - this.#last < 1000) return;
    const first = this.#last === 0;
    this.#last = Date.now();
    const all = await Promise.all(this.workers.map((w) => w.ask({ type: "census", ids: first ? this.#ids : undefined }, "census")));
    const cs = all.map((a) => a.census);
    if (first) for (const c of cs) Object.assign(this.#joined, c.joinedAt ?? {});
    const byId = new Map<string, number>();
    for (const c of cs) for (const [id, k] of Object.entries(c.byId)) byId.set(id, (byId.get(id) ?? 0) + k);
    const top = [...byId].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const sum = (f: (c: Census) => number) => cs.reduce((a, c) => a + f(c), 0);
    // Counts by key (an error code, a failure's reason) over the workers.
    const sumCounts = (f: (c: Census) => Record<string, number>) =>
      cs.reduce<Record<string, number>>((all, c) => {
        for (const [key, k] of Object.entries(f(c))) all[key] = (all[key] ?? 0) + k;
        return all;
      }, {});
    const nodes = sum((c) => c.nodes);
    const now = Date.now();
    const seconds = (now - this.#at) / 1000;
    const point: TracePoint = {
      t: (now - this.lastJoin) / 1000,
      complete: sum((c) => c.complete),
      minKnown: Math.min(...cs.map((c) => c.minKnown)),
      seedMissing: this.n - 1 - this.seed.membership.table.size,
      missing: { unknown: sum((c) => c.missing.unknown), dead: sum((c) => c.missing.dead), left: sum((c) => c.missing.left), suspect: sum((c) => c.missing.suspect), alive: sum((c) => c.missing.alive) },
      distinctMissing: byId.size,
      top: top.map(([id, k]) => ({ id: id.slice(0, 8), nodes: k, joined: this.#joined[id] === undefined ? null : (this.#joined[id]! - this.lastJoin) / 1000, worker: this.#worker.get(id) ?? -1 })),
      lacking: cs.flatMap((c) => c.lacking).sort((a, b) => b.unknown - a.unknown).slice(0, 8).map((l) => ({ ...l, joinedAt: l.joinedAt === null ? null : (l.joinedAt - this.lastJoin) / 1000 })),
      neverJoined: sum((c) => c.neverJoined),
      seedFailing: sumCounts((c) => c.seedFailing),
      neverCaughtUp: sum((c) => c.neverCaughtUp),
      awarenessMax: Math.max(...cs.map((c) => c.awarenessMax)),
      awarenessMean: sum((c) => c.awarenessMean * c.nodes) / Math.max(1, nodes),
      queuedMax: Math.max(...cs.map((c) => c.queuedMax)),
      queuedMean: sum((c) => c.queuedMean * c.nodes) / Math.max(1, nodes),
      lagMaxMs: cs.map((c) => c.lagMaxMs),
      cores: cs.map((c, i) => (c.cpu - this.#cpu[i]!) / seconds),
      deadBy: { own: sum((c) => c.deadBy.own), relayed: sum((c) => c.deadBy.relayed), current: sum((c) => c.deadBy.current), refuted: sum((c) => c.deadBy.refuted) },
      connectErrors: sumCounts((c) => c.connectErrors),
      refusedLive: cs.reduce((k, c) => k + c.refusedPorts.filter((p) => this.#ports.has(p)).length, 0),
      swim: sumSwim(cs.map((c) => c.swim)),
    };
    this.#cpu = cs.map((c) => c.cpu);
    this.#at = now;
    this.points.push(point);
    console.error(`census ${JSON.stringify(point)}`);
  }
}

/**
 * The paced join's order: for each worker, the place in the swarm's sequence of joins of each of
 * its nodes (0 first), the workers interleaved in proportion to their sizes (with equal sizes, one
 * node of each in turn), so that every process joins nodes throughout the join.
 */
export function joinSlots(sizes: readonly number[]): number[][] {
  const slots = sizes.map(() => [] as number[]);
  const total = sizes.reduce((a, b) => a + b, 0);
  for (let at = 0; at < total; at++) {
    // The worker furthest behind its share of the joins so far (the first such on a tie).
    let pick = -1;
    let behind = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < sizes.length; i++) {
      if (slots[i]!.length >= sizes[i]!) continue;
      const lag = ((at + 1) * sizes[i]!) / total - slots[i]!.length;
      if (lag > behind + 1e-9) (behind = lag), (pick = i);
    }
    slots[pick]!.push(at);
  }
  return slots;
}

/** Measure one swarm: `n` nodes (the seed here, the rest over `processes` workers). */
export async function measureSwarm(mode: SwarmMode, n: number, processes: number, steadySeconds: number, heartbeatInterval = 1, peerTimeout = 4, warm = false, joinRate = 0, layout?: readonly number[], warmDeaths = 0): Promise<SwarmResult> {
  // Each worker's node count: `layout` (the last one's are killed), else n - 1 spread evenly over `processes`.
  const counts = layout ? [...layout] : Array.from({ length: processes }, (_, i) => Math.floor((n - 1) / processes) + (i < (n - 1) % processes ? 1 : 0));
  const options: Partial<NodeOptions> = { swarm: "bench", heartbeatInterval, peerTimeout, membership: mode };
  const seed = new Node({ ...options, bind: "127.0.0.1", name: "seed" });
  let seedOffline = 0;
  seed.on("peer.offline", () => void seedOffline++);
  // When the seed last came to know every other node (as each worker notes it for its nodes).
  let seedCompleteAt = Number.NaN;
  seed.on("peer.joined", () => void (seed.membership.table.size === n - 1 && (seedCompleteAt = Date.now())));
  await seed.start();
  const workers = counts.map(() => new Worker());
  try {
    const slots = joinSlots(counts);
    const started = await Promise.all(
      workers.map((w, i) => w.ask({ type: "start", count: counts[i]!, seeds: [`127.0.0.1:${seed.port}`], options, name: `p${i}`, warm, warmDeaths, swarm: n }, "started")),
    );
    const joinStart = Date.now();
    const seedCpu0 = process.cpuUsage();
    const joined = await Promise.all(workers.map((w, index) => w.ask({ type: "join", rate: joinRate, slots: slots[index] }, "joined", joinRate > 0 ? 120 + n / joinRate : undefined)));
    const lastJoin = Math.max(...joined.map((j) => j.at));
    const lastStart = Math.max(...joined.map((j) => j.lastStart));
    const seedCpu = process.cpuUsage(seedCpu0);
    const joinCpu = { seed: (seedCpu.user + seedCpu.system) / 1e6, workers: joined.reduce((sum, j, i) => sum + j.cpu - started[i]!.cpu, 0) };
    // A full GC in a saturated worker of 250 nodes answered after more than 120 s once: longer for it.
    const status = (heap = true, steady?: "start" | "stop") => Promise.all(workers.map((w) => w.ask({ type: "status", heap, steady }, "status", heap ? 300 : 120)));
    let allKnowAll: number | null = null;
    let allKnowAllPolled: number | null = null;
    let allKnowAllFromLastStart: number | null = null;
    const trace = process.env.BENCH_CENSUS === "1" ? new Trace(workers, started, joined.map((j) => j.cpu), seed, lastJoin, n) : null;
    for (const limit = Date.now() + 120_000; Date.now() < limit; ) {
      // No full GC while polling: it would stall the nodes whose convergence is measured.
      const all = await status(false);
      if (seed.membership.table.size === n - 1 && all.every((s) => s.minKnown === n - 1)) {
        // The moment the last node came to know every other, as the nodes noted it; the poll that
        // saw it (`allKnowAllPolled`) comes later by the workers' event-loop lateness and its interval.
        const polledAt = Date.now();
        allKnowAllPolled = (polledAt - lastJoin) / 1000;
        const at = [seedCompleteAt, ...all.map((s) => s.completeAt ?? Number.NaN)];
        // The nodes' own moment, or (one not noted) the poll's.
        const complete = at.some((t) => Number.isNaN(t)) ? polledAt : Math.max(...at);
        // 0 when every node knew every other before the last `join()` returned (its push-pull answered, the rest knew it).
        allKnowAll = Math.max(0, complete - lastJoin) / 1000;
        allKnowAllFromLastStart = (complete - lastStart) / 1000;
        break;
      }
      await trace?.maybe();
      await Bun.sleep(100);
    }
    // Counters once converged. No full GC until the steady window is over: at 1,000 nodes one
    // stalls a process of 250 nodes for seconds, whose members the other processes then suspect
    // (the window counted the bench's own stalls as false offline events).
    const converged = await status(false);
    const seedSwim = sumSwim([seed.membership.stats.swim ?? null]);
    // Let the joins' announcements pass before the window (a second, or a quarter of a short window).
    await Bun.sleep(Math.min(2000, steadySeconds * 250));
    const calls = (s: Awaited<ReturnType<typeof status>>) => s.reduce((sum, x) => sum + x.calls, 0) + seed.metrics().traffic.membership.calls_sent;
    const offline = (s: Awaited<ReturnType<typeof status>>) => s.reduce((sum, x) => sum + x.offline, 0);
    const before = await status(false, "start");
    const seedOffline0 = seedOffline;
    const t0 = performance.now();
    await Bun.sleep(steadySeconds * 1000);
    const after = await status(false, "stop");
    const window = (performance.now() - t0) / 1000;
    const falseOffline = offline(after) - offline(before) + seedOffline - seedOffline0;
    // Memory after the window (a full GC in each process; the steady window added nothing to
    // speak of), then a peer timeout and two probe intervals for the GC's stall to pass before the kill.
    const memory = await status();
    const perPeer = memory.map((s, i) => (s.heap - started[i]!.heap) / started[i]!.ids.length / (n - 1));
    const perPeerBare = memory.map((s, i) => (s.heap - started[i]!.heap - s.connections * CONNECTION_END_BYTES) / started[i]!.ids.length / (n - 1));
    await Bun.sleep((peerTimeout + 2 * heartbeatInterval) * 1000);

    // Kill the last process; every other node watches its nodes go offline.
    const victim = workers[workers.length - 1]!;
    const victimIds = started[started.length - 1]!.ids;
    const others = workers.slice(0, -1);
    const seedGone = new Promise<number>((resolve) => {
      const waiting = new Set(victimIds.filter((id) => seed.membership.table.has(id)));
      if (waiting.size === 0) resolve(Date.now());
      const off = seed.on("peer.offline", (peer) => {
        if (waiting.delete(peer.id) && waiting.size === 0) {
          off();
          resolve(Date.now());
        }
      });
    });
    // Each survivor takes the kill's diagnostics first (what its nodes hold about the victims), so
    // that taking them does not stall its nodes while the kill spreads.
    await Promise.all(others.map((w) => w.ask({ type: "arm", ids: victimIds }, "armed", 60)));
    const watching = others.map((w) => w.ask({ type: "watch", ids: victimIds }, "gone", 60));
    victim.proc.kill("SIGKILL");
    const killedAt = Date.now();
    let offlineEverywhere: number | null = null;
    let offlineDelays: SwarmResult["offlineDelays"] = null;
    let detection: Detection | null = null;
    try {
      const gone = await Promise.all(watching);
      // The seed too (not waited for past the watch's 60 s: then not timed).
      const seedAt = await Promise.race([seedGone, Bun.sleep(Math.max(0, killedAt + 60_000 - Date.now())).then(() => Number.NaN)]);
      // Every watch has ended: now each worker assembles what its nodes saw (not before, so that
      // one that finished first takes no CPU from those still watching).
      const seen = await Promise.all(others.map((w) => w.ask({ type: "details" }, "details", 120)));
      // A worker whose nodes did not all see the kill in time answers anyway (`stuck`): reported, not timed.
      if (gone.some((g) => g.stuckPairs)) console.error(`kill watch: pairs still waiting after 45 s: ${JSON.stringify(gone.map((g, i) => ({ pairs: g.stuckPairs ?? 0, some: seen[i]!.stuck ?? [] })))}`);
      const ats = [...gone.map((g) => g.at), seedAt];
      offlineEverywhere = (Math.max(...ats) - killedAt) / 1000;
      const delays = seen.flatMap((g) => g.times.map((t) => (t - killedAt) / 1000)).sort((a, b) => a - b);
      const at = (q: number) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? 0;
      offlineDelays = { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
      detection = detectionOf(gone, seen, killedAt);
      if (gone.some((g) => g.stuckPairs) || Number.isNaN(seedAt)) offlineEverywhere = null;
    } catch (error) {
      offlineEverywhere = null; // not every node saw them go within 60 s
      console.error(`kill watch: ${String(error)}`);
    }
    return {
      mode,
      nodes: n,
      processes: counts.length,
      layout: counts,
      heartbeatInterval,
      peerTimeout,
      joinRate,
      joinSeconds: (lastJoin - joinStart) / 1000,
      joinCpu,
      joinSpread: spreadOf(joined.flatMap((j) => j.took)),
      joinStages: joinStagesOf(joined.flatMap((j) => j.stages), lastStart),
      allKnowAll,
      allKnowAllPolled,
      allKnowAllFromLastStart,
      steadySeconds: window,
      membershipCallsPerNodePerSec: (calls(after) - calls(before)) / n / window,
      cpuMsPerNodePerSec: (1000 * after.reduce((sum, s, i) => sum + s.cpu - before[i]!.cpu, 0)) / after.reduce((sum, s) => sum + s.nodes, 0) / window,
      busiestWorkerCores: Math.max(...after.map((s, i) => (s.cpu - before[i]!.cpu) / window)),
      falseOffline,
      heapPerKnownPeer: perPeer.reduce((a, b) => a + b, 0) / perPeer.length,
      warmBaseline: warm,
      warmDeaths: warm ? warmDeaths : 0,
      warmDeathsSeen: Math.min(...started.map((s) => s.warmDeathsSeen ?? 0)),
      heapPerKnownPeerWithoutConnections: perPeerBare.reduce((a, b) => a + b, 0) / perPeerBare.length,
      connectionsPerProcess: converged.reduce((sum, s) => sum + s.connections, 0) / converged.length,
      killed: victimIds.length,
      offlineEverywhere,
      offlineDelays,
      detection,
      ...(trace ? { convergenceTrace: trace.points } : {}),
      swimJoin: sumSwim(converged.map((s) => s.swim)),
      seedSwimJoin: seedSwim,
      swimSteady: diffSwim(sumSwim(before.map((s) => s.swim)), sumSwim(after.map((s) => s.swim))),
    };
  } finally {
    for (const w of workers) {
      if (w.proc.exitCode === null && !w.proc.killed) {
        w.proc.send({ type: "stop" } satisfies WorkerCommand);
      }
    }
    // A profiled worker (BENCH_FAST_STOP) needs longer to write its profile than a worker to stop.
    await Promise.race([Promise.all(workers.map((w) => w.proc.exited)), Bun.sleep(process.env.BENCH_FAST_STOP === "1" ? 90_000 : 10_000)]);
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
    await seed.stop({ leave: false });
  }
}
