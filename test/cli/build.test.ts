/**
 * The compiled `sn` (`bun run build`): built here into a temporary directory with the flags of
 * package.json's `build` script, then run alone from an empty directory (no node_modules), as on
 * an edge box. Also a quick run of the start-up benchmark (no timing is asserted).
 */
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildArgs, compile } from "../../bench/cli-startup.ts";
import pkg from "../../package.json" with { type: "json" };
import { startNode, stopAll } from "../helpers/net.ts";
import { ROOT } from "./run-sn.ts";

const dir = mkdtempSync(join(tmpdir(), "sn-build-"));
const empty = join(dir, "empty");
mkdirSync(empty);
const binary = join(dir, "sn");

afterEach(stopAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runBinary(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([binary, ...args], { cwd: empty, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("cli build - the compiled binary", () => {
  test("package.json's build script compiles src/cli/main.ts into dist/sn", () => {
    expect(pkg.scripts.build).toStartWith("bun build src/cli/main.ts --compile ");
    expect(pkg.scripts.build).toEndWith("--outfile dist/sn");
    expect(buildArgs("x.ts", "/tmp/out")).toContain("/tmp/out");
    expect(readFileSync(join(ROOT, ".gitignore"), "utf8").split("\n")).toContain("dist/");
  });

  test("runs alone in an empty directory: help, version, a node command and a swarm command, nothing on stderr", async () => {
    compile(join(ROOT, "src", "cli", "main.ts"), binary);
    const help = await runBinary(["--help"]);
    expect(help).toMatchObject({ code: 0, stderr: "" });
    expect(help.stdout).toStartWith(`sn ${pkg.version}: watch and talk to a synapse swarm`);
    expect((await runBinary(["--version"])).stdout).toBe(`${pkg.version}\n`);
    expect((await runBinary(["watch", "--help"])).stdout).toStartWith("Usage: sn watch SWARM");

    const node = await startNode({ name: "edge", swarm: "cli-build", heartbeatInterval: null });
    node.endpoint("sum", (a: number, b: number) => a + b);
    node.ask((task) => `done: ${task}`);
    const addr = `127.0.0.1:${node.port}`;
    expect(await runBinary(["call", addr, "sum", "1", "-3"])).toEqual({ code: 0, stdout: "-2\n", stderr: "" });
    const ask = await runBinary(["ask", "cli-build", "build it", "--no-mdns", "-s", addr]);
    expect(ask.stderr).toBe("");
    expect(ask.code).toBe(0);
    expect(ask.stdout).toContain("- edge: done: build it\n");
    // The dashboard's page is embedded in the binary: served from an empty directory.
    const dashboard = Bun.spawn([binary, "dashboard", "cli-build", "--no-mdns", "-s", addr, "--listen", "127.0.0.1:0", "--json", "--duration", "30"], { cwd: empty, env: { PATH: process.env.PATH ?? "" }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    try {
      const first = await dashboard.stdout.getReader().read();
      const url = (JSON.parse(new TextDecoder().decode(first.value).split("\n")[0]!) as { url: string }).url;
      for (const [path, text] of [["", "<title>synapse dashboard</title>"], ["app.js", "new WebSocket("], ["style.css", "prefers-color-scheme: dark"]] as const) {
        const res = await fetch(`${url}${path}`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain(text);
      }
    } finally {
      dashboard.kill("SIGTERM");
      expect(await dashboard.exited).toBe(0);
    }
    const bad = await runBinary(["pnig"]);
    expect(bad).toEqual({ code: 2, stdout: "", stderr: 'error: unknown command "pnig"; did you mean ping? (see `sn --help`)\n' });
  }, 60_000);

  test("the start-up benchmark's quick run compares both binaries and writes its figures (no timing asserted)", async () => {
    const results = join(dir, "results");
    const child = Bun.spawn([process.execPath, "bench/cli-startup.ts", "--quick"], { cwd: ROOT, env: { ...process.env, BENCH_RESULTS_DIR: results }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout).toContain("sn --help / hello world: ");
    const written = JSON.parse(readFileSync(join(results, "cli-startup.json"), "utf8")) as { summary: Array<{ metric: string; value: number }>; helloMs: number[]; snHelpMs: number[] };
    expect(written.summary.map((r) => r.metric)).toEqual(["sn --help (compiled), median", "hello world (compiled), median", "sn --help / hello world", "sn binary size"]);
    expect(written.helloMs).toHaveLength(10);
    expect(written.snHelpMs).toHaveLength(10);
    for (const row of written.summary) expect(row.value).toBeGreaterThan(0);
  }, 120_000);
});
