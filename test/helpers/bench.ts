/**
 * Running a benchmark script in quick mode as a subprocess, for the smoke tests of `bench/`: its
 * results go to a temporary folder (removed after the file's tests), and it is killed if it overruns.
 *
 * @module
 */
import { afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");

/** A quick-mode runner whose results land in a fresh folder, removed after the calling file's tests. */
export function quickBench(prefix: string): {
  run(args: string[], limitMs: number): Promise<{ code: number | null; out: string }>;
  outDir: string;
} {
  const outDir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));
  return {
    outDir,
    async run(args, limitMs) {
      const child = Bun.spawn([process.execPath, ...args, "--quick"], {
        cwd: root,
        env: { ...process.env, BENCH_RESULTS_DIR: outDir, BENCH_QUICK: "1" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
      const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      clearTimeout(timer);
      return { code, out: out + err };
    },
  };
}

/** True for a positive finite number (a measured figure). */
export const isPositive = (v: unknown): boolean => typeof v === "number" && Number.isFinite(v) && v > 0;
