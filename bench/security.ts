/**
 * What a closed swarm costs: encrypted against plaintext RPC in the same run, over TCP on
 * 127.0.0.1, and the handshake itself.
 *
 * - sequential: `await client.call("sum", 1, 2)` on one pooled connection, p50 and p99;
 * - pipelined: a batch of concurrent calls on that connection, requests per second;
 * - handshake: a new connection's Noise XXpsk3 handshake (connect, three messages, identity
 *   proofs), timed from `connect` to the connection being usable, over TCP; and the CPU cost of
 *   the handshake's computation alone (both sides in memory, no socket).
 *
 * - signed records: a broadcast to 50 peers that all reply (batched, bench/broadcast.ts's
 *   scenario), with every event and reply signed and checked, against the same swarm of nodes that
 *   sign nothing (a fixed `id` that is not their key: what Python-like peers cost), side by side:
 *   all nodes in this process, and again spread over 4 worker processes (`lib/broadcast-swarm.ts`,
 *   where each process checks only its own nodes' signatures, on both cores). The signed nodes
 *   make and check record MACs between them (the default, docs/security.md#record-macs): the
 *   tables count the records accepted by an Ed25519 check and by a MAC (a check avoided).
 *   Swarms of the two sides alternate in pairs (unsigned then signed, signed then unsigned, ...),
 *   each fresh: 6 pairs of 4 rounds a swarm, in one process and across processes.
 *   A swarm's figure is the median of its rounds (its first round, where every pair of nodes meets
 *   for the first time, is one of them as any other); the ratio is the median over the pairs of
 *   signed / unsigned, so that a load that comes and goes on the machine moves one pair, not the
 *   figure. Beside it: the ratio of all rounds pooled, of the first rounds alone and of the later
 *   ones, and the lowest and highest pair.
 *
 * Plain and encrypted measurements alternate over six rounds; each figure is the median over the
 * rounds, and the sequential ratio the median of the rounds' own ratios (a round's two sides run
 * one right after the other, as a swarm pair of the broadcast). Targets (issue #13): encrypted
 * sequential p50 at most 1.3x plaintext, encrypted throughput at least 60% of plaintext, a
 * handshake under 2 ms on loopback, the signed broadcast with replies within 1.5x of the unsigned
 * one. Prints tables, writes `bench/results/security.json`.
 * `--quick` (or `BENCH_QUICK=1`) for a smoke run (10 peers).
 *
 * @module
 */
import { Client, Node, Pool, generateSwarmKey, secureTransport, bunTransport, NodeIdentity } from "../src/index.ts";
import { XXpsk3Handshake } from "../src/security/noise.ts";
import { randomBytes } from "node:crypto";
import { measureBroadcast, type BroadcastResult } from "./broadcast.ts";
import { measureMultiProcess, type MultiProcessResult } from "./lib/broadcast-swarm.ts";
import { QUICK, latency, limits, printTable, round, throughput, watchdog, writeResults, type LatencyStats, type ThroughputStats } from "./lib/harness.ts";
import { shareVerifiedSignatures } from "../src/security/records.ts";

// Every node checks every signature for itself, as a node on a machine of its own does: the
// process-wide sharing of verified signatures would make a process of many nodes check each once.
// (Only when run as the bench: a test importing this module keeps the process's default.)
if (import.meta.main) shareVerifiedSignatures(false);

watchdog(QUICK ? 60 : 600);

const BATCH = 1000;
const ROUNDS = QUICK ? 1 : 6;
const SEQ = limits({ minTimeMs: 600, maxSamples: 50_000 });
const PIPE = limits({ minTimeMs: 600, maxSamples: 200 }, { minTimeMs: 30, maxSamples: 3 });
const HANDSHAKES = limits({ minTimeMs: 600, maxSamples: 2000 }, { minTimeMs: 50, maxSamples: 50 });

const TARGET_SEQUENTIAL_RATIO = 1.3;
const TARGET_THROUGHPUT_RATIO = 0.6;
const TARGET_HANDSHAKE_MS = 2;
const TARGET_SIGNED_RATIO = 1.5;
/** Peers of the signed-records broadcast, and the swarms started for each side (alternating). */
const SIGNED_PEERS = QUICK ? 10 : 50;
const SIGNED_SWARMS = QUICK ? 1 : 6;
const SIGNED_ROUNDS = QUICK ? 1 : 4;
/** Swarms of each side and rounds a swarm across processes (a swarm there costs four process starts). */
const MP_SWARMS = QUICK ? 1 : 6;
const MP_ROUNDS = QUICK ? 1 : 4;

interface Side {
  sequential: LatencyStats;
  pipelined: ThroughputStats;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function measureSide(client: Client): Promise<Side> {
  const sequential = await latency(() => client.call("sum", 1, 2), SEQ);
  const calls = new Array<Promise<unknown>>(BATCH);
  const pipelined = await throughput(
    () => {
      for (let i = 0; i < BATCH; i++) calls[i] = client.call("sum", 1, 2);
      return Promise.all(calls);
    },
    BATCH,
    PIPE,
  );
  return { sequential, pipelined };
}

const swarmKey = generateSwarmKey();
const plainNode = new Node({ name: "plain", bind: "127.0.0.1", port: 0, heartbeatInterval: null });
const closedNode = new Node({ name: "closed", bind: "127.0.0.1", port: 0, swarm: "bench", swarmKey, heartbeatInterval: null });
const clientTransport = secureTransport(bunTransport, { keys: swarmKey, swarm: "bench" });
const pools = [new Pool(), new Pool({ transport: clientTransport })];
for (const n of [plainNode, closedNode]) n.endpoint("sum", (a: number, b: number) => a + b);

let result: { plain: Side[]; secure: Side[]; handshakeTcp: LatencyStats; handshakeCpu: LatencyStats };
try {
  await plainNode.start();
  await closedNode.start();
  const plain = new Client("127.0.0.1", plainNode.port, { pool: pools[0] });
  const secure = new Client("127.0.0.1", closedNode.port, { pool: pools[1] });
  for (const c of [plain, secure]) if ((await c.call<number>("sum", 1, 2)) !== 3) throw new Error("sum(1, 2) did not answer 3");
  const sides = [
    { client: plain, rounds: [] as Side[] },
    { client: secure, rounds: [] as Side[] },
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < sides.length; i++) {
      const side = sides[(i + r) % sides.length]!;
      side.rounds.push(await measureSide(side.client));
    }
  }
  if (closedNode.connectionCount !== 1) throw new Error(`expected one pooled connection, the closed node has ${closedNode.connectionCount}`);

  // A handshake over TCP: connect until the secure socket is handed over, then close it.
  const handshakeTcp = await latency(
    () =>
      clientTransport.connect({ hostname: "127.0.0.1", port: closedNode.port }, (socket) => {
        queueMicrotask(() => socket.terminate());
        return { handleData() {}, handleDrain() {}, handleEnd() {}, handleClose() {}, handleError() {} };
      }),
    HANDSHAKES,
    20,
  );
  // The handshake's computation alone: both sides, three messages, identity proofs signed and checked.
  const a = NodeIdentity.generate();
  const b = NodeIdentity.generate();
  const psk = new Uint8Array(Buffer.from(swarmKey, "base64"));
  const prologue = new TextEncoder().encode("bench");
  const handshakeCpu = await latency(
    async () => {
      const i = new XXpsk3Handshake({ initiator: true, prologue, psks: [psk], staticKey: a.staticKey });
      const r = new XXpsk3Handshake({ initiator: false, prologue, psks: [psk], staticKey: b.staticKey });
      r.readMessage(i.writeMessage(new Uint8Array(0)));
      i.readMessage(r.writeMessage((h) => b.bindingPayload(h)));
      r.readMessage(i.writeMessage((h) => a.bindingPayload(h)));
      i.split();
      r.split();
    },
    HANDSHAKES,
    20,
  );
  result = { plain: sides[0]!.rounds, secure: sides[1]!.rounds, handshakeTcp, handshakeCpu };
} finally {
  for (const p of pools) p.closeAll();
  await plainNode.stop();
  await closedNode.stop();
}

// Signed records: the same broadcast with replies by nodes that sign and check every event and
// reply, and by nodes that sign nothing (a fixed id that is not their key), swarms alternating.
const signedRuns: BroadcastResult[] = [];
const unsignedRuns: BroadcastResult[] = [];
// A warm-up swarm of each kind first (not measured), so that neither side pays for the JIT alone.
for (const options of [undefined, () => ({ id: randomBytes(32).toString("hex") })]) await measureBroadcast(10, 1, { kind: "batched" }, options);
// The sides in the order unsigned, signed, signed, unsigned, ... (each side as often first as
// second, so that a load that rises or falls over the run weighs on both alike).
const sideOrder = (s: number) => (s % 2 === 0 ? [false, true] : [true, false]);
for (let s = 0; s < SIGNED_SWARMS; s++) {
  for (const signed of sideOrder(s)) {
    const options = signed ? undefined : () => ({ id: randomBytes(32).toString("hex") });
    (signed ? signedRuns : unsignedRuns).push(await measureBroadcast(SIGNED_PEERS, SIGNED_ROUNDS, { kind: "batched" }, options));
  }
}
// The same across processes: the 51 nodes over MP_PROCESSES worker processes, swarms alternating.
const MP_PROCESSES = 4;
const mpSigned: MultiProcessResult[] = [];
const mpUnsigned: MultiProcessResult[] = [];
for (let s = 0; s < MP_SWARMS; s++) {
  for (const signed of sideOrder(s)) {
    (signed ? mpSigned : mpUnsigned).push(await measureMultiProcess(SIGNED_PEERS, MP_PROCESSES, MP_ROUNDS, signed));
  }
}
/**
 * The time until every node held every reply, over a side's swarms: the median of the swarms'
 * medians of their rounds (`everywhereMs`: each fresh swarm's first round, its first contact, is
 * one of its rounds), and beside it the median of all rounds pooled, of the first rounds alone and
 * of the later ones.
 */
function roundTimes(swarms: number[][]): { everywhereMs: number; pooledMs: number; firstRoundMs: number; laterRoundsMs: number } {
  return {
    everywhereMs: median(swarms.map(median)),
    pooledMs: median(swarms.flat()),
    firstRoundMs: median(swarms.map((r) => r[0]!)),
    laterRoundsMs: swarms.some((r) => r.length > 1) ? median(swarms.flatMap((r) => r.slice(1))) : Number.NaN,
  };
}
/**
 * Signed / unsigned of the i-th swarms of the two sides, which ran one right after the other (the
 * median of each one's rounds): their median (the measured ratio: a load that comes and goes
 * between two pairs of swarms moves one pair's ratio, not the figure), lowest and highest.
 */
function pairedRatios(signed: number[][], unsigned: number[][]): { median: number; lowest: number; highest: number } {
  const ratios = signed.map((r, i) => median(r) / median(unsigned[i]!));
  return { median: median(ratios), lowest: Math.min(...ratios), highest: Math.max(...ratios) };
}
const mpSide = (runs: MultiProcessResult[]) => ({
  deliveredMs: median(runs.map((r) => r.deliveredMs)),
  atOriginMs: median(runs.map((r) => r.repliesAtOriginMs)),
  ...roundTimes(runs.map((r) => r.everywhereRoundsMs)),
  cpuMsPerNode: median(runs.flatMap((r) => r.cpuRoundsMsPerNode)),
  incomplete: runs.reduce((sum, r) => sum + r.incompleteRounds.length, 0),
  // Events and replies accepted over the runs: by an Ed25519 check, or by a record MAC (a check avoided).
  signatureChecks: runs.reduce((sum, r) => sum + r.checks.onThread + r.checks.inline, 0),
  macChecks: runs.reduce((sum, r) => sum + r.checks.mac, 0),
  pairs: runs.reduce((sum, r) => sum + r.checks.pairs, 0),
});
const mpUnsignedSide = mpSide(mpUnsigned);
const mpSignedSide = mpSide(mpSigned);
const mpPairs = pairedRatios(mpSigned.map((r) => r.everywhereRoundsMs), mpUnsigned.map((r) => r.everywhereRoundsMs));
const mpRatio = mpPairs.median;
const mpCpuRatio = mpSignedSide.cpuMsPerNode / mpUnsignedSide.cpuMsPerNode;

const broadcastSide = (runs: BroadcastResult[]) => ({
  deliveredMs: median(runs.map((r) => r.deliveredMs)),
  atOriginMs: median(runs.map((r) => r.repliesAtOriginMs)),
  ...roundTimes(runs.map((r) => r.everywhereRoundsMs)),
  replyCalls: median(runs.map((r) => r.replyCallsPerRound)),
  signatureChecks: runs.reduce((sum, r) => sum + r.checks.signature, 0),
  macChecks: runs.reduce((sum, r) => sum + r.checks.mac, 0),
});
const unsignedBroadcast = broadcastSide(unsignedRuns);
const signedBroadcast = broadcastSide(signedRuns);
const onePairs = pairedRatios(signedRuns.map((r) => r.everywhereRoundsMs), unsignedRuns.map((r) => r.everywhereRoundsMs));
const signedRatio = onePairs.median;

const summary = (rounds: Side[]) => ({
  p50Us: median(rounds.map((r) => r.sequential.p50Us)),
  p99Us: median(rounds.map((r) => r.sequential.p99Us)),
  reqPerSec: median(rounds.map((r) => r.pipelined.opsPerSec)),
});
const plain = summary(result.plain);
const secure = summary(result.secure);
/**
 * Encrypted / plaintext sequential p50 of each round, whose two sides ran one right after the
 * other: their median is the measured ratio (as the signed broadcast's pairs: a load that comes
 * and goes moves one round's ratio, not the figure), with the lowest and highest beside it.
 */
const sequentialRounds = result.secure.map((s, i) => s.sequential.p50Us / result.plain[i]!.sequential.p50Us);
const sequentialPairs = { median: median(sequentialRounds), lowest: Math.min(...sequentialRounds), highest: Math.max(...sequentialRounds) };
const sequentialRatio = sequentialPairs.median;
const throughputRatio = secure.reqPerSec / plain.reqPerSec;
const handshakeMs = result.handshakeTcp.p50Us / 1000;

const mode = QUICK ? "quick run" : `${ROUNDS} rounds, medians`;
printTable(`Plaintext vs closed swarm, Client -> Node sum(1, 2) over TCP (${mode})`, ["", "seq p50 µs", "seq p99 µs", `pipelined req/s (${BATCH} in flight)`], [
  ["plaintext (open swarm)", plain.p50Us, plain.p99Us, plain.reqPerSec],
  ["encrypted (closed swarm)", secure.p50Us, secure.p99Us, secure.reqPerSec],
]);
printTable("Handshake (Noise XXpsk3 + identity proofs)", ["", "p50 µs", "p99 µs", "samples"], [
  ["over TCP: connect to usable", result.handshakeTcp.p50Us, result.handshakeTcp.p99Us, result.handshakeTcp.samples],
  ["computation only, both sides", result.handshakeCpu.p50Us, result.handshakeCpu.p99Us, result.handshakeCpu.samples],
]);
printTable(
  `Broadcast to ${SIGNED_PEERS} peers, every peer replies (batched dissemination, the default), ms (${SIGNED_SWARMS} swarms x ${SIGNED_ROUNDS} rounds a side; replies everywhere: median of the swarms' medians of their rounds; then of each swarm's first round (first contact) alone and of the later ones)`,
  ["", "delivered", "replies at origin", "replies everywhere", "first rounds", "later rounds", "reply calls", "signature checks", "MAC checks (checks avoided)"],
  [
    ["unsigned (nodes that sign nothing)", unsignedBroadcast.deliveredMs, unsignedBroadcast.atOriginMs, unsignedBroadcast.everywhereMs, unsignedBroadcast.firstRoundMs, unsignedBroadcast.laterRoundsMs, unsignedBroadcast.replyCalls, unsignedBroadcast.signatureChecks, unsignedBroadcast.macChecks],
    ["signed and verified", signedBroadcast.deliveredMs, signedBroadcast.atOriginMs, signedBroadcast.everywhereMs, signedBroadcast.firstRoundMs, signedBroadcast.laterRoundsMs, signedBroadcast.replyCalls, signedBroadcast.signatureChecks, signedBroadcast.macChecks],
  ],
);
printTable(
  `The same broadcast across ${MP_PROCESSES} processes, ms (${MP_SWARMS} swarms x ${MP_ROUNDS} rounds a side, medians as above; CPU of all processes per round over the nodes, median of all rounds)`,
  ["", "delivered", "replies at origin", "replies everywhere", "first rounds", "later rounds", "CPU ms per node", "incomplete rounds", "signature checks", "MAC checks (checks avoided)", "pair keys derived"],
  [
    ["unsigned (nodes that sign nothing)", mpUnsignedSide.deliveredMs, mpUnsignedSide.atOriginMs, mpUnsignedSide.everywhereMs, mpUnsignedSide.firstRoundMs, mpUnsignedSide.laterRoundsMs, mpUnsignedSide.cpuMsPerNode, mpUnsignedSide.incomplete, mpUnsignedSide.signatureChecks, mpUnsignedSide.macChecks, mpUnsignedSide.pairs],
    ["signed and verified", mpSignedSide.deliveredMs, mpSignedSide.atOriginMs, mpSignedSide.everywhereMs, mpSignedSide.firstRoundMs, mpSignedSide.laterRoundsMs, mpSignedSide.cpuMsPerNode, mpSignedSide.incomplete, mpSignedSide.signatureChecks, mpSignedSide.macChecks, mpSignedSide.pairs],
  ],
);
const x = (r: number) => `${r.toFixed(2)}x`;
/** The other views of a side's rounds: pooled, first rounds, later rounds (signed / unsigned), and the pairs' range. */
const beside = (s: ReturnType<typeof roundTimes>, u: ReturnType<typeof roundTimes>, pairs: ReturnType<typeof pairedRatios>) =>
  `${x(s.pooledMs / u.pooledMs)}; ${x(s.firstRoundMs / u.firstRoundMs)} / ${x(s.laterRoundsMs / u.laterRoundsMs)}; ${pairs.lowest.toFixed(2)}-${x(pairs.highest)}`;
printTable("Closed vs open: targets", ["ratio", "measured", "target", "met"], [
  ["sequential p50 (encrypted / plain): median of rounds", `${sequentialRatio.toFixed(2)}x`, `<= ${TARGET_SEQUENTIAL_RATIO}x`, sequentialRatio <= TARGET_SEQUENTIAL_RATIO ? "yes" : "NO"],
  ["  medians' ratio; rounds lowest-highest", `${x(secure.p50Us / plain.p50Us)}; ${sequentialPairs.lowest.toFixed(2)}-${x(sequentialPairs.highest)}`, "", ""],
  ["throughput (encrypted / plain)", `${(throughputRatio * 100).toFixed(0)}%`, `>= ${TARGET_THROUGHPUT_RATIO * 100}%`, throughputRatio >= TARGET_THROUGHPUT_RATIO ? "yes" : "NO"],
  ["handshake p50 over TCP", `${handshakeMs.toFixed(2)} ms`, `< ${TARGET_HANDSHAKE_MS} ms`, handshakeMs < TARGET_HANDSHAKE_MS ? "yes" : "NO"],
  ["broadcast with replies (signed / unsigned), one process: median of swarm pairs", x(signedRatio), `<= ${TARGET_SIGNED_RATIO}x`, signedRatio <= TARGET_SIGNED_RATIO ? "yes" : "NO"],
  ["  all rounds pooled; first / later rounds; pairs lowest-highest", beside(signedBroadcast, unsignedBroadcast, onePairs), "", ""],
  [`broadcast with replies (signed / unsigned), ${MP_PROCESSES} processes: median of swarm pairs`, x(mpRatio), `<= ${TARGET_SIGNED_RATIO}x`, mpRatio <= TARGET_SIGNED_RATIO ? "yes" : "NO"],
  ["  all rounds pooled; first / later rounds; pairs lowest-highest", beside(mpSignedSide, mpUnsignedSide, mpPairs), "", ""],
  [`  CPU per node (signed / unsigned), ${MP_PROCESSES} processes`, `${mpCpuRatio.toFixed(2)}x`, "", ""],
]);

writeResults(
  "security",
  {
    config: { rounds: ROUNDS, batch: BATCH, endpoint: "sum(1, 2)", sameProcess: true, protocol: "Noise_XXpsk3_25519_AESGCM_SHA256" },
    plain: { sequentialP50Us: round(plain.p50Us), sequentialP99Us: round(plain.p99Us), pipelinedReqPerSec: round(plain.reqPerSec) },
    secure: { sequentialP50Us: round(secure.p50Us), sequentialP99Us: round(secure.p99Us), pipelinedReqPerSec: round(secure.reqPerSec) },
    handshake: {
      tcpP50Us: round(result.handshakeTcp.p50Us),
      tcpP99Us: round(result.handshakeTcp.p99Us),
      cpuP50Us: round(result.handshakeCpu.p50Us),
      samples: result.handshakeTcp.samples,
    },
    signedBroadcast: {
      peers: SIGNED_PEERS,
      swarms: SIGNED_SWARMS,
      rounds: SIGNED_ROUNDS,
      statistic: "ratio: median over swarm pairs (an unsigned and a signed swarm run one after the other) of signed / unsigned, each swarm's figure the median of its rounds (first included)",
      unsigned: { deliveredMs: round(unsignedBroadcast.deliveredMs), repliesAtOriginMs: round(unsignedBroadcast.atOriginMs), repliesEverywhereMs: round(unsignedBroadcast.everywhereMs), pooledMs: round(unsignedBroadcast.pooledMs), firstRoundMs: round(unsignedBroadcast.firstRoundMs), laterRoundsMs: round(unsignedBroadcast.laterRoundsMs), rounds: unsignedRuns.map((r) => r.everywhereRoundsMs), replyCalls: unsignedBroadcast.replyCalls, signatureChecks: unsignedBroadcast.signatureChecks, macChecks: unsignedBroadcast.macChecks },
      signed: { deliveredMs: round(signedBroadcast.deliveredMs), repliesAtOriginMs: round(signedBroadcast.atOriginMs), repliesEverywhereMs: round(signedBroadcast.everywhereMs), pooledMs: round(signedBroadcast.pooledMs), firstRoundMs: round(signedBroadcast.firstRoundMs), laterRoundsMs: round(signedBroadcast.laterRoundsMs), rounds: signedRuns.map((r) => r.everywhereRoundsMs), replyCalls: signedBroadcast.replyCalls, signatureChecks: signedBroadcast.signatureChecks, macChecks: signedBroadcast.macChecks },
      pairedRatios: onePairs,
      multiProcess: { processes: MP_PROCESSES, swarms: MP_SWARMS, rounds: MP_ROUNDS, pairedRatios: mpPairs, unsigned: mpUnsignedSide, signed: mpSignedSide, runs: { unsigned: mpUnsigned, signed: mpSigned } },
    },
    sequentialPairs: { statistic: "median over rounds of encrypted / plaintext p50, the two sides of a round measured one after the other", rounds: sequentialRounds.map((r) => round(r)), lowest: round(sequentialPairs.lowest), highest: round(sequentialPairs.highest), ofMedians: round(secure.p50Us / plain.p50Us) },
    ratios: { sequentialP50: round(sequentialRatio), throughput: round(throughputRatio), signedBroadcast: round(signedRatio), signedBroadcastMultiProcess: round(mpRatio), signedCpuPerNodeMultiProcess: round(mpCpuRatio) },
    targets: {
      sequentialP50Max: TARGET_SEQUENTIAL_RATIO,
      throughputMin: TARGET_THROUGHPUT_RATIO,
      handshakeMaxMs: TARGET_HANDSHAKE_MS,
      sequentialMet: sequentialRatio <= TARGET_SEQUENTIAL_RATIO,
      throughputMet: throughputRatio >= TARGET_THROUGHPUT_RATIO,
      handshakeMet: handshakeMs < TARGET_HANDSHAKE_MS,
      signedBroadcastMax: TARGET_SIGNED_RATIO,
      signedBroadcastMet: signedRatio <= TARGET_SIGNED_RATIO,
      signedBroadcastMultiProcessMet: mpRatio <= TARGET_SIGNED_RATIO,
    },
  },
  [
    { metric: "plaintext sequential p50", value: round(plain.p50Us, 1), unit: "µs" },
    { metric: "encrypted sequential p50", value: round(secure.p50Us, 1), unit: "µs" },
    { metric: "plaintext pipelined", value: Math.round(plain.reqPerSec), unit: "req/s" },
    { metric: "encrypted pipelined", value: Math.round(secure.reqPerSec), unit: "req/s" },
    { metric: "handshake p50 (TCP)", value: round(handshakeMs, 3), unit: "ms" },
    { metric: `unsigned broadcast, ${SIGNED_PEERS} replies everywhere`, value: round(unsignedBroadcast.everywhereMs, 1), unit: "ms" },
    { metric: `signed broadcast, ${SIGNED_PEERS} replies everywhere`, value: round(signedBroadcast.everywhereMs, 1), unit: "ms" },
    { metric: `unsigned broadcast over ${MP_PROCESSES} processes, ${SIGNED_PEERS} replies everywhere`, value: round(mpUnsignedSide.everywhereMs, 1), unit: "ms" },
    { metric: `signed broadcast over ${MP_PROCESSES} processes, ${SIGNED_PEERS} replies everywhere`, value: round(mpSignedSide.everywhereMs, 1), unit: "ms" },
  ],
);
