/**
 * Start-up of the compiled `sn`: `sn --help` from the binary `bun run build` makes, against a
 * compiled hello-world binary built the same way, measured side by side (alternating runs, so
 * that the machine's load hits both alike). The figure to watch is the ratio of the medians
 * (issue #9 asks for at most 2×); the absolute times depend on the machine.
 *
 *   bun bench/cli-startup.ts [--quick]
 *
 * Both binaries are built into a temporary directory with the flags of package.json's `build`
 * script, and run from an empty directory (no node_modules), as on an edge box.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

const ROOT = join(import.meta.dir, "..");

/** `bun build` arguments of package.json's `build` script, with the entry and output replaced. */
export function buildArgs(entry: string, outfile: string): string[] {
  const words = pkg.scripts.build.split(/\s+/);
  if (words[0] !== "bun" || words[1] !== "build") throw new Error(`unexpected build script: ${pkg.scripts.build}`);
  const args = words.slice(2);
  const at = args.indexOf("--outfile");
  args.splice(at, 2, "--outfile", outfile);
  return args.map((a) => (a === "src/cli/main.ts" ? entry : a));
}

/** Compile `entry` into `outfile` as `bun run build` does. */
export function compile(entry: string, outfile: string): void {
  const out = spawnSync(process.execPath, ["build", ...buildArgs(entry, outfile)], { cwd: ROOT, encoding: "utf8" });
  if (out.status !== 0) throw new Error(`bun build ${entry} failed: ${out.stderr}`);
}

/** Milliseconds of one run of `command` in `cwd` (output discarded; a failure throws). */
function timeRun(command: string[], cwd: string): number {
  const started = performance.now();
  const out = spawnSync(command[0]!, command.slice(1), { cwd, stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });
  const ms = performance.now() - started;
  if (out.status !== 0) throw new Error(`${command.join(" ")} exited ${out.status}: ${out.stderr}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runCliStartupBench(): Promise<{ helloMs: number; snHelpMs: number; ratio: number }> {
  const dir = mkdtempSync(join(tmpdir(), "sn-startup-"));
  const run = join(dir, "empty");
  spawnSync("mkdir", ["-p", run]);
  try {
    const helloSource = join(dir, "hello.ts");
    writeFileSync(helloSource, 'console.log("hello world");\n');
    const hello = join(dir, "hello");
    const sn = join(dir, "sn");
    compile(helloSource, hello);
    compile(join(ROOT, "src", "cli", "main.ts"), sn);

    const runs = QUICK ? 10 : 60;
    for (let i = 0; i < 3; i++) { // warm the page cache
      timeRun([hello], run);
      timeRun([sn, "--help"], run);
    }
    const helloTimes: number[] = [];
    const snTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      // Alternate, and alternate which goes first, so drifts in load hit both alike.
      if (i % 2 === 0) {
        helloTimes.push(timeRun([hello], run));
        snTimes.push(timeRun([sn, "--help"], run));
      } else {
        snTimes.push(timeRun([sn, "--help"], run));
        helloTimes.push(timeRun([hello], run));
      }
    }
    const helloMs = median(helloTimes);
    const snHelpMs = median(snTimes);
    const ratio = snHelpMs / helloMs;
    const mb = (path: string) => statSync(path).size / 1e6;
    printTable(`cli start-up, ${runs} alternating runs each (ms)`, ["binary", "median", "p10", "p90", "size MB"], [
      ["hello world", round(helloMs, 1), round(percentile(helloTimes, 10), 1), round(percentile(helloTimes, 90), 1), round(mb(hello), 1)],
      ["sn --help", round(snHelpMs, 1), round(percentile(snTimes, 10), 1), round(percentile(snTimes, 90), 1), round(mb(sn), 1)],
    ]);
    console.log(`sn --help / hello world: ${round(ratio, 2)}x`);
    writeResults(
      "cli-startup",
      { runs, helloMs: helloTimes.map((t) => round(t, 2)), snHelpMs: snTimes.map((t) => round(t, 2)), sizes: { helloBytes: statSync(hello).size, snBytes: statSync(sn).size }, buildScript: pkg.scripts.build },
      [
        { metric: "sn --help (compiled), median", value: round(snHelpMs, 1), unit: "ms" },
        { metric: "hello world (compiled), median", value: round(helloMs, 1), unit: "ms" },
        { metric: "sn --help / hello world", value: round(ratio, 2), unit: "x" },
        { metric: "sn binary size", value: round(mb(sn), 1), unit: "MB" },
      ],
    );
    return { helloMs, snHelpMs, ratio };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  watchdog(QUICK ? 120 : 300);
  await runCliStartupBench();
  process.exit(0);
}
