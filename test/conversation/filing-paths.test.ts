/**
 * The filing of replies and events learnt in batches takes two paths: at once, without a promise,
 * when the log and the checks answer at once (an in-memory log: the hot path, kept free of
 * closures), and after promises when they do not (a log that answers with promises, a broadcast
 * whose replies are not cached yet). Both file each reply once and announce it once.
 */
import { describe, expect, test } from "bun:test";
import { Conversations } from "../../src/conversation/conversations.ts";
import type { ConversationHost } from "../../src/conversation/contracts.ts";
import type { ConversationLog } from "../../src/conversation/log.ts";
import { MemoryConversationLog } from "../../src/conversation/memory-log.ts";
import { kindEventName } from "../../src/conversation/announce.ts";
import { replyEventId } from "../../src/conversation/broadcast.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";

const NONCE = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6";

function peer(name: string): Peer {
  return { id: name, address: "fake", port: 1, swarm: "s", team: "default", name, kind: "node", capabilities: [], last_seen: 1 };
}

/** A memory log whose every answer is a promise (as a log on a store that answers later). */
function promisedLog(): ConversationLog {
  const inner = new MemoryConversationLog();
  return {
    append: (e: ConversationEvent) => Promise.resolve(inner.append(e)),
    has: (id: string) => Promise.resolve(inner.has(id)),
    events: (c: string, since?: number) => Promise.resolve(inner.events(c, since)),
    count: (c: string) => Promise.resolve(inner.count(c)),
    conversations: () => Promise.resolve(inner.conversations()),
    compact: (c: string, removed: string[], summary: ConversationEvent) => Promise.resolve(inner.compact(c, removed, summary)),
    prune: (before: number) => Promise.resolve(inner.prune(before)),
    close: () => Promise.resolve(inner.close()),
  };
}

function layerWith(log: ConversationLog | undefined, known: Peer[]): { layer: Conversations; emitted: string[] } {
  const self = peer("self");
  const emitted: string[] = [];
  const host: ConversationHost = {
    self: () => self,
    peers: () => known,
    admit: () => null,
    call: async () => "ok",
    emit: (event) => void emitted.push(event),
  };
  return { layer: new Conversations(host, log ? { log } : {}), emitted };
}

describe("conversation - filing paths", () => {
  test("a log of the user's own that extends the in-memory one: every reply the node files goes through its append", async () => {
    const seen: string[] = [];
    class AuditedLog extends MemoryConversationLog {
      override append(event: ConversationEvent): boolean {
        seen.push(event.event_id);
        return super.append(event);
      }
    }
    const repliers = ["r1", "r2"].map(peer);
    const { layer, emitted } = layerWith(new AuditedLog(), repliers);
    expect(await layer.receiveReply(NONCE, repliers[0], 1)).toEqual({ ok: true });
    await layer.serveBatch([{ reply: { nonce: NONCE, peer_id: "r2", result: 2 } }], "r2", new Uint8Array(0), true);
    await layer.flush();
    expect(seen).toEqual([replyEventId(NONCE, "r1"), replyEventId(NONCE, "r2")]);
    expect(await layer.log.has(replyEventId(NONCE, "r2"))).toBe(true);
    expect(emitted.filter((e) => e === "broadcast.reply").length).toBe(2);
  });

  test("a reply a log holds under the older id form (SHA-256 of the pair) is not filed again under the new one", async () => {
    const log = new MemoryConversationLog();
    const replier = peer("r1");
    const oldId = new Bun.CryptoHasher("sha256").update(`reply\0${NONCE}\0r1`).digest("hex");
    log.append({ conversation_id: NONCE, event_id: oldId, kind: "reply", peer: replier, payload: { result: 1 }, parent_id: NONCE, created_at: Date.now() / 1000, metadata: {} });
    // A node restarted on that log learns the same reply again, by a reply call and in a batch.
    const { layer, emitted } = layerWith(log, [replier]);
    expect(await layer.receiveReply(NONCE, replier, 1)).toEqual({ ok: true });
    await layer.serveBatch([{ reply: { nonce: NONCE, peer: replier, result: 1 } }], "r1", new Uint8Array(0), true);
    await layer.flush();
    expect((await layer.conversation(NONCE)).map((e) => e.event_id)).toEqual([oldId]);
    expect(emitted.filter((e) => e === "broadcast.reply").length).toBe(0);
  });

  for (const [what, makeLog] of [
    ["a log that answers at once", () => undefined],
    ["a log that answers with promises", promisedLog],
  ] as const) {
    test(`${what}: batch replies (whole and by reference, with a copy) and a reply call are filed once and announced once`, async () => {
      const repliers = ["r1", "r2", "r3"].map(peer);
      const { layer, emitted } = layerWith(makeLog(), repliers);
      const items = [
        { reply: { nonce: NONCE, peer: repliers[0], result: 1 } },
        { reply: { nonce: NONCE, peer_id: "r2", result: 2 } },
        { reply: { nonce: NONCE, peer: repliers[0], result: 1 } }, // a copy in the same batch
      ];
      await layer.serveBatch(items, "r3", new Uint8Array(0), true);
      // Again: every item is a copy now (the second batch's are dropped by key).
      await layer.serveBatch(items, "r3", new Uint8Array(0), true);
      expect(await layer.receiveReply(NONCE, repliers[2], 3)).toEqual({ ok: true });
      expect(await layer.receiveReply(NONCE, repliers[2], 3)).toEqual({ ok: true });
      await layer.flush();
      expect((await layer.replies(NONCE)).map((r) => [r.peer.id, r.result])).toEqual([
        ["r1", 1],
        ["r2", 2],
        ["r3", 3],
      ]);
      expect((await layer.conversation(NONCE)).map((e) => e.event_id).sort()).toEqual(["r1", "r2", "r3"].map((id) => replyEventId(NONCE, id)).sort());
      expect(emitted.filter((e) => e === "broadcast.reply").length).toBe(3);
      expect(emitted.filter((e) => e === "conversation.event").length).toBe(3);
      expect(emitted.filter((e) => e === "conversation.reply").length).toBe(3);
      expect(layer.stats.duplicatesDropped).toBe(1 + 3 + 1);
    });
  }

  for (const [what, makeLog] of [
    ["at once", () => undefined],
    ["with promises", promisedLog],
  ] as const) {
    test(`a log that answers ${what}: a batch reply the checks refuse is left out, the others filed`, async () => {
      const self = peer("self");
      const emitted: string[] = [];
      const admit = (p: Peer) => (p.swarm !== "s" ? "peer requested a different swarm" : null);
      const host: ConversationHost = { self: () => self, peers: () => [], admit, call: async () => "ok", emit: (event) => void emitted.push(event) };
      const log = makeLog();
      const layer = new Conversations(host, log ? { log } : {});
      const stranger: Peer = { ...peer("x"), swarm: "elsewhere" };
      await layer.serveBatch([{ reply: { nonce: NONCE, peer: stranger, result: 0 } }, { reply: { nonce: NONCE, peer: peer("r1"), result: 1 } }], "r1", new Uint8Array(0));
      await layer.flush();
      expect((await layer.replies(NONCE)).map((r) => r.peer.id)).toEqual(["r1"]);
      expect(emitted.filter((e) => e === "broadcast.reply").length).toBe(1);
    });
  }

  test("the node event of a kind is conversation.<kind>, for however many kinds", () => {
    for (let i = 0; i < 600; i++) expect(kindEventName(`k${i}`)).toBe(`conversation.k${i}`);
    expect(kindEventName("reply")).toBe("conversation.reply");
  });
});
