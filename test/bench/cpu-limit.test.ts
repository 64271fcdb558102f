/**
 * The benches' `--cpus C` (bench/lib/cpu-limit.ts): a mistaken value is one line; as root, a child
 * process that sets a quota runs in a control group of its own with that quota, the processes it
 * starts are in it too, the kernel holds a busy loop there back (its throttle counter, not a
 * timing), and the group is gone once the process exits. Skipped, with the reason, without root or
 * the cgroup `cpu` controller.
 */
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CpuLimitError, cpuLimitUnavailable, cpuQuota, parseCpus } from "../../bench/lib/cpu-limit.ts";

const ROOT = join(import.meta.dir, "..", "..");

const why = cpuLimitUnavailable();
if (why) console.warn(`SKIP cpu quota test: ${why}`);
const rootTest = why ? test.skip : test;

test("bench - --cpus takes a number of cores from 0.05 to the machine's; anything else is one line saying what to give", () => {
  expect(parseCpus("1.3", 2)).toBe(1.3);
  expect(parseCpus("2", 2)).toBe(2);
  for (const bad of ["0", "abc", "", "3", "-1", "0.01"]) {
    let error: unknown;
    try {
      parseCpus(bad, 2);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CpuLimitError);
    expect((error as CpuLimitError).code).toBe("BAD_CPUS");
    expect((error as Error).message).toBe(`--cpus ${bad}: give a number of cores from 0.05 to 2 (as 1.3)`);
  }
});

test("bench - a bench given a mistaken --cpus stops before it runs anything, with one line", () => {
  const run = Bun.spawnSync([process.execPath, join(ROOT, "bench", "membership.ts"), "--swarm-only", "--cpus", "many"], { cwd: ROOT, env: { ...process.env, BENCH_RESULTS_DIR: "/nonexistent" } });
  expect(run.exitCode).toBe(2);
  const err = run.stderr.toString().trim();
  expect(err).toStartWith("--cpus many: give a number of cores from 0.05 to ");
  expect(err.split("\n")).toHaveLength(1);
  expect(run.stdout.toString()).not.toContain("machine:");
});

rootTest("bench - --cpus runs the process and its children under the quota, which holds a busy loop back, and removes its group at exit", () => {
  // The child: sets 0.05 cores, starts a grandchild that prints its group, spins 300 ms (a
  // quota of 1 ms in each 20 ms period must throttle it), and prints what it found.
  const script = `
    import { readFileSync } from "node:fs";
    import { join } from "node:path";
    import { applyCpusFlag, cpuGroupDir, cpuQuota } from ${JSON.stringify(join(ROOT, "bench", "lib", "cpu-limit.ts"))};
    const set = applyCpusFlag(["--cpus", "0.05"]);
    const own = readFileSync("/proc/self/cgroup", "utf8");
    const grandchild = Bun.spawnSync(["cat", "/proc/self/cgroup"]).stdout.toString();
    const dir = cpuGroupDir();
    const t0 = performance.now();
    let spins = 0;
    while (performance.now() - t0 < 300) spins++;
    const stat = readFileSync(join(dir, "cpu.stat"), "utf8");
    console.log(JSON.stringify({ set, quota: cpuQuota(), own, grandchild, dir, throttled: Number(/nr_throttled (\\d+)/.exec(stat)[1]) }));
  `;
  const run = Bun.spawnSync([process.execPath, "-e", script], { cwd: ROOT });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
  const found = JSON.parse(run.stdout.toString()) as { set: number; quota: number; own: string; grandchild: string; dir: string; throttled: number };
  expect(found.set).toBe(0.05);
  expect(found.quota).toBe(0.05);
  expect(found.dir).toEndWith(`/synapse-bench-${run.pid}`);
  expect(found.own).toContain(`synapse-bench-${run.pid}`);
  // The grandchild inherited the group: same lines, but for its memory group and the like, which the test does not move.
  expect(found.grandchild).toContain(`synapse-bench-${run.pid}`);
  expect(found.throttled).toBeGreaterThan(0);
  // Gone at exit, and this process was never in it.
  expect(existsSync(found.dir)).toBe(false);
  expect(cpuQuota()).not.toBe(0.05);
});

rootTest("bench - ab --cpus runs both versions under the quota, whatever their bench knows of --cpus", async () => {
  // The command prints the quota it runs under: it does not set one itself.
  const script = `import { cpuQuota } from ${JSON.stringify(join(ROOT, "bench", "lib", "cpu-limit.ts"))}; console.log(JSON.stringify({ q: cpuQuota() }));`;
  const child = Bun.spawn([process.execPath, "bench/ab.ts", "--a", "HEAD", "--pairs", "1", "--cpus", "0.5", "--metric", "q=json:q", "--", process.execPath, "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect(code, out + err).toBe(0);
  expect(out.split("\n")[0]).toEndWith("(under a CPU quota of 0.5 cores)");
  const result = JSON.parse(out.trim().split("\n").at(-1)!);
  expect(result.cpus).toBe(0.5);
  expect(result.values).toEqual({ a: { q: [0.5] }, b: { q: [0.5] } });
  // Its group is gone with it.
  const left = Bun.spawnSync(["find", "/sys/fs/cgroup", "-maxdepth", "4", "-name", `synapse-bench-${child.pid}`]).stdout.toString();
  expect(left).toBe("");
});
