import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, kw } from "../../src/rpc/client.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { SqliteConversationLog } from "../../src/conversation/sqlite-log.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { ConfigError } from "../../src/errors.ts";
import { Node } from "../../src/node.ts";
import { mesh, remoteError, settle, startNode, stopAll, swarm } from "./swarm.ts";

const dir = mkdtempSync(join(tmpdir(), "synapse-durable-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(stopAll);

describe("conversation - compaction", () => {
  test("older events fold into one summary; opening message and keepRecent newest stay verbatim", async () => {
    const nodes = await swarm(2);
    const [author] = nodes as [Node];
    // Interval 0: every compaction calls the summarizer (the rate limit has its own test).
    const keeper = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationMaxEvents: 6, conversationKeepRecent: 2, conversationSummarizerInterval: 0 });
    await mesh([...nodes, keeper]);
    const folded: ConversationEvent[][] = [];
    keeper.summarizer((events) => {
      folded.push(events);
      return `folded ${events.length}`;
    });
    const summaries: ConversationEvent[] = [];
    keeper.on("conversation.summary", (e) => void summaries.push(e));
    const b = await author.broadcast("_synapse.ping");
    const notes: ConversationEvent[] = [];
    for (let i = 0; i < 12; i++) {
      notes.push(await author.emitConversationEvent(b, "note", { i }));
      await settle([...nodes, keeper]);
    }
    const events = await keeper.conversation(b);
    expect(events.length).toBeLessThanOrEqual(6);
    expect(events[0]!.event_id).toBe(b.nonce); // the opening message
    expect(events[0]!.kind).toBe("message");
    expect(events.slice(-2)).toEqual(notes.slice(-2)); // the newest, verbatim
    const summary = events.find((e) => e.kind === "summary")!;
    expect(Object.keys(summary.payload)).toEqual(["summary", "compacted_events", "from", "until"]);
    const verbatimNotes = events.filter((e) => e.kind === "note").length;
    expect(summary.payload.compacted_events).toBe(12 - verbatimNotes);
    expect(summary.payload.from).toBe(notes[0]!.created_at);
    expect(summary.payload.until).toBeLessThan(events[events.length - 2]!.created_at);
    expect(summary.peer.id).toBe(keeper.id);
    expect(summary.payload.summary).toBe(`folded ${folded[folded.length - 1]!.length}`);
    expect(folded[0]!.map((e) => e.payload.i)).toEqual([0, 1, 2, 3]); // first fold: 6 notes minus the 2 kept
    expect(summaries.length).toBe(folded.length);
    // The author, without a limit, kept everything.
    expect((await author.conversation(b)).length).toBe(13);

    // Compacted ids are remembered: neither gossip nor sync can bring them back.
    const client = new Client("127.0.0.1", keeper.port);
    expect(await client.call("_synapse.conversation.event", notes[0]!)).toEqual({ ok: true, stored: false });
    expect(await keeper.syncConversation(author.toPeer(), b)).toEqual([]);
    expect((await keeper.conversation(b)).map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
  });

  test("a throwing summarizer falls back to the digest; limits are checked", async () => {
    const node = await startNode({ name: "k", conversationMaxEvents: 3, conversationKeepRecent: 0 });
    node.summarizer(() => {
      throw new Error("LLM down");
    });
    for (let i = 0; i < 4; i++) await node.emitConversationEvent("c", "note", { i });
    await node.conversationLayer.flush();
    const events = await node.conversation("c");
    expect(events.map((e) => e.kind)).toEqual(["note", "summary"]);
    const text = events[1]!.payload.summary as string;
    expect(text.split("\n")[0]).toMatch(/^3 events from .* to .* by k: 3 note$/);
    expect(text).toContain('- k note: {"i":1}');
    expect(() => new Node({ conversationMaxEvents: 2 })).toThrow(ConfigError);
    expect(() => new Node({ conversationMaxEvents: 5, conversationKeepRecent: 4 })).toThrow(ConfigError);
    expect(() => new Node({ conversationRetention: -1 })).toThrow(ConfigError);
  });
});

describe("conversation - retention", () => {
  test("quiet conversations are pruned; events older than the window are refused", async () => {
    const node = await startNode({ name: "r", swarm: "conv", conversationRetention: 60 });
    await node.emitConversationEvent("fresh", "note");
    const client = new Client("127.0.0.1", node.port);
    const old = makeEvent({ conversationId: "old", kind: "note", peer: node.toPeer(), createdAt: nowSeconds() - 3600 });
    const error = await remoteError(client.call("_synapse.conversation.event", old));
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("conversation event older than the retention window (60 s)");
    expect(await node.conversations()).toEqual(["fresh"]);
    expect(await node.conversationLayer.prune()).toEqual([]); // still within the window
    // Seen from two minutes on, "fresh" has been quiet for longer than the retention.
    expect(await node.conversationLayer.prune(nowSeconds() + 120)).toEqual(["fresh"]);
    expect(await node.conversations()).toEqual([]);
    expect(await node.conversation("fresh")).toEqual([]);
  });

  test("the sweeper prunes on start", async () => {
    const log = new SqliteConversationLog(":memory:");
    log.append(makeEvent({ conversationId: "ancient", kind: "note", peer: { id: "p", address: "127.0.0.1", port: 1, swarm: null, team: null, name: "", kind: "node", capabilities: [], last_seen: 0 }, createdAt: 1000 }));
    const node = await startNode({ name: "s", conversationRetention: 10, conversationLog: log });
    await node.conversationLayer.flush();
    expect(await node.conversations()).toEqual([]);
    log.close();
  });
});

describe("conversation - catching up", () => {
  test("a late joiner syncs a whole conversation, replies de-duplicated, nothing twice", async () => {
    const nodes = await swarm(3);
    const [origin, a, b] = nodes as [Node, Node, Node];
    for (const n of [a, b]) {
      n.endpoint("team.question", async (q: string, ctx: CallContext) => {
        expect(q).toBe("anyone?");
        await n.ack(ctx.broadcast!);
        await n.reply(ctx.broadcast!, `${n.name} here`);
      });
    }
    const bc = await origin.broadcast("team.question", kw({ q: "anyone?" }));
    await settle(nodes);
    const other = await origin.emitConversationEvent("side", "note");
    await settle(nodes);

    const late = await startNode({ name: "late", swarm: "conv", heartbeatInterval: null });
    await mesh([...nodes, late]);
    expect(await late.conversations()).toEqual([]);
    const fresh = await late.syncConversation(a.toPeer());
    expect(fresh.length).toBe(6); // message, 2 acks, 2 replies, 1 note
    expect(await late.conversations()).toEqual([bc.nonce, "side"]);
    const mine = (await late.conversation(bc)).map((e) => e.event_id);
    expect(mine).toEqual((await a.conversation(bc)).map((e) => e.event_id));
    expect((await late.replies(bc)).map((r) => r.result).sort()).toEqual(["n1 here", "n2 here"]);
    // The same conversation from another peer brings nothing new (reply events included).
    expect(await late.syncConversation(b.toPeer(), bc)).toEqual([]);
    expect(await late.syncConversation(origin.toPeer(), "side")).toEqual([]);
    expect((await late.conversation("side"))[0]).toEqual(other);
    // since: only what came after.
    const next = await origin.emitConversationEvent(bc, "note", { later: true });
    await settle([...nodes, late]);
    const restarted = await startNode({ name: "again", swarm: "conv", heartbeatInterval: null });
    const tail = await restarted.syncConversation(a.toPeer(), bc, { since: other.created_at });
    expect(tail.map((e) => e.event_id)).toEqual([next.event_id]);
  });

  test("SQLite log: a restarted node keeps its conversations and replies, and de-duplicates replays", async () => {
    const path = join(dir, "node.db");
    const nodes = await swarm(2);
    const [origin, peer] = nodes as [Node, Node];
    let log = new SqliteConversationLog(path);
    const keeper = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationLog: log, id: "k".repeat(64) });
    await mesh([origin, peer, keeper]);
    const bc = await origin.broadcast("_synapse.ping");
    await peer.ack(bc);
    await peer.reply(bc, { answer: 1 });
    await settle([origin, peer, keeper]);
    const before = await keeper.conversation(bc);
    expect(before.map((e) => e.kind)).toEqual(["message", "ack", "reply"]);
    await keeper.stop();
    log.close();

    log = new SqliteConversationLog(path);
    const again = await startNode({ name: "keeper", swarm: "conv", heartbeatInterval: null, conversationLog: log, id: "k".repeat(64) });
    expect(await again.conversations()).toEqual([bc.nonce]);
    expect(await again.conversation(bc)).toEqual(before);
    expect((await again.replies(bc)).map((r) => [r.peer.id, r.result])).toEqual([[peer.id, { answer: 1 }]]);
    let replayed = 0;
    again.on("broadcast.reply", () => void replayed++);
    const client = new Client("127.0.0.1", again.port);
    await client.call("_synapse.broadcast.reply", bc.nonce, peer.toPeer(), kw({ result: { answer: 1 } }));
    expect(await client.call("_synapse.conversation.event", before[1]!)).toEqual({ ok: true, stored: false });
    expect(replayed).toBe(0);
    expect((await again.conversation(bc)).length).toBe(3);
    await again.stop();
    log.close();
  });
});
