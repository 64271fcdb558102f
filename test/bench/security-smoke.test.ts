/**
 * The closed-swarm benchmark in quick mode, as a subprocess: it must finish and write
 * security.json with plaintext, encrypted and handshake figures. No timing thresholds: only the
 * shape of the result is checked.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..", "..");
const outDir = mkdtempSync(join(tmpdir(), "synapse-bench-security-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const isPositive = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;

test("bench - security quick run writes security.json with plaintext, encrypted and handshake figures", async () => {
  const child = Bun.spawn([process.execPath, "bench/security.ts", "--quick"], {
    cwd: root,
    env: { ...process.env, BENCH_RESULTS_DIR: outDir, BENCH_QUICK: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  expect(code, out + err).toBe(0);
  expect(out).toContain("Closed vs open: targets");
  const result = JSON.parse(readFileSync(join(outDir, "security.json"), "utf8"));
  expect(result.scenario).toBe("security");
  for (const side of [result.plain, result.secure]) {
    expect(isPositive(side.sequentialP50Us)).toBe(true);
    expect(isPositive(side.pipelinedReqPerSec)).toBe(true);
  }
  expect(isPositive(result.handshake.tcpP50Us)).toBe(true);
  expect(isPositive(result.handshake.cpuP50Us)).toBe(true);
  expect(typeof result.targets.handshakeMet).toBe("boolean");
}, 90_000);
