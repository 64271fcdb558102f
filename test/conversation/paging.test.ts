/**
 * Sync and list that always finish: a conversation over the 4 MiB frame limit syncs in pages
 * between Bun nodes and in trimmed answers (plus `since`) for a Python caller; a full sync goes on
 * past a failing conversation; 120,000 conversation ids are listed without a frame over the limit.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { MemoryConversationLog } from "../../src/conversation/memory-log.ts";
import { PAGE_BUDGET, plainListAnswer, plainSyncAnswer, readListPage, readSyncPage, syncPage } from "../../src/conversation/paging.ts";
import { ConversationEndpoint } from "../../src/conversation/contracts.ts";
import { encode } from "../../src/wire/codec.ts";
import { DEFAULT_MAX_FRAME } from "../../src/wire/frame.ts";
import type { Node } from "../../src/node.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { startNode, stopAll } from "./swarm.ts";

afterEach(stopAll);

const BASE = 1_700_000_000;

/** Events of one conversation, `size` bytes of payload each, every `sameTime` in a row sharing a created_at. */
function conversationOf(id: string, author: Peer, count: number, size: number, sameTime = 1): ConversationEvent[] {
  const filler = "x".repeat(size);
  const events = [makeEvent({ conversationId: id, eventId: id, kind: "message", peer: author, createdAt: BASE })];
  for (let i = 1; i < count; i++) {
    events.push(makeEvent({ conversationId: id, kind: "note", peer: author, payload: { i, filler }, createdAt: BASE + 1 + Math.floor(i / sameTime) }));
  }
  return events;
}

/** Record the encoded size of every answer `endpoint` gives on `node`. */
function answerSizes(node: Node, endpoint: string): number[] {
  const sizes: number[] = [];
  const existing = node.endpoints.get(endpoint)!;
  const original = existing.handler;
  existing.handler = async (...args: unknown[]) => {
    const result = await original(...args);
    sizes.push(encode(result).length);
    return result;
  };
  return sizes;
}

async function pair(log: MemoryConversationLog): Promise<[Node, Node]> {
  const answerer = await startNode({ name: "answerer", swarm: "conv", heartbeatInterval: null, conversationLog: log });
  const caller = await startNode({ name: "caller", swarm: "conv", heartbeatInterval: null });
  return [answerer, caller];
}

describe("conversation - paged sync", () => {
  test("a conversation over 4 MiB syncs whole between Bun nodes, in pages under the frame limit", async () => {
    const log = new MemoryConversationLog();
    const [answerer, caller] = await pair(log);
    const events = conversationOf("big", answerer.toPeer(), 60, 100_000); // about 6 MB
    for (const e of events) log.append(e);
    expect(encode(events).length).toBeGreaterThan(DEFAULT_MAX_FRAME);
    const sizes = answerSizes(answerer, ConversationEndpoint.Sync);
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: answerer.port }, "big");
    expect(fresh.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of sizes) expect(size).toBeLessThan(DEFAULT_MAX_FRAME);
  });

  test("pages cut inside runs of events created at the same time lose none of them", async () => {
    const log = new MemoryConversationLog();
    const [answerer, caller] = await pair(log);
    const events = conversationOf("runs", answerer.toPeer(), 41, 300, 8);
    for (const e of events) log.append(e);
    const sizes = answerSizes(answerer, ConversationEndpoint.Sync);
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: answerer.port }, "runs", { pageBytes: 1024 });
    expect(fresh.map((e) => e.event_id).sort()).toEqual(events.map((e) => e.event_id).sort());
    expect(sizes.length).toBeGreaterThan(8); // about 2 events a page
  });

  test("a Python caller gets answers trimmed under 4 MiB and catches up with `since`", async () => {
    const log = new MemoryConversationLog();
    const [answerer] = await pair(log);
    // Runs of 7 events share a created_at: a cut inside a run must not lose its rest to `since`.
    const events = conversationOf("big", answerer.toPeer(), 60, 100_000, 7);
    for (const e of events) log.append(e);
    // A plain client, as a Python node calls: no `page` keyword.
    const client = new Client("127.0.0.1", answerer.port, { timeout: 10 });
    const got: string[] = [];
    let since = 0;
    for (let call = 0; call < 10; call++) {
      const answer = await client.call<{ events: ConversationEvent[] }>(ConversationEndpoint.Sync, "big", kw({ since }));
      expect(Object.keys(answer)).toEqual(["events"]);
      expect(encode(answer).length).toBeLessThan(DEFAULT_MAX_FRAME);
      if (answer.events.length === 0) break;
      got.push(...answer.events.map((e) => e.event_id));
      since = answer.events[answer.events.length - 1]!.created_at;
    }
    expect(got.sort()).toEqual(events.map((e) => e.event_id).sort());
  });

  test("from a peer that cannot page but trims, a Bun caller asks again with `since` (and never sends `page`)", async () => {
    const caller = await startNode({ name: "caller", swarm: "conv", heartbeatInterval: null });
    const author = caller.toPeer();
    const events = conversationOf("big", { ...author, id: "py-author", name: "py" }, 60, 100_000);
    const py = new PythonLikeServer().start();
    py.endpoint(ConversationEndpoint.List, () => ["big"]);
    py.endpoint(ConversationEndpoint.Sync, ([id], kwargs) => {
      const since = typeof kwargs.since === "number" ? kwargs.since : 0;
      return plainSyncAnswer(String(id), events.filter((e) => e.created_at > since));
    });
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: py.port });
    expect(fresh.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(fresh.failed).toEqual([]);
    for (const request of py.log) expect(Object.keys(request.kwargs)).not.toContain("page");
    expect(py.log.filter((r) => r.endpoint === ConversationEndpoint.Sync).length).toBeGreaterThanOrEqual(2);
  });
});

describe("conversation - full sync", () => {
  test("goes on past a failing conversation and reports it", async () => {
    const log = new MemoryConversationLog();
    const [answerer, caller] = await pair(log);
    for (const id of ["c1", "c2", "c3"]) for (const e of conversationOf(id, answerer.toPeer(), 3, 10)) log.append(e);
    const existing = answerer.endpoints.get(ConversationEndpoint.Sync)!;
    const original = existing.handler;
    existing.handler = (...args: unknown[]) => {
      if (args[0] === "c2") throw new Error("disk on fire");
      return original(...args);
    };
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: answerer.port });
    expect(new Set(fresh.map((e) => e.conversation_id))).toEqual(new Set(["c1", "c3"]));
    expect(fresh.length).toBe(6);
    expect(fresh.failed?.map((f) => f.conversation_id)).toEqual(["c2"]);
    expect(fresh.failed?.[0]!.error).toContain("disk on fire");
    // The node still serves: the next sync of c2 (now answered) completes.
    existing.handler = original;
    expect((await caller.syncConversation({ address: "127.0.0.1", port: answerer.port }, "c2")).length).toBe(3);
  });

  test("a Python peer's failing conversation is reported the same way", async () => {
    const caller = await startNode({ name: "caller", swarm: "conv", heartbeatInterval: null });
    const author = { ...caller.toPeer(), id: "py-author" };
    const py = new PythonLikeServer().start();
    py.endpoint(ConversationEndpoint.List, () => ["a", "bad", "b"]);
    py.endpoint(ConversationEndpoint.Sync, ([id]) => {
      if (id === "bad") throw new Error("result too large");
      return { events: conversationOf(String(id), author, 2, 10) };
    });
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: py.port });
    expect(fresh.length).toBe(4);
    expect(fresh.failed?.map((f) => f.conversation_id)).toEqual(["bad"]);
  });
});

describe("conversation - list", () => {
  test("120,000 conversation ids: paged for Bun, trimmed for Python, never a frame over 4 MiB", async () => {
    const log = new MemoryConversationLog({ maxEvents: 200_000 }); // above the default bound: 120,000 conversations of one event
    const [answerer] = await pair(log);
    const author = answerer.toPeer();
    const ids: string[] = [];
    for (let i = 0; i < 120_000; i++) {
      const id = `conversation-${String(i).padStart(6, "0")}-${"k".repeat(20)}`;
      ids.push(id);
      log.append(makeEvent({ conversationId: id, eventId: id, kind: "message", peer: author, createdAt: BASE + i }));
    }
    expect(encode(ids).length).toBeGreaterThan(DEFAULT_MAX_FRAME);
    const client = new Client("127.0.0.1", answerer.port, { timeout: 30 });
    // A Python caller: the newest ids that fit.
    const plain = await client.call<string[]>(ConversationEndpoint.List);
    expect(encode(plain).length).toBeLessThan(PAGE_BUDGET + 16); // the ids, and the list's header
    expect(plain.length).toBeGreaterThan(50_000);
    expect(plain).toEqual(ids.slice(ids.length - plain.length));
    // A Bun caller: pages.
    const listed: string[] = [];
    let offset: number | null = 0;
    for (let page = 0; page < 10 && offset !== null; page++) {
      const answer: { ids: string[]; next: number | null } = await client.call(ConversationEndpoint.List, kw({ page: { offset } }));
      expect(encode(answer).length).toBeLessThan(DEFAULT_MAX_FRAME);
      listed.push(...answer.ids);
      offset = answer.next;
    }
    expect(offset).toBeNull();
    expect(listed).toEqual(ids);
  });

  test("a full sync of many conversations with a lowered page size: every one synced, no answer over it", async () => {
    const log = new MemoryConversationLog();
    const [answerer, caller] = await pair(log);
    const count = 600;
    const author = answerer.toPeer();
    for (let i = 0; i < count; i++) {
      const id = `c-${i}-${"k".repeat(24)}`;
      log.append(makeEvent({ conversationId: id, eventId: id, kind: "message", peer: author, createdAt: BASE + i }));
    }
    const listSizes = answerSizes(answerer, ConversationEndpoint.List);
    const syncSizes = answerSizes(answerer, ConversationEndpoint.Sync);
    const pageBytes = 2048;
    const fresh = await caller.syncConversation({ address: "127.0.0.1", port: answerer.port }, undefined, { pageBytes });
    expect(fresh.length).toBe(count);
    expect(fresh.failed).toEqual([]);
    expect(listSizes.length).toBeGreaterThan(5);
    // The page's events or ids stay under pageBytes; the answer adds a few bytes of envelope.
    for (const size of [...listSizes, ...syncSizes]) expect(size).toBeLessThan(pageBytes + 64);
  });

  test("an event larger than a page is left out; the cursor moves past it", () => {
    const author: Peer = { id: "a", address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "a", kind: "node", capabilities: [], last_seen: BASE };
    const events = conversationOf("c", author, 4, 10);
    events[1] = { ...events[1]!, payload: { filler: "y".repeat(5000) } };
    const first = syncPage("c", events, { cursor: null, limit: 1, maxBytes: 1024 });
    expect([first.events.map((e) => e.event_id), first.more, first.cursor]).toEqual([[events[0]!.event_id], true, [BASE, 1]]);
    const second = syncPage("c", events.slice(0), { cursor: first.cursor, limit: null, maxBytes: 1024 });
    expect(second.events.map((e) => e.event_id)).toEqual([events[2]!.event_id, events[3]!.event_id]);
    expect(second.more).toBe(false);
    expect(() => readSyncPage({ cursor: ["x", 1] })).toThrow(/cursor/);
    expect(() => readListPage({ offset: -1 })).toThrow(/offset/);
  });

  test("the plain list answer keeps the newest ids that fit", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `id-${i}`);
    expect(plainListAnswer(ids)).toEqual(ids);
  });
});
