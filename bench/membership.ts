/**
 * Membership at scale, two ways.
 *
 * One process (N = 50 and 200), all joining through one seed at once:
 * - convergence: time from the first `join()` until every node knows every other node.
 * - steady state: heartbeat calls per node per second over a window after convergence, against
 *   the rate the settings imply ((N - 1) / heartbeatInterval), with failures and CPU use.
 * - baseline (same run): the time for N clients to make one `_synapse.ping` each to the seed at
 *   once: the floor for "every node talks to the seed".
 * The nodes use the default settings (heartbeat every 5 s, peer timeout 20 s); the window is four
 * heartbeat rounds.
 *
 * A swarm of processes (`swarm` scenarios): N nodes spread over a few Bun processes
 * (`lib/membership-worker.ts`) on loopback, heartbeat interval 1 s, peer timeout 4 s, in both
 * modes (`membership: "mesh"`: every node heartbeats every peer; `"gossip"`: SWIM) at 50 and 200
 * nodes, and 1,000 in gossip mode. For each:
 * - time from the last join until every node knows every other;
 * - membership calls per node per second in a steady window (`node.metrics()`), and any
 *   `peer.offline` in it (a false alarm: every node is up);
 * - heap per known peer per node (after a full GC once the steady window is over, over the heap
 *   of the started nodes before they joined), with and without the open connections (the GC
 *   stalls a worker for seconds at 1,000 nodes: never inside the window);
 * - one process killed (SIGKILL), a peer timeout and two intervals after that GC: time until
 *   every node of the others saw all its nodes offline.
 *
 * Prints tables, writes `bench/results/membership.json`. `--quick` (or `BENCH_QUICK=1`): N = 20
 * and 50 in one process with a 1 s heartbeat, and a 30-node gossip swarm of 2 processes
 * (heartbeat 0.5 s, peer timeout 2 s). `--join-rate R` paces the swarm's joins (R a second, interleaved
 * over the processes; by default every node joins at once). `--steady S` sets the swarm's steady window (default 60 s, 2 s quick); `--swarm-only` skips the
 * one-process scenarios; `--sizes 50,200` and `--modes gossip` pick the swarms; `--peer-timeout S`
 * runs the swarms with another peer timeout than 4 s (a different scenario: report it as such);
 * `--layout 375,374,250` sets the worker processes' node counts for the swarm of N nodes, N their
 * sum plus the seed (this process's node; `@N` names it: `375,374,250@1000`); the last process is
 * the one killed; by default N - 1 spread evenly over 4 workers;
 * `--warm-baseline` has each worker run and stop a small swarm of its own before it makes its
 * nodes, so that their baseline holds the code compiled while joining, which the heap per known
 * peer counts otherwise (the title says which; the warm-up also makes the joins run warmed code:
 * not the scenario's join and convergence numbers); `--warm-deaths K` (implies `--warm-baseline`)
 * makes that small swarm six nodes and K more, and stops the K without leaving once it has
 * converged, so that the code a kill runs is compiled before the measured swarm's join too (a
 * diagnostic of what the kill's first failure costs the compilers: not the scenario's kill figure).
 *
 * Profiles (JSC's sampling profiler, `lib/membership-kill-profile.ts`; each worker writes its own
 * file): `BENCH_KILL_PROF=<dir>` over the kill (`kill-<worker>.txt`), `BENCH_STEADY_PROF=<dir>`
 * over the steady window (`steady-<worker>.txt`), `BENCH_JOIN_PROF=<dir>` over each worker's joins
 * (`join-<worker>.txt`); `BENCH_PROF_RAW=1` adds every trace (`<file>.json`).
 *
 * Run: `bun bench/membership.ts [--quick] [--cpus 1.3] [--steady 60] [--swarm-only] [--sizes 50,200,1000] [--modes mesh,gossip] [--peer-timeout 4] [--warm-baseline] [--warm-deaths 18] [--join-rate 25] [--layout 375,374,250]`
 *
 * @module
 */
import { Client, Node, Pool } from "../src/index.ts";
import { QUICK, printTable, round, watchdog, writeResults, type SummaryRow } from "./lib/harness.ts";
import { measureSwarm, type SwarmMode, type SwarmResult } from "./lib/membership-swarm.ts";
import { applyCpusFlag } from "./lib/cpu-limit.ts";
import { machineLine, measureRawEcho } from "./lib/machine-speed.ts";

/** One scenario's numbers. */
export interface MembershipResult {
  nodes: number;
  heartbeatInterval: number;
  /** Milliseconds from the first join until every node knew the N - 1 others. */
  convergenceMs: number;
  /** Calls made while converging: joins, and heartbeats (announcements included). */
  convergenceJoins: number;
  convergenceHeartbeats: number;
  /** Baseline: N concurrent pings to the seed, milliseconds. */
  baselinePingAllMs: number;
  /** Steady-state window, seconds. */
  windowSeconds: number;
  /** Heartbeat calls sent per node per second in the window. */
  heartbeatsPerNodePerSec: number;
  /** What the settings imply: (N - 1) / heartbeatInterval. */
  expectedPerNodePerSec: number;
  /** Heartbeat calls that failed or timed out in the window (all nodes). */
  heartbeatFailures: number;
  /** peer.offline events in the window (should be 0). */
  offlineEvents: number;
  /** CPU time used by the process during the window, as a share of one core. */
  cpuShareOfOneCore: number;
}

/** Measure one scenario: `n` nodes including the seed. */
export async function measureMembership(n: number, windowSeconds: number, heartbeatInterval = 5): Promise<MembershipResult> {
  // The nodes share one pool: one connection per peer between them, as between N processes.
  // Mesh mode: this measures the heartbeat mesh (what the Python original does).
  const common = { bind: "127.0.0.1", swarm: "bench", heartbeatInterval, peerTimeout: heartbeatInterval * 4, pool: new Pool(), membership: "mesh" as const };
  const seed = new Node({ ...common, name: "seed" });
  await seed.start();
  const nodes: Node[] = [seed];
  try {
    for (let i = 1; i < n; i++) {
      const node = new Node({ ...common, name: `n${i}`, seeds: [`127.0.0.1:${seed.port}`] });
      nodes.push(node);
    }
    // Baseline: N concurrent calls to the seed (connections are pooled per peer, as for the joins).
    const pingStart = performance.now();
    await Promise.all(nodes.map(() => new Client("127.0.0.1", seed.port).ping()));
    const baselinePingAllMs = performance.now() - pingStart;

    let offline = 0;
    for (const node of nodes) node.on("peer.offline", () => void offline++);
    const t0 = performance.now();
    // start() joins the seeds in the background; join() waits for that join to finish.
    await Promise.all(nodes.slice(1).map((node) => node.start().then(() => node.join())));
    const deadline = Date.now() + 120_000;
    while (!nodes.every((node) => node.membership.table.size === n - 1)) {
      if (Date.now() > deadline) {
        const sizes = nodes.map((node) => node.membership.table.size);
        throw new Error(`no convergence after 120 s: peer counts from ${Math.min(...sizes)} to ${Math.max(...sizes)}`);
      }
      await Bun.sleep(5);
    }
    const convergenceMs = performance.now() - t0;
    const sum = (key: "heartbeatsSent" | "heartbeatsFailed" | "joinsSent") => nodes.reduce((total, node) => total + node.membership.stats[key], 0);
    const convergenceJoins = sum("joinsSent");
    const convergenceHeartbeats = sum("heartbeatsSent");

    // Steady state: let the announcement burst pass, then count over the window.
    await Bun.sleep(heartbeatInterval * 1000);
    const sent0 = sum("heartbeatsSent");
    const failed0 = sum("heartbeatsFailed");
    const offline0 = offline;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    await Bun.sleep(windowSeconds * 1000);
    const elapsed = (performance.now() - w0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const sent = sum("heartbeatsSent") - sent0;
    return {
      nodes: n,
      heartbeatInterval,
      convergenceMs,
      convergenceJoins,
      convergenceHeartbeats,
      baselinePingAllMs,
      windowSeconds: elapsed,
      heartbeatsPerNodePerSec: sent / n / elapsed,
      expectedPerNodePerSec: (n - 1) / heartbeatInterval,
      heartbeatFailures: sum("heartbeatsFailed") - failed0,
      offlineEvents: offline - offline0,
      cpuShareOfOneCore: (cpu.user + cpu.system) / 1e6 / elapsed,
    };
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

/** A flag's value (`--name value`), or undefined. */
function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

/**
 * The swarm scenarios of this run: [mode, nodes, processes]. Both modes at 50 and 200 nodes, and
 * 1,000 in gossip mode only (the mesh would need 1,000 × 999 calls per second); `--sizes` picks
 * the sizes, `--modes` the modes.
 */
function swarmScenarios(): Array<[SwarmMode, number, number]> {
  // Quick: gossip only (the one-process scenarios already run the mesh), to stay a smoke run.
  const modes = (flag("modes")?.split(",") ?? (QUICK ? ["gossip"] : ["mesh", "gossip"])) as SwarmMode[];
  const sizes = flag("sizes")?.split(",").map(Number) ?? (QUICK ? [30] : [50, 200, 1000]);
  const out: Array<[SwarmMode, number, number]> = [];
  for (const n of sizes) for (const mode of modes) if (mode === "gossip" || n <= 200) out.push([mode, n, QUICK ? 2 : 4]);
  return out;
}

/** Run the one-process scenarios: print their table; returns the results and their summary rows. */
export async function runMembershipBench(): Promise<{ results: MembershipResult[]; summary: SummaryRow[] }> {
  const sizes = QUICK ? [20, 50] : [50, 200];
  // The window covers whole heartbeat rounds (4 of them), so the rate is not a sampling artefact.
  const interval = QUICK ? 1 : 5;
  const window = 4 * interval;
  const results: MembershipResult[] = [];
  for (const n of sizes) results.push(await measureMembership(n, window, interval));
  printTable(
    `membership: N nodes joined through one seed (loopback, one process, heartbeat every ${interval} s)`,
    ["nodes", "converge ms", "baseline N pings ms", "joins", "hb while converging", "hb/node/s", "expected", "hb failures", "offline", "CPU (cores)"],
    results.map((r) => [
      String(r.nodes),
      r.convergenceMs,
      r.baselinePingAllMs,
      String(r.convergenceJoins),
      r.convergenceHeartbeats,
      r.heartbeatsPerNodePerSec,
      r.expectedPerNodePerSec,
      String(r.heartbeatFailures),
      String(r.offlineEvents),
      r.cpuShareOfOneCore,
    ]),
  );
  const summary = results.flatMap((r) => [
    { metric: `${r.nodes} nodes: all know all after`, value: round(r.convergenceMs, 1), unit: "ms" },
    { metric: `${r.nodes} nodes: heartbeats per node`, value: round(r.heartbeatsPerNodePerSec, 2), unit: "/s" },
  ]);
  return { results, summary };
}

/** `--warm-deaths K` (0 without the flag); anything but a whole number from 1 to 200 is a mistake: one line saying so, and the run stops. */
function parseWarmDeaths(): number {
  const spec = flag("warm-deaths");
  if (spec === undefined) return 0;
  const k = Number(spec);
  if (Number.isInteger(k) && k >= 1 && k <= 200) return k;
  console.error(`--warm-deaths ${spec}: give the number of warm-up nodes to stop, a whole number from 1 to 200 (as 18: at 16 deaths within 10 s a node counts a mass failure)`);
  process.exit(2);
}

/**
 * `--layout A,B,C[@N]`: the workers' node counts for the swarm of N nodes (by default the one of
 * the counts' sum plus the seed); null without the flag. A layout that fits none of the run's
 * swarms is a mistake: one line saying so, and the run stops.
 */
function parseLayout(sizes: readonly number[]): { size: number; counts: number[] } | null {
  const spec = flag("layout");
  if (spec === undefined) return null;
  const stop = (why: string): never => {
    console.error(`--layout ${spec}: ${why}`);
    process.exit(2);
  };
  const [list, named] = spec.split("@");
  const counts = list!.split(",").map(Number);
  if (counts.some((c) => !Number.isInteger(c) || c < 1)) stop("give each worker process's node count, as 375,374,250 (the last process is the one killed)");
  const total = counts.reduce((a, b) => a + b, 0);
  const size = named === undefined ? total + 1 : Number(named);
  if (!sizes.includes(size)) stop(`it is for a swarm of ${size} nodes, and this run's are ${sizes.join(", ")} (--sizes)`);
  if (total !== size - 1) stop(`the counts add up to ${total}; a swarm of ${size} needs ${size - 1} (the seed is the bench's own node)`);
  return { size, counts };
}

/** The flags that shape the swarm scenarios' processes, read (and a mistaken one told) before anything runs. */
interface SwarmFlags {
  /** `--warm-deaths K` (0 without it). */
  warmDeaths: number;
  /** `--layout`, or null. */
  layout: { size: number; counts: number[] } | null;
}

/** {@link SwarmFlags} from the command line; a mistaken one is one line, and the run stops. */
function swarmFlags(): SwarmFlags {
  return { warmDeaths: parseWarmDeaths(), layout: parseLayout(swarmScenarios().map(([, n]) => n)) };
}

/** Run the swarm scenarios (processes on loopback): print their table; returns the results and summary rows. */
export async function runSwarmBench(steadySeconds: number, { warmDeaths, layout }: SwarmFlags): Promise<{ results: SwarmResult[]; summary: SummaryRow[] }> {
  const results: SwarmResult[] = [];
  // Quick: a faster heartbeat so that the kill is seen sooner (a smoke run, not the scenario's numbers).
  // `--peer-timeout S`: another peer timeout (a separate row, not the scenario's default of 4 s).
  const [interval, timeout] = QUICK ? [0.5, 2] : [1, Number(flag("peer-timeout") ?? 4)];
  // `--warm-deaths K`: the warm-up (implied) loses K nodes, so that the kill runs compiled code (a diagnostic).
  const warm = process.argv.includes("--warm-baseline") || warmDeaths > 0;
  // `--join-rate R`: the nodes join at R a second over the swarm (interleaved over the processes)
  // rather than all at once.
  const joinRate = Number(flag("join-rate") ?? 0);
  for (const [mode, n, processes] of swarmScenarios()) {
    const r = await measureSwarm(mode, n, processes, steadySeconds, interval, timeout, warm, joinRate, layout?.size === n ? layout.counts : undefined, warmDeaths);
    results.push(r);
    console.error(`swarm ${mode} ${n}: ${JSON.stringify(r)}`); // progress: the table comes at the end
  }
  const f = (x: number | null, digits = 2) => (x === null ? "-" : round(x, digits));
  printTable(
    `membership swarm: N nodes over several processes (loopback, heartbeat ${interval} s, peer timeout ${timeout} s, steady ${steadySeconds} s${warm ? ", warmed baseline" : ""}${warmDeaths > 0 ? ` with ${warmDeaths} deaths` : ""}${joinRate > 0 ? `, joining ${joinRate}/s` : ", all joining at once"})`,
    ["mode", "nodes", "processes", "all know all s", "from last start s", "calls/node/s", "false offline", "heap B/known peer", "without connections", "conns/process", "killed", "offline everywhere s"],
    results.map((r) => [
      r.mode,
      String(r.nodes),
      String(r.processes),
      f(r.allKnowAll),
      f(r.allKnowAllFromLastStart),
      r.membershipCallsPerNodePerSec,
      String(r.falseOffline),
      Math.round(r.heapPerKnownPeer),
      Math.round(r.heapPerKnownPeerWithoutConnections),
      Math.round(r.connectionsPerProcess),
      String(r.killed),
      f(r.offlineEverywhere),
    ]),
  );
  // The last joins' stages: how late they started, their `_synapse.join` call, and what they then
  // waited for the state exchange with the seed (sent beside the call: what was left of it).
  const spread = (s: { p50: number; p90: number; max: number } | null) => (s === null ? "-" : `${round(s.p50, 2)}/${round(s.p90, 2)}/${round(s.max, 2)}`);
  for (const r of results) {
    const st = r.joinStages;
    console.log(`swarm ${r.mode} ${r.nodes}: the ${st.joins} joins of the last ${st.seconds} s of starts (s, median/90th/max): late start ${spread(st.late)}, _synapse.join ${spread(st.call)}, state exchange after it ${spread(st.exchange)}`);
  }
  const summary = results.flatMap((r) => [
    { metric: `swarm ${r.mode} ${r.nodes}: all know all after`, value: f(r.allKnowAll), unit: "s" },
    { metric: `swarm ${r.mode} ${r.nodes}: all know all after the last join's start`, value: f(r.allKnowAllFromLastStart), unit: "s" },
    { metric: `swarm ${r.mode} ${r.nodes}: membership calls per node`, value: round(r.membershipCallsPerNodePerSec, 2), unit: "/s" },
  ]);
  return { results, summary };
}

if (import.meta.main) {
  const steady = Number(flag("steady") ?? (QUICK ? 2 : 60));
  watchdog(QUICK ? 120 : 900 + 4 * steady);
  // A mistaken flag is told before anything runs, not after the one-process scenarios.
  const flags = swarmFlags();
  // `--cpus C`: the run on C cores of the machine's (bench/lib/cpu-limit.ts), before anything starts.
  applyCpusFlag();
  // The machine's speed first, before any swarm loads it (recorded in the results' environment).
  console.log(machineLine(await measureRawEcho()));
  const one = process.argv.includes("--swarm-only") ? { results: [], summary: [] } : await runMembershipBench();
  const swarm = await runSwarmBench(steady, flags);
  writeResults(
    "membership",
    {
      scenarios: one.results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]))),
      swarm: swarm.results.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" ? round(v) : v]))),
    },
    [...one.summary, ...swarm.summary],
  );
  process.exit(0);
}
