/**
 * One process of the multi-process membership bench (`bench/membership.ts`): it runs a share of
 * the swarm's nodes on loopback and answers its parent's commands over Bun's IPC channel.
 *
 * Commands (`{ type, ... }` in, one answer each):
 * - `start { count, seeds, options, warm?, warmDeaths?, swarm? }`: make `count` nodes (sharing one pool, so that the process
 *   keeps one connection per peer, as N machines would each keep theirs; the seeds are kept for
 *   `join`, not given to the nodes, which would join them in the background), start them, and answer
 *   `started { ids, ports, heap, cpu, warmDeathsSeen? }` (heap after a full GC, bytes: the baseline for memory per peer;
 *   CPU seconds used so far). With `warm` (`--warm-baseline`), the process first runs a small swarm
 *   of its own ({@link warmUp}) and stops it, so that the baseline holds the code the nodes compile
 *   as they join and gossip (bytecode and compiled code are heap too: about 2.7 MB in a worker of
 *   50 nodes at 200, 270 bytes per known peer there, none of it per peer). With `warmDeaths` as
 *   well (`--warm-deaths K`), that small swarm is six nodes and K more, which stop without leaving
 *   once it has converged, so that the code that handles deaths is compiled too (`warmDeathsSeen`: the
 *   deaths every kept warm-up node saw, as the fewest stopped nodes any of them dropped). `swarm`: the swarm's
 *   size, for `status`'s `completeAt`.
 * - `join`: join every node through the seeds at once (or paced: `rate` joins a second over the
 *   swarm, each node at its place in the swarm's joins, `slots`); answers `joined { at }` (wall clock ms)
 *   once every join returned, the CPU seconds used so far, each node's `join()` in seconds (`took`),
 *   and each join's stages (`stages`: {@link JoinStage}).
 * - `status { heap? }`: answers `status { minKnown, maxKnown, calls, offline, heap, connections, swim, cpu, nodes, completeAt }`:
 *   the fewest and most peers a node here knows, membership calls made by all nodes here (from
 *   `node.metrics()`), `peer.offline` events seen, the heap after a full GC (0 with `heap: false`:
 *   the GC stalls the nodes, so the convergence poll skips it), and the connections open in this
 *   process (accepted by its nodes, and pooled by its pool), SWIM's counters summed over its nodes, the
 *   CPU seconds the process used so far, its node count, and `completeAt`: when every node here
 *   knows every other node of the swarm (`start`'s `swarm`), the latest moment one of them came to
 *   (epoch ms, as the nodes noted it), else null.
 * - `arm { ids }`: takes what each node here holds about each of `ids` (the kill's diagnostics,
 *   before the kill), answers `armed`.
 * - `watch { ids }`: answers `gone { at, lagMax, cpu }` once every node here saw every one of `ids`
 *   offline: `at` when the last of them did (epoch ms), the event loop's worst lateness meanwhile
 *   and the CPU seconds the kill cost; nothing else is assembled yet.
 * - `details`: after `gone`, once every survivor answered it: each pair's times and stages, SWIM's
 *   counters over the kill, the local-health scores at the kill (`details { times, pairs, swim,
 *   awarenessAtKill }`). Assembled only then, so that a worker that finished first takes no CPU from
 *   the others' nodes still watching.
 * - `stop`: stops every node silently and exits (at once with `BENCH_FAST_STOP=1`, for profiles).
 *
 * Tracing memory (nothing here changes what the bench measures; both only report more):
 * - `BENCH_HEAP_SNAPSHOT=<dir>`: the first worker (`p0`) writes a V8-format heap snapshot after the
 *   full GC of its `started` answer (`<dir>/p0-started.heapsnapshot`) and after each full GC of a
 *   `status { heap }` (`<dir>/p0-status-<k>.heapsnapshot`), for `bun bench/lib/membership-heap.ts`
 *   to diff (what a node holds per peer, by owner). A snapshot takes seconds and leaves garbage:
 *   a traced run's heap figures are not the bench's. With `BENCH_HEAP_SNAPSHOT_WATCH=<seconds>`
 *   also one that many seconds after the kill (`p0-watch-<seconds>.heapsnapshot`; at 1,000 nodes
 *   writing one takes longer than the bench's 60 s watch: with `BENCH_FAST_STOP=1` the parent
 *   waits for the worker to finish it before it kills it).
 * - `BENCH_HEAP_EVERY=<seconds>`: every worker logs a line to stderr that often (`heap-sample`,
 *   JSON): resident memory, the JS heap's size and extra memory, ArrayBuffers, mimalloc's committed
 *   bytes, its peers and connections, and the object types whose counts changed most since its
 *   previous line (no GC first: counts include garbage not yet swept).
 *
 * Tracing the kill: with `BENCH_TRACE_KILL=1` each surviving node's messages, acks, copies of the
 * killed nodes' deaths, gossip, probes, queue and local health are counted by second from the kill
 * (`membership-kill-trace.ts`); the ten latest pairs of each worker carry their survivor's, every
 * pair the copies of its death that came before its offline. A watch that has not ended after
 * 45 s answers anyway, naming the pairs still waiting (`stuck`). With `BENCH_KILL_PROF=<dir>`, each
 * surviving worker samples its CPU from the kill until its watch ends and writes the functions
 * with the most samples to `<dir>/kill-<worker>.txt` (`membership-kill-profile.ts`). With
 * `BENCH_THREADS=1`, each surviving worker prints the CPU of its threads over the kill by name
 * (`threads over the kill p1: main ..., JITWorker ...`, milliseconds; `thread-cpu.ts`).
 *
 * `BENCH_BEATS=1`: every 2 s from the joins' start, each worker prints its nodes' heartbeats sent
 * so far (and since the last line) and the peers no SWIM owns (those heartbeated).
 *
 * Run by the parent only: `bun bench/lib/membership-worker.ts`.
 *
 * @module
 */
import { Node, Pool, type NodeOptions } from "../../src/index.ts";
import { bunTransport } from "../../src/transport/bun-transport.ts";
import type { Transport } from "../../src/transport/socket.ts";
import { diffSwim, sumSwim, type SwimTotals } from "./membership-swim-totals.ts";
import { heapSampler, snapshotAfterKill, writeSnapshot } from "./membership-heap-trace.ts";
import { traceKill, type PairTrace, type TraceBucket } from "./membership-kill-trace.ts";
import { profileKill } from "./membership-kill-profile.ts";
import { threadCpu, threadCpuSince } from "./thread-cpu.ts";
import { exitWithParent } from "./children.ts";

/** What the parent sends. */
export type WorkerCommand =
  | { type: "start"; count: number; seeds: string[]; options: Partial<NodeOptions>; name: string; warm?: boolean; warmDeaths?: number; swarm?: number }
  | { type: "join"; rate?: number; slots?: number[] }
  | { type: "status"; heap?: boolean; steady?: "start" | "stop" }
  | { type: "arm"; ids: string[] }
  | { type: "watch"; ids: string[] }
  | { type: "details" }
  | { type: "census"; ids?: string[] }
  | { type: "stop" };

/**
 * One node's join in its stages: its scheduled start (epoch ms), how late it started (the worker's
 * loop), and its seed's `joinSeconds` and `exchangeSeconds` (`SeedStatus`; null when none).
 */
export interface JoinStage {
  at: number;
  late: number;
  call: number | null;
  exchange: number | null;
}

/** What a worker answers. */
export type WorkerAnswer =
  | { type: "started"; ids: string[]; ports: number[]; heap: number; cpu: number; warmDeathsSeen?: number }
  | { type: "joined"; at: number; cpu: number; took: number[]; lastStart: number; stages: JoinStage[] }
  | { type: "status"; minKnown: number; maxKnown: number; calls: number; offline: number; heap: number; connections: number; swim: SwimTotals; cpu: number; nodes: number; completeAt: number | null }
  | { type: "gone"; at: number; lagMax: number; cpu: number; stuckPairs?: number }
  | { type: "details"; times: number[]; pairs: DetectionPair[]; swim: SwimTotals; awarenessAtKill: number[]; traceMean?: TraceBucket[]; stuck?: Array<Record<string, unknown>> }
  | { type: "armed" }
  | { type: "census"; census: Census }
  | { type: "error"; message: string };

/**
 * Who is missing where, for the convergence trace (`BENCH_CENSUS=1`: never in the default run,
 * whose timed path it would add to). `missing` counts (node, member) pairs not in the node's table,
 * by what the node's SWIM core holds about the member: nothing (`unknown`: never heard of, or
 * forgotten), dead, left, suspect or alive (held by SWIM, yet not in the table). `byId`: how many
 * nodes here miss each member. `joinedAt`: epoch ms each node's `join()` returned, by id.
 */
export interface Census {
  at: number;
  nodes: number;
  complete: number;
  minKnown: number;
  missing: { unknown: number; dead: number; left: number; suspect: number; alive: number };
  byId: Record<string, number>;
  /**
   * The nodes here that miss someone (20 at most, those holding no record of the most members
   * first): how many they miss, and of those how many they hold no record of at all, their joins,
   * catch-up pulls and checksum exchanges so far, their local health, when their `join()` returned.
   */
  lacking: Array<{ id: string; missing: number; unknown: number; joins: number; catchUps: number; sumExchanges: number; awareness: number; joinedAt: number | null }>;
  /** Nodes here that made no join exchange yet, and that made no catch-up pull. */
  neverJoined: number;
  /** Nodes here whose last join of their seed failed (waiting out its backoff), by the error's first words. */
  seedFailing: Record<string, number>;
  neverCaughtUp: number;
  awarenessMax: number;
  awarenessMean: number;
  queuedMax: number;
  queuedMean: number;
  /** Worst lateness of a 50 ms tick since the last census, ms. */
  lagMaxMs: number;
  /**
   * Dead-held pairs by the holder's record: the holder's own verdict or another's (`own`, `relayed`);
   * and for members of this process (whose current incarnation is known here), held at the member's
   * current incarnation (`current`: it has not refuted that death yet) or an older one (`refuted`:
   * its refutation has not reached the holder).
   */
  deadBy: { own: number; relayed: number; current: number; refuted: number };
  /** This process's pool's failed connects so far, by error code, and the ports a refused one was aimed at (the first 20). */
  connectErrors: Record<string, number>;
  refusedPorts: number[];
  cpu: number;
  swim: SwimTotals;
  joinedAt?: Record<string, number>;
}

export type { SwimTotals } from "./membership-swim-totals.ts";

/**
 * One (survivor, killed node) pair of the watch, epoch ms: when the survivor first suspected the
 * killed node (`peer.suspect`; null if it never did), when it saw it offline, and whether that
 * verdict was the survivor's own (its SWIM record of the death names the survivor) or news.
 */
export interface DetectionPair {
  id: string;
  suspect: number | null;
  offline: number;
  own: boolean;
  /** The survivor (its id), what its SWIM held about the killed node then (none: not a member; the offline came from the reaper), its deaths doubted since the kill and its local health then. */
  node: string;
  swim: string;
  doubts: number;
  awareness: number;
  /** The survivor's incarnation of the killed node at the kill, over the lowest one this process's nodes held then (> 0: it held a newer one than some). */
  newer: number;
  /** Seconds before the kill that the survivor last heard from the killed node (its SWIM `heard`; null: never). */
  heardAgo: number | null;
  /** At the kill: whether SWIM decided the killed node's liveness at the survivor (the bridge owned it) and what SWIM held about it. */
  ownedAtKill: boolean;
  stateAtKill: string;
  /** With `BENCH_TRACE_KILL=1` (see `membership-kill-trace.ts`): the copies of the death the survivor got; for the worker's ten latest pairs also its buckets. */
  trace?: Partial<PairTrace>;
}

const nodes: Node[] = [];
let offline = 0;

/** What a node held about a killed node just before the kill (the pairs' diagnostics). */
interface HeldAtKill {
  incarnation: number;
  heard: number | undefined;
  owned: boolean;
  state: string;
}

/** Nodes whose last seed join failed, by the first words of its error (`Census.seedFailing`). */
function seedFailing(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) {
    for (const s of n.membership.seedStatus()) {
      if (s.failures === 0) continue;
      const why = `${(s.lastError ?? "?").split(" ").slice(0, 4).join(" ")} (${s.failures}x)`;
      out[why] = (out[why] ?? 0) + 1;
    }
  }
  return out;
}
/** The steady window's profile while it runs (`BENCH_STEADY_PROF`). */
let steadyProfile: (() => string) | null = null;
/** The kill's diagnostics taken before it (`arm`), so that taking them does not stall the nodes while the kill spreads. */
let armed: { ids: string[]; atKill: Map<string, Map<string, HeldAtKill>>; lowest: Map<string, number> } | null = null;
/**
 * Per node (by index), when its table last came to hold every other node of the swarm (epoch ms;
 * `start`'s `swarm`). The status poll that finds every node complete answers the latest of them:
 * the moment this process's nodes all knew all. The poll's own answer comes later, by as much as
 * the event loop runs late (1 to 3 s at 1,000 nodes), and the poll's interval.
 */
const completeAt: number[] = [];
/** The other nodes of the swarm a node here knows once complete (`start`'s `swarm` less one; 0: not told). */
let swarmOthers = 0;

/** The latest moment a node here came to know every other, when every node here does (`known`: their tables' sizes); else null. */
function completeAtAll(known: number[]): number | null {
  if (swarmOthers <= 0 || nodes.length === 0) return null;
  let latest = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < nodes.length; i++) {
    const at = completeAt[i];
    if (at === undefined || known[i] !== swarmOthers) return null;
    latest = Math.max(latest, at);
  }
  return latest;
}

/** The kill's details, answered when the parent asks (`details`), once every surviving worker's watch ended. */
let details: (() => void) | null = null;

/**
 * Each node's view of each of `ids` (one member and one ownership lookup a pair), and the lowest
 * incarnation of each held here. At 250 nodes and 249 ids, taken in the watch itself, this had
 * stalled each surviving worker for a moment as the kill began.
 */
function armFor(ids: string[]): NonNullable<typeof armed> {
  const atKill = new Map<string, Map<string, HeldAtKill>>();
  const lowest = new Map<string, number>();
  for (const n of nodes) {
    const core = n.membership.gossip?.core;
    const held = new Map<string, HeldAtKill>();
    for (const id of ids) {
      const m = core?.member(id);
      const incarnation = m?.incarnation ?? 0;
      held.set(id, { incarnation, heard: m?.heard, owned: n.membership.gossip?.owns(id) ?? false, state: m?.state ?? "none" });
      if (incarnation > 0 && incarnation < (lowest.get(id) ?? Number.POSITIVE_INFINITY)) lowest.set(id, incarnation);
    }
    atKill.set(n.id, held);
  }
  return { ids, atKill, lowest };
}
/** The census's state (see {@link Census}): every id of the swarm, the join times, the loop's lateness. */
let swarmIds: string[] = [];
const joinedAt: Record<string, number> = {};
let censusLag = 0;
let censusTick = 0;
let censusTimer: ReturnType<typeof setInterval> | null = null;
let pool: Pool | null = null;
let workerName = "";
/** The seeds of the `start` command, joined by the `join` command. */
let seeds: string[] = [];
/** Failed connects of this process's pool, by code, and the ports of the first refused ones (the census reports them). */
const connectErrors: Record<string, number> = {};
const refusedPorts: number[] = [];
/** Bun's TCP, counting the connects that fail (census only: see {@link Census.connectErrors}). */
const countingTransport: Transport = {
  connect: (options, open) =>
    bunTransport.connect(options, open).catch((error: unknown) => {
      const code = String((error as { code?: unknown })?.code ?? "none");
      connectErrors[code] = (connectErrors[code] ?? 0) + 1;
      if (code === "ECONNREFUSED" && refusedPorts.length < 20) refusedPorts.push(options.port);
      throw error;
    }),
  listen: (options, open) => bunTransport.listen(options, open),
};
let snapshots = 0;

function heap(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

/** CPU time this process used so far (user and system), seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Nodes of the warm-up swarm. */
const WARM_NODES = 4;
/**
 * Nodes of the warm-up swarm that stay when some die in it (`--warm-deaths`). With four, the
 * kill's compilers took about as much CPU as without the deaths (three runs, s46); with six, two
 * fifths less.
 */
const WARM_KEPT_WITH_DEATHS = 6;
/** Heartbeat intervals the warm-up swarm runs once its nodes all know each other (and again once they dropped the dead ones). */
const WARM_ROUNDS = 3;
/** Seconds the warm-up waits at most for its nodes to hold the dead ones offline. */
const WARM_DEATH_SECONDS = 15;

/**
 * Run a swarm of {@link WARM_NODES} nodes of this process's own (another swarm name, its own
 * pool, the scenario's other options: signed claims, SWIM, the same intervals), joined through the
 * first, for {@link WARM_ROUNDS} heartbeat intervals once they all know each other, then stop it.
 * The code the join, probes, gossip and push-pulls run is compiled by then, as are the shapes of
 * their objects; what is left of the warm-up nodes in process-wide caches (their keys and claims:
 * 4 peers' worth) stays in the baseline. Run before the measured nodes are made: a started node
 * begins to join its seeds in the background, and would join during the warm-up.
 *
 * With `deaths` (`--warm-deaths`), the small swarm is {@link WARM_KEPT_WITH_DEATHS} nodes and
 * `deaths` more, which stop without leaving once it has converged and run its rounds (their ports
 * then refuse, as a killed process's do). The others declare them dead, spread the deaths and drop
 * them, so that the code a kill runs (refused sends and probes, verdicts, lean deaths,
 * recent-death filters, dropped peers) is compiled before the measured swarm's join, as the
 * join's is (and the caches keep that many more peers' worth). A diagnostic of what the
 * kill's first failure costs the optimizing compilers (docs/performance-log.md, s46); not the
 * scenario's kill figure.
 */
async function warmUp(options: Partial<NodeOptions>, name: string, deaths = 0): Promise<number> {
  const warmPool = new Pool({ maxConnections: 0 });
  const common = { ...options, bind: "127.0.0.1", swarm: `${options.swarm ?? "bench"}-warm`, pool: warmPool };
  const first = new Node({ ...common, name: `${name}-warm-0` });
  await first.start();
  const warm = [first];
  try {
    const keep = deaths > 0 ? WARM_KEPT_WITH_DEATHS : WARM_NODES;
    for (let i = 1; i < keep + deaths; i++) {
      const node = new Node({ ...common, name: `${name}-warm-${i}`, seeds: [`127.0.0.1:${first.port}`] });
      warm.push(node);
      await node.start();
    }
    await Promise.all(warm.map((n) => n.join({ wait: 0 })));
    // Bounded: a warm-up that does not converge in 10 s still warms what it ran.
    for (let i = 0; i < 100 && !warm.every((n) => n.membership.table.size === warm.length - 1); i++) await Bun.sleep(100);
    await Bun.sleep(WARM_ROUNDS * (options.heartbeatInterval ?? 1) * 1000);
    if (deaths > 0) {
      const kept = warm.slice(0, keep);
      const dead = warm.slice(keep);
      await Promise.all(dead.map((n) => n.stop({ leave: false })));
      // The stopped nodes a kept node dropped (by id: a kept peer it dropped too is no death seen).
      const seen = (n: Node) => dead.filter((d) => !n.membership.table.has(d.id)).length;
      // Bounded: a warm-up whose deaths are not all seen in time still warmed what it ran.
      for (let i = 0; i < WARM_DEATH_SECONDS * 10 && !kept.every((n) => seen(n) === deaths); i++) await Bun.sleep(100);
      await Bun.sleep(WARM_ROUNDS * (options.heartbeatInterval ?? 1) * 1000);
      // The deaths every kept node saw: the fewest stopped nodes one of them dropped.
      return Math.min(...kept.map(seen));
    }
    return 0;
  } finally {
    await Promise.all(warm.map((n) => n.stop({ leave: false })));
    warmPool.closeAll();
  }
}

/** Connections open in this process: accepted by its nodes, and pooled by its pool. */
function connectionCount(): number {
  return nodes.reduce((sum, n) => sum + n.connectionCount, 0) + (pool?.list().filter((c) => c.connected).length ?? 0);
}

function answer(message: WorkerAnswer): void {
  process.send?.(message);
}

async function handle(command: WorkerCommand): Promise<void> {
  switch (command.type) {
    case "start": {
      // No cap: the pool stands for the pools of `count` machines, each capped on its own (256
      // connections, `poolCapacity`), and its nodes call every one of the swarm's N nodes within a
      // few seconds. Capped at 256 for all, it closed and reopened connections by the hundred a
      // second (about 7,000 in TIME_WAIT at 1,000 nodes), which no node of a real swarm does.
      workerName = command.name;
      seeds = command.seeds;
      const warmDeathsSeen = command.warm ? await warmUp(command.options, command.name, command.warmDeaths ?? 0) : 0;
      pool = new Pool({ maxConnections: 0, transport: process.env.BENCH_CENSUS === "1" ? countingTransport : undefined });
      swarmOthers = (command.swarm ?? 0) - 1;
      for (let i = 0; i < command.count; i++) {
        // No seeds yet: a started node joins the seeds it was made with in the background (its
        // first rejoin round, a heartbeat interval after the start), so every node would join at
        // once, whatever the pace of the `join` command. They are given to `join()` instead.
        const node = new Node({ ...command.options, bind: "127.0.0.1", name: `${command.name}-${i}`, pool: pool ?? undefined });
        node.on("peer.offline", () => void offline++);
        // When this node came to know every other (the last time its table filled: see `status`).
        if (swarmOthers > 0) node.on("peer.joined", () => void (node.membership.table.size === swarmOthers && (completeAt[i] = Date.now())));
        await node.start();
        nodes.push(node);
      }
      const started = heap();
      writeSnapshot(workerName, "started");
      heapSampler(workerName, () => ({ peers: nodes.reduce((sum, n) => sum + n.membership.table.size, 0), connections: connectionCount() }));
      answer({ type: "started", ids: nodes.map((n) => n.id), ports: nodes.map((n) => n.port), heap: started, cpu: cpuSeconds(), warmDeathsSeen });
      return;
    }
    case "join": {
      const start = Date.now();
      if (process.env.BENCH_BEATS === "1") {
        let last = 0;
        setInterval(() => {
          const sent = nodes.reduce((k, n) => k + n.membership.stats.heartbeatsSent, 0);
          const unowned = nodes.reduce((k, n) => k + n.membership.table.list().filter((e) => !n.membership.gossip?.owns(e.id)).length, 0);
          console.error(`beats ${workerName} t=${((Date.now() - start) / 1000).toFixed(1)} sent=${sent} (+${sent - last}) unowned=${unowned}`);
          last = sent;
        }, 2000).unref();
      }
      // Paced (`rate` joins a second over the whole swarm): this worker's k-th node starts its join
      // at slots[k] / rate seconds, its place in the swarm's joins (`joinSlots`: the workers'
      // joins interleave). `took` is each join's own length, from its start.
      const { rate = 0, slots = [] } = command;
      const startAt = (k: number) => (rate > 0 ? start + ((slots[k] ?? k) / rate) * 1000 : start);
      // `BENCH_JOIN_PROF=<dir>`: this worker's CPU profile over its joins (`join-<worker>.txt`), until the last returned.
      const joinProfile = process.env.BENCH_JOIN_PROF ? profileKill(process.env.BENCH_JOIN_PROF, workerName, `join-${workerName}.txt`) : null;
      const late: number[] = [];
      await Promise.all(
        nodes.map(async (n, k) => {
          const wait = startAt(k) - Date.now();
          if (wait > 0) await Bun.sleep(wait);
          late[k] = Math.max(0, Date.now() - startAt(k)) / 1000;
          await n.join({ wait: 0, seeds });
          joinedAt[n.id] = Date.now();
        }),
      );
      const stages = nodes.map((n, k): JoinStage => {
        const seed = n.membership.seedStatus()[0];
        return { at: startAt(k), late: late[k]!, call: seed?.joinSeconds ?? null, exchange: seed?.exchangeSeconds ?? null };
      });
      joinProfile?.();
      // `lastStart`: when this worker's last join started (its latest slot), for the swarm's time from the last join's start.
      answer({ type: "joined", at: Date.now(), cpu: cpuSeconds(), took: nodes.map((n, k) => (joinedAt[n.id]! - startAt(k)) / 1000), lastStart: Math.max(...nodes.map((_, k) => startAt(k))), stages });
      return;
    }
    case "status": {
      // `BENCH_STEADY_PROF=<dir>`: the steady window's CPU profile (as the kill's, membership-kill-profile.ts).
      if (process.env.BENCH_STEADY_PROF && command.steady === "start") steadyProfile = profileKill(process.env.BENCH_STEADY_PROF, workerName, `steady-${workerName}.txt`);
      if (command.steady === "stop" && steadyProfile) {
        steadyProfile();
        steadyProfile = null;
      }
      // The table's size, not `node.peers` (a copy of every record: at 250 nodes of 1,000 peers,
      // each 100 ms poll copied 250,000 records and slowed the nodes it measured).
      const known = nodes.map((n) => n.membership.table.size);
      const calls = nodes.reduce((sum, n) => sum + n.metrics().traffic.membership.calls_sent, 0);
      const connections = connectionCount();
      // A full GC stops this process's nodes for a while: only when the heap is asked for.
      const heapUsed = command.heap === false ? 0 : heap();
      if (command.heap !== false) writeSnapshot(workerName, `status-${++snapshots}`);
      // Every node here knows every other: since when (the latest of the nodes' moments, on their own clocks, not this answer's).
      const allSince = completeAtAll(known);
      answer({ type: "status", minKnown: Math.min(...known), maxKnown: Math.max(...known), calls, offline, heap: heapUsed, connections, swim: sumSwim(nodes.map((n) => n.membership.stats.swim)), cpu: cpuSeconds(), nodes: nodes.length, completeAt: allSince });
      return;
    }
    case "census": {
      if (command.ids) swarmIds = command.ids;
      if (censusTimer === null) {
        censusTick = performance.now();
        censusTimer = setInterval(() => {
          const now = performance.now();
          censusLag = Math.max(censusLag, now - censusTick - 50);
          censusTick = now;
        }, 50);
      }
      const missing = { unknown: 0, dead: 0, left: 0, suspect: 0, alive: 0 };
      const deadBy = { own: 0, relayed: 0, current: 0, refuted: 0 };
      const ownIncarnation = new Map(nodes.map((n) => [n.id, n.membership.stats.swim?.incarnation ?? 0]));
      const byId: Record<string, number> = {};
      let complete = 0;
      let minKnown = Infinity;
      const lacking: Census["lacking"] = [];
      for (const node of nodes) {
        const table = node.membership.table;
        minKnown = Math.min(minKnown, table.size);
        if (table.size === swarmIds.length - 1) {
          complete++;
          continue;
        }
        const core = node.membership.gossip?.core;
        let unknownHere = 0;
        for (const id of swarmIds) {
          if (id === node.id || table.has(id)) continue;
          const held = core?.member(id);
          missing[held?.state ?? "unknown"]++;
          if (held === undefined) unknownHere++;
          if (held?.state === "dead") {
            deadBy[held.from === node.id ? "own" : "relayed"]++;
            const current = ownIncarnation.get(id);
            if (current !== undefined) deadBy[held.incarnation >= current ? "current" : "refuted"]++;
          }
          byId[id] = (byId[id] ?? 0) + 1;
        }
        const st = core?.stats();
        lacking.push({ id: node.id.slice(0, 8), missing: swarmIds.length - 1 - table.size, unknown: unknownHere, joins: st?.joins ?? 0, catchUps: st?.catchUps ?? 0, sumExchanges: st?.sumExchanges ?? 0, awareness: st?.awareness ?? 0, joinedAt: joinedAt[node.id] ?? null });
      }
      lacking.sort((a, b) => b.unknown - a.unknown).splice(20);
      const stats = nodes.map((n) => n.membership.stats.swim);
      const scores = stats.map((s) => s?.awareness ?? 0);
      const queued = stats.map((s) => s?.queued ?? 0);
      const census: Census = {
        at: Date.now(), nodes: nodes.length, complete, minKnown, missing, byId, lacking,
        neverJoined: stats.filter((st) => (st?.joins ?? 0) === 0).length,
        seedFailing: seedFailing(),
        neverCaughtUp: stats.filter((st) => (st?.catchUps ?? 0) === 0).length,
        awarenessMax: Math.max(0, ...scores), awarenessMean: scores.reduce((a, b) => a + b, 0) / Math.max(1, scores.length),
        queuedMax: Math.max(0, ...queued), queuedMean: queued.reduce((a, b) => a + b, 0) / Math.max(1, queued.length),
        lagMaxMs: Math.round(censusLag), deadBy, connectErrors: { ...connectErrors }, refusedPorts: [...refusedPorts], cpu: cpuSeconds(), swim: sumSwim(stats),
      };
      if (command.ids) census.joinedAt = joinedAt;
      censusLag = 0;
      answer({ type: "census", census });
      return;
    }
    case "arm": {
      armed = armFor(command.ids);
      answer({ type: "armed" });
      return;
    }
    case "watch": {
      snapshotAfterKill(workerName);
      const killProfile = process.env.BENCH_KILL_PROF ? profileKill(process.env.BENCH_KILL_PROF, workerName) : null;
      const { atKill, lowest } = armed?.ids.join() === command.ids.join() ? armed : armFor(command.ids);
      armed = null;
      const ids = new Set(command.ids);
      const pending = new Set(nodes.map((n) => n.id));
      // The killed ids still awaited at each node: a flag per id by its index, not a set per node
      // (a deletion from 250 sets of 249 ids, each cold, was 1.4% of a survivor's CPU over the kill).
      const killed = [...ids];
      const indexOf = new Map(killed.map((id, i) => [id, i]));
      const awaited = new Map(nodes.map((n) => [n.id, { flags: new Uint8Array(killed.length).fill(1), count: killed.length }]));
      const awaits = (node: string, id: string): boolean => {
        const i = indexOf.get(id);
        return i !== undefined && awaited.get(node)?.flags[i] === 1;
      };
      const stillAwaited = (node: string): string[] => killed.filter((id) => awaits(node, id));
      // When each watched id went offline at each node here (epoch ms), for the distribution, and
      // the stages of each pair (first suspicion, verdict, whose) to tell detection from spreading.
      const times: number[] = [];
      const pairs: DetectionPair[] = [];
      // Pairs as their offline came, in flat arrays (the node's and the killed id's indexes, the
      // times, the node's counters then), made into records when the watch ends: an offline
      // event's listener looks nothing up (the member's record, what its node held at the kill)
      // and makes no object, each a cache miss or an allocation in a heap of 250 nodes (the
      // listener was 2 to 3% of a survivor's CPU over the kill with lookups, 2.7% with a record
      // an event).
      const capacity = nodes.length * killed.length;
      const offlines = { count: 0, node: new Int32Array(capacity), id: new Int32Array(capacity), at: new Float64Array(capacity), suspect: new Float64Array(capacity), doubts: new Int32Array(capacity), awareness: new Int8Array(capacity), traces: [] as Array<Partial<PairTrace>> };
      const complete = () => {
        for (let k = 0; k < offlines.count; k++) {
          const node = nodes[offlines.node[k]!]!;
          const id = killed[offlines.id[k]!]!;
          const held = atKill.get(node.id);
          // The member's record as SWIM holds it now: a death's copies never change it once held (nor its author).
          const member = node.membership.gossip?.core?.member(id);
          const was = held?.get(id);
          const suspect = offlines.suspect[k]!;
          pairs.push({
            id,
            suspect: suspect > 0 ? suspect : null,
            offline: offlines.at[k]!,
            own: member?.from === node.id,
            node: node.id,
            swim: member?.state ?? "none",
            doubts: offlines.doubts[k]!,
            awareness: offlines.awareness[k]!,
            newer: (was?.incarnation ?? 0) - (lowest.get(id) ?? 0),
            heardAgo: was?.heard === undefined ? null : Math.round((killAt - was.heard) * 100) / 100,
            ownedAtKill: was?.owned ?? false,
            stateAtKill: was?.state ?? "none",
            ...(trace ? { trace: offlines.traces[k] ?? {} } : {}),
          });
        }
        offlines.count = 0;
      };
      const swimAtKill = sumSwim(nodes.map((n) => n.membership.stats.swim));
      const cpuAtKill = cpuSeconds();
      const threadsAtKill = process.env.BENCH_THREADS === "1" ? threadCpu() : null;
      const awarenessAtKill = nodes.map((n) => n.membership.stats.swim?.awareness ?? 0);
      const killAt = performance.now() / 1000;
      const trace = process.env.BENCH_TRACE_KILL === "1" ? traceKill(nodes, ids, Date.now(), awaits) : null;
      // How late this process's event loop ran while the kill spread (a 50 ms tick's lateness, at most).
      let lagMax = 0;
      let tick = performance.now();
      const lag = setInterval(() => {
        const now = performance.now();
        lagMax = Math.max(lagMax, now - tick - 50);
        tick = now;
      }, 50);
      const offs: Array<() => void> = [];
      // Past 45 s (the parent waits 60: this event loop may run seconds late), the answer comes anyway, naming the pairs still waiting (`stuck`).
      let answered = false;
      const late = setTimeout(() => done(true), 45_000);
      // When the last of this worker's pairs went offline (epoch ms): what the kill's time is measured to.
      let lastAt = Date.now();
      const done = (anyway = false) => {
        if ((pending.size > 0 && !anyway) || answered) return;
        answered = true;
        clearTimeout(late);
        clearInterval(lag);
        for (const off of offs) off();
        // The kill's CPU and time, before any of the bench's own bookkeeping: that waits for the
        // parent's `details`, asked once every survivor is done, so that it takes no CPU from the
        // nodes of the workers still watching (it took about 0.4 s of a worker's CPU: the pairs'
        // lookups and their answer; and `at` was taken after it).
        const cpu = cpuSeconds() - cpuAtKill;
        killProfile?.();
        // `BENCH_THREADS=1`: the CPU of this process's threads over the kill, by name (the optimizing compilers' share among them).
        if (threadsAtKill) process.stderr.write(`threads over the kill ${workerName}: ${threadCpuSince(threadsAtKill).map(([name, t]) => `${name} ${t}`).join(", ")}\n`);
        const stuck = pending.size === 0 ? [] : nodes.flatMap((n) => stillAwaited(n.id).map((id) => ({ n, id })));
        details = () => {
          complete();
          if (trace) {
            trace.stop();
            for (const p of [...pairs].sort((a, b) => b.offline - a.offline).slice(0, 10)) p.trace = { ...p.trace, buckets: trace.buckets(p.node) };
          }
          const swim = diffSwim(swimAtKill, sumSwim(nodes.map((n) => n.membership.stats.swim)));
          const stuckNow = stuck.slice(0, 20).map(({ n, id }) => ({ node: n.id.slice(0, 8), id: id.slice(0, 8), swim: n.membership.gossip?.core?.member(id)?.state ?? "none", from: n.membership.gossip?.core?.member(id)?.from?.slice(0, 8) ?? null, owned: n.membership.gossip?.owns(id) ?? false, inTable: n.membership.table.has(id), awareness: n.membership.stats.swim?.awareness ?? 0 }));
          answer({ type: "details", times, pairs, swim, awarenessAtKill, ...(trace ? { traceMean: trace.mean() } : {}), ...(stuck.length > 0 ? { stuck: stuckNow } : {}) });
        };
        answer({ type: "gone", at: stuck.length > 0 ? Date.now() : lastAt, lagMax, cpu, ...(stuck.length > 0 ? { stuckPairs: stuck.length } : {}) });
      };
      nodes.forEach((node, nodeIndex) => {
        const waiting = awaited.get(node.id)!;
        killed.forEach((id, i) => {
          if (!node.membership.table.has(id)) (waiting.flags[i] = 0), waiting.count--;
        });
        if (waiting.count === 0) pending.delete(node.id);
        // When the node first suspected each killed id (epoch ms), by the id's index; 0: never.
        const suspected = new Float64Array(killed.length);
        const doubtedAtKill = node.membership.stats.swim?.deathsDoubted ?? 0;
        // The node's SWIM counters, read again at most every 50 ms: a read copies some 45 of them,
        // and once per offline event it was 5 to 6% of a surviving worker's CPU over the kill.
        let statsAt = Number.NEGATIVE_INFINITY;
        let stats = node.membership.stats.swim;
        const swimStats = () => {
          const now = performance.now();
          if (now - statsAt > 50) (stats = node.membership.stats.swim), (statsAt = now);
          return stats;
        };
        offs.push(
          node.on("peer.suspect", (peer) => {
            const i = indexOf.get(peer.id);
            if (i !== undefined && waiting.flags[i] === 1 && suspected[i] === 0) suspected[i] = Date.now();
          }),
        );
        offs.push(
          node.on("peer.offline", (peer) => {
            const i = indexOf.get(peer.id);
            if (i === undefined || waiting.flags[i] === 0) return;
            waiting.flags[i] = 0;
            waiting.count--;
            const at = Date.now();
            times.push(at);
            lastAt = at;
            const stats = swimStats();
            // What needs a lookup (the member's record, what the node held at the kill) is read when the watch ends (see `complete`).
            const k = offlines.count++;
            offlines.node[k] = nodeIndex;
            offlines.id[k] = i;
            offlines.at[k] = at;
            offlines.suspect[k] = suspected[i]!;
            offlines.doubts[k] = (stats?.deathsDoubted ?? 0) - doubtedAtKill;
            offlines.awareness[k] = stats?.awareness ?? 0;
            if (trace) offlines.traces[k] = trace.copies(node.id, peer.id) ?? {};
            if (waiting.count > 0) return;
            pending.delete(node.id);
            done();
          }),
        );
      });
      done();
      return;
    }
    case "details": {
      const send = details;
      details = null;
      if (send) send();
      else answer({ type: "error", message: "no watch has ended: no details" });
      return;
    }
    case "stop":
      // Profiling (`BENCH_FAST_STOP=1` with BUN_OPTIONS="--cpu-prof-md ..."): exit at once, so the
      // profile is written before the parent's SIGKILL (stopping 250 nodes takes longer).
      if (process.env.BENCH_FAST_STOP === "1") process.exit(0);
      await Promise.all(nodes.map((n) => n.stop({ leave: false })));
      process.exit(0);
  }
}

// Killing the bench (a signal, or its own parent's timeout) must not leave these nodes running.
exitWithParent();
process.on("message", (command: WorkerCommand) => {
  handle(command).catch((error: unknown) => answer({ type: "error", message: String(error) }));
});
