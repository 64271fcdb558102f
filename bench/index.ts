/**
 * The benchmark runner (`bun run bench`): runs every scenario `bench/<scenario>.ts` in a process of
 * its own, one after the other, then prints each scenario's headline figures and writes
 * `bench/results/index.json`.
 *
 *   bun bench/index.ts                 every scenario, full length
 *   bun bench/index.ts --quick         every scenario, smoke length (also BENCH_QUICK=1)
 *   bun bench/index.ts rpc membership  only these scenarios
 *
 * A scenario is any `.ts` file directly in `bench/` other than this one; it prints its own tables
 * and writes `bench/results/<scenario>.json` with `writeResults` from `bench/lib/harness.ts`
 * (whose `summary` rows are what this runner prints). Each scenario gets a time limit and is
 * stopped when it runs over. Exits non-zero when a scenario failed.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { QUICK, environment, resultsDir, type SummaryRow } from "./lib/harness.ts";
import { stopChildrenOnSignal } from "./lib/children.ts";

/**
 * Longest a scenario may run, seconds: a backstop above every scenario's own watchdog (the longest
 * are the broadcast, membership and teams runs, up to 900 s and more with a long steady window), so
 * that the runner never cuts a full run that its scenario would have finished.
 */
const LIMIT_SECONDS = QUICK ? 240 : 1800;

const benchDir = import.meta.dir;
const wanted = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const all = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && f !== "index.ts")
  .map((f) => basename(f, ".ts"))
  .sort((a, b) => (a === "rpc" ? -1 : b === "rpc" ? 1 : a.localeCompare(b)));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown scenario(s): ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
const scenarios = wanted.length > 0 ? all.filter((s) => wanted.includes(s)) : all;

interface Outcome {
  scenario: string;
  ok: boolean;
  exitCode: number | null;
  seconds: number;
  timedOut: boolean;
  resultFile: string | null;
  summary: SummaryRow[];
}

/** The scenario running now: stopped with this runner on Ctrl+C or SIGTERM. */
let current: ReturnType<typeof Bun.spawn> | null = null;
stopChildrenOnSignal(() => (current ? [current] : []));

async function runScenario(scenario: string): Promise<Outcome> {
  const file = join(benchDir, `${scenario}.ts`);
  const resultFile = join(resultsDir(), `${scenario}.json`);
  const started = Date.now();
  console.log(`\n=== ${scenario} (${QUICK ? "quick" : "full"}) ===`);
  const child = Bun.spawn([process.execPath, file, ...(QUICK ? ["--quick"] : [])], {
    cwd: join(benchDir, ".."),
    env: { ...process.env, ...(QUICK ? { BENCH_QUICK: "1" } : {}) },
    stdout: "inherit",
    stderr: "inherit",
  });
  current = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`${scenario}: over ${LIMIT_SECONDS} s, stopping it`);
    child.kill("SIGKILL");
  }, LIMIT_SECONDS * 1000);
  const exitCode = await child.exited;
  current = null;
  clearTimeout(timer);
  const seconds = (Date.now() - started) / 1000;
  // Only a result written by this run counts.
  const fresh = existsSync(resultFile) && statSync(resultFile).mtimeMs >= started - 1000;
  let summary: SummaryRow[] = [];
  if (fresh) {
    try {
      summary = (JSON.parse(readFileSync(resultFile, "utf8")) as { summary?: SummaryRow[] }).summary ?? [];
    } catch (error) {
      console.error(`${scenario}: unreadable ${resultFile}: ${(error as Error).message}`);
    }
  }
  const ok = exitCode === 0 && !timedOut && fresh;
  if (exitCode === 0 && !fresh) console.error(`${scenario}: finished but wrote no ${resultFile}`);
  return { scenario, ok, exitCode, seconds, timedOut, resultFile: fresh ? resultFile : null, summary };
}

const outcomes: Outcome[] = [];
for (const scenario of scenarios) outcomes.push(await runScenario(scenario));

console.log("\n=== summary ===");
for (const o of outcomes) {
  const status = o.ok ? "ok" : o.timedOut ? "TIMED OUT" : `FAILED (exit ${o.exitCode})`;
  console.log(`${o.scenario}: ${status} in ${o.seconds.toFixed(1)} s`);
  for (const row of o.summary) console.log(`  ${row.metric}: ${row.value}${row.unit ? ` ${row.unit}` : ""}`);
}

const indexFile = join(resultsDir(), "index.json");
await Bun.write(indexFile, `${JSON.stringify({ environment: environment(), scenarios: outcomes }, null, 2)}\n`);
console.log(`\nwrote ${indexFile}`);
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
