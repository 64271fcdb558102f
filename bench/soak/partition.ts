/**
 * The partition run (issue #14): two members in two network namespaces joined by a veth pair; the
 * link is cut, then restored. It measures how long each side takes to mark the other offline (the
 * target: within the peer timeout plus one heartbeat) and to see it again once the link is back
 * (the target: within two heartbeat intervals). Needs root (network namespaces); the traffic stays
 * inside the namespaces it creates, which it deletes at the end.
 *
 *   bun bench/soak/partition.ts [--rounds 3]
 *
 * @module
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Netns, cleanupNamespaces, linkPair, netnsUnavailable } from "../../test/helpers/netns.ts";
import { QUICK, printTable, round, writeResults } from "../lib/harness.ts";

const HEARTBEAT = 1; // seconds, as bench/soak/member.ts sets them
const PEER_TIMEOUT = 4;
const at = process.argv.indexOf("--rounds");
const ROUNDS = at >= 0 ? Number(process.argv[at + 1]) : QUICK ? 1 : 3;

const why = netnsUnavailable();
if (why) {
  console.log(`partition: skipped: ${why}`);
  process.exit(0);
}

/** Lines a member prints, as they come: `<ms> <event> <name>`. */
function follow(child: Bun.Subprocess<"pipe", "pipe", "pipe">): { lines: string[]; ready: Promise<void> } {
  const lines: string[] = [];
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  void (async () => {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of child.stdout) {
      rest += decoder.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        if (l.startsWith("ready ")) resolveReady();
        else lines.push(l);
      }
    }
  })();
  return { lines, ready };
}

/** Wait for a line `<ms> <event> <name>` that arrived after `since`; its time, or null after `limit` s. */
async function when(lines: string[], event: string, name: string, since: number, limit: number): Promise<number | null> {
  const deadline = Date.now() + limit * 1000;
  while (Date.now() < deadline) {
    for (const l of lines) {
      const [ms, e, n] = l.split(" ");
      if (e === event && n === name && Number(ms) >= since) return Number(ms);
    }
    await Bun.sleep(20);
  }
  return null;
}

const dir = mkdtempSync(join(tmpdir(), "synapse-partition-"));
const script = join(import.meta.dir, "member.ts");
const rows: Array<{ round: number; offlineA: number | null; offlineB: number | null; backA: number | null; backB: number | null }> = [];
try {
  const left = Netns.create({ loopback: "up" });
  const right = Netns.create({ loopback: "up" });
  linkPair(left, right, "syn-l", "syn-r", "192.0.2.1", "192.0.2.2");
  const a = left.spawnBun(script, ["--name", "a", "--id", randomBytes(32).toString("hex"), "--db", join(dir, "a.db"), "--bind", "192.0.2.1", "--port", "9999", "--events"]);
  const fa = follow(a);
  await fa.ready;
  const b = right.spawnBun(script, ["--name", "b", "--id", randomBytes(32).toString("hex"), "--db", join(dir, "b.db"), "--bind", "192.0.2.2", "--seed", "192.0.2.1:9999", "--events"]);
  const fb = follow(b);
  await fb.ready;
  if ((await when(fa.lines, "peer.joined", "b", 0, 10)) === null) throw new Error("the two members never met");
  for (let round = 1; round <= ROUNDS; round++) {
    const cut = Date.now();
    left.ip(["link", "set", "syn-l", "down"]);
    const [offA, offB] = await Promise.all([when(fa.lines, "peer.offline", "b", cut, 30), when(fb.lines, "peer.offline", "a", cut, 30)]);
    const healed = Date.now();
    left.ip(["link", "set", "syn-l", "up"]);
    const [backA, backB] = await Promise.all([when(fa.lines, "peer.joined", "b", healed, 30), when(fb.lines, "peer.joined", "a", healed, 30)]);
    const s = (t: number | null, from: number) => (t === null ? null : (t - from) / 1000);
    rows.push({ round, offlineA: s(offA, cut), offlineB: s(offB, cut), backA: s(backA, healed), backB: s(backB, healed) });
  }
  a.kill();
  b.kill();
} finally {
  await cleanupNamespaces();
  rmSync(dir, { recursive: true, force: true });
}

const show = (v: number | null) => (v === null ? "never" : round(v, 2).toFixed(2));
printTable(
  `partition: seconds after the cut until peer.offline, after healing until peer.joined (heartbeat ${HEARTBEAT} s, peer timeout ${PEER_TIMEOUT} s)`,
  ["round", "a: b offline", "b: a offline", "a: b back", "b: a back"],
  rows.map((r) => [String(r.round), show(r.offlineA), show(r.offlineB), show(r.backA), show(r.backB)]),
);
const offlineOk = rows.every((r) => [r.offlineA, r.offlineB].every((v) => v !== null && v <= PEER_TIMEOUT + HEARTBEAT));
const backOk = rows.every((r) => [r.backA, r.backB].every((v) => v !== null && v <= 2 * HEARTBEAT));
const worst = (key: "offlineA" | "offlineB" | "backA" | "backB") => Math.max(...rows.map((r) => r[key] ?? Number.POSITIVE_INFINITY));
writeResults("partition", { heartbeat: HEARTBEAT, peerTimeout: PEER_TIMEOUT, rounds: rows }, [
  { metric: "offline after the cut (worst)", value: round(Math.max(worst("offlineA"), worst("offlineB")), 2), unit: "s" },
  { metric: "back after healing (worst)", value: round(Math.max(worst("backA"), worst("backB")), 2), unit: "s" },
]);
console.log(`partition: offline ${offlineOk ? "within" : "NOT within"} the peer timeout plus a heartbeat; back ${backOk ? "within" : "NOT within"} two heartbeats`);
process.exitCode = offlineOk && backOk ? 0 : 1;
