/**
 * The CPU of a settled gossip swarm in one process, beside its baseline measured in the same run.
 *
 * - `baseline`: N nodes that talk to nobody (no seeds, mesh membership): what running N nodes
 *   costs by itself (their listeners, pools and schedules).
 * - `gossip`: N nodes in gossip membership, joined through the first, run until every node knows
 *   every other and every SWIM queue is empty (settled: no news left to gossip), then measured.
 *
 * Both share one pool, as the swarm bench's workers do (`bench/lib/membership-worker.ts`), so that
 * the figure per node is what one worker process of the 1,000-node bench pays for its nodes'
 * steady state. Reported per node and second: CPU milliseconds (the whole process, every thread),
 * SWIM messages received, probes and gossip messages sent; and for the swarm, the seconds it took to
 * settle. A settled node probes one member a second and has nothing to gossip.
 *
 * Run: `bun bench/settled.ts [--nodes 250] [--window 20] [--quick]` (quick: 20 nodes, 3 s). With
 * `BENCH_SETTLED_PROF=<dir>`, JSC's sampling profile of the gossip window goes to
 * `<dir>/settled-gossip.txt`; with `BENCH_MARKS=1`, each window's bounds and its user and system CPU
 * are printed on stderr.
 *
 * @module
 */
import { Node, Pool, type NodeOptions } from "../src/index.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";
import { profileKill } from "./lib/membership-kill-profile.ts";

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const NODES = arg("nodes", QUICK ? 20 : 250);
const WINDOW = arg("window", QUICK ? 3 : 20);
/** Longest wait for the swarm to settle, seconds. */
const SETTLE_LIMIT = 120;

/** One phase's figures. */
export interface SettledResult {
  phase: "baseline" | "gossip";
  nodes: number;
  windowSeconds: number;
  /** Seconds from the last join to settled (gossip only). */
  settleSeconds: number | null;
  /** CPU milliseconds a node from the first join to settled (gossip only): what joining the swarm cost. */
  joinCpuMsPerNode: number | null;
  cpuMsPerNodePerSec: number;
  messagesPerNodePerSec: number;
  probesPerNodePerSec: number;
  gossipPerNodePerSec: number;
}

/** Sum of a SWIM counter (`node.metrics().membership.swim_*`) over the nodes. */
function swimTotal(nodes: Node[], key: string): number {
  return nodes.reduce((sum, n) => sum + Number((n.metrics().membership as Record<string, unknown>)[`swim_${key}`] ?? 0), 0);
}

async function makeNodes(options: Partial<NodeOptions>, count: number): Promise<Node[]> {
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) {
    const node = new Node({ ...options, name: `settled-${i}` });
    await node.start();
    nodes.push(node);
  }
  return nodes;
}

/** CPU and SWIM counters over `WINDOW` seconds. */
async function measureWindow(nodes: Node[], phase: SettledResult["phase"], settleSeconds: number | null, joinCpuMsPerNode: number | null): Promise<SettledResult> {
  const before = { messages: swimTotal(nodes, "messages_received"), probes: swimTotal(nodes, "probes_sent"), gossip: swimTotal(nodes, "gossip_sent") };
  // `BENCH_SETTLED_PROF=<dir>`: JSC's sampling profile of the gossip phase's window (`settled-gossip.txt`).
  const profile = process.env.BENCH_SETTLED_PROF && phase === "gossip" ? profileKill(process.env.BENCH_SETTLED_PROF, phase, "settled-gossip.txt") : null;
  // `BENCH_MARKS=1`: the window's bounds on stderr, with its user and system CPU (JSC's compile
  // reports, `BUN_JSC_reportDFGCompileTimes=1` and the like, can then be placed in the window).
  if (process.env.BENCH_MARKS) console.error(`mark ${phase} window start`);
  const cpu = process.cpuUsage();
  await Bun.sleep(WINDOW * 1000);
  const used = process.cpuUsage(cpu);
  if (profile) console.log(`profile: ${profile()}`);
  if (process.env.BENCH_MARKS) console.error(`mark ${phase} window end: user ${(used.user / 1000).toFixed(0)} ms, system ${(used.system / 1000).toFixed(0)} ms`);
  const per = (n: number) => round(n / nodes.length / WINDOW, 3);
  return {
    phase,
    nodes: nodes.length,
    windowSeconds: WINDOW,
    settleSeconds,
    joinCpuMsPerNode,
    cpuMsPerNodePerSec: per((used.user + used.system) / 1000),
    messagesPerNodePerSec: per(swimTotal(nodes, "messages_received") - before.messages),
    probesPerNodePerSec: per(swimTotal(nodes, "probes_sent") - before.probes),
    gossipPerNodePerSec: per(swimTotal(nodes, "gossip_sent") - before.gossip),
  };
}

async function stopAll(nodes: Node[], pool: Pool): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop({ leave: false })));
  pool.closeAll();
}

async function baseline(): Promise<SettledResult> {
  const pool = new Pool({ maxConnections: 0 });
  const nodes = await makeNodes({ swarm: "settled-baseline", bind: "127.0.0.1", heartbeatInterval: 1, peerTimeout: 4, membership: "mesh", pool }, NODES);
  await Bun.sleep(2000);
  const result = await measureWindow(nodes, "baseline", null, null);
  await stopAll(nodes, pool);
  return result;
}

async function gossip(): Promise<SettledResult> {
  const pool = new Pool({ maxConnections: 0 });
  const nodes = await makeNodes({ swarm: "settled-gossip", bind: "127.0.0.1", heartbeatInterval: 1, peerTimeout: 4, membership: "gossip", pool }, NODES);
  const seed = `127.0.0.1:${nodes[0]!.port}`;
  const joinCpu = process.cpuUsage();
  // Paced: 25 joins a second, as the swarm bench's.
  for (let i = 1; i < nodes.length; i++) {
    await nodes[i]!.join({ seeds: [seed] });
    await Bun.sleep(40);
  }
  const joined = performance.now();
  const settled = (): boolean => nodes.every((n) => n.metrics().peers_alive >= nodes.length - 1) && swimTotal(nodes, "queued") === 0;
  while (!settled() && performance.now() - joined < SETTLE_LIMIT * 1000) await Bun.sleep(250);
  if (!settled()) throw new Error(`${nodes.length} nodes did not settle within ${SETTLE_LIMIT} s of the last join`);
  const settleSeconds = round((performance.now() - joined) / 1000, 2);
  const joinUsed = process.cpuUsage(joinCpu);
  const result = await measureWindow(nodes, "gossip", settleSeconds, round((joinUsed.user + joinUsed.system) / 1000 / nodes.length, 2));
  await stopAll(nodes, pool);
  return result;
}

watchdog(WINDOW * 2 + SETTLE_LIMIT + NODES * 0.2 + 120);
const results = [await baseline(), await gossip()];
printTable(
  `settled swarm in one process (${NODES} nodes, ${WINDOW} s window, heartbeat 1 s)`,
  ["phase", "nodes", "settled after s", "join CPU ms/node", "CPU ms/node/s", "SWIM msgs/node/s", "probes/node/s", "gossip/node/s"],
  results.map((r) => [r.phase, r.nodes, r.settleSeconds ?? "-", r.joinCpuMsPerNode ?? "-", r.cpuMsPerNodePerSec, r.messagesPerNodePerSec, r.probesPerNodePerSec, r.gossipPerNodePerSec]),
);
const [base, settled] = results as [SettledResult, SettledResult];
writeResults("settled", { nodes: NODES, windowSeconds: WINDOW, results }, [
  { metric: "settled gossip node", value: settled.cpuMsPerNodePerSec, unit: "CPU ms/node/s" },
  { metric: "gossip node's join, first join to settled", value: settled.joinCpuMsPerNode ?? 0, unit: "CPU ms/node" },
  { metric: "baseline node (talks to nobody)", value: base.cpuMsPerNodePerSec, unit: "CPU ms/node/s" },
]);
process.exit(0);
