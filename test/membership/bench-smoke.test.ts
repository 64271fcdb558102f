/**
 * bench/membership.ts in quick mode, as a subprocess: it must finish, print its table and write a
 * result file of the expected shape. The numbers are not judged (no timing thresholds), except
 * facts that do not depend on speed: every scenario converged and counted heartbeats.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const outDir = mkdtempSync(join(tmpdir(), "synapse-membership-bench-"));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

test("membership - bench quick run writes membership.json with convergence and heartbeat rates", async () => {
  const child = Bun.spawn([process.execPath, "bench/membership.ts", "--quick"], {
    cwd: root,
    env: { ...process.env, BENCH_RESULTS_DIR: outDir, BENCH_QUICK: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 100_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect(code, out + err).toBe(0);
  expect(out).toContain("membership: N nodes joined through one seed");

  const result = JSON.parse(readFileSync(join(outDir, "membership.json"), "utf8"));
  expect(result.scenario).toBe("membership");
  expect(result.environment.quick).toBe(true);
  expect(result.scenarios.map((s: { nodes: number }) => s.nodes)).toEqual([20, 50]);
  for (const s of result.scenarios) {
    expect(s.convergenceMs).toBeGreaterThan(0);
    expect(s.convergenceJoins).toBeGreaterThanOrEqual(s.nodes - 1);
    expect(s.heartbeatsPerNodePerSec).toBeGreaterThan(0);
    expect(s.expectedPerNodePerSec).toBeCloseTo((s.nodes - 1) / s.heartbeatInterval, 3);
  }
  expect(result.summary.length).toBe(4);
}, 120_000);
