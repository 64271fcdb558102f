/**
 * What a flood of events costs a node without retention: the default in-memory log keeps at most
 * `maxEvents` events (dropping the least recently active conversations whole), and the reply cache
 * keeps at most REPLY_CACHE_BROADCASTS broadcasts; a reply learnt again after its broadcast left the
 * cache is still refused by the log's event id.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { DEFAULT_MEMORY_LOG_EVENTS, MemoryConversationLog } from "../../src/conversation/memory-log.ts";
import { REPLY_CACHE_BROADCASTS, ReplyBook } from "../../src/conversation/replies.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { ConfigError } from "../../src/errors.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { Client, kw } from "../../src/rpc/client.ts";
import type { Peer } from "../../src/types.ts";
import { stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

const peer = (i: number): Peer => ({ id: `${i}`.padStart(64, "e"), address: "127.0.0.1", port: 1000 + (i % 1000), swarm: "conv", team: "default", name: `p${i}`, kind: "node", capabilities: [], last_seen: nowSeconds() });

describe("conversation - memory bounds", () => {
  test("the memory log keeps at most maxEvents events, dropping the least recently active conversations whole", () => {
    expect(new MemoryConversationLog().maxEvents).toBe(DEFAULT_MEMORY_LOG_EVENTS);
    expect(() => new MemoryConversationLog({ maxEvents: 0 })).toThrow(ConfigError);
    const log = new MemoryConversationLog({ maxEvents: 100 });
    for (let c = 0; c < 50; c++) for (let i = 0; i < 5; i++) log.append(makeEvent({ conversationId: `c${c}`, kind: "note", peer: peer(i), payload: { i } }));
    const kept = log.conversations();
    expect(kept.reduce((n, id) => n + log.count(id), 0)).toBeLessThanOrEqual(100);
    expect(kept).toEqual(Array.from({ length: 20 }, (_, k) => `c${30 + k}`)); // the 20 most recent
    expect(log.evicted).toBe(30);
    // A conversation appended to again is the most recent: an older one goes first.
    log.append(makeEvent({ conversationId: "c30", kind: "note", peer: peer(9), payload: {} }));
    expect(log.conversations()).not.toContain("c31");
    expect(log.conversations()).toContain("c30");
    // Forgotten ids of a dropped conversation go with it (no unbounded id memory).
    expect(log.has(log.events("c30")[0]!.event_id)).toBe(true);
  });

  test("the reply cache keeps at most REPLY_CACHE_BROADCASTS broadcasts; an evicted one is read back from the log", async () => {
    const log = new MemoryConversationLog({ maxEvents: 3 * REPLY_CACHE_BROADCASTS });
    const book = new ReplyBook(log, async (e) => log.append(e));
    for (let n = 0; n < REPLY_CACHE_BROADCASTS + 500; n++) await book.record(`n${n}`, peer(1), n);
    expect(book.cached).toBe(REPLY_CACHE_BROADCASTS);
    // n0 left the cache; its reply is still known (read back from the log) and not filed twice.
    expect([...(await book.of("n0")).values()].map((r) => r.result)).toEqual([0]);
    expect(await book.record("n0", peer(1), 0)).toBeNull();
    expect(log.count("n0")).toBe(1);
  });

  test("a node flooded with replies to many broadcasts stays within its log's bound and keeps serving", async () => {
    const [node] = await swarm(1, { conversationLog: new MemoryConversationLog({ maxEvents: 500 }) });
    const client = new Client("127.0.0.1", node!.port);
    const forger = { ...peer(7), port: node!.port };
    for (let n = 0; n < 300; n++) {
      for (let r = 0; r < 3; r++) await client.call("_synapse.broadcast.reply", `0190f0e1-5b2a-7c3d-8e4f-${`${n}`.padStart(12, "0")}`, { ...forger, id: `${r}`.padStart(64, "f") }, kw({ result: n }));
    }
    await node!.conversationLayer.flush();
    const ids = await node!.conversations();
    let events = 0;
    for (const id of ids) events += (await node!.conversation(id)).length;
    expect(events).toBeLessThanOrEqual(500);
    expect(await client.call("_synapse.ping")).toBe("pong");
  });
});
