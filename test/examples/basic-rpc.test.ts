import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort } from "../helpers/net.ts";

const root = join(import.meta.dir, "..", "..");
const started: Bun.Subprocess[] = [];

afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null) p.kill("SIGKILL");
});


async function readUntil(stream: ReadableStream<Uint8Array>, needle: string, timeoutMs: number): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (!text.includes(needle)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(text)}`);
      const chunk = await Promise.race([reader.read(), Bun.sleep(left).then(() => null)]);
      if (!chunk) continue;
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return text;
}

test("examples - basic_rpc node serves sum and client prints the result", async () => {
  const port = freePort();
  const env = { ...process.env, PORT: String(port) };
  const node = Bun.spawn(["bun", join(root, "examples/basic_rpc/node.ts")], { env, stdout: "pipe", stderr: "pipe" });
  started.push(node);
  const banner = await readUntil(node.stdout, "sum", 10_000);
  expect(banner).toContain(`listening on 0.0.0.0:${port}`);
  expect(banner).toContain("sum - Add two numbers");

  const client = Bun.spawn(["bun", join(root, "examples/basic_rpc/client.ts")], { env, stdout: "pipe", stderr: "pipe" });
  started.push(client);
  const code = await client.exited;
  const out = await new Response(client.stdout).text();
  expect(code).toBe(0);
  expect(out).toContain("sum(1, 2) = 3");
  expect(out).toContain("sum(a=1, b=2) = 3");

  node.kill("SIGTERM");
  expect(await node.exited).toBe(0);
});
