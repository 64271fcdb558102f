/**
 * Gossip membership at sizes one machine cannot hold as processes: N SWIM cores (the package's
 * own `SwimCore`, unchanged, configured as a node in gossip mode configures it at heartbeat 1 s
 * and peer timeout 4 s: `config.ts`) on a virtual clock and a virtual network (`des.ts`). For each N:
 *
 * - joins: the nodes start one after another over `joinWindow` seconds, each joining through a
 *   random node already started (a push-pull); measured: the time from the last join until every
 *   node sees every other alive ("all know all").
 * - one more join into the converged swarm: the time until every node knows the newcomer (one
 *   update's dissemination: the O(log N) part).
 * - steady state: messages and bytes sent per node per second over a window, and any suspicion or
 *   death of a live node (there should be none).
 * - a failure: one node is killed (calls to it fail at once, as to a killed process); measured: the
 *   time until the first node suspects it, and until every live node has it dead.
 *
 * Mesh mode (every node heartbeats every peer each interval) is computed beside it for the same N
 * from its settings and the sizes of a real heartbeat request and answer, encoded by the package.
 *
 * Beyond the sizes whose N² member records fit in one process (about 1,000 cores here: 10,000
 * would need 10⁸ records, tens of GB), `dissemination-model.ts` follows one update with O(N) state
 * under the core's own rules, up to 10,000 nodes, and is run at the smaller sizes too so that the
 * two can be compared.
 *
 * Writes `bench/results/membership-sim.json` (read by `bench/sim/chart.ts`, which draws
 * `docs/membership-sim.svg`). Run: `bun bench/sim/membership-sim.ts [--quick] [--sizes
 * 100,300,1000] [--model-sizes 100,...,10000]`. `--quick`: N = 50 and 200 with a shorter window,
 * the model at 50 to 1,000 (a smoke run, seconds).
 *
 * @module
 */
import { SimNetwork, type SimNode } from "./des.ts";
import { seededRandom } from "../../src/membership/swim-types.ts";
import { HEARTBEAT_INTERVAL, PEER_TIMEOUT, SIM_CONFIG } from "./config.ts";
import { encode } from "../../src/wire/codec.ts";
import { okResponse, request } from "../../src/wire/messages.ts";
import { QUICK, printTable, round, writeResults } from "../lib/harness.ts";
import { disseminationTime, suspicionTimeout } from "./dissemination-model.ts";

/** One N's numbers. Times in seconds of simulated time. */
export interface SimResult {
  nodes: number;
  /** Seconds over which the N nodes joined. */
  joinWindow: number;
  /** From the last join until every node saw every other alive; null if not within the limit. */
  allKnowAll: number | null;
  /** From one more join (into the converged swarm) until 99% of the nodes, and every node, knew it. */
  joinKnown99: number | null;
  joinKnownEverywhere: number | null;
  /** Steady state: messages (requests and answers) and bytes sent per node per second. */
  msgsPerNodePerSec: number;
  bytesPerNodePerSec: number;
  /** Suspicions and deaths of live nodes in the steady window (false alarms). */
  falseSuspicions: number;
  falseDeaths: number;
  /** From the kill until the first node suspected the victim, and until every live node had it dead. */
  firstSuspicion: number | null;
  deadEverywhere: number | null;
  /** Real seconds the simulation of this N took. */
  wallSeconds: number;
  /** Heap in use after the run, MB. */
  heapMB: number;
}

/** Mesh mode at the same N, from its settings (no simulation needed: every node calls every peer each interval). */
export interface MeshResult {
  nodes: number;
  heartbeatInterval: number;
  msgsPerNodePerSec: number;
  bytesPerNodePerSec: number;
  /** A silent peer is dropped once `peerTimeout` passed without a heartbeat: at most this, whatever N. */
  deadEverywhere: number;
}

const LIMIT = 300; // seconds of simulated time a phase may take before it is reported as not reached

/** Run a phase until `done()` holds or `limit` seconds pass; returns the elapsed time or null. */
async function until(net: SimNetwork, done: () => boolean, limit: number, step = 0.05): Promise<number | null> {
  const start = net.clock.now;
  while (!done()) {
    if (net.clock.now - start > limit) return null;
    await net.clock.runUntil(net.clock.now + step);
  }
  return net.clock.now - start;
}

/** Simulate one N. */
export async function simulate(n: number, options: { joinWindow: number; window: number; seed?: number }): Promise<SimResult> {
  const wall = performance.now();
  const net = new SimNetwork({ seed: options.seed ?? n, config: SIM_CONFIG });
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(net.add());
  const up = () => nodes.filter((x) => x.up);
  // Nodes that see all the others alive, kept as changes arrive (scanning N lists of N is too slow).
  let full = 0;
  let expected = n - 1;
  const isFull = (x: SimNode) => x.alive === expected;
  let falseSuspicions = 0;
  let falseDeaths = 0;
  let counting = false;
  let victim: SimNode | null = null;
  let firstSuspect = -1;
  let deadSeen = 0;
  let newcomer: SimNode | null = null;
  let knowNewcomer = 0;
  net.watch = (observer, member, state, previous) => {
    const before = observer.alive - (state === "alive" ? 1 : 0) + (previous === "alive" ? 1 : 0);
    if (before === expected && observer.alive !== expected) full--;
    else if (before !== expected && observer.alive === expected) full++;
    if (counting && (state === "suspect" || state === "dead")) {
      if (state === "suspect") falseSuspicions++;
      else falseDeaths++;
    }
    if (victim && member === victim.id) {
      if (state === "suspect" && firstSuspect < 0) firstSuspect = net.clock.now;
      if (state === "dead" && observer.up) deadSeen++;
    }
    if (newcomer && member === newcomer.id && state === "alive" && previous === null) knowNewcomer++;
  };

  // Joins, spread over the window; each through a random node already started.
  nodes[0]!.core.start();
  const spacing = options.joinWindow / (n - 1);
  const rnd = seededRandom(options.seed ?? n);
  for (let i = 1; i < n; i++) {
    const node = nodes[i]!;
    const via = nodes[Math.floor(rnd() * i)]!;
    net.clock.schedule(i * spacing, () => {
      node.core.start();
      void node.core.join({ id: via.id, address: "10.0.0.1", port: via.port });
    });
  }
  const progress = (what: string) => console.error(`  N=${n} ${what} at ${net.clock.now.toFixed(2)} s simulated, ${((performance.now() - wall) / 1000).toFixed(1)} s real`);
  await net.clock.runUntil(options.joinWindow);
  progress("joins done");
  const allKnowAll = await until(net, () => full === n, LIMIT);
  progress(`all know all (${full}/${n})`);

  // One more join into the converged swarm: one update to disseminate.
  let joinKnownEverywhere: number | null = null;
  let joinKnown99: number | null = null;
  if (allKnowAll !== null) {
    await net.clock.runUntil(net.clock.now + 5);
    const extra = net.add();
    nodes.push(extra);
    expected = n;
    full = nodes.filter(isFull).length;
    newcomer = extra;
    extra.core.start();
    const via = nodes[Math.floor(rnd() * n)]!;
    void extra.core.join({ id: via.id, address: "10.0.0.1", port: via.port });
    const joinedAt = net.clock.now;
    joinKnown99 = await until(net, () => knowNewcomer >= Math.ceil(0.99 * n), LIMIT, 0.01);
    joinKnownEverywhere = await until(net, () => knowNewcomer >= n, LIMIT, 0.01);
    if (joinKnownEverywhere !== null) joinKnownEverywhere = net.clock.now - joinedAt;
    progress("one join known everywhere");
  }

  // Steady state.
  await net.clock.runUntil(net.clock.now + 10);
  const live = up();
  const out0 = net.total("msgsOut");
  const bytes0 = net.total("bytesOut");
  const t0 = net.clock.now;
  counting = true;
  await net.clock.runUntil(t0 + options.window);
  counting = false;
  const msgsPerNodePerSec = (net.total("msgsOut") - out0) / live.length / options.window;
  const bytesPerNodePerSec = (net.total("bytesOut") - bytes0) / live.length / options.window;
  progress("steady window");

  // A failure.
  victim = nodes[1 + Math.floor(rnd() * (n - 2))]!;
  net.kill(victim);
  const killedAt = net.clock.now;
  const survivors = up().length;
  const deadEverywhere = await until(net, () => deadSeen >= survivors, LIMIT, 0.01);
  const result: SimResult = {
    nodes: n,
    joinWindow: options.joinWindow,
    allKnowAll,
    joinKnown99,
    joinKnownEverywhere,
    msgsPerNodePerSec,
    bytesPerNodePerSec,
    falseSuspicions,
    falseDeaths,
    firstSuspicion: firstSuspect < 0 ? null : firstSuspect - killedAt,
    deadEverywhere,
    wallSeconds: (performance.now() - wall) / 1000,
    heapMB: process.memoryUsage().heapUsed / 1e6,
  };
  for (const x of nodes) x.core.stop();
  return result;
}

/** Mesh mode at `n` nodes: every node heartbeats every peer each interval, each call a Peer out and a NodeInfo back. */
export function mesh(n: number, heartbeatInterval = 1, peerTimeout = 4): MeshResult {
  const id = "f".repeat(64);
  const peer = { id, address: "10.0.0.17", port: 9999, swarm: "lab", team: "default", name: "worker-17", kind: "node", capabilities: ["chat"], last_seen: 1_764_000_000.123 };
  const info = { id, name: "worker-17", kind: "node", address: "10.0.0.17", port: 9999, swarm: "lab", team: "default", role: "", description: "", capabilities: ["chat"] };
  const call = encode(request("_synapse.heartbeat", "0123456789abcdef", [peer], {})).length + 4;
  const answer = encode(okResponse("0123456789abcdef", info)).length + 4;
  const calls = (n - 1) / heartbeatInterval;
  // Each node makes N-1 calls per interval and answers N-1: messages and bytes sent both ways.
  return { nodes: n, heartbeatInterval, msgsPerNodePerSec: 2 * calls, bytesPerNodePerSec: calls * (call + answer), deadEverywhere: peerTimeout };
}


/** The model's numbers at one N, over several seeds (`dissemination-model.ts`). */
export interface ModelResult {
  nodes: number;
  runs: number;
  /** Median seconds until 99% of the nodes had one update. */
  p99: number;
  /** Median seconds until all had it, over the runs where gossip alone reached all; null if none did. */
  all: number | null;
  /** Runs where gossip alone missed a node (a push-pull repairs it later). */
  missed: number;
  /** The core's suspicion timeout at N: with enough confirmations, and without any. */
  suspicionMin: number;
  suspicionMax: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Run the model `runs` times at `n`. */
export async function model(n: number, runs: number): Promise<ModelResult> {
  const outcomes = [];
  for (let seed = 1; seed <= runs; seed++) outcomes.push(await disseminationTime(n, seed * 7919 + n));
  const all = outcomes.map((o) => o.all).filter((t): t is number => t !== null);
  const [suspicionMin, suspicionMax] = suspicionTimeout(n);
  return {
    nodes: n,
    runs,
    p99: median(outcomes.map((o) => o.p99 ?? Infinity)),
    all: all.length > 0 ? median(all) : null,
    missed: runs - all.length,
    suspicionMin,
    suspicionMax,
  };
}

function listFlag(name: string, fallback: number[]): number[] {
  const at = process.argv.indexOf(`--${name}`);
  if (at >= 0 && process.argv[at + 1]) return process.argv[at + 1]!.split(",").map((s) => Number(s));
  return fallback;
}

const rounded = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]));

if (import.meta.main) {
  const sizes = listFlag("sizes", QUICK ? [50, 200] : [100, 300, 1000]);
  const modelSizes = listFlag("model-sizes", QUICK ? [50, 200, 1000] : [100, 300, 1000, 3000, 10_000]);
  const results: SimResult[] = [];
  for (const n of sizes) {
    const r = await simulate(n, { joinWindow: QUICK ? 2 : 10, window: QUICK ? 10 : 60 });
    results.push(r);
    console.error(`N=${n}: ${JSON.stringify(r)}`);
  }
  const models: ModelResult[] = [];
  for (const n of modelSizes) models.push(await model(n, QUICK ? 3 : 9));
  const meshes = [...new Set([...sizes, ...modelSizes])].sort((a, b) => a - b).map((n) => mesh(n, HEARTBEAT_INTERVAL, PEER_TIMEOUT));
  const f = (x: number | null) => (x === null ? "-" : x);
  printTable(
    "gossip membership, N SWIM cores simulated: seconds of swarm time; per node per second in steady state",
    ["nodes", "all know all", "1 join: 99%", "1 join: all", "first suspect", "dead everywhere", "msgs/node/s", "bytes/node/s", "false alarms", "wall s"],
    results.map((r) => [
      String(r.nodes),
      f(r.allKnowAll),
      f(r.joinKnown99),
      f(r.joinKnownEverywhere),
      f(r.firstSuspicion),
      f(r.deadEverywhere),
      r.msgsPerNodePerSec,
      r.bytesPerNodePerSec,
      String(r.falseSuspicions + r.falseDeaths),
      r.wallSeconds,
    ]),
  );
  printTable(
    "one update's dissemination, model (O(N) state, the core's rules), medians",
    ["nodes", "runs", "99% have it s", "all have it s", "runs gossip missed one", "suspicion timeout s"],
    models.map((m) => [String(m.nodes), String(m.runs), m.p99, f(m.all), String(m.missed), `${round(m.suspicionMin, 1)} to ${round(m.suspicionMax, 1)}`]),
  );
  printTable(
    "mesh mode (every node heartbeats every peer each second), from its settings",
    ["nodes", "msgs/node/s", "bytes/node/s", "silent peer dropped after s"],
    meshes.map((m) => [String(m.nodes), m.msgsPerNodePerSec, m.bytesPerNodePerSec, m.deadEverywhere]),
  );
  writeResults(
    "membership-sim",
    {
      config: SIM_CONFIG,
      network: { latency: 0.002, jitter: 0.001, loss: 0 },
      gossip: results.map(rounded),
      model: models.map(rounded),
      mesh: meshes.map(rounded),
    },
    [
      ...results.map((r) => ({ metric: `${r.nodes} cores: one join known by 99% after`, value: round(r.joinKnown99 ?? -1, 2), unit: "s" })),
      ...models.map((m) => ({ metric: `model ${m.nodes}: one update at 99% after`, value: round(m.p99, 2), unit: "s" })),
    ],
  );
  process.exit(0);
}
