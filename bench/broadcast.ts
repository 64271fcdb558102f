/**
 * Broadcast fan-out: one origin and N peers in one process on loopback (N = 10, 50, 200), full mesh.
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
 * Two gossip settings: `flood` (the default, as Python nodes do: every receiver forwards a new reply
 * to every other peer, so N replies cost about N^3 calls; run for N <= 50 only) and `fanout 3`
 * (`conversationGossipFanout: 3`: repliers still send to every peer, receivers forward to 3).
 *
 * Prints a table and writes `bench/results/broadcast.json`. `--quick` (or `BENCH_QUICK=1`): N = 10
 * and 50, one round each.
 *
 * Run: `bun bench/broadcast.ts [--quick]`
 *
 * @module
 */
import { Client, Node, Pool, kw } from "../src/index.ts";
import type { CallContext, NodeOptions } from "../src/index.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

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
  replyCallsPerRound: number;
  /** Baseline: N concurrent direct calls from the origin, median ms. */
  directCallsMs: number;
}

const ROUND_TIMEOUT_MS = 60_000;

/** Median of `values` (NaN when empty); the teams scenario uses it too. */
export function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** Let every node's background conversation work finish. */
export async function settle(nodes: Node[]): Promise<void> {
  for (let i = 0; i < 4; i++) await Promise.all(nodes.map((n) => n.conversationLayer.flush()));
}

/**
 * Start `n` + 1 meshed nodes in one process, sharing one pool (node 0 is the seed); `options(i)`
 * adds to node i's options (bench/security.ts: a fixed `id`, so that the node signs nothing).
 */
export async function startSwarm(n: number, fanout: number | undefined, options: (i: number) => NodeOptions = () => ({})): Promise<Node[]> {
  const nodes: Node[] = [];
  // One process stands in for N+1 machines: the nodes share one pool, so that there is one
  // connection per peer between them (as between N+1 processes), not one per node and peer.
  const pool = new Pool();
  for (let i = 0; i <= n; i++) {
    const node = new Node({
      name: i === 0 ? "origin" : `peer${i}`,
      bind: "127.0.0.1",
      advertise: "127.0.0.1",
      swarm: "bench",
      heartbeatInterval: null,
      conversationGossipFanout: fanout,
      pool,
      ...options(i),
    });
    await node.start();
    nodes.push(node);
  }
  const seed = `127.0.0.1:${nodes[0]!.port}`;
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 1; i < nodes.length; i += 25) await Promise.all(nodes.slice(i, i + 25).map((node) => node.join({ seeds: [seed] })));
  }
  const deadline = Date.now() + 60_000;
  while (!nodes.every((node) => node.peers.size === n)) {
    if (Date.now() > deadline) throw new Error(`swarm of ${n + 1} did not mesh`);
    await Bun.sleep(20);
  }
  return nodes;
}

/** Measure `rounds` broadcasts to `n` peers with the given fan-out (undefined = flood). */
export async function measureBroadcast(n: number, rounds: number, fanout?: number, options?: (i: number) => NodeOptions): Promise<BroadcastResult> {
  const nodes = await startSwarm(n, fanout, options);
  const [origin, ...peers] = nodes as [Node, ...Node[]];
  const state = { t0: 0, received: 0, deliveredAt: 0, atOrigin: 0, originAt: 0, complete: 0, everywhereAt: 0, replyCalls: 0 };
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
    node.endpoint("bench.silent", () => {
      if (++state.received === n) state.deliveredAt = performance.now();
      return null;
    });
  }
  for (const node of nodes) {
    const endpoint = node.endpoints.get("_synapse.broadcast.reply")!;
    const original = endpoint.handler;
    endpoint.handler = (...args: unknown[]) => {
      state.replyCalls++;
      return original(...args);
    };
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
      const done = new Promise<void>((resolve, reject) => {
        roundDone = resolve;
        setTimeout(() => reject(new Error(`round with ${n} peers did not complete in ${ROUND_TIMEOUT_MS} ms`)), ROUND_TIMEOUT_MS).unref();
      });
      t = performance.now();
      state.t0 = t;
      await origin.broadcast("bench.question", kw({ q: r }));
      returned.push(performance.now() - t);
      await done;
      delivered.push(state.deliveredAt - t);
      atOrigin.push(state.originAt - t);
      everywhere.push(state.everywhereAt - t);
      await settle(nodes);
      replyCalls.push(state.replyCalls);
    }
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
  return {
    peers: n,
    gossip: fanout === undefined ? "flood" : `fanout ${fanout}`,
    rounds,
    deliveredMs: round(median(delivered)),
    silentDeliveredMs: round(median(silentDelivered)),
    silentBroadcastMs: round(median(silentReturned)),
    broadcastMs: round(median(returned)),
    repliesAtOriginMs: round(median(atOrigin)),
    repliesEverywhereMs: round(median(everywhere)),
    replyCallsPerRound: median(replyCalls),
    directCallsMs: round(median(direct)),
  };
}

/** Run every scenario, print the table, write the JSON; returns the results. */
export async function runBroadcastBench(): Promise<BroadcastResult[]> {
  const plan: Array<[number, number, number | undefined]> = QUICK
    ? [
        [10, 1, undefined],
        [10, 1, 3],
        [50, 1, 3],
      ]
    : [
        [10, 5, undefined],
        [50, 3, undefined],
        [10, 5, 3],
        [50, 5, 3],
        [200, 3, 3],
      ];
  const results: BroadcastResult[] = [];
  for (const [n, rounds, fanout] of plan) {
    const result = await measureBroadcast(n, rounds, fanout);
    console.error(`  N=${n} ${result.gossip}: done`);
    results.push(result);
  }
  printTable(
    "broadcast fan-out: origin + N peers, one process, loopback, full mesh (medians, ms)",
    ["peers", "gossip", "N direct calls", "delivered, no replies", "broadcast(), no replies", "delivered", "broadcast()", "replies@origin", "replies everywhere", "reply calls"],
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
    ]),
  );
  const biggest = results[results.length - 1]!;
  writeResults("broadcast", { scenarios: results }, [
    { metric: `N=${biggest.peers} ${biggest.gossip}: ${biggest.peers} direct calls`, value: biggest.directCallsMs, unit: "ms" },
    { metric: `N=${biggest.peers} ${biggest.gossip}: broadcast delivered (no replies)`, value: biggest.silentDeliveredMs, unit: "ms" },
    { metric: `N=${biggest.peers} ${biggest.gossip}: all replies at origin`, value: biggest.repliesAtOriginMs, unit: "ms" },
  ]);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 180 : 900);
  await runBroadcastBench();
  process.exit(0);
}
