/**
 * Batched dissemination pulls again at once, not a round later, when an answer brought much that
 * was new (`EAGER_PULL_ITEMS`): while a broadcast's replies spread, a node's next pull is likely to
 * bring more, and waiting for the round added up to an interval per hop.
 */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { Conversations } from "../../src/conversation/conversations.ts";
import { ConversationEndpoint, type ConversationHost } from "../../src/conversation/contracts.ts";
import { EAGER_PULL_ITEMS } from "../../src/conversation/dissemination.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Peer } from "../../src/types.ts";

const record = (i: number): Peer => ({ id: `${i}`.padStart(64, "0"), name: `p${i}`, address: "127.0.0.1", port: 7000 + i, swarm: "s", team: null, kind: "node", capabilities: [], last_seen: 1 });

/** Rounds run so far by the layers of this test: their interval timers' callbacks, counted. */
const rounds = { count: 0 };
const realSetInterval = globalThis.setInterval;
beforeEach(() => {
  rounds.count = 0;
  globalThis.setInterval = ((fn: () => void, ms?: number) => realSetInterval(() => (rounds.count++, fn()), ms)) as typeof setInterval;
});
afterEach(() => {
  globalThis.setInterval = realSetInterval;
});

/** A layer whose batch calls are answered by `answer` (the n-th call); `calls` lists the round each call was made in. */
function layerWith(answer: (n: number) => unknown[]) {
  const calls: number[] = [];
  const host: ConversationHost = {
    self: () => record(0),
    peers: () => [record(1), record(2)],
    admit: () => null,
    call: async (_peer, endpoint) => {
      if (endpoint !== ConversationEndpoint.Batch) return { ok: true };
      calls.push(rounds.count);
      return { items: answer(calls.length) };
    },
    emit: () => undefined,
    batches: () => true,
  };
  const layer = new Conversations(host, { batchInterval: 0.2 });
  layer.start();
  return { layer, calls };
}

const events = (n: number) => Array.from({ length: n }, (_, i) => ({ event: makeEvent({ conversationId: "c", kind: "note", peer: record(1 + (i % 2)), payload: { i } }) }));

async function untilCalled(calls: number[], n: number): Promise<void> {
  for (let i = 0; i < 500 && calls.length < n; i++) await Bun.sleep(5);
}

describe("conversation - batched dissemination, eager pulls", () => {
  test("an answer with EAGER_PULL_ITEMS new items or more is followed by the next pull at once, before the next round", async () => {
    const { layer, calls } = layerWith((n) => (n === 1 ? events(EAGER_PULL_ITEMS + 2) : []));
    void layer.emit("c", "note", { own: true }); // news here: the rounds start
    await untilCalled(calls, 2);
    // The second pull was made in the first one's round, once its answer was taken.
    expect(calls).toEqual([1, 1]);
    expect((await layer.conversation("c")).length).toBe(EAGER_PULL_ITEMS + 3);
    layer.stop();
  });

  test("an answer with fewer new items waits for the next round", async () => {
    const { layer, calls } = layerWith((n) => (n === 1 ? events(EAGER_PULL_ITEMS - 1) : []));
    void layer.emit("c", "note", { own: true });
    await untilCalled(calls, 2);
    expect(calls).toEqual([1, 2]); // the next round's pull
    layer.stop();
  });
});
