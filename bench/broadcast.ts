/**
 * Broadcast fan-out: one origin and N peers in one process on loopback (N = 10, 50, 200), full mesh,
 * and (batched) the same across a few processes.
 *
 * Per round the origin broadcasts `bench.question`; every peer's handler answers at once and then
 * replies with `node.reply()` (a separate `_synapse.broadcast.reply` call to every peer it knows,
 * forwarded further by the receivers). Measured per round:
 *
 * - delivered: time until every peer holds the message (its handler ran, after the opening
 *   `message` event was recorded);
 * - broadcast(): time until `broadcast()` resolved (every peer answered the call);
 * - replies at origin: time until the origin held all N replies;
 * - replies everywhere: time until every node held all N replies;
 * - reply calls: `_synapse.broadcast.reply` calls served by all nodes in the round;
 * - delivered / broadcast() without replies: the same for `bench.silent`, whose handler does not
 *   reply (all nodes share one thread here, so in the rounds above the reply traffic of the first
 *   peers slows the delivery to the last ones).
 *
 * Baseline in the same run: N plain direct calls from the origin, one to each peer, all in flight
 * at once (`Promise.all`).
 *
 * Three gossip settings: `flood` (per-event calls, as Python nodes do: every receiver forwards a new
 * reply to every other peer, so N replies cost about N^3 calls; run for N <= 50 only), `fanout 3`
 * (per-event calls, `conversationGossipFanout: 3`: repliers still send to every peer, receivers
 * forward to 3) and `batched` (the default among Bun peers: a reply goes to the origin by a call of
 * its own, and to everyone else in `_synapse.conversation.batch` rounds, see
 * docs/conversations.md). The first two set `conversationBatchInterval: null`.
 *
 * Reply-carrying calls: `_synapse.broadcast.reply` calls, plus `_synapse.conversation.batch` calls
 * whose request or answer carried a reply. Per peer: that total over N (the mean), and, for
 * `batched`, the most any one node made (each call counted for its caller: the batch's `from`, the
 * reply call's replier, which in batched mode is the only one that makes such a call).
 *
 * Across processes (`lib/broadcast-swarm.ts`): the batched broadcast with replies again, the origin
 * and N peers spread over `--processes` (default 4) worker processes, at 50 and 200 peers signed
 * (the default) and at 200 unsigned, with the reply tree (the default, docs/conversations.md#the-reply-tree)
 * and without it (`mp200ur`: the replies spread by the push-pull rounds alone, the baseline in the
 * same run); the same times, reply-carrying calls per peer, and the CPU the
 * processes spent per round (over the nodes: one node's share). In one process every node's work
 * runs on one thread, one after the other; across processes it runs on both cores, as far as two
 * cores go. Neither is a deployment of one node per machine (see docs/performance.md).
 *
 * Prints tables and writes `bench/results/broadcast.json`. `--quick` (or `BENCH_QUICK=1`): N = 10
 * and 50, one round each, and 10 peers across processes.
 *
 * Run: `bun bench/broadcast.ts [--quick] [--cpus 1.3] [--only 200:batched,mp200,mp200u,mp200ur] [--processes 4] [--batch-interval 0.01] [--mp-rounds 3] [--mp-warmup 0]`
 *
 * `BENCH_MARKS=1`: each one-process round's broadcast with replies prints when it began and when
 * every node had every reply (`mark question start|end date <ms since the epoch>`, on stderr), so
 * that a CPU profile of the process (`bun --cpu-prof`) can be cut to the rounds; the worker
 * processes print their settle marks (lib/broadcast-worker.ts).
 *
 * @module
 */
import { Client, Node, Pool, kw } from "../src/index.ts";
import type { CallContext, NodeOptions } from "../src/index.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";
import { benchNodeOptions, countReplyCalls } from "./lib/broadcast-calls.ts";
import { measureMultiProcess, type MultiProcessResult } from "./lib/broadcast-swarm.ts";
import { applyCpusFlag } from "./lib/cpu-limit.ts";
import { machineLine, measureRawEcho } from "./lib/machine-speed.ts";
import { sharedVerifier, shareVerifiedSignatures } from "../src/security/records.ts";

// Every node checks every signature for itself, as a node on a machine of its own does: the
// process-wide sharing of verified signatures would make a process of many nodes check each once.
// (Only when run as the bench: a test importing this module keeps the process's default.)
if (import.meta.main) shareVerifiedSignatures(false);

/** One scenario's numbers (milliseconds are medians over the rounds). */
export interface BroadcastResult {
  peers: number;
  gossip: string;
  rounds: number;
  deliveredMs: number;
  /** Delivery and broadcast() time of a broadcast nobody replies to. */
  silentDeliveredMs: number;
  silentBroadcastMs: number;
  broadcastMs: number;
  repliesAtOriginMs: number;
  repliesEverywhereMs: number;
  /** Every completed round's time until all replies were everywhere, in order (the first is a fresh swarm's first contact). */
  everywhereRoundsMs: number[];
  replyCallsPerRound: number;
  /** Rounds in which some node did not get every reply within the round timeout, with how many nodes did. */
  incompleteRounds: number[];
  /** Reply-carrying calls per peer: the round's total over N. */
  replyCallsPerPeer: number;
  /** The most reply-carrying calls one node made in a round (batched mode only; null otherwise). */
  maxReplyCallsPerPeer: number | null;
  /** Baseline: N concurrent direct calls from the origin, median ms. */
  directCallsMs: number;
  /**
   * Events and replies the nodes accepted over the whole run (silent broadcasts included), by how:
   * an Ed25519 check (`signature`, on the signature thread or inline) or a record MAC for the node
   * (`mac`: a signature check avoided, docs/security.md#record-macs).
   */
  checks: { signature: number; mac: number };
}

const ROUND_TIMEOUT_MS = 30_000;

/** Median of `values` (NaN when empty); the teams scenario uses it too. */
export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Let every node's background conversation work finish. */
export async function settle(nodes: Node[]): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.all(nodes.map((n) => n.conversationLayer.flush()));
}

/** How a scenario gossips: `flood`, `fanout k` (both per-event calls) or `batched`. */
export type GossipMode = { kind: "flood" } | { kind: "fanout"; k: number } | { kind: "batched" };

/** The node options of a gossip mode. */
function gossipOptions(mode: GossipMode): NodeOptions {
  if (mode.kind === "batched") return {};
  return { conversationBatchInterval: null, conversationGossipFanout: mode.kind === "fanout" ? mode.k : undefined };
}

/** A gossip mode's label in tables. */
function gossipLabel(mode: GossipMode): string {
  return mode.kind === "fanout" ? `fanout ${mode.k}` : mode.kind;
}

/**
 * Start `n` + 1 meshed nodes in one process, sharing one pool (node 0 is the seed). `fanout` is
 * `conversationGossipFanout` (undefined: flooding); `options` default to per-event calls
 * (`conversationBatchInterval: null`), as the teams scenario measures them; `extra(i)` adds to
 * node i's options (bench/security.ts: a fixed `id`, so that the node signs nothing).
 */
export async function startSwarm(
  n: number,
  fanout: number | undefined,
  options: NodeOptions = { conversationBatchInterval: null },
  extra: (i: number) => NodeOptions = () => ({}),
): Promise<Node[]> {
  const nodes: Node[] = [];
  // One process stands in for N+1 machines: the nodes share one pool, so that there is one
  // connection per peer between them (as between N+1 processes), not one per node and peer.
  const pool = new Pool();
  for (let i = 0; i <= n; i++) {
    const node = new Node({
      ...benchNodeOptions(i),
      conversationGossipFanout: fanout,
      ...options,
      pool,
      ...extra(i),
    });
    await node.start();
    nodes.push(node);
  }
  const seed = `127.0.0.1:${nodes[0]!.port}`;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 1; i < nodes.length; i += 25) await Promise.all(nodes.slice(i, i + 25).map((node) => node.join({ seeds: [seed] })));
  }
  // The peer table's size, not node.peers (which copies every record): polling 201 nodes' copies
  // every few milliseconds was most of the CPU of meshing 200 peers.
  // On a loaded machine a join can time out: nodes still short of the full table join again.
  const deadline = Date.now() + 180_000;
  for (let attempt = 1; !nodes.every((node) => node.membership.table.size === n); attempt++) {
    if (Date.now() > deadline) throw new Error(`swarm of ${n + 1} did not mesh`);
    await Bun.sleep(100);
    if (attempt % 50 === 0) {
      const short = nodes.slice(1).filter((node) => node.membership.table.size < n);
      for (let i = 0; i < short.length; i += 25) await Promise.all(short.slice(i, i + 25).map((node) => node.join({ seeds: [seed] })));
    }
  }
  return nodes;
}

/** Measure `rounds` broadcasts to `n` peers in the given gossip mode (`extra(i)`: more options of node i). */
export async function measureBroadcast(n: number, rounds: number, mode: GossipMode, extra?: (i: number) => NodeOptions): Promise<BroadcastResult> {
  const nodes = await startSwarm(n, mode.kind === "fanout" ? mode.k : undefined, gossipOptions(mode), extra);
  const checksBefore = sharedVerifier().stats.onThread + sharedVerifier().stats.inline;
  const [origin, ...peers] = nodes as [Node, ...Node[]];
  const state = { t0: 0, received: 0, deliveredAt: 0, atOrigin: 0, originAt: 0, complete: 0, everywhereAt: 0, replyCalls: 0 };
  const byCaller = new Map<string, number>();
  countReplyCalls(nodes, state, byCaller);
  let roundDone: () => void = () => {};
  const perNode = new Map<Node, number>();
  for (const node of peers) {
    node.endpoint("bench.question", (q: unknown, ctx: CallContext) => {
      void q; // bound from the q= keyword argument
      if (++state.received === n) state.deliveredAt = performance.now();
      void node.reply(ctx.broadcast!, { from: node.name });
      return null;
    });
    node.endpoint("bench.echo", (x: unknown) => x);
    node.endpoint("bench.silent", (q: unknown) => {
      void q; // bound from the q= keyword argument (a handler without it would refuse the call)
      if (++state.received === n) state.deliveredAt = performance.now();
      return null;
    });
  }
  for (const node of nodes) {
    node.on("broadcast.reply", () => {
      const count = (perNode.get(node) ?? 0) + 1;
      perNode.set(node, count);
      if (node === origin && count === n) state.originAt = performance.now();
      if (count === n && ++state.complete === nodes.length) {
        state.everywhereAt = performance.now();
        roundDone();
      }
    });
  }
  const delivered: number[] = [];
  const returned: number[] = [];
  const atOrigin: number[] = [];
  const everywhere: number[] = [];
  const replyCalls: number[] = [];
  const maxPerPeer: number[] = [];
  const incomplete: number[] = [];
  const direct: number[] = [];
  const silentDelivered: number[] = [];
  const silentReturned: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      // Baseline first: N concurrent direct calls.
      const clients = peers.map((p) => new Client("127.0.0.1", p.port));
      let t = performance.now();
      await Promise.all(clients.map((c, i) => c.call("bench.echo", i)));
      direct.push(performance.now() - t);

      // A broadcast nobody replies to.
      state.received = 0;
      t = performance.now();
      await origin.broadcast("bench.silent", kw({ q: r }));
      silentReturned.push(performance.now() - t);
      silentDelivered.push(state.deliveredAt - t);
      await settle(nodes);

      Object.assign(state, { received: 0, deliveredAt: 0, originAt: 0, complete: 0, everywhereAt: 0, replyCalls: 0 });
      perNode.clear();
      byCaller.clear();
      const done = new Promise<void>((resolve, reject) => {
        roundDone = resolve;
        setTimeout(() => reject(new Error(`round with ${n} peers did not complete in ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS).unref();
      });
      t = performance.now();
      state.t0 = t;
      if (process.env.BENCH_MARKS) process.stderr.write(`mark question start date ${Date.now()}\n`);
      await origin.broadcast("bench.question", kw({ q: r }));
      returned.push(performance.now() - t);
      try {
        await done;
      } catch (error) {
        // Reported, not fatal: a round in which some node never got every reply is a result too.
        console.error(`  ${(error as Error).message}: ${state.complete} of ${nodes.length} nodes had every reply`);
        incomplete.push(state.complete);
        await settle(nodes);
        continue;
      }
      if (process.env.BENCH_MARKS) process.stderr.write(`mark question end date ${Date.now()}\n`);
      delivered.push(state.deliveredAt - t);
      atOrigin.push(state.originAt - t);
      everywhere.push(state.everywhereAt - t);
      await settle(nodes);
      replyCalls.push(state.replyCalls);
      maxPerPeer.push(Math.max(0, ...byCaller.values()));
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
  const verifier = sharedVerifier().stats;
  const checks = { signature: verifier.onThread + verifier.inline - checksBefore, mac: 0 };
  for (const node of nodes) checks.mac += node.records.stats.macVerified;
  return {
    checks,
    peers: n,
    gossip: gossipLabel(mode),
    rounds,
    deliveredMs: round(median(delivered)),
    silentDeliveredMs: round(median(silentDelivered)),
    silentBroadcastMs: round(median(silentReturned)),
    broadcastMs: round(median(returned)),
    repliesAtOriginMs: round(median(atOrigin)),
    repliesEverywhereMs: round(median(everywhere)),
    everywhereRoundsMs: everywhere.map((x) => round(x)),
    replyCallsPerRound: median(replyCalls),
    incompleteRounds: incomplete,
    replyCallsPerPeer: round(median(replyCalls) / n),
    maxReplyCallsPerPeer: mode.kind === "batched" ? median(maxPerPeer) : null,
    directCallsMs: round(median(direct)),
  };
}

const FLOOD: GossipMode = { kind: "flood" };
const FANOUT3: GossipMode = { kind: "fanout", k: 3 };
const BATCHED: GossipMode = { kind: "batched" };

/** The scenarios: [peers, rounds, mode]. */
function plan(): Array<[number, number, GossipMode]> {
  if (QUICK) {
    return [
      [10, 1, FLOOD],
      [10, 1, FANOUT3],
      [50, 1, FANOUT3],
      [50, 1, BATCHED],
    ];
  }
  return [
    [10, 5, FLOOD],
    [50, 3, FLOOD],
    [10, 5, FANOUT3],
    [50, 5, FANOUT3],
    [200, 3, FANOUT3],
    [10, 5, BATCHED],
    [50, 5, BATCHED],
    [200, 3, BATCHED],
  ];
}

/**
 * The multi-process scenarios (batched, every peer replying): [peers, rounds, signed, reply tree].
 * Named `mpN` (signed, the default) and `mpNu` (nodes that sign nothing) for `--only`, and `mpNur`
 * for unsigned nodes with the reply tree off (`conversationReplyTree: false`: the replies spread by
 * the push-pull rounds alone), the baseline of `mpNu` in the same run.
 */
function multiProcessPlan(): Array<[number, number, boolean, boolean]> {
  if (QUICK) return [[10, 1, true, true]];
  return [
    [50, 5, true, true],
    [200, MP_ROUNDS, true, true],
    [200, MP_ROUNDS, false, true],
    [200, MP_ROUNDS, false, false],
  ];
}

/** The name `--only` knows a multi-process scenario by (see {@link multiProcessPlan}). */
function multiProcessName(n: number, signed: boolean, tree: boolean): string {
  return `mp${n}${signed ? "" : "u"}${tree ? "" : "r"}`;
}

/** A multi-process result's label in the summary metrics. */
function multiLabel(r: MultiProcessResult): string {
  return `N=${r.peers} over ${r.processes} processes${r.signed ? "" : ", unsigned"}${r.replyTree ? "" : ", reply tree off"}`;
}

/**
 * `--mp-rounds R` (default 3, what issue #12's figure is the median of): rounds of the 200-peer
 * scenarios across processes. More rounds show warm ones: in the first three, each process's JIT
 * is still compiling the hot paths (`BENCH_THREADS=1` prints the threads' CPU; `BENCH_ROUNDS=1`
 * each round's times, CPU, items and bytes as it ends).
 */
const MP_ROUNDS = process.argv.includes("--mp-rounds") ? Number(process.argv[process.argv.indexOf("--mp-rounds") + 1]) : 3;

/**
 * `--mp-warmup W` (default 0): rounds run before the measured ones in the multi-process
 * scenarios, reported apart (the "warm-up" column) and left out of the medians. A fresh swarm's
 * first broadcast opens its connections, and in the first rounds each process's JIT compiles the
 * hot paths (a fifth to a third of the second and third rounds' CPU, docs/performance-log.md); with
 * warm-up rounds the medians are those of a swarm that has served broadcasts before. The default
 * figure (issue #12's) keeps the fresh swarm's rounds in.
 */
const MP_WARMUP = process.argv.includes("--mp-warmup") ? Number(process.argv[process.argv.indexOf("--mp-warmup") + 1]) : 0;

/** `--processes P` (default 4): the processes the multi-process scenarios spread their nodes over. */
const PROCESSES = process.argv.includes("--processes") ? Number(process.argv[process.argv.indexOf("--processes") + 1]) : 4;
/** `--batch-interval S`: the multi-process scenarios' nodes' `conversationBatchInterval` (default: the node default). */
const BATCH_INTERVAL = process.argv.includes("--batch-interval") ? Number(process.argv[process.argv.indexOf("--batch-interval") + 1]) : undefined;

/**
 * Run the scenarios (every one, or those `--only` names: `N:mode` for one process, e.g.
 * `200:batched`, and `mpN`/`mpNu` across processes, e.g. `mp200`), print the tables, write the
 * JSON; returns the one-process results.
 */
export async function runBroadcastBench(): Promise<BroadcastResult[]> {
  const only = process.argv.includes("--only") ? (process.argv[process.argv.indexOf("--only") + 1] ?? "").split(",") : null;
  // The machine's speed first, before any swarm loads it (recorded in the results' environment).
  console.log(machineLine(await measureRawEcho()));
  const results: BroadcastResult[] = [];
  for (const [n, rounds, mode] of plan()) {
    if (only && !only.includes(`${n}:${gossipLabel(mode).replace(" ", "")}`)) continue;
    const result = await measureBroadcast(n, rounds, mode);
    console.error(`  N=${n} ${result.gossip}: done`);
    results.push(result);
  }
  const multi: MultiProcessResult[] = [];
  for (const [n, rounds, signed, tree] of multiProcessPlan()) {
    if (only && !only.includes(multiProcessName(n, signed, tree))) continue;
    const options = { ...(BATCH_INTERVAL === undefined ? {} : { conversationBatchInterval: BATCH_INTERVAL }), ...(tree ? {} : { conversationReplyTree: false }) };
    const result = await measureMultiProcess(n, PROCESSES, rounds, signed, options, MP_WARMUP);
    multi.push(result);
    console.error(`  ${multiLabel(result)}: done`);
  }
  printTable(
    "broadcast fan-out: origin + N peers, one process, loopback, full mesh (medians, ms; calls per round)",
    ["peers", "gossip", "N direct calls", "delivered, no replies", "broadcast(), no replies", "delivered", "broadcast()", "replies@origin", "replies everywhere", "reply calls", "per peer", "max per peer"],
    results.map((r) => [
      String(r.peers),
      r.gossip,
      r.directCallsMs,
      r.silentDeliveredMs,
      r.silentBroadcastMs,
      r.deliveredMs,
      r.broadcastMs,
      r.repliesAtOriginMs,
      r.repliesEverywhereMs,
      r.replyCallsPerRound,
      r.replyCallsPerPeer,
      r.maxReplyCallsPerPeer ?? "-",
    ]),
  );
  if (multi.length > 0) {
    printTable(
      `broadcast, batched, every peer replies: origin + N peers over ${PROCESSES} processes, loopback (medians, ms; CPU of all processes per round)`,
      ["peers", "signed", "reply tree", "warm-up: replies everywhere", "delivered", "broadcast()", "replies@origin", "replies everywhere", "rounds", "incomplete", "reply calls per peer", "max per peer", "CPU ms/round", "CPU ms/node", "kernel share", "items in/node", "copies/node", "batch calls/node", "KB in/node"],
      multi.map((r) => [
        String(r.peers),
        r.signed ? "yes" : "no",
        r.replyTree ? "yes" : "no",
        r.warmupRoundsMs.join(", ") || "-",
        r.deliveredMs,
        r.broadcastMs,
        r.repliesAtOriginMs,
        r.repliesEverywhereMs,
        r.everywhereRoundsMs.join(", "),
        `${r.incompleteRounds.length}/${r.rounds}`,
        r.replyCallsPerPeer,
        r.maxReplyCallsPerPeer,
        r.cpuMsPerRound,
        r.cpuMsPerNode,
        r.cpuSystemShare,
        r.itemsPerNode,
        r.duplicatesPerNode,
        r.batchesPerNode,
        Object.entries(r.kbInPerNode)
          .filter(([, kb]) => kb > 0)
          .map(([group, kb]) => `${group} ${kb}`)
          .join(", "),
      ]),
    );
  }
  const multiSummary = multi.flatMap((r) => [
    { metric: `${multiLabel(r)}: all replies everywhere`, value: r.repliesEverywhereMs, unit: "ms" },
    { metric: `${multiLabel(r)}: reply-carrying calls per peer`, value: r.replyCallsPerPeer, unit: "calls" },
    { metric: `${multiLabel(r)}: CPU per node per round`, value: r.cpuMsPerNode, unit: "ms" },
  ]);
  const summary = results
    .filter((r) => r.peers === Math.max(...results.map((x) => x.peers)))
    .flatMap((r) => [
      { metric: `N=${r.peers} ${r.gossip}: all replies everywhere`, value: r.repliesEverywhereMs, unit: "ms" },
      { metric: `N=${r.peers} ${r.gossip}: reply-carrying calls per peer`, value: r.replyCallsPerPeer, unit: "calls" },
    ]);
  const biggest = results[results.length - 1];
  writeResults("broadcast", { scenarios: results, multiProcess: multi }, [
    ...(biggest ? [{ metric: `N=${biggest.peers} ${biggest.gossip}: ${biggest.peers} direct calls`, value: biggest.directCallsMs, unit: "ms" }] : []),
    ...summary,
    ...multiSummary,
  ]);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 180 : 900);
  // `--cpus C`: the run on C cores of the machine's (bench/lib/cpu-limit.ts), before anything starts.
  applyCpusFlag();
  await runBroadcastBench();
  process.exit(0);
}
