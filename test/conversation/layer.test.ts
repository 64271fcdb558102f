import { describe, expect, test } from "bun:test";
import { Conversations } from "../../src/conversation/conversations.ts";
import { ConversationEndpoint, type ConversationHost } from "../../src/conversation/contracts.ts";
import { planCompaction, digestSummarizer } from "../../src/conversation/compaction.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { replyEventId } from "../../src/conversation/broadcast.ts";
import type { Kwargs } from "../../src/wire/messages.ts";
import type { Peer } from "../../src/types.ts";

/** In-memory network: each fake host routes calls straight to the target layer (no sockets). */
class FakeNetwork {
  readonly layers = new Map<string, Conversations>();
  readonly calls: Array<{ from: string; to: string; endpoint: string; args: unknown[]; kwargs: Kwargs }> = [];
  readonly emitted: Array<{ node: string; event: string; payload: unknown }> = [];
  readonly down = new Set<string>();

  add(name: string, swarm: string | null = "s", options: ConstructorParameters<typeof Conversations>[1] = {}): { peer: Peer; layer: Conversations; known: Peer[] } {
    const peer: Peer = { id: name, address: "fake", port: this.layers.size + 1, swarm, team: "default", name, kind: "node", capabilities: [], last_seen: 1 };
    const known: Peer[] = [];
    const host: ConversationHost = {
      self: () => peer,
      peers: () => known,
      admit: (p) => (swarm !== null && p.swarm !== swarm ? "peer requested a different swarm" : null),
      call: async (target, endpoint, args, kwargs) => {
        const to = (target as Peer).id;
        this.calls.push({ from: name, to, endpoint, args, kwargs });
        if (this.down.has(to)) throw new Error(`${to} is down`);
        const layer = this.layers.get(to)!;
        switch (endpoint) {
          case ConversationEndpoint.Event:
            return layer.receiveEvent(structuredClone(args[0]));
          case ConversationEndpoint.Reply:
            return layer.receiveReply(args[0], structuredClone(args[1]), structuredClone(kwargs.result));
          case ConversationEndpoint.List:
            return layer.list();
          case ConversationEndpoint.Sync:
            return { events: await layer.conversation(args[0] as string, kwargs.since as number) };
          default:
            return "ok";
        }
      },
      emit: (event, payload) => void this.emitted.push({ node: name, event, payload }),
    };
    const layer = new Conversations(host, options);
    this.layers.set(name, layer);
    return { peer, layer, known };
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 4; i++) await Promise.all([...this.layers.values()].map((l) => l.flush()));
  }
}

function fullMesh(net: FakeNetwork, nodes: Array<{ peer: Peer; known: Peer[] }>): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.known.push(b.peer);
}

describe("conversation - layer with a fake host", () => {
  test("broadcast: kwargs carry the broadcast first, every peer is called, a peer that is down does not fail it", async () => {
    const net = new FakeNetwork();
    const nodes = ["a", "b", "c", "d"].map((n) => net.add(n));
    fullMesh(net, nodes);
    net.down.add("c");
    const b = await nodes[0]!.layer.broadcast("work", [1], { size: "L" });
    const sent = net.calls.filter((c) => c.endpoint === "work");
    expect(sent.map((c) => c.to).sort()).toEqual(["b", "c", "d"]);
    for (const c of sent) {
      expect(Object.keys(c.kwargs)).toEqual(["broadcast", "size"]);
      expect(c.kwargs.broadcast).toEqual({ nonce: b.nonce, origin: nodes[0]!.peer, endpoint: "work" });
      expect(c.args).toEqual([1]);
    }
  });

  test("gossip: flooding counts, and a fan-out limit of 2 relays to exactly 2 peers each", async () => {
    const flood = new FakeNetwork();
    const all = ["a", "b", "c", "d", "e"].map((n) => flood.add(n));
    fullMesh(flood, all);
    await all[0]!.layer.emit("c", "note");
    await flood.settle();
    expect(flood.calls.length).toBe(4 + 4 * 3);
    for (const n of all) expect((await n.layer.conversation("c")).length).toBe(1);

    const limited = new FakeNetwork();
    const some = ["a", "b", "c", "d", "e", "f"].map((n) => limited.add(n, "s", { gossipFanout: 2 }));
    fullMesh(limited, some);
    await some[0]!.layer.emit("c", "note");
    await limited.settle();
    expect(limited.calls.length).toBe(5 + 5 * 2);
    for (const relayer of ["b", "c", "d", "e", "f"]) {
      const out = limited.calls.filter((c) => c.from === relayer);
      expect(out.length).toBe(2);
      expect(out.every((c) => c.to !== "a" && c.to !== relayer)).toBe(true);
    }
  });

  test("reply events learnt by gossip or sync are filed under the (nonce, peer) id: Python's random ids never duplicate", async () => {
    const net = new FakeNetwork();
    const [a, b] = ["a", "b"].map((n) => net.add(n));
    fullMesh(net, [a!, b!]);
    const nonce = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6";
    const python: Peer = { ...a!.peer, id: "py", name: "py" };
    const first = makeEvent({ conversationId: nonce, kind: "reply", peer: python, payload: { result: 7 }, parentId: nonce });
    const second = { ...first, event_id: "another-random-id" };
    expect(await b!.layer.receiveEvent(first)).toEqual({ ok: true, stored: true });
    expect(await b!.layer.receiveEvent(second)).toEqual({ ok: true, stored: false });
    expect(await b!.layer.receiveReply(nonce, python, 7)).toEqual({ ok: true });
    await net.settle();
    const events = await b!.layer.conversation(nonce);
    expect(events.map((e) => e.event_id)).toEqual([replyEventId(nonce, "py")]);
    expect(await b!.layer.replies(nonce)).toEqual([{ nonce, peer: python, result: 7 }]);
    expect(net.emitted.filter((e) => e.node === "b" && e.event === "broadcast.reply").length).toBe(1);
    // The relay of the first copy reached a, which filed it the same way.
    expect((await a!.layer.conversation(nonce)).map((e) => e.event_id)).toEqual([replyEventId(nonce, "py")]);
  });

  test("events emitted here fire conversation.event and conversation.<kind> on the host", async () => {
    const net = new FakeNetwork();
    const { layer } = net.add("solo");
    const e = await layer.emit("c", "task.offer", { t: 1 });
    expect(net.emitted.map((x) => x.event)).toEqual(["conversation.event", "conversation.task.offer"]);
    expect(net.emitted[0]!.payload).toEqual(e);
  });
});

describe("conversation - compaction plan and digest", () => {
  const peer: Peer = { id: "p", address: "x", port: 1, swarm: null, team: null, name: "pat", kind: "node", capabilities: [], last_seen: 0 };
  const events = Array.from({ length: 8 }, (_, i) =>
    makeEvent({ conversationId: "n", eventId: i === 0 ? "n" : `e${i}`, kind: i === 0 ? "message" : "note", peer, payload: { i }, createdAt: 100 + i }),
  );

  test("plan keeps the opening message and the newest, folds the rest; null within the limit", () => {
    expect(planCompaction("n", events, { maxEvents: 8, keepRecent: 2 })).toBeNull();
    const plan = planCompaction("n", events, { maxEvents: 5, keepRecent: 2 })!;
    expect(plan.keep.map((e) => e.event_id)).toEqual(["n", "e6", "e7"]);
    expect(plan.fold.map((e) => e.event_id)).toEqual(["e1", "e2", "e3", "e4", "e5"]);
    // Without an event whose id is the conversation id, the oldest event opens it.
    const other = planCompaction("zzz", events, { maxEvents: 5, keepRecent: 1 })!;
    expect(other.keep.map((e) => e.event_id)).toEqual(["n", "e7"]);
  });

  test("digest: header with count, span, authors and kinds, then one line per event", async () => {
    const text = await digestSummarizer(events.slice(1, 4));
    const lines = text.split("\n");
    expect(lines[0]).toBe("3 events from 1970-01-01T00:01:41.000Z to 1970-01-01T00:01:43.000Z by pat: 3 note");
    expect(lines.slice(1)).toEqual(['- pat note: {"i":1}', '- pat note: {"i":2}', '- pat note: {"i":3}']);
  });
});
