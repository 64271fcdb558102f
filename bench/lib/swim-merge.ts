/**
 * What a node's CPU pays to learn a member from a push-pull answer, the way a joiner learns the
 * swarm (issue #12's 1,000-node join is about a million such learnings), beside the baseline of
 * reading the same answer alone.
 *
 * A seed and `--members` M nodes joined through it, on loopback, in this process: the seed then
 * holds every member's signed claim. Its push-pull answer is taken once, in the packed form Bun
 * peers send, and encoded as the wire carries it. Then, `--joiners` R times, a fresh node (started,
 * never joined) is handed that answer, decoded from the bytes (`--input plain`, the default: a plain
 * Uint8Array, as the transport hands over every frame, one read at once or gathered across socket
 * reads; `buffer`: a Buffer, as the transport held a gathered frame until s52), and merges it:
 * every member is news to it (the member list, the peer table, the node's events, the relay queue,
 * the claims' check).
 * The M joiners are stopped before the measured rounds; the seed and one node that merged the
 * answer first stay, so the claims' check is the one the swarm bench's processes make (a process of
 * several nodes shares what it verified, `src/security/verification.ts`), not an Ed25519
 * verification per claim.
 *
 * Reported, per member learnt:
 * - `mergeUs`: the process's CPU (user + system, every thread) over the decode and the merge;
 * - `readUs` (the baseline, in the same run): the same decode, and every packed update's body read
 *   as the member list reads news, nothing applied;
 * - `mainThreadUs` and `threadsUs`: each thread's CPU over the whole measured loop (clock ticks of
 *   10 ms from /proc, so a long loop only; null where there is no /proc), the fresh nodes' start and
 *   stop included.
 *
 * Prints one JSON line. Run: `bun bench/lib/swim-merge.ts [--members 200] [--joiners 300] [--input plain|buffer]`
 *
 * @module
 */
import { Node } from "../../src/node.ts";
import { Pool } from "../../src/transport/pool.ts";
import { PackedUpdate, readMessage, toWire } from "../../src/membership/swim-wire.ts";
import type { SwimAnswer, SwimMessage } from "../../src/membership/swim-types.ts";
import { decode, encode } from "../../src/wire/codec.ts";
import { threadCpu, threadCpuSince } from "./thread-cpu.ts";

const arg = (name: string, fallback: string) => (process.argv.includes(name) ? (process.argv[process.argv.indexOf(name) + 1] ?? fallback) : fallback);
const MEMBERS = Number(arg("--members", "200"));
const JOINERS = Number(arg("--joiners", "300"));
const INPUT = arg("--input", "plain");
if (!(MEMBERS > 0) || !(JOINERS > 0) || (INPUT !== "buffer" && INPUT !== "plain")) {
  console.error("usage: bun bench/lib/swim-merge.ts [--members 200] [--joiners 300] [--input plain|buffer]");
  process.exit(2);
}

// Long intervals: nothing probes the stopped joiners while the rounds are measured.
const pool = new Pool();
const common = { bind: "127.0.0.1", advertise: "127.0.0.1", swarm: "merge-bench", heartbeatInterval: 30, peerTimeout: 120, pool } as const;
const seed = new Node({ ...common, name: "seed" });
await seed.start();
const joiners: Node[] = [];
for (let i = 0; i < MEMBERS; i++) {
  const node = new Node({ ...common, name: `member-${i}` });
  await node.start();
  joiners.push(node);
}
for (let i = 0; i < MEMBERS; i += 25) await Promise.all(joiners.slice(i, i + 25).map((n) => n.join({ seeds: [`127.0.0.1:${seed.port}`], wait: 0 })));
// Bounded: the seed learns each joiner from its join.
for (let i = 0; i < 300 && seed.membership.table.size < MEMBERS; i++) await Bun.sleep(20);
const core = seed.membership.gossip?.core;
if (!core || seed.membership.table.size < MEMBERS) throw new Error(`the seed holds ${seed.membership.table.size} of ${MEMBERS} members`);
const asker = joiners[0]!.id;
const answer = (await core.handle({ kind: "push_pull", from: asker, join: false, members: [] })) as SwimAnswer;
const wire = encode(toWire(answer, { pack: true, lean: true, reads: false }));
const bytes = INPUT === "buffer" ? Buffer.from(wire) : new Uint8Array(wire);
await Promise.all(joiners.map((n) => n.stop({ leave: false })));

/** A fresh node that merges the answer; the members it learnt, and the CPU (µs) the decode and merge took. */
async function mergeOnce(name: string): Promise<{ learnt: number; us: number }> {
  const node = new Node({ ...common, name });
  await node.start();
  const swim = node.membership.gossip!.core!;
  const before = node.membership.table.size;
  const c0 = process.cpuUsage();
  await swim.handle(decode(bytes) as SwimMessage);
  const c = process.cpuUsage(c0);
  const learnt = node.membership.table.size - before;
  await node.stop({ leave: false });
  return { learnt, us: c.user + c.system };
}

// The resident: the process's second checker, its claims' checks shared (see the module's text).
const keep = new Node({ ...common, name: "resident" });
await keep.start();
await keep.membership.gossip!.core!.handle(decode(bytes) as SwimMessage);
if (keep.membership.table.size < MEMBERS + 1) throw new Error(`a fresh node learnt ${keep.membership.table.size} of ${MEMBERS + 1} members`);

// The baseline: read the answer as a receiver does, every body decoded, nothing applied.
let readUs = 0;
let read = 0;
for (let r = 0; r < JOINERS; r++) {
  const c0 = process.cpuUsage();
  const message = readMessage(decode(bytes))?.message;
  for (const u of message?.kind === "push_pull" ? message.members : []) if (u instanceof PackedUpdate && u.read()) read++;
  const c = process.cpuUsage(c0);
  readUs += c.user + c.system;
}

let mergeUs = 0;
let learnt = 0;
const threads0 = threadCpu();
for (let r = 0; r < JOINERS; r++) {
  const once = await mergeOnce(`joiner-${r}`);
  mergeUs += once.us;
  learnt += once.learnt;
}
const threads = threadCpuSince(threads0);
await keep.stop({ leave: false });
await seed.stop({ leave: false });
pool.closeAll();

const perMember = (us: number, n: number) => Math.round((us / Math.max(1, n)) * 100) / 100;
const main = threads.find(([name]) => name === "main");
console.log(
  JSON.stringify({
    members: MEMBERS,
    joiners: JOINERS,
    input: INPUT,
    answerBytes: bytes.length,
    learnt,
    mergeUs: perMember(mergeUs, learnt),
    readUs: perMember(readUs, read),
    mainThreadUs: main ? perMember(main[1] * 1000, learnt) : null,
    threadsUs: Object.fromEntries(threads.map(([name, ms]) => [name, perMember(ms * 1000, learnt)])),
  }),
);
process.exit(0);
