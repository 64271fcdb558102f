/**
 * The signed 50-peer broadcast with replies of `bench/security.ts` (one process, batched, each
 * node checking every record for itself), with the signature thread on (the default) and off
 * (`signatureThread: false`: every check on the event loop), swarms alternating in one run, so
 * that the machine's load weighs on both alike; and an unsigned swarm beside them for the ratio.
 * Prints the medians and the thread's counters (batches, checks on the thread and inline). With
 * `--processes 4`, the same over 4 worker processes (`broadcast-swarm.ts`, `--rounds` + 1 rounds a
 * swarm, as bench/security.ts), each process with its own thread, and the CPU per node too.
 *
 * Run: `bun bench/lib/broadcast-thread-ab.ts [--swarms 3] [--rounds 2] [--processes 4]`
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { measureBroadcast } from "../broadcast.ts";
import { measureMultiProcess } from "./broadcast-swarm.ts";
import { sharedVerifier, shareVerifiedSignatures } from "../../src/security/records.ts";

shareVerifiedSignatures(false); // as bench/security.ts: each node checks every record itself
const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const SWARMS = arg("--swarms", 3);
const ROUNDS = arg("--rounds", 2);
const PROCESSES = arg("--processes", 1);
const PEERS = 50;

const sides = {
  unsigned: { signed: false, options: {} },
  "signed, thread": { signed: true, options: {} },
  "signed, inline": { signed: true, options: { signatureThread: false } },
} as const;
type Side = keyof typeof sides;
const times: Record<Side, number[]> = { unsigned: [], "signed, thread": [], "signed, inline": [] };
const cpu: Record<Side, number[]> = { unsigned: [], "signed, thread": [], "signed, inline": [] };
const names = Object.keys(sides) as Side[];
/** One swarm of a side: all replies at every node (ms), and the CPU per node (4 processes only). */
async function swarm(name: Side, peers: number, rounds: number): Promise<[number, number]> {
  const { signed, options } = sides[name];
  if (PROCESSES > 1) {
    const r = await measureMultiProcess(peers, PROCESSES, rounds + 1, signed, options);
    return [r.repliesEverywhereMs, r.cpuMsPerNode];
  }
  const r = await measureBroadcast(peers, rounds, { kind: "batched" }, () => (signed ? options : { ...options, id: randomBytes(32).toString("hex") }));
  return [r.repliesEverywhereMs, Number.NaN];
}
for (const name of names) await swarm(name, 10, 1); // warm-up
const before = { ...sharedVerifier().stats };
for (let s = 0; s < SWARMS; s++) {
  for (const name of s % 2 === 0 ? names : [...names].reverse()) {
    const [ms, perNode] = await swarm(name, PEERS, ROUNDS);
    times[name].push(ms);
    cpu[name].push(perNode);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const unsigned = median(times.unsigned);
for (const name of names) {
  const m = median(times[name]);
  const perNode = PROCESSES > 1 ? `; CPU per node ${median(cpu[name]).toFixed(1)} ms (${(median(cpu[name]) / median(cpu.unsigned)).toFixed(2)}x)` : "";
  console.log(`${name.padEnd(15)} ${PROCESSES} process(es), all ${PEERS} replies at every node: ${m.toFixed(0)} ms (${times[name].map((t) => t.toFixed(0)).join(", ")}), ${(m / unsigned).toFixed(2)}x unsigned${perNode}`);
}
const after = sharedVerifier().stats;
const batches = after.batches - before.batches;
const onThread = after.onThread - before.onThread;
if (PROCESSES === 1) console.log(`thread: ${batches} batches, ${onThread} checks on it (${(onThread / Math.max(1, batches)).toFixed(1)} a batch), ${after.inline - before.inline} inline, ${after.failures} failures`);
