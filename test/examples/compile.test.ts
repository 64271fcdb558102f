/**
 * Edge boxes run compiled binaries: `bun build --compile` of a node program must give a working
 * executable (no native add-on or dynamic import left behind).
 */
import { afterEach, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Client, Pool } from "../../src/index.ts";
import { freePort } from "../helpers/net.ts";

const root = join(import.meta.dir, "..", "..");
const started: Bun.Subprocess[] = [];
const pool = new Pool();
afterEach(() => {
  pool.closeAll();
  for (const p of started.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});


test("examples - basic_rpc node compiled with bun build --compile serves sum", async () => {
  const dir = join(root, ".tmp", "compile");
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, "calculator");
  const build = Bun.spawnSync([process.execPath, "build", "--compile", join(root, "examples/basic_rpc/node.ts"), "--outfile", binary], {
    cwd: root,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (build.exitCode !== 0) console.error(build.stderr.toString());
  expect(build.exitCode).toBe(0);

  const port = freePort();
  const node = Bun.spawn([binary], { env: { ...process.env, PORT: String(port) }, stdout: "pipe", stderr: "pipe" });
  started.push(node);
  const client = new Client("127.0.0.1", port, { pool, timeout: 2 });
  let result: unknown;
  for (let i = 0; i < 50 && result === undefined; i++) {
    result = await client.call("sum", 20, 22).catch(async () => {
      await Bun.sleep(100);
      return undefined;
    });
  }
  expect(result).toBe(42);
  node.kill("SIGTERM");
  expect(await node.exited).toBe(0);
  expect(await new Response(node.stdout).text()).toContain("sum - Add two numbers");
}, 30_000);
