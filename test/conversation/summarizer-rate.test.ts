/**
 * A forged burst of events must not cost a summarizer (LLM) call per few events: automatic
 * compaction calls the summarizer at most once per `conversationSummarizerInterval` per
 * conversation, and folds with the digest in between, so the conversation still stays in bounds.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { ConversationEndpoint } from "../../src/conversation/contracts.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { uuidv7 } from "../../src/conversation/uuid.ts";
import { nowSeconds } from "../../src/util/time.ts";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { settle, startNode, stopAll } from "./swarm.ts";

afterEach(stopAll);

const forger = (port: number): Peer => ({ id: "f".repeat(64), address: "127.0.0.1", port, swarm: "conv", team: "default", name: "forger", kind: "node", capabilities: [], last_seen: nowSeconds() });

/** Send `count` events of one new conversation to `node`, as a forger would; the summarizer calls made. */
async function burst(node: Node, count: number): Promise<number> {
  let calls = 0;
  node.summarizer((events) => {
    calls++;
    return `llm summary of ${events.length}`;
  });
  const client = new Client("127.0.0.1", node.port, { timeout: 10 });
  const peer = forger(1);
  const id = uuidv7();
  const base = nowSeconds() - 100;
  for (let i = 0; i < count; i++) {
    const event = makeEvent({ conversationId: id, eventId: i === 0 ? id : undefined, kind: i === 0 ? "message" : "note", peer, payload: { i }, createdAt: base + i * 0.01 });
    await client.call(ConversationEndpoint.Event, event);
  }
  await settle([node]);
  expect((await node.conversation(id)).length).toBeLessThanOrEqual(10);
  return calls;
}

describe("conversation - summarizer rate", () => {
  test("300 forged events cost one summarizer call within the interval; the conversation stays within maxEvents", async () => {
    const node = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationMaxEvents: 10, conversationSummarizerInterval: 3600 });
    expect(await burst(node, 300)).toBe(1);
  });

  test("without the limit (interval 0) the same burst calls it once per few events", async () => {
    const node = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationMaxEvents: 10, conversationSummarizerInterval: 0 });
    expect(await burst(node, 300)).toBeGreaterThan(20);
  });

  test("a manual compaction always calls the summarizer; a negative interval is refused", async () => {
    const node = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationMaxEvents: 10, conversationSummarizerInterval: 3600 });
    expect(await burst(node, 30)).toBe(1);
    const id = (await node.conversationLayer.list())[0]!;
    const summary = await node.compactConversation(id, { keepRecent: 1 });
    expect(summary?.payload.summary).toMatch(/^llm summary of \d+$/);
    await expect(startNode({ conversationSummarizerInterval: -1 })).rejects.toThrow(/conversationSummarizerInterval/);
  });
});
