/**
 * One process of the multi-process broadcast bench (`broadcast-swarm.ts`): it runs a share of the
 * swarm's nodes on loopback (the first process holds the origin) and answers its parent's commands
 * over Bun's IPC channel. Every time it reports is `performance.timeOrigin + performance.now()`
 * (milliseconds since the epoch, sub-millisecond), comparable across the processes of one machine.
 *
 * Commands (`{ type, ... }` in, one answer each):
 * - `start { first, count, peers, options, signed }`: make `count` nodes numbered `first`... (node 0
 *   is the origin; the others answer `bench.question` broadcasts), sharing one pool (one connection
 *   per peer for the process, as N machines would each keep theirs); with `signed` false each node
 *   gets a fixed `id` that is not its key, so that it signs nothing (what Python-like peers cost).
 *   Answers `started { ports }`.
 * - `join { seeds }`: join every node here through the seeds (two passes, 25 at a time); `joined`.
 * - `status`: `status { minKnown }`, the fewest peers a node here knows.
 * - `rejoin { seeds }`: join again the nodes that know fewer than `peers` others; `joined`.
 * - `broadcast { endpoint, round }` (the origin's process): broadcast, answer `broadcasted { nonce,
 *   t0, returnedAt }` once `broadcast()` resolved.
 * - `wait { nonce, endpoint, seconds }`: answer `waited` once every node here holds every reply to
 *   `nonce` (or after `seconds`): when the last node here ran the handler, when each node here
 *   held every reply (the last of them), the origin's time (when it is here), how many nodes did.
 * - `settle`: let background work finish; answer `settled { calls, cpuMs, sysMs, received, duplicates, batches, bytesIn }`: the reply-carrying
 *   calls made since the last `settle`, by caller id, and this process's CPU time since then.
 * - `stop`: stop every node and exit.
 *
 * Run by the parent only: `bun bench/lib/broadcast-worker.ts`.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { threadCpu, threadCpuSince } from "./thread-cpu.ts";
import { exitWithParent } from "./children.ts";
import { Node, Pool, kw, type CallContext, type NodeOptions } from "../../src/index.ts";
import { benchNodeOptions, countReplyCalls } from "./broadcast-calls.ts";
import { sharedVerifier, shareVerifiedSignatures } from "../../src/security/records.ts";

// Every node checks every signature for itself, as a node on a machine of its own does: the
// process-wide sharing of verified signatures would make a process of many nodes check each once.
shareVerifiedSignatures(false);

/** What the parent sends. */
export type BroadcastCommand =
  | { type: "start"; first: number; count: number; peers: number; options: Partial<NodeOptions>; signed: boolean }
  | { type: "join"; seeds: string[] }
  | { type: "rejoin"; seeds: string[] }
  | { type: "status" }
  | { type: "broadcast"; endpoint: string; round: number }
  | { type: "wait"; nonce: string; endpoint: string; seconds: number }
  | { type: "settle" }
  | { type: "stop" };

/** What a worker answers. */
export type BroadcastAnswer =
  | { type: "started"; ports: number[] }
  | { type: "joined" }
  | { type: "status"; minKnown: number }
  | { type: "broadcasted"; nonce: string; t0: number; returnedAt: number }
  | { type: "waited"; nodes: number; complete: number; deliveredAt: number | null; everywhereAt: number | null; originAt: number | null }
  | { type: "settled"; calls: Array<[string, number]>; cpuMs: number; sysMs: number; received: number; duplicates: number; batches: number; bytesIn: Record<string, number>; checks: Checks }
  | { type: "error"; message: string };

/**
 * Signature checks of the process's verifier since the last settle: on its thread, inline, and times
 * its thread was found starved; and `mac`: records its nodes accepted by a record MAC (no check).
 */
export interface Checks {
  onThread: number;
  inline: number;
  starved: number;
  mac: number;
  /** Pairwise MAC keys its nodes derived (a peer's binding checked and an X25519 with HKDF each: first contact). */
  pairs: number;
}

/** Milliseconds since the epoch, comparable between the processes of one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

const nodes: Node[] = [];
let origin: Node | null = null;
let peerCount = 0;
/** Per broadcast nonce: when each node's handler ran, and when each node held every reply. */
const deliveredAt = new Map<string, number[]>();
const completeAt = new Map<string, Map<Node, number>>();
const replyCounts = new Map<string, Map<Node, number>>();
const calls = { replyCalls: 0 };
const byCaller = new Map<string, number>();
// `BENCH_THREAD_ALWAYS=1`: the signature thread is kept however little CPU it gets (bench/lib/broadcast-thread-ab.ts compares).
if (process.env.BENCH_THREAD_ALWAYS === "1") sharedVerifier().starvedBelow = 0;
let cpuMark = process.cpuUsage();
let checksMark: Checks = { onThread: 0, inline: 0, starved: 0, mac: 0, pairs: 0 };
/** The nodes' items received (events and replies, new or not), duplicates dropped and bytes received by endpoint group, at the last `settle`. */
let itemsMark: ReturnType<typeof itemCounts> = { received: 0, duplicates: 0, batches: 0, bytesIn: {} };

function itemCounts(): { received: number; duplicates: number; batches: number; bytesIn: Record<string, number> } {
  let received = 0;
  let duplicates = 0;
  let batches = 0;
  const bytesIn: Record<string, number> = {};
  for (const n of nodes) {
    received += n.conversationLayer.stats.eventsReceived;
    duplicates += n.conversationLayer.stats.duplicatesDropped;
    batches += n.conversationLayer.stats.batchesSent;
    for (const [group, counts] of Object.entries(n.metrics().traffic)) bytesIn[group] = (bytesIn[group] ?? 0) + counts.bytes_received;
  }
  return { received, duplicates, batches, bytesIn };
}
let onComplete: (() => void) | null = null;

let threadsMark = process.env.BENCH_THREADS ? threadCpu() : new Map<string, number>(); // read only when asked for (`BENCH_THREADS=1`)

function answer(message: BroadcastAnswer): void {
  process.send?.(message);
}

function delivered(nonce: string): void {
  const list = deliveredAt.get(nonce) ?? [];
  list.push(wallNow());
  deliveredAt.set(nonce, list);
}

async function start(command: Extract<BroadcastCommand, { type: "start" }>): Promise<void> {
  const pool = new Pool();
  peerCount = command.peers;
  for (let i = command.first; i < command.first + command.count; i++) {
    const node = new Node({
      ...benchNodeOptions(i),
      ...command.options,
      pool,
      ...(command.signed ? {} : { id: randomBytes(32).toString("hex") }),
    });
    await node.start();
    if (i === 0) origin = node;
    else {
      node.endpoint("bench.question", (q: unknown, ctx: CallContext) => {
        void q; // bound from the q= keyword argument
        delivered(ctx.broadcast!.nonce);
        void node.reply(ctx.broadcast!, { from: node.name });
        return null;
      });
      node.endpoint("bench.silent", (q: unknown, ctx: CallContext) => {
        void q;
        delivered(ctx.broadcast!.nonce);
        return null;
      });
    }
    node.on("broadcast.reply", (reply) => {
      const counts = replyCounts.get(reply.nonce) ?? new Map<Node, number>();
      replyCounts.set(reply.nonce, counts);
      const count = (counts.get(node) ?? 0) + 1;
      counts.set(node, count);
      if (count !== peerCount) return;
      const done = completeAt.get(reply.nonce) ?? new Map<Node, number>();
      completeAt.set(reply.nonce, done);
      done.set(node, wallNow());
      if (done.size === nodes.length) onComplete?.();
    });
    nodes.push(node);
  }
  countReplyCalls(nodes, calls, byCaller);
  answer({ type: "started", ports: nodes.map((n) => n.port) });
}

async function join(targets: Node[], seeds: string[], passes: number): Promise<void> {
  for (let pass = 0; pass < passes; pass++) {
    for (let i = 0; i < targets.length; i += 25) await Promise.all(targets.slice(i, i + 25).map((node) => node.join({ seeds, wait: 0 }).catch(() => undefined)));
  }
}

async function wait(command: Extract<BroadcastCommand, { type: "wait" }>): Promise<void> {
  const done = () => (completeAt.get(command.nonce)?.size ?? 0) === nodes.length;
  if (!done()) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, command.seconds * 1000);
      onComplete = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    onComplete = null;
  }
  const complete = completeAt.get(command.nonce) ?? new Map<Node, number>();
  const handlers = deliveredAt.get(command.nonce) ?? [];
  if (process.env.BENCH_TAIL) {
    const at = [...complete.values()].sort((x, y) => x - y);
    const d0 = handlers.length ? Math.min(...handlers) : at[0]!;
    const q = (f: number) => Math.round(at[Math.min(at.length - 1, Math.floor(f * at.length))]! - d0);
    process.stderr.write(`tail pid ${process.pid}: nodes ${at.length} complete since first delivery ms: p10 ${q(0.1)} p50 ${q(0.5)} p90 ${q(0.9)} max ${q(1)}\n`);
  }
  const expected = nodes.filter((n) => n !== origin).length;
  answer({
    type: "waited",
    nodes: nodes.length,
    complete: complete.size,
    deliveredAt: handlers.length === expected && expected > 0 ? Math.max(...handlers) : null,
    everywhereAt: complete.size === nodes.length ? Math.max(...complete.values()) : null,
    originAt: origin ? (complete.get(origin) ?? null) : null,
  });
}

async function handle(command: BroadcastCommand): Promise<void> {
  switch (command.type) {
    case "start":
      return start(command);
    case "join":
      await join(nodes.filter((n) => n !== origin), command.seeds, 2);
      return answer({ type: "joined" });
    case "rejoin":
      await join(nodes.filter((n) => n.membership.table.size < peerCount), command.seeds, 1);
      return answer({ type: "joined" });
    case "status":
      // The table's size, not node.peers (which copies every record).
      return answer({ type: "status", minKnown: Math.min(...nodes.map((n) => n.membership.table.size)) });
    case "broadcast": {
      if (!origin) throw new Error("the origin is not in this process");
      const t0 = wallNow();
      const b = await origin.broadcast(command.endpoint, kw({ q: command.round }));
      return answer({ type: "broadcasted", nonce: b.nonce, t0, returnedAt: wallNow() });
    }
    case "wait":
      return wait(command);
    case "settle": {
      // `BENCH_MARKS=1`: each settle prints when it began (ms since the epoch, as a CPU profile's sample times are
      // counted), so that a profile's samples (`BENCH_WORKER_CPU_PROF`) or JSC's compile reports can be placed in rounds.
      if (process.env.BENCH_MARKS) process.stderr.write(`mark pid ${process.pid} settle date ${Date.now()}\n`);
      for (let i = 0; i < 4; i++) await Promise.all(nodes.map((n) => n.conversationLayer.flush()));
      const cpu = process.cpuUsage(cpuMark);
      if (process.env.BENCH_THREADS) {
        // `BENCH_THREADS=1`: each settle prints the CPU of this process's threads since the last one, by thread name.
        const parts = threadCpuSince(threadsMark);
        process.stderr.write(`threads pid ${process.pid}: ${parts.map(([name, t]) => `${name} ${t}`).join(", ")}\n`);
      }
      const items = itemCounts();
      const received = items.received - itemsMark.received;
      const duplicates = items.duplicates - itemsMark.duplicates;
      const batches = items.batches - itemsMark.batches;
      const bytesIn = Object.fromEntries(Object.entries(items.bytesIn).map(([group, b]) => [group, b - (itemsMark.bytesIn[group] ?? 0)]));
      itemsMark = items;
      const counted = [...byCaller];
      byCaller.clear();
      calls.replyCalls = 0;
      deliveredAt.clear();
      completeAt.clear();
      replyCounts.clear();
      const { onThread, inline, starved } = sharedVerifier().stats;
      const mac = nodes.reduce((sum, n) => sum + n.records.stats.macVerified, 0);
      const pairs = nodes.reduce((sum, n) => sum + (n.records.macs?.stats.keysDerived ?? 0), 0);
      const checks = { onThread: onThread - checksMark.onThread, inline: inline - checksMark.inline, starved: starved - checksMark.starved, mac: mac - checksMark.mac, pairs: pairs - checksMark.pairs };
      checksMark = { onThread, inline, starved, mac, pairs };
      // The next window starts here: the counting above (every node's metrics) is not charged to the next round.
      if (process.env.BENCH_THREADS) threadsMark = threadCpu();
      cpuMark = process.cpuUsage();
      return answer({ type: "settled", calls: counted, cpuMs: (cpu.user + cpu.system) / 1000, sysMs: cpu.system / 1000, received, duplicates, batches, bytesIn, checks });
    }
    case "stop":
      await Promise.all(nodes.map((n) => n.stop({ leave: false })));
      process.exit(0);
  }
}

// Killing the bench (a signal, or its own parent's timeout) must not leave these nodes running.
exitWithParent();
process.on("message", (command: BroadcastCommand) => {
  handle(command).catch((error: unknown) => answer({ type: "error", message: String(error) }));
});
