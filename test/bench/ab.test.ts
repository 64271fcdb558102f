/**
 * `bench/ab.ts`, alternated pairs of runs of two versions, and its statistics (`bench/lib/paired.ts`).
 * No timing thresholds: the runs' metrics are printed numbers, not timings.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { median, readMetric, signTestP, summarizePairs } from "../../bench/lib/paired.ts";

const root = join(import.meta.dir, "..", "..");

async function ab(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = Bun.spawn([process.execPath, "bench/ab.ts", ...args], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, out: out + err };
}

test("paired - median, sign test and a bootstrap interval of the median difference", () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 3, 2])).toBe(2.5);
  expect(Number.isNaN(median([]))).toBe(true);
  // 8 of 8 one way: 2 / 2^8; 4 of 8: 1.
  expect(signTestP(0, 8)).toBeCloseTo(2 / 256, 10);
  expect(signTestP(8, 8)).toBeCloseTo(2 / 256, 10);
  expect(signTestP(4, 8)).toBe(1);
  expect(signTestP(1, 10)).toBeCloseTo((2 * (1 + 10)) / 1024, 10);
  expect(signTestP(0, 0)).toBe(1);

  // B lower by 10 in every pair, whatever A's level: a median difference of -10, an interval of it alone.
  const a = [100, 130, 90, 160, 120, 110];
  const s = summarizePairs(a, a.map((x) => x - 10));
  expect(s).toMatchObject({ pairs: 6, bLower: 6, bHigher: 0, medianDiff: -10, diffInterval: [-10, -10] });
  expect(s.a).toEqual({ median: 115, min: 90, max: 160 });
  expect(s.b).toEqual({ median: 105, min: 80, max: 150 });
  expect(s.signP).toBeCloseTo(2 / 64, 10);

  // Missing values leave their pair out; mixed differences give an interval around their median; the same input, the same interval.
  const mixed = summarizePairs([10, 10, null, 10, 10, 10, 10], [12, 7, 5, 11, 9, 14, null]);
  expect(mixed.pairs).toBe(5);
  expect([mixed.bLower, mixed.bHigher, mixed.medianDiff]).toEqual([2, 3, 1]);
  expect(mixed.diffInterval[0]).toBeLessThanOrEqual(1);
  expect(mixed.diffInterval[1]).toBeGreaterThanOrEqual(1);
  expect(summarizePairs([10, 10, null, 10, 10, 10, 10], [12, 7, 5, 11, 9, 14, null]).diffInterval).toEqual(mixed.diffInterval);
});

test("paired - a metric from the last JSON line that holds it, or the first group of a regular expression", () => {
  const output = ['{"x": 1, "deep": {"y": 2}}', "noise {not json", "200  no  yes  1,234.5  7", '{"x": 3}', "tail"].join("\n");
  expect(readMetric("json:x", output)).toBe(3);
  expect(readMetric("json:deep.y", output)).toBe(2);
  expect(readMetric("json:missing", output)).toBeNull();
  expect(readMetric("^200\\s+\\S+\\s+\\S+\\s+([\\d,.]+)", output)).toBe(1234.5);
  expect(readMetric("^300 (\\d+)", output)).toBeNull();
});

test("bench - ab runs a command in two versions in alternated pairs, reads its metrics, and removes its worktree", async () => {
  const script = 'console.log("value 1,500"); console.log(JSON.stringify({ x: 7 }))';
  const { code, out } = await ab(["--a", "HEAD", "--pairs", "2", "--metric", "x=json:x", "--metric", "v=^value ([\\d,]+)", "--", process.execPath, "-e", script]);
  expect(code, out).toBe(0);
  expect(out).toContain("pair 1: A: x 7.00, v 1500; B: x 7.00, v 1500");
  expect(out).toContain("pair 2: B: x 7.00, v 1500; A: x 7.00, v 1500");
  const result = JSON.parse(out.trim().split("\n").at(-1)!);
  expect(result.values).toEqual({ a: { x: [7, 7], v: [1500, 1500] }, b: { x: [7, 7], v: [1500, 1500] } });
  expect(result.summaries.x).toMatchObject({ pairs: 2, bLower: 0, bHigher: 0, medianDiff: 0 });
  expect(result.b).toContain("working tree");
  // The worktree of A is gone, and git no longer lists it.
  const list = Bun.spawnSync(["git", "worktree", "list"], { cwd: root }).stdout.toString();
  expect(list).not.toContain("synapse-ab-");
});

test("bench - ab: a mistake gets one line that says what to do, and no run", async () => {
  for (const [args, says] of [
    [["--a", "HEAD", "--metric", "x=json:x"], "no command after --"],
    [["--metric", "x=json:x", "--", "true"], "--a <rev> is required"],
    [["--a", "HEAD", "--pairs", "0", "--metric", "x=json:x", "--", "true"], "--pairs must be an integer from 1 to 100"],
    [["--a", "HEAD", "--metric", "x", "--", "true"], "a metric is <name>=<spec>"],
    [["--a", "HEAD", "--colour", "x", "--", "true"], "unknown option --colour"],
    [["--a", "no-such-rev-s52", "--metric", "x=json:x", "--", "true"], "git rev-parse"],
    [["--a", "HEAD", "--metric", "x=(unclosed", "--", "true"], "not a regular expression: (unclosed"],
    [["--a", "HEAD", "--metric", "x=json:x", "--", "no-such-command-s52"], "cannot run no-such-command-s52"],
    [["--a", "HEAD", "--cpus", "lots", "--metric", "x=json:x", "--", "true"], "--cpus lots: give a number of cores from 0.05 to "],
  ] as Array<[string[], string]>) {
    const { code, out } = await ab(args);
    expect(code).toBe(2);
    expect(out.split("\n")[0]).toContain(`ab: ${says}`);
    expect(out).not.toContain("    at ");
  }
});

test("bench - ab stopped by SIGTERM stops its run and removes its worktree", async () => {
  const child = Bun.spawn([process.execPath, "bench/ab.ts", "--a", "HEAD", "--pairs", "3", "--metric", "x=json:x", "--", process.execPath, "-e", "setTimeout(() => {}, 30000)"], { cwd: root, stdout: "pipe", stderr: "pipe" });
  // Wait for the worktree, then for its first run to start.
  const listed = () => Bun.spawnSync(["git", "worktree", "list"], { cwd: root }).stdout.toString();
  for (let i = 0; i < 100 && !listed().includes("synapse-ab-"); i++) await Bun.sleep(100);
  expect(listed()).toContain("synapse-ab-");
  await Bun.sleep(300);
  child.kill("SIGTERM");
  const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
  expect(code).toBe(130);
  expect(err).toContain("ab: stopped (SIGTERM)");
  expect(listed()).not.toContain("synapse-ab-");
}, 30_000);
