/**
 * Shared pieces of the benchmark scenarios: quick mode, bounded measurements on mitata's
 * `measure()`, a plain-text table and the JSON result file.
 *
 * Every scenario is a script `bench/<scenario>.ts` that prints a table and writes
 * `bench/results/<scenario>.json` (or `$BENCH_RESULTS_DIR/<scenario>.json`) through
 * {@link writeResults}. `--quick` or `BENCH_QUICK=1` makes every measurement short (a smoke run).
 *
 * @module
 */
import { measure } from "mitata";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { machineSpeed, runtimeSettings } from "./machine-speed.ts";
import { cpuQuota } from "./cpu-limit.ts";

/** True for a short smoke run: `--quick` on the command line or `BENCH_QUICK=1`. */
export const QUICK = process.argv.includes("--quick") || process.env.BENCH_QUICK === "1";

/** Where result files go: `$BENCH_RESULTS_DIR`, else `bench/results/`. */
export function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR || join(import.meta.dir, "..", "results");
}

/** Latency percentiles of one operation, in microseconds. */
export interface LatencyStats {
  p50Us: number;
  p99Us: number;
  avgUs: number;
  minUs: number;
  maxUs: number;
  /** Individual operations measured. */
  samples: number;
}

/** Throughput of pipelined operations. */
export interface ThroughputStats {
  /** Operations per second of the median batch. */
  opsPerSec: number;
  /** Operations per second of the fastest batch. */
  bestOpsPerSec: number;
  /** Operations in flight per batch. */
  batch: number;
  /** Batches measured. */
  batches: number;
  /** Median wall time of a batch, milliseconds. */
  batchP50Ms: number;
}

/** Cost of one synchronous operation (mitata batches these), in nanoseconds. */
export interface MicroStats {
  avgNs: number;
  p50Ns: number;
  p99Ns: number;
  /** Operations measured. */
  ops: number;
}

const us = (ns: number) => ns / 1000;

/** Limits of one measurement: stop after `maxSamples` samples or once `minTimeMs` of samples ran. */
export interface Limits {
  minTimeMs: number;
  maxSamples: number;
}

/** Default limits for a network measurement (quick mode: tens of milliseconds). */
export function limits(full: Limits, quick: Limits = { minTimeMs: 50, maxSamples: 200 }): Limits {
  return QUICK ? quick : full;
}

/**
 * Time one async operation per sample (never batched, so percentiles are per operation).
 * `warmup` operations run first and are not counted.
 */
export async function latency(op: () => Promise<unknown>, lim: Limits, warmup = 200): Promise<LatencyStats> {
  for (let i = 0; i < (QUICK ? Math.min(warmup, 20) : warmup); i++) await op();
  const s = await measure(op, {
    batch_threshold: 0, // one sample = one operation
    min_samples: 5,
    max_samples: lim.maxSamples,
    min_cpu_time: lim.minTimeMs * 1e6,
  });
  return {
    p50Us: us(s.p50),
    p99Us: us(s.p99),
    avgUs: us(s.avg),
    minUs: us(s.min),
    maxUs: us(s.max),
    samples: s.samples.length,
  };
}

/** Time `batch(n)` (n operations in flight at once) per sample; report operations per second. */
export async function throughput(batch: () => Promise<unknown>, n: number, lim: Limits, warmup = 3): Promise<ThroughputStats> {
  for (let i = 0; i < (QUICK ? 1 : warmup); i++) await batch();
  const s = await measure(batch, {
    batch_threshold: 0,
    min_samples: 3,
    max_samples: lim.maxSamples,
    min_cpu_time: lim.minTimeMs * 1e6,
  });
  return {
    opsPerSec: (n * 1e9) / s.p50,
    bestOpsPerSec: (n * 1e9) / s.min,
    batch: n,
    batches: s.samples.length,
    batchP50Ms: s.p50 / 1e6,
  };
}

/** Time a synchronous operation (mitata batches fast operations and reports the per-op time). */
export async function micro(op: () => unknown): Promise<MicroStats> {
  const s = await measure(op, {
    min_cpu_time: (QUICK ? 20 : 300) * 1e6,
    max_samples: QUICK ? 50 : 100_000,
  });
  return { avgNs: s.avg, p50Ns: s.p50, p99Ns: s.p99, ops: s.ticks };
}

/** Print rows as an aligned plain-text table. */
export function printTable(title: string, header: string[], rows: Array<Array<string | number>>): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: Array<string | number>) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join("  ");
  const out = [`\n${title}`, line(cells[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)];
  console.log(out.join("\n"));
}

/** A number with sensible precision for a table. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString("en-US");
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/** Round for JSON (3 significant decimals is plenty for timings). */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Machine and runtime facts recorded with every result (with `rawEchoUs` once a scenario measured it). */
export function environment(): Record<string, unknown> {
  const c = cpus();
  return {
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: c[0]?.model ?? "unknown",
    cores: c.length,
    quick: QUICK,
    date: new Date().toISOString(),
    // The raw echo's round trip, when the scenario measured it, and the runtime's own settings (`machine-speed.ts`).
    ...machineSpeed(),
    runtime: runtimeSettings(),
    // The CPU quota the bench ran under, in cores (`--cpus`, or one set outside it), or null (`cpu-limit.ts`).
    cpuQuota: cpuQuota(),
  };
}

/** One headline figure of a scenario, shown by the runner (bench/index.ts) in its summary. */
export interface SummaryRow {
  metric: string;
  value: number | string;
  unit?: string;
}

/**
 * Write `bench/results/<scenario>.json`: `{scenario, environment, summary, ...results}`. `summary`
 * holds the headline figures the runner prints. Returns the path.
 */
export function writeResults(scenario: string, results: Record<string, unknown>, summary: SummaryRow[] = []): string {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${scenario}.json`);
  writeFileSync(path, `${JSON.stringify({ scenario, environment: environment(), summary, ...results }, null, 2)}\n`);
  console.log(`\nwrote ${path}`);
  return path;
}

/**
 * Abort the process if the scenario runs longer than `seconds` (a hung socket must not hang the
 * suite). The timer does not keep the process alive.
 */
export function watchdog(seconds: number): void {
  setTimeout(() => {
    console.error(`benchmark exceeded ${seconds} s; aborting`);
    process.exit(2);
  }, seconds * 1000).unref();
}
