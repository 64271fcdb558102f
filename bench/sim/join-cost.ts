/**
 * What a mass join costs in messages and member records, on the virtual clock (`des.ts`, the real
 * bench's SWIM configuration: `config.ts`): N cores, every one but the seed joining through the
 * seed at once, as the swarm bench's workers do. Counted until every node sees every other alive,
 * and for `--after` seconds more (the exchanges that follow the catch-up pulls): member records in
 * push-pull requests and answers (catch-up pulls apart), push-pulls, catch-up pulls, all messages
 * and their bytes (map form), the updates piggybacked (sent, and received as old news), the updates
 * queued swarm-wide when all knew all, and the simulated seconds to all know all; and of the records in
 * push-pull answers (catch-ups included), how many were made for that answer (`answerRecordsMade`:
 * what the packed form encodes) rather than kept from an earlier one (`swim-records.ts`). A simulated node costs no
 * CPU, so this counts the work a join hands out, not how long it takes on loaded cores.
 *
 * Run: `bun bench/sim/join-cost.ts [--sizes 500,1000] [--after 30] [--seed 1] [--rate 25]`; prints
 * one JSON line per size. With `--rate R` the joins are paced as the swarm bench's (R a second,
 * through the same seed), and the times count from the last join's start.
 *
 * @module
 */
import { SIM_CONFIG } from "./config.ts";
import { SimNetwork } from "./des.ts";

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? (process.argv[at + 1] ?? fallback) : fallback;
}

const sizes = arg("sizes", "500").split(",").map(Number);
const after = Number(arg("after", "30"));
const seed = Number(arg("seed", "1"));
/** Joins a second (0: all at once). */
const rate = Number(arg("rate", "0"));

for (const n of sizes) {
  const started = performance.now();
  const net = new SimNetwork({ config: SIM_CONFIG, seed });
  const counts = { pushPulls: 0, records: 0, catchUpRecords: 0, answerRecords: 0, answerRecordsMade: 0 };
  // Record objects seen in an answer: one seen again is a kept record (its packed bytes reused).
  const answered = new WeakSet<object>();
  for (let i = 0; i < n; i++) {
    const node = net.add();
    const handle = node.core.handle.bind(node.core);
    node.core.handle = async (raw: unknown) => {
      const request = raw as { kind?: string; members?: unknown[]; since?: number };
      const answer = await handle(raw);
      if (request.kind === "push_pull") {
        counts.pushPulls++;
        const records = (request.members?.length ?? 0) + (answer?.kind === "push_pull" ? answer.members.length : 0);
        if (request.since === undefined) counts.records += records;
        else counts.catchUpRecords += records;
        for (const u of answer?.kind === "push_pull" ? answer.members : []) {
          counts.answerRecords++;
          if (!answered.has(u)) counts.answerRecordsMade++;
          answered.add(u);
        }
      }
      return answer;
    };
  }
  const [first, ...rest] = net.nodes;
  first!.core.start();
  let k = 0;
  for (const node of rest) {
    if (rate > 0) await net.clock.runUntil(k++ / rate);
    node.core.start();
    void node.core.join({ id: first!.id, address: "10.0.0.1", port: first!.port });
  }
  const lastJoin = net.clock.now;
  const converged = (): boolean => net.nodes.every((node) => node.alive === n - 1);
  let allKnowAll: number | null = null;
  for (let t = 0.1; t <= 120; t += 0.1) {
    await net.clock.runUntil(lastJoin + t);
    if (converged()) {
      allKnowAll = Math.round(t * 10) / 10;
      break;
    }
  }
  const queuedAtConvergence = net.nodes.reduce((a, node) => a + node.core.stats().queued, 0);
  await net.clock.runUntil(net.clock.now + after);
  const stats = net.nodes.map((node) => node.core.stats());
  const sum = (f: (s: (typeof stats)[number]) => number): number => stats.reduce((a, s) => a + f(s), 0);
  console.log(
    JSON.stringify({
      nodes: n,
      rate,
      allKnowAll,
      after,
      pushPullRecords: counts.records,
      catchUpRecords: counts.catchUpRecords,
      answerRecords: counts.answerRecords,
      answerRecordsMade: counts.answerRecordsMade,
      pushPulls: counts.pushPulls,
      catchUps: sum((s) => s.catchUps),
      joins: sum((s) => s.joins),
      gossipSent: sum((s) => s.gossipSent),
      updatesSent: sum((s) => s.updatesSent),
      updatesIgnored: sum((s) => s.updatesIgnored),
      queuedAtConvergence,
      messages: net.total("msgsOut"),
      megabytes: Math.round(net.total("bytesOut") / 1e5) / 10,
      wallSeconds: Math.round((performance.now() - started) / 100) / 10,
    }),
  );
  for (const node of net.nodes) node.core.stop();
}
