/**
 * Two versions of the package, one benchmark command, alternated pairs of runs: the way this
 * project compares a change with the code before it on a machine whose speed moves by a quarter
 * from one half hour to the next (docs/performance.md#comparing-two-versions).
 *
 * Each version is a git revision checked out in a temporary worktree (its `node_modules` a link
 * to this checkout's), or `.`, this checkout as it is. Pair i runs A then B when i is even and B
 * then A when odd, so that neither version always runs first. Each metric is read from a run's
 * output (`bench/lib/paired.ts`, `readMetric`): `json:<key>[.<key>...]` from its last JSON line
 * holding it, or a regular expression whose first group is the number. Prints, per metric, each
 * version's median and range, the pairs where B was lower and higher, the median difference B − A
 * with a 90% bootstrap interval, and a sign test; then one JSON line with every run's values.
 *
 * `--cpus C` runs every run under a CPU quota of C cores (`lib/cpu-limit.ts`: this script joins a
 * control group with that quota, and each run it starts is in it, whatever the revision's bench
 * knows of `--cpus`).
 *
 * Run: `bun bench/ab.ts --a <rev> [--b <rev>|.] [--pairs 8] [--timeout 900] [--cpus 1.3] --metric <name>=<spec> [--metric ...] -- <command> [args...]`
 * e.g. `bun bench/ab.ts --a HEAD~1 --pairs 10 --metric mergeUs=json:mergeUs -- bun bench/lib/swim-merge.ts --joiners 300`
 *
 * @module
 */
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { applyCpusFlag } from "./lib/cpu-limit.ts";
import { readMetric, summarizePairs } from "./lib/paired.ts";

const root = resolve(import.meta.dir, "..");
/** The folder of the worktrees, made with the first one. */
let scratch: string | null = null;
const worktrees: string[] = [];

const USAGE = "usage: bun bench/ab.ts --a <rev> [--b <rev>|.] [--pairs 8] [--timeout 900] [--cpus 1.3] --metric <name>=<spec> [--metric ...] -- <command> [args...]";
const MAX_PAIRS = 100;

function fail(message: string): never {
  console.error(`ab: ${message}\n${USAGE}`);
  cleanup();
  process.exit(2);
}

const argv = process.argv.slice(2);
const split = argv.indexOf("--");
if (split < 0 || split === argv.length - 1) fail("no command after --");
const own = argv.slice(0, split);
const command = argv.slice(split + 1);
const options = new Map<string, string[]>();
for (let i = 0; i < own.length; i += 2) {
  const key = own[i]!;
  const value = own[i + 1];
  if (!["--a", "--b", "--pairs", "--timeout", "--cpus", "--metric"].includes(key)) fail(`unknown option ${key}`);
  if (value === undefined) fail(`${key} needs a value`);
  options.set(key, [...(options.get(key) ?? []), value]);
}
const one = (key: string, fallback?: string) => options.get(key)?.at(-1) ?? fallback;
const revA = one("--a") ?? fail("--a <rev> is required");
const revB = one("--b", ".")!;
const pairs = Number(one("--pairs", "8"));
const timeoutS = Number(one("--timeout", "900"));
if (!Number.isInteger(pairs) || pairs < 1 || pairs > MAX_PAIRS) fail(`--pairs must be an integer from 1 to ${MAX_PAIRS}`);
if (!(timeoutS > 0)) fail("--timeout must be a number of seconds > 0");
const metrics = (options.get("--metric") ?? []).map((m) => {
  const eq = m.indexOf("=");
  if (eq <= 0 || eq === m.length - 1) fail(`a metric is <name>=<spec>, not ${m}`);
  const spec = m.slice(eq + 1);
  if (!spec.startsWith("json:")) {
    try {
      new RegExp(spec, "m");
    } catch {
      fail(`not a regular expression: ${spec}`);
    }
  }
  return { name: m.slice(0, eq), spec };
});
if (metrics.length === 0) fail("at least one --metric");
if (Bun.which(command[0]!, { cwd: root }) === null) fail(`cannot run ${command[0]}: not found (in $PATH, or as a path from ${root})`);

// `--cpus C`: this script joins a control group with that CPU quota, which every run inherits (null without it).
const cpusSpec = one("--cpus");
const cpus = cpusSpec === undefined ? null : applyCpusFlag(["--cpus", cpusSpec], fail);

function git(args: string[]): string {
  const r = Bun.spawnSync(["git", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`git ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString().trim();
}

/** The directory version `rev` runs in: this checkout for `.`, else a fresh worktree of it. */
function checkout(rev: string, label: string): { dir: string; commit: string } {
  if (rev === ".") return { dir: root, commit: `${git(["rev-parse", "--short", "HEAD"])} (working tree)` };
  const commit = git(["rev-parse", "--short", `${rev}^{commit}`]);
  scratch ??= mkdtempSync(join(tmpdir(), "synapse-ab-"));
  const dir = join(scratch, label);
  git(["worktree", "add", "--detach", dir, commit]);
  worktrees.push(dir);
  if (existsSync(join(root, "node_modules"))) symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return { dir, commit };
}

function cleanup(): void {
  for (const dir of worktrees.splice(0)) Bun.spawnSync(["git", "worktree", "remove", "--force", dir], { cwd: root });
  if (scratch !== null) rmSync(scratch, { recursive: true, force: true });
  scratch = null;
}

/** One run of the command in `dir`, its output piped. */
const spawnIn = (dir: string) => Bun.spawn(command, { cwd: dir, stdout: "pipe", stderr: "pipe" });
/** The run in progress, stopped with this script (Ctrl+C, SIGTERM). */
let running: ReturnType<typeof spawnIn> | null = null;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    running?.kill(signal);
    cleanup();
    console.error(`ab: stopped (${signal}); the worktrees are removed`);
    process.exit(130);
  });
}

async function runOnce(dir: string): Promise<{ output: string; code: number | null }> {
  let child: ReturnType<typeof spawnIn>;
  try {
    child = spawnIn(dir);
  } catch (error) {
    fail(`cannot run ${command[0]}: ${error instanceof Error ? error.message : String(error)}`);
  }
  running = child;
  const timer = setTimeout(() => child.kill(), timeoutS * 1000);
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  const code = await child.exited;
  clearTimeout(timer);
  running = null;
  return { output: out + err, code: child.signalCode ? null : code };
}

const fmt = (x: number) => (Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2)) : "-");

try {
  const a = checkout(revA, "a");
  const b = checkout(revB, "b");
  console.log(`A ${a.commit}, B ${b.commit}; ${pairs} pairs of: ${command.join(" ")}${cpus === null ? "" : ` (under a CPU quota of ${cpus} cores)`}`);
  const values: Record<"a" | "b", Record<string, Array<number | null>>> = { a: {}, b: {} };
  for (const { name } of metrics) {
    values.a[name] = [];
    values.b[name] = [];
  }
  for (let i = 0; i < pairs; i++) {
    const order: Array<"a" | "b"> = i % 2 === 0 ? ["a", "b"] : ["b", "a"];
    const line: string[] = [];
    for (const v of order) {
      const { output, code } = await runOnce(v === "a" ? a.dir : b.dir);
      const read = metrics.map(({ name, spec }) => {
        const x = code === 0 ? readMetric(spec, output) : null;
        values[v][name]!.push(x);
        return `${name} ${x === null ? "-" : fmt(x)}`;
      });
      line.push(`${v.toUpperCase()}${code === 0 ? "" : ` (exit ${code ?? "timeout"})`}: ${read.join(", ")}`);
    }
    console.log(`pair ${i + 1}: ${line.join("; ")}`);
  }
  console.log("");
  console.log("metric            pairs  A median [range]          B median [range]          B lower/higher  B − A median [90%]        sign p");
  const summaries: Record<string, ReturnType<typeof summarizePairs>> = {};
  for (const { name } of metrics) {
    const s = (summaries[name] = summarizePairs(values.a[name]!, values.b[name]!));
    console.log(
      [
        name.padEnd(16),
        String(s.pairs).padStart(6),
        `  ${fmt(s.a.median)} [${fmt(s.a.min)}-${fmt(s.a.max)}]`.padEnd(26),
        `${fmt(s.b.median)} [${fmt(s.b.min)}-${fmt(s.b.max)}]`.padEnd(26),
        `${s.bLower}/${s.bHigher}`.padEnd(16),
        `${fmt(s.medianDiff)} [${fmt(s.diffInterval[0])}, ${fmt(s.diffInterval[1])}]`.padEnd(26),
        s.signP.toFixed(2),
      ].join(""),
    );
  }
  console.log(JSON.stringify({ a: a.commit, b: b.commit, command, pairs, cpus, values, summaries }));
} finally {
  cleanup();
}
