/**
 * The signed 50-peer broadcast with replies of `bench/security.ts` (one process, batched, each
 * node checking every record for itself), with the signature thread as by default (left while it
 * is starved of CPU, `verifier.ts`), kept whatever it gets ("thread always"), and off
 * (`signatureThread: false`: every check on the event loop), swarms alternating in one run, so
 * that the machine's load weighs on all alike; and an unsigned swarm beside them for the ratio.
 * Prints the medians and the thread's counters (checks on the thread and inline, times found
 * starved). With `--processes 4`, the same over 4 worker processes (`broadcast-swarm.ts`,
 * `--rounds` + 1 rounds a swarm, as bench/security.ts), each process with its own thread, and the
 * CPU per node too.
 *
 * Run: `bun bench/lib/broadcast-thread-ab.ts [--swarms 3] [--rounds 2] [--processes 4]`
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { measureBroadcast } from "../broadcast.ts";
import { measureMultiProcess } from "./broadcast-swarm.ts";
import { sharedVerifier, shareVerifiedSignatures } from "../../src/security/records.ts";
import { STARVED_BELOW } from "../../src/security/verifier.ts";

shareVerifiedSignatures(false); // as bench/security.ts: each node checks every record itself
const arg = (name: string, fallback: number) => (process.argv.includes(name) ? Number(process.argv[process.argv.indexOf(name) + 1]) : fallback);
const SWARMS = arg("--swarms", 3);
const ROUNDS = arg("--rounds", 2);
const PROCESSES = arg("--processes", 1);
const PEERS = 50;

const sides = {
  unsigned: { signed: false, options: {}, always: false },
  "signed, default": { signed: true, options: {}, always: false },
  "thread always": { signed: true, options: {}, always: true },
  "signed, inline": { signed: true, options: { signatureThread: false }, always: false },
} as const;
type Side = keyof typeof sides;
const names = Object.keys(sides) as Side[];
const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Side, number[]>;
const cpu = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Side, number[]>;
const checks = Object.fromEntries(names.map((n) => [n, { onThread: 0, inline: 0, starved: 0 }])) as Record<Side, { onThread: number; inline: number; starved: number }>;
/** One swarm of a side: all replies at every node (ms), and the CPU per node (4 processes only). */
async function swarm(name: Side, peers: number, rounds: number): Promise<[number, number]> {
  const { signed, options, always } = sides[name];
  if (PROCESSES > 1) {
    process.env.BENCH_THREAD_ALWAYS = always ? "1" : "0"; // the workers read it (broadcast-worker.ts)
    const r = await measureMultiProcess(peers, PROCESSES, rounds + 1, signed, options);
    for (const k of ["onThread", "inline", "starved"] as const) checks[name][k] += r.checks[k];
    return [r.repliesEverywhereMs, r.cpuMsPerNode];
  }
  const verifier = sharedVerifier();
  verifier.starvedBelow = always ? 0 : STARVED_BELOW;
  const before = { ...verifier.stats };
  const r = await measureBroadcast(peers, rounds, { kind: "batched" }, () => (signed ? options : { ...options, id: randomBytes(32).toString("hex") }));
  for (const k of ["onThread", "inline", "starved"] as const) checks[name][k] += verifier.stats[k] - before[k];
  return [r.repliesEverywhereMs, Number.NaN];
}
for (const name of names) await swarm(name, 10, 1); // warm-up
for (const name of names) checks[name] = { onThread: 0, inline: 0, starved: 0 };
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
// The inline side checks in its nodes (`SignedRecords`), never through the service: no counters.
for (const name of names.filter((n) => sides[n].signed && !("signatureThread" in sides[n].options))) {
  const c = checks[name];
  console.log(`${name.padEnd(15)} checks on the thread ${c.onThread}, inline ${c.inline}; thread found starved ${c.starved} times`);
}
