/**
 * A call's deadline against this process's own stalls: when the caller's event loop was blocked
 * past a call's deadline while its answer arrived, the answer settles the call, not a timeout (the
 * timeout sweep runs after the reads of its turn: `util/turn.ts`). Without it, Bun runs the
 * overdue timer before it reads the socket, and a busy process failed calls its peers had answered
 * in time. A call that had no answer still times out.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Client } from "../../src/rpc/client.ts";
import { CallTimeoutError } from "../../src/errors.ts";
import { blockLoop as busy } from "../helpers/net.ts";

const CHILD = join(import.meta.dir, "late-answer-child.ts");
let child: Bun.Subprocess<"ignore", "pipe", "inherit">;
let port = 0;

beforeAll(async () => {
  child = Bun.spawn(["bun", CHILD], { stdout: "pipe", stderr: "inherit" });
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the child ended before it listened");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  port = (JSON.parse(text.split("\n")[0]!) as { port: number }).port;
});

afterAll(async () => {
  child.kill("SIGTERM");
  await child.exited;
});

test("an answer that arrived while the caller's loop was blocked past the deadline settles the call", async () => {
  const client = new Client("127.0.0.1", port, { timeout: 0.3 });
  try {
    expect(await client.call("echo", 0)).toBe(0); // connected and negotiated
    for (let round = 1; round <= 3; round++) {
      // The answer comes 50 ms after the request; the loop is blocked from the first answer's
      // read (20-30 ms in) for 1 s, past the 300 ms deadline, and the answer arrives meanwhile.
      const late = client.call("later", round, 50);
      await client.call("echo", -round);
      busy(1000);
      expect(await late).toBe(round);
    }
  } finally {
    client.close();
  }
});

test("a call whose answer did not come in time still fails with CallTimeoutError", async () => {
  const client = new Client("127.0.0.1", port, { timeout: 0.2 });
  try {
    const late = client.call("later", 1, 2000).catch((e: unknown) => e);
    await client.call("echo", 0);
    busy(400);
    const error = await late;
    expect(error).toBeInstanceOf(CallTimeoutError);
    expect((error as CallTimeoutError).timeoutMs).toBe(200);
  } finally {
    client.close();
  }
});
