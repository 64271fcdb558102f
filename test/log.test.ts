import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { join } from "node:path";
import { disableLogging, enableLogging, logEnabled, type LogLevel } from "../src/log.ts";
import { Client } from "../src/rpc/client.ts";
import { Pool } from "../src/transport/pool.ts";
import { LOOPBACK, RawSocket, startNode, stopAll, within } from "./helpers/net.ts";

const pools: Pool[] = [];
afterEach(async () => {
  disableLogging();
  for (const p of pools.splice(0)) p.closeAll();
  await stopAll();
});

interface Line {
  level: LogLevel;
  scope: string;
  message: string;
}

/** Things that log: a node starting, an endpoint that throws, an oversize frame. */
async function noisyWork(): Promise<void> {
  const node = await startNode({ maxUploadSize: 100 });
  node.endpoint("boom", () => {
    throw new Error("logged failure");
  });
  const pool = new Pool();
  pools.push(pool);
  const client = new Client(LOOPBACK, node.port, { pool, timeout: 5 });
  await client.call("boom").catch(() => {});
  const raw = await RawSocket.open(node.port);
  await raw.write(Uint8Array.of(0, 0, 1, 0));
  await raw.nextFrame();
  await raw.waitClosed();
}

const RUN_NODE = join(import.meta.dir, "helpers", "run-node.ts");

async function probe(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean = { ...process.env };
  delete clean.SYNAPSE_DEBUG;
  delete clean.DEBUG;
  const child = Bun.spawn(["bun", RUN_NODE, "--probe"], { env: { ...clean, ...env }, stdout: "pipe", stderr: "pipe" });
  const code = await within(child.exited, 20_000, "probe exit");
  return { code, stdout: await new Response(child.stdout).text(), stderr: await new Response(child.stderr).text() };
}

describe("logging - in process", () => {
  test("silent by default: nothing reaches stderr", async () => {
    if (process.env.SYNAPSE_DEBUG || process.env.DEBUG) {
      // The test runner itself was started with logging on; the subprocess tests below cover the default.
      disableLogging();
    }
    expect(logEnabled("error")).toBe(false);
    const spy = spyOn(console, "error");
    try {
      await noisyWork();
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });

  test("enableLogging() switches it on, into a sink; disableLogging() off again", async () => {
    const lines: Line[] = [];
    enableLogging("debug", (level, scope, message) => void lines.push({ level, scope, message }));
    expect(logEnabled("debug")).toBe(true);
    await noisyWork();
    expect(lines.some((l) => l.scope === "node" && l.level === "debug" && l.message.includes("listening on"))).toBe(true);
    expect(lines.some((l) => l.scope === "endpoints" && l.message.includes("boom"))).toBe(true);
    expect(lines.some((l) => l.scope === "server" && l.message.includes("frame too large: 256 > 100"))).toBe(true);

    disableLogging();
    const before = lines.length;
    await noisyWork();
    expect(lines.length).toBe(before);
  });

  test("a level threshold drops the lower levels", async () => {
    const lines: Line[] = [];
    enableLogging("warn", (level, scope, message) => void lines.push({ level, scope, message }));
    expect([logEnabled("debug"), logEnabled("info"), logEnabled("warn"), logEnabled("error")]).toEqual([false, false, true, true]);
    await noisyWork();
    expect(lines.filter((l) => l.level === "debug" || l.level === "info")).toEqual([]);
  });
});

describe("logging - environment", () => {
  test("a process without SYNAPSE_DEBUG prints nothing", async () => {
    const { code, stdout, stderr } = await probe({});
    expect(code).toBe(0);
    expect(stdout).toContain("probe done");
    expect(stderr).toBe("");
  });

  test("SYNAPSE_DEBUG=1 turns debug logging on", async () => {
    const { code, stdout, stderr } = await probe({ SYNAPSE_DEBUG: "1" });
    expect(code).toBe(0);
    expect(stdout).toContain("probe done");
    expect(stderr).toMatch(/DEBUG synapse:node runner listening on 127\.0\.0\.1:\d+/);
    expect(stderr).toContain("synapse:endpoints endpoint boom raised");
  });

  test("DEBUG=synapse* does the same", async () => {
    const { code, stderr } = await probe({ DEBUG: "synapse*" });
    expect(code).toBe(0);
    expect(stderr).toContain("synapse:node runner listening on");
  });
});
