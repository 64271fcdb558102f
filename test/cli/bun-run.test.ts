/**
 * The documented way to run `sn` in this repository, `bun run sn ...`, prints only what sn prints:
 * `bunfig.toml` sets `[run] silent = true`, so Bun echoes no `$ bun src/cli/main.ts ...` line.
 */
import { describe, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import { ROOT } from "./run-sn.ts";

async function bunRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  for (const key of Object.keys(env)) if (key.startsWith("SN_")) delete env[key];
  const proc = Bun.spawn([process.execPath, "run", "sn", ...args], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe("cli - bun run sn is quiet", () => {
  test("`bun run sn --version`: the version on stdout, nothing on stderr", async () => {
    expect(await bunRun(["--version"])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  }, 60_000);

  test("a failing command: sn's one error line and its exit code, no line from Bun", async () => {
    const r = await bunRun(["pnig"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([`error: unknown command "pnig"; did you mean ping? (see \`sn --help\`)`]);
  }, 60_000);
});
