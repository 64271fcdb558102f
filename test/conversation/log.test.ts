import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConversationLog } from "../../src/conversation/log.ts";
import { MemoryConversationLog } from "../../src/conversation/memory-log.ts";
import { SqliteConversationLog } from "../../src/conversation/sqlite-log.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { replyEventId } from "../../src/conversation/broadcast.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";

const dir = mkdtempSync(join(tmpdir(), "synapse-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const peer: Peer = {
  id: "b".repeat(64),
  address: "127.0.0.1",
  port: 9002,
  swarm: "golden",
  team: "default",
  name: "beta",
  kind: "node",
  capabilities: ["python"],
  last_seen: 1700000001.5,
};

function ev(conversationId: string, eventId: string, createdAt: number, kind = "note", payload: Record<string, unknown> = {}): ConversationEvent {
  return makeEvent({ conversationId, eventId, kind, peer, payload, createdAt, parentId: conversationId });
}

let counter = 0;
const implementations: Array<[string, () => ConversationLog]> = [
  ["MemoryConversationLog", () => new MemoryConversationLog()],
  ["SqliteConversationLog", () => new SqliteConversationLog(join(dir, `suite-${counter++}.db`))],
];

// One suite, run against every implementation: this is the contract of ConversationLog.
for (const [name, create] of implementations) {
  describe(`conversation - log contract: ${name}`, () => {
    let log: ConversationLog;
    afterEach(async () => {
      await log.close();
    });

    test("append stores once per event id; has() knows it", async () => {
      log = create();
      const e = ev("c1", "e1", 100.5, "ack");
      expect(await log.append(e)).toBe(true);
      expect(await log.append(e)).toBe(false);
      expect(await log.append({ ...e, payload: { changed: true } })).toBe(false);
      expect(await log.has("e1")).toBe(true);
      expect(await log.has("e2")).toBe(false);
      expect(await log.events("c1")).toEqual([e]);
      expect(await log.count("c1")).toBe(1);
    });

    test("events come back whole (binary payloads too), ordered by created_at then id, filtered by since", async () => {
      log = create();
      const bytes = new Uint8Array([0, 1, 2, 255]);
      await log.append(ev("c1", "e3", 300, "note", { n: 3 }));
      await log.append(ev("c1", "e1", 100, "note", { n: 1, bytes, nested: { list: [1, "two", null, 2.5] } }));
      await log.append(ev("c1", "e2b", 200, "note", { n: 2 }));
      await log.append(ev("c1", "e2a", 200, "note", { n: 2 }));
      await log.append(ev("c2", "x1", 150));
      const all = await log.events("c1");
      expect(all.map((e) => e.event_id)).toEqual(["e1", "e2a", "e2b", "e3"]);
      expect(all[0]!.payload).toEqual({ n: 1, bytes, nested: { list: [1, "two", null, 2.5] } });
      expect(all[0]!.peer).toEqual(peer);
      expect(Object.keys(all[0]!)).toEqual(["conversation_id", "event_id", "kind", "peer", "payload", "parent_id", "created_at", "metadata"]);
      expect((await log.events("c1", 200)).map((e) => e.event_id)).toEqual(["e3"]);
      expect((await log.events("c1", 199.9)).map((e) => e.event_id)).toEqual(["e2a", "e2b", "e3"]);
      expect(await log.events("nope")).toEqual([]);
      expect(await log.count("nope")).toBe(0);
    });

    test("at the same created_at the conversation's opening event comes first, then ids in order", async () => {
      log = create();
      // An ACK made in the millisecond its broadcast was sent: its id may sort before the opening's.
      await log.append(ev("c9", "0-ack", 500, "ack"));
      await log.append(ev("c9", "c9", 500, "message"));
      await log.append(ev("c9", "1-reply", 500, "reply"));
      await log.append(ev("c9", "00-early", 499, "note"));
      expect((await log.events("c9")).map((e) => e.event_id)).toEqual(["00-early", "c9", "0-ack", "1-reply"]);
      expect((await log.events("c9", 499)).map((e) => e.event_id)).toEqual(["c9", "0-ack", "1-reply"]);
    });

    test("conversations are listed in the order first stored", async () => {
      log = create();
      await log.append(ev("zeta", "z1", 500));
      await log.append(ev("alpha", "a1", 100));
      await log.append(ev("zeta", "z2", 50));
      await log.append(ev("mid", "m1", 300));
      expect(await log.conversations()).toEqual(["zeta", "alpha", "mid"]);
    });

    test("compact replaces events with the summary and forgets their ids for good", async () => {
      log = create();
      for (let i = 1; i <= 5; i++) await log.append(ev("c1", `e${i}`, i));
      const summary = ev("c1", "sum", 3, "summary", { summary: "three events", compacted_events: 3, from: 1, until: 3 });
      await log.compact("c1", ["e1", "e2", "e3"], summary);
      expect((await log.events("c1")).map((e) => e.event_id)).toEqual(["sum", "e4", "e5"]);
      expect(await log.count("c1")).toBe(3);
      for (const id of ["e1", "e2", "e3"]) {
        expect(await log.has(id)).toBe(true);
        expect(await log.append(ev("c1", id, 2))).toBe(false);
      }
      expect(await log.count("c1")).toBe(3);
    });

    test("prune drops conversations whose newest event is older than the cutoff", async () => {
      log = create();
      await log.append(ev("old", "o1", 10));
      await log.append(ev("old", "o2", 20));
      await log.append(ev("mixed", "m1", 10));
      await log.append(ev("mixed", "m2", 1000));
      await log.compact("old", ["o1"], ev("old", "os", 10, "summary"));
      expect((await log.prune(500)).sort()).toEqual(["old"]);
      expect(await log.conversations()).toEqual(["mixed"]);
      expect(await log.events("old")).toEqual([]);
      expect(await log.has("o2")).toBe(false);
      expect(await log.has("o1")).toBe(false); // remembered ids go with their conversation
      expect((await log.events("mixed")).length).toBe(2);
      expect(await log.prune(500)).toEqual([]);
    });

    test("concurrent appends of one id: exactly one wins", async () => {
      log = create();
      const e = ev("c1", "same", 1);
      const results = await Promise.all(Array.from({ length: 20 }, () => Promise.resolve(log.append(e))));
      expect(results.filter(Boolean).length).toBe(1);
    });
  });
}

describe("conversation - SqliteConversationLog durability", () => {
  test("survives a restart: events, order, forgotten ids", () => {
    const path = join(dir, "restart.db");
    const first = new SqliteConversationLog(path);
    for (let i = 1; i <= 4; i++) first.append(ev("c1", `e${i}`, i, "note", { i }));
    first.append(ev("c2", "x", 5));
    first.compact("c1", ["e1", "e2"], ev("c1", "s", 2, "summary", { summary: "two", compacted_events: 2, from: 1, until: 2 }));
    first.close();

    const second = new SqliteConversationLog(path);
    expect(second.conversations()).toEqual(["c1", "c2"]);
    expect(second.events("c1").map((e) => e.event_id)).toEqual(["s", "e3", "e4"]);
    expect(second.events("c1")[1]!.payload).toEqual({ i: 3 });
    expect(second.append(ev("c1", "e1", 1))).toBe(false); // still forgotten
    expect(second.append(ev("c1", "e5", 6))).toBe(true);
    second.close();
  });

  test("an append that returned survives the process being killed right after", async () => {
    const path = join(dir, "killed.db");
    const source = join(import.meta.dir, "../../src/conversation/sqlite-log.ts");
    const script = `
      import { SqliteConversationLog } from ${JSON.stringify(source)};
      const log = new SqliteConversationLog(${JSON.stringify(path)});
      const peer = ${JSON.stringify(peer)};
      for (let i = 0; i < 25; i++) {
        log.append({ conversation_id: "k", event_id: "k" + i, kind: "note", peer, payload: { i }, parent_id: null, created_at: 1000 + i, metadata: {} });
      }
      process.stdout.write("appended\\n");
      process.kill(process.pid, "SIGKILL");
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const exitCode = await child.exited;
    const out = await new Response(child.stdout).text();
    expect(out).toBe("appended\n");
    expect(child.signalCode).toBe("SIGKILL");
    expect(exitCode).not.toBe(0);

    const reopened = new SqliteConversationLog(path);
    const events = reopened.events("k");
    expect(events.length).toBe(25);
    expect(events[24]!.payload).toEqual({ i: 24 });
    reopened.close();
  });

  test("synchronous: full is accepted and works the same", () => {
    const log = new SqliteConversationLog(join(dir, "full.db"), { synchronous: "full" });
    expect(log.append(ev("c", "e", 1))).toBe(true);
    expect(log.events("c").length).toBe(1);
    log.close();
  });
});

describe("conversation - MemoryConversationLog: replies' pair ids", () => {
  const nonce = "0190b5a0-0000-7000-8000-000000000001";
  const reply = (peerId: string, eventId = replyEventId(nonce, peerId), kind = "reply"): ConversationEvent =>
    makeEvent({ conversationId: nonce, eventId, kind, peer: { ...peer, id: peerId }, payload: { result: 1 }, parentId: nonce, createdAt: 200 });

  test("a reply filed under its pair id is known by that id, once, and forgotten with its conversation", () => {
    const log = new MemoryConversationLog();
    const a = reply("a".repeat(64));
    expect(log.append(a)).toBe(true);
    expect(log.append(reply("a".repeat(64)))).toBe(false);
    expect(log.has(`${nonce}~${"a".repeat(64)}`)).toBe(true);
    expect(log.has(`${nonce}~${"c".repeat(64)}`)).toBe(false);
    expect(log.has(`${nonce}~`)).toBe(false);
    expect(log.has(`~${"a".repeat(64)}`)).toBe(false);
    expect(log.count(nonce)).toBe(1);
    expect(log.prune(300)).toEqual([nonce]);
    expect(log.has(a.event_id)).toBe(false);
    expect(log.append(reply("a".repeat(64)))).toBe(true);
  });

  test("an id taken by an event of another kind and a reply's pair id are one id, whichever came first", () => {
    const id = `${nonce}~${"d".repeat(64)}`;
    const first = new MemoryConversationLog();
    expect(first.append(ev(nonce, id, 100))).toBe(true);
    expect(first.append(reply("d".repeat(64)))).toBe(false);
    const second = new MemoryConversationLog();
    expect(second.append(reply("d".repeat(64)))).toBe(true);
    expect(second.append(ev(nonce, id, 100))).toBe(false);
    expect(second.count(nonce)).toBe(1);
  });

  test("a reply whose id is not its pair id (another form, or a nonce holding ~) is kept by its whole id", () => {
    const log = new MemoryConversationLog();
    const hashed = reply("e".repeat(64), "f".repeat(64));
    expect(log.append(hashed)).toBe(true);
    expect(log.has("f".repeat(64))).toBe(true);
    expect(log.append(reply("e".repeat(64), "f".repeat(64)))).toBe(false);
    const odd = makeEvent({ conversationId: "x~y", eventId: `x~y~${"e".repeat(64)}`, kind: "reply", peer: { ...peer, id: "e".repeat(64) }, payload: {}, parentId: "x~y", createdAt: 1 });
    expect(log.append(odd)).toBe(true);
    expect(log.has(odd.event_id)).toBe(true);
    expect(log.append({ ...odd })).toBe(false);
    // Another reply of the same replier whose id only looks like the pair id of its parent.
    const other = reply("e".repeat(64), `${nonce}~${"e".repeat(63)}X`);
    expect(log.append(other)).toBe(true);
    expect(log.has(other.event_id)).toBe(true);
    expect(log.has(`${nonce}~${"e".repeat(64)}`)).toBe(false);
  });

  test("appendReply (the reply book's, for ids it made the pair id) files and refuses as append does", () => {
    const log = new MemoryConversationLog();
    const a = reply("7".repeat(64));
    expect(log.appendReply(a)).toBe(true);
    expect(log.append(reply("7".repeat(64)))).toBe(false);
    expect(log.appendReply(reply("7".repeat(64)))).toBe(false);
    expect(log.has(`${nonce}~${"7".repeat(64)}`)).toBe(true);
    expect(log.events(nonce)).toEqual([a]);
    const plain = new MemoryConversationLog();
    expect(plain.append(ev(nonce, a.event_id, 100))).toBe(true);
    expect(plain.appendReply(reply("7".repeat(64)))).toBe(false);
  });

  test("compacted replies stay known until their conversation is dropped", () => {
    const log = new MemoryConversationLog();
    const replies = ["1", "2", "3"].map((c) => reply(c.repeat(64)));
    for (const r of replies) log.append(r);
    const summary = makeEvent({ conversationId: nonce, eventId: "summary-1", kind: "summary", peer, payload: {}, parentId: null, createdAt: 250 });
    log.compact(nonce, [replies[0]!.event_id, replies[1]!.event_id], summary);
    expect(log.count(nonce)).toBe(2);
    expect(log.has(replies[0]!.event_id)).toBe(true);
    expect(log.append(reply("1".repeat(64)))).toBe(false);
    log.prune(1000);
    for (const r of replies) expect(log.has(r.event_id)).toBe(false);
    expect(log.has("summary-1")).toBe(false);
    expect(log.append(reply("1".repeat(64)))).toBe(true);
  });
});
