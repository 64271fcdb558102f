import { afterEach, expect, test } from "bun:test";
import { ConfigError } from "../../src/errors.ts";
import { sleep, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

test("conversation - a stopped node calls no peer and keeps its pool closed", async () => {
  const [a, b] = await swarm(2);
  const seen: string[] = [];
  a!.on("conversation.event", (e) => seen.push(e.kind));
  const open = await b!.broadcast("_synapse.ping");
  await b!.stop();
  expect(b!.pool.list()).toEqual([]);
  // Recorded locally, sent to nobody: the pool stays empty and the peer hears nothing.
  const before = seen.length;
  await b!.emitConversationEvent(open, "note", { text: "after stop" });
  await sleep(50);
  expect(b!.pool.list()).toEqual([]);
  expect(seen.length).toBe(before);
  expect((await b!.conversation(open)).map((e) => e.kind)).toContain("note");
  // A broadcast needs a running node.
  await expect(b!.broadcast("_synapse.ping")).rejects.toBeInstanceOf(ConfigError);
});
