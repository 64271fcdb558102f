/**
 * The broadcast benchmark (per-event gossip against batched dissemination) and the record-extension
 * measurements, in quick mode, as subprocesses: each must finish and write its result file with the
 * expected fields. No timing thresholds: the numbers themselves are not checked, only their shape
 * (and that every node got every reply, which the broadcast benchmark waits for).
 */
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isPositive, quickBench } from "../helpers/bench.ts";

const bench = quickBench("synapse-dissem-bench-");

test("bench - broadcast quick run compares flooding, a relay fan-out and batched dissemination", async () => {
  const { code, out } = await bench.run(["bench/broadcast.ts"], 170_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(bench.outDir, "broadcast.json"), "utf8"));
  expect(result.scenario).toBe("broadcast");
  // The machine's speed, measured before the swarms (bench/lib/machine-speed.ts), printed and recorded.
  expect(out).toContain("machine: raw Bun echo ");
  expect(isPositive(result.environment.rawEchoUs)).toBe(true);
  const modes = result.scenarios.map((s: { peers: number; gossip: string }) => `${s.peers}:${s.gossip}`);
  expect(modes).toEqual(["10:flood", "10:fanout 3", "50:fanout 3", "50:batched"]);
  for (const s of result.scenarios) {
    expect(isPositive(s.repliesEverywhereMs)).toBe(true);
    expect(isPositive(s.directCallsMs)).toBe(true);
    expect(s.replyCallsPerRound).toBeGreaterThan(0);
    expect(isPositive(s.replyCallsPerPeer)).toBe(true);
  }
  const batched = result.scenarios.find((s: { gossip: string }) => s.gossip === "batched");
  expect(batched.maxReplyCallsPerPeer).toBeGreaterThan(0);
  expect(result.summary.length).toBeGreaterThan(0);
}, 180_000);

test("bench - records quick run measures bytes and CPU of the record extension on swarm payloads", async () => {
  const { code, out } = await bench.run(["bench/records.ts"], 110_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(readFileSync(join(bench.outDir, "records.json"), "utf8"));
  expect(result.payloads.length).toBe(5);
  for (const p of result.payloads) {
    for (const key of ["standardBytes", "perMessageBytes", "perConnectionBytes", "standardEncodeNs", "standardDecodeNs", "perConnectionEncodeNs", "perConnectionDecodeNs"]) {
      expect(isPositive(p[key])).toBe(true);
    }
  }
  expect(result.verdict.map((v: { perConnectionWins: unknown }) => typeof v.perConnectionWins)).toEqual(["boolean", "boolean", "boolean", "boolean", "boolean"]);
}, 120_000);

test("bench - the one-layer reply bench reports the CPU per filed reply, and with --retained the heap a node keeps per reply by part", async () => {
  const { code, out } = await bench.run(["bench/lib/broadcast-ingest.ts", "--peers", "40", "--broadcasts", "3", "--wire", "bytes", "--retained"], 60_000);
  expect(code, out).toBe(0);
  const result = JSON.parse(out.trim().split("\n").findLast((line) => line.startsWith("{")) ?? "null");
  expect(result.filed).toBe(40 * 3);
  expect(isPositive(result.cpuUsPerReply)).toBe(true);
  // The main thread's share is read in clock ticks (10 ms) from /proc: 0 for so short a run, null where there is no /proc.
  expect(result.mainThreadUsPerReply === null || result.mainThreadUsPerReply >= 0).toBe(true);
  const { itemMemory, log, rest, total } = result.retainedBytesPerReply;
  // Each part holds something for every reply (the item's entry, the event, the reply book's entry); the parts add up.
  for (const part of [itemMemory, log, rest]) expect(isPositive(part)).toBe(true);
  expect(Math.abs(itemMemory + log + rest - total)).toBeLessThanOrEqual(2);
}, 70_000);
