/**
 * `askSwarm` at its timeout reads the sockets once more before it ends: a reply that arrived while
 * the asker's event loop was blocked (here by the caller's own loop body, for longer than the
 * timeout) came in time and is yielded, rather than lost to a timer that Bun runs before its reads.
 * The answering node is a process of its own, so that it replies during the block.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Node } from "../../src/node.ts";
import { JsonLines } from "../helpers/netns.ts";
import { blockLoop as busy } from "../helpers/net.ts";

const CHILD = join(import.meta.dir, "ask-child.ts");
const made: Node[] = [];
const children: Bun.Subprocess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await Promise.all(made.map((n) => n.stop()));
});

test("a reply that arrived while the asker's loop was blocked past the timeout is yielded", async () => {
  const asker = new Node({ name: "asker", swarm: "lab", bind: "127.0.0.1", port: 0, mdns: false, heartbeatInterval: null });
  made.push(asker);
  await asker.start();
  const child = Bun.spawn([process.execPath, CHILD, `127.0.0.1:${asker.port}`], { stdout: "pipe", stderr: "inherit" });
  children.push(child);
  const helper = (await new JsonLines(child.stdout).next((l) => l.event === "ready", 10_000, "the helper joined")).id as string;
  const timeout = 0.3;
  for (let round = 0; round < 2; round++) {
    const seen: string[] = [];
    for await (const answer of asker.askSwarm(`task ${round}`, { timeout })) {
      seen.push(answer.kind === "reply" ? `reply ${String(answer.result)}` : answer.kind);
      expect(answer.peer.id).toBe(helper);
      // The helper replies 50 ms after its ACK; this loop holds the event loop past the timeout.
      if (answer.kind === "ack") busy(1000);
    }
    expect(seen).toEqual(["ack", `reply done: task ${round}`]);
  }
}, 30_000);
