/**
 * The multi-process broadcast bench: an origin and N peers spread over a few Bun processes
 * (`broadcast-worker.ts`, the origin in the first), batched dissemination (the default between
 * Bun nodes), every peer replying to each broadcast. Used by `bench/broadcast.ts` (200 peers) and
 * `bench/security.ts` (50 peers, signed against unsigned). This process only coordinates: it runs
 * no node. Times come from the workers as `performance.timeOrigin + performance.now()`.
 *
 * Per round: a broadcast nobody replies to first (`bench.silent`), then one every peer answers
 * (`bench.question`), measured as in the one-process bench (`bench/broadcast.ts`): delivered,
 * broadcast(), replies at the origin, replies everywhere, reply-carrying calls per peer (and the
 * most one node made); and the CPU time the processes spent on the round (its replies, batches and
 * signatures), over the nodes: what one node spends, whichever process it shares.
 *
 * @module
 */
import { join } from "node:path";
import type { NodeOptions } from "../../src/index.ts";
import type { BroadcastAnswer, BroadcastCommand, Checks } from "./broadcast-worker.ts";

const WORKER = join(import.meta.dir, "broadcast-worker.ts");

/** One multi-process scenario's numbers (milliseconds are medians over the completed rounds). */
export interface MultiProcessResult {
  peers: number;
  processes: number;
  signed: boolean;
  /** Whether the nodes send replies down the reply tree (`conversationReplyTree`, on by default), or by the push-pull rounds alone. */
  replyTree: boolean;
  rounds: number;
  deliveredMs: number;
  broadcastMs: number;
  repliesAtOriginMs: number;
  repliesEverywhereMs: number;
  /** Every completed round's time until all replies were everywhere, in order (the first is a fresh swarm's first contact, unless warm-up rounds came before), and its CPU ms over the nodes. */
  everywhereRoundsMs: number[];
  cpuRoundsMsPerNode: number[];
  /**
   * The warm-up rounds run before the measured ones (the same broadcast with replies, left out of
   * every median): their times until all replies were everywhere and their CPU ms over the nodes.
   * The first is a fresh swarm's first broadcast: connections opened, and each process's JIT
   * compiling the paths for the first time.
   */
  warmupRoundsMs: number[];
  warmupCpuMsPerNode: number[];
  /** {@link checks}, round by round (a round's silent broadcast included). */
  roundChecks: Checks[];
  /** Rounds in which some node did not hold every reply within the timeout, with how many nodes did. */
  incompleteRounds: number[];
  /** Reply-carrying calls per peer (the round's total over N), and the most one node made. */
  replyCallsPerPeer: number;
  maxReplyCallsPerPeer: number;
  /** CPU milliseconds all processes spent on a round (broadcast, replies, settling), and that over the nodes. */
  cpuMsPerRound: number;
  cpuMsPerNode: number;
  /** The share of that CPU time spent in the kernel (system time over user and system time; median of the rounds). */
  cpuSystemShare: number;
  /** Items (events and replies) each node received in a round, new or not (mean), and how many of them were copies it held already. */
  itemsPerNode: number;
  duplicatesPerNode: number;
  /** `_synapse.conversation.batch` calls each node made in a round (mean), with items or not. */
  batchesPerNode: number;
  /** Kilobytes each node received in a round (mean; whole frames), by endpoint group (conversation, membership, rpc, other). */
  kbInPerNode: Record<string, number>;
  /** Signature checks of all processes over all rounds: on their threads, inline, and times a thread was found starved. */
  checks: Checks;
}

/** A worker process and the one answer it owes. */
class WorkerProcess {
  private waiting: { resolve(a: BroadcastAnswer): void; reject(e: Error): void } | null = null;
  readonly proc: ReturnType<typeof Bun.spawn>;

  constructor() {
    // `BENCH_WORKER_CPU_PROF=<dir>`: each worker writes a CPU profile there (`bun --cpu-prof`).
    const prof = process.env.BENCH_WORKER_CPU_PROF;
    this.proc = Bun.spawn([process.execPath, ...(prof ? ["--cpu-prof", `--cpu-prof-dir=${prof}`] : []), WORKER], {
      stdout: "inherit",
      stderr: "inherit",
      env: { ...process.env }, // as it is now: a caller may have set a `BENCH_*` variable since start
      ipc: (message: BroadcastAnswer) => {
        const w = this.waiting;
        this.waiting = null;
        if (!w) return;
        if (message.type === "error") w.reject(new Error(`broadcast worker: ${message.message}`));
        else w.resolve(message);
      },
    });
  }

  /** Send a command and wait for its answer (at most `seconds`). */
  ask<T extends BroadcastAnswer["type"]>(command: BroadcastCommand, expect: T, seconds = 120): Promise<Extract<BroadcastAnswer, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`broadcast worker gave no ${expect} answer in ${seconds} s`)), seconds * 1000);
      this.waiting = {
        resolve: (a) => {
          clearTimeout(timer);
          if (a.type === expect) resolve(a as Extract<BroadcastAnswer, { type: T }>);
          else reject(new Error(`broadcast worker answered ${a.type}, expected ${expect}`));
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

/** Seconds a round may take before it counts as incomplete. */
const ROUND_TIMEOUT = 30;

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

const ms = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Measure `rounds` broadcasts from an origin to `n` peers spread over `processes` processes, after
 * `warmup` rounds alike whose figures are kept apart ({@link MultiProcessResult.warmupRoundsMs});
 * `signed` false gives every node a fixed id that is not its key (it signs nothing).
 */
export async function measureMultiProcess(n: number, processes: number, rounds: number, signed = true, options: Partial<NodeOptions> = {}, warmup = 0): Promise<MultiProcessResult> {
  const workers = Array.from({ length: processes }, () => new WorkerProcess());
  try {
    // Node 0 (the origin) and the first share in the first process, the rest spread evenly.
    const total = n + 1;
    const shares = workers.map((_, i) => Math.floor(total / processes) + (i < total % processes ? 1 : 0));
    const firsts = shares.map((_, i) => shares.slice(0, i).reduce((a, b) => a + b, 0));
    const started = await Promise.all(workers.map((w, i) => w.ask({ type: "start", first: firsts[i]!, count: shares[i]!, peers: n, options, signed }, "started")));
    const seeds = [`127.0.0.1:${started[0]!.ports[0]}`];
    await Promise.all(workers.map((w) => w.ask({ type: "join", seeds }, "joined", 300)));
    const meshed = async () => (await Promise.all(workers.map((w) => w.ask({ type: "status" }, "status")))).every((s) => s.minKnown === n);
    for (let attempt = 1; !(await meshed()); attempt++) {
      if (attempt > 600) throw new Error(`swarm of ${total} over ${processes} processes did not mesh`);
      await Bun.sleep(100);
      if (attempt % 50 === 0) await Promise.all(workers.map((w) => w.ask({ type: "rejoin", seeds }, "joined", 300)));
    }
    const settle = () => Promise.all(workers.map((w) => w.ask({ type: "settle" }, "settled", 120)));
    const origin = workers[0]!;
    const delivered: number[] = [];
    const returned: number[] = [];
    const atOrigin: number[] = [];
    const everywhere: number[] = [];
    const perPeer: number[] = [];
    const maxPerPeer: number[] = [];
    const cpu: number[] = [];
    const sysShare: number[] = [];
    const items: number[] = [];
    const duplicates: number[] = [];
    const batches: number[] = [];
    const kbIn: Array<Record<string, number>> = [];
    const incomplete: number[] = [];
    const checks: Checks = { onThread: 0, inline: 0, starved: 0, mac: 0, pairs: 0 };
    const roundChecks: Checks[] = [];
    const countChecks = (settled: Array<{ checks: Checks }>) => {
      const round = roundChecks[roundChecks.length - 1]!;
      for (const s of settled) for (const k of ["onThread", "inline", "starved", "mac", "pairs"] as const) (checks[k] += s.checks[k]), (round[k] += s.checks[k]);
    };
    const warmupEverywhere: number[] = [];
    const warmupCpu: number[] = [];
    for (let r = 0; r < warmup + rounds; r++) {
      roundChecks.push({ onThread: 0, inline: 0, starved: 0, mac: 0, pairs: 0 });
      // A broadcast nobody replies to (it opens the connections a first round would), then settle.
      await origin.ask({ type: "broadcast", endpoint: "bench.silent", round: r }, "broadcasted");
      countChecks(await settle());
      const sent = await origin.ask({ type: "broadcast", endpoint: "bench.question", round: r }, "broadcasted");
      const waited = await Promise.all(workers.map((w) => w.ask({ type: "wait", nonce: sent.nonce, endpoint: "bench.question", seconds: ROUND_TIMEOUT }, "waited", ROUND_TIMEOUT + 30)));
      const settled = await settle();
      countChecks(settled);
      // Each process counted the calls its nodes served, by caller: a caller's calls add up over them.
      const byCaller = new Map<string, number>();
      for (const [caller, c] of settled.flatMap((s) => s.calls)) byCaller.set(caller, (byCaller.get(caller) ?? 0) + c);
      const calls = [...byCaller.values()];
      const complete = waited.reduce((sum, w) => sum + w.complete, 0);
      if (r < warmup) {
        warmupEverywhere.push(complete < total ? Number.NaN : Math.max(...waited.map((w) => w.everywhereAt!)) - sent.t0);
        warmupCpu.push(settled.reduce((sum, s) => sum + s.cpuMs, 0) / total);
        continue;
      }
      if (complete < total) {
        incomplete.push(complete);
        continue;
      }
      delivered.push(Math.max(...waited.map((w) => w.deliveredAt ?? Number.NaN)) - sent.t0);
      returned.push(sent.returnedAt - sent.t0);
      atOrigin.push(waited[0]!.originAt! - sent.t0);
      everywhere.push(Math.max(...waited.map((w) => w.everywhereAt!)) - sent.t0);
      perPeer.push(calls.reduce((a, b) => a + b, 0) / n);
      maxPerPeer.push(Math.max(0, ...calls));
      cpu.push(settled.reduce((sum, s) => sum + s.cpuMs, 0));
      sysShare.push(settled.reduce((sum, s) => sum + s.sysMs, 0) / cpu[cpu.length - 1]!);
      items.push(settled.reduce((sum, s) => sum + s.received, 0) / total);
      duplicates.push(settled.reduce((sum, s) => sum + s.duplicates, 0) / total);
      batches.push(settled.reduce((sum, s) => sum + s.batches, 0) / total);
      const groups: Record<string, number> = {};
      for (const s of settled) for (const [group, b] of Object.entries(s.bytesIn)) groups[group] = (groups[group] ?? 0) + b / 1024 / total;
      kbIn.push(groups);
      // `BENCH_ROUNDS=1`: each measured round's figures on stderr as it ends (the tables give medians).
      if (process.env.BENCH_ROUNDS) {
        const kb = Object.entries(groups).map(([g, v]) => `${g} ${v.toFixed(1)}`).join(", ");
        process.stderr.write(`round ${r + 1 - warmup}: everywhere ${everywhere.at(-1)!.toFixed(0)} ms, CPU ${(cpu.at(-1)! / total).toFixed(2)} ms/node, items ${items.at(-1)!.toFixed(0)} (copies ${duplicates.at(-1)!.toFixed(0)}), batch calls ${batches.at(-1)!.toFixed(1)}, KB in/node: ${kb}\n`);
      }
    }
    return {
      peers: n,
      processes,
      signed,
      replyTree: options.conversationReplyTree !== false,
      rounds,
      deliveredMs: ms(median(delivered)),
      broadcastMs: ms(median(returned)),
      repliesAtOriginMs: ms(median(atOrigin)),
      repliesEverywhereMs: ms(median(everywhere)),
      everywhereRoundsMs: everywhere.map(ms),
      cpuRoundsMsPerNode: cpu.map((c) => ms(c / total)),
      warmupRoundsMs: warmupEverywhere.map(ms),
      warmupCpuMsPerNode: warmupCpu.map(ms),
      roundChecks,
      incompleteRounds: incomplete,
      replyCallsPerPeer: ms(median(perPeer)),
      maxReplyCallsPerPeer: median(maxPerPeer),
      cpuMsPerRound: ms(median(cpu)),
      cpuMsPerNode: ms(median(cpu) / total),
      cpuSystemShare: ms(median(sysShare)),
      itemsPerNode: ms(median(items)),
      duplicatesPerNode: ms(median(duplicates)),
      batchesPerNode: ms(median(batches)),
      checks,
      kbInPerNode: Object.fromEntries(Object.keys(kbIn[0] ?? {}).map((group) => [group, Math.round(median(kbIn.map((k) => k[group] ?? 0)) * 10) / 10])),
    };
  } finally {
    for (const w of workers) if (w.proc.exitCode === null && !w.proc.killed) w.proc.send({ type: "stop" } satisfies BroadcastCommand);
    await Promise.race([Promise.all(workers.map((w) => w.proc.exited)), Bun.sleep(10_000)]);
    for (const w of workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
  }
}
