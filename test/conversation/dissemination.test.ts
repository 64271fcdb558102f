/**
 * Batched dissemination among Bun peers (`_synapse.conversation.batch`, docs/conversations.md):
 * de-duplication, the pull half (the `have` digest), repair by pull, Python-like peers that only
 * ever get per-event calls, and a 50-node swarm over the in-memory network in which every node gets
 * every reply with few reply-carrying calls per node (counted, not timed).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { request } from "../../src/wire/messages.ts";
import { decode } from "../../src/wire/codec.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { itemKey, keyHash, writeDigest } from "../../src/conversation/batch-items.ts";
import { hasReplyItem } from "../../src/conversation/item-bytes.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { Node } from "../../src/node.ts";
import { ConfigError } from "../../src/errors.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import type { ConversationEvent, Peer } from "../../src/types.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { track } from "../helpers/net.ts";
import { eventually, settle, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

const BATCH = "_synapse.conversation.batch";

/** Emit one event from every node and let it settle: every node then has a connection (and the hello) to every other. */
async function warm(nodes: Node[]): Promise<void> {
  for (const node of nodes) await node.emitConversationEvent("warm-up", "note", { from: node.name });
  await settle(nodes);
}

describe("conversation - batched dissemination", () => {
  test("a batch carrying an event and a reply twice stores each once; a second copy is dropped before any work", async () => {
    const nodes = await swarm(3);
    const [a, b] = nodes as [Node, Node];
    const stored: string[] = [];
    a.on("conversation.event", (e) => void stored.push(e.kind));
    const nonce = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6";
    const author = b.toPeer();
    // Signed by their author, as b's own would be (a refuses unsigned records in a signer's name).
    const event = b.records.signEvent(makeEvent({ conversationId: "c1", kind: "note", peer: author, payload: { n: 1 } }));
    const reply = { nonce, peer: author, result: 42, sig: b.records.signReply(nonce, 42) };
    const items = [{ event }, { event }, { reply }, { reply }];
    const client = new Client("127.0.0.1", a.port);
    await client.call(BATCH, items, kw({ from: b.id, have: new Uint8Array(0) }));
    expect(a.conversationLayer.stats.duplicatesDropped).toBe(2);
    await client.call(BATCH, items, kw({ from: b.id, have: new Uint8Array(0) }));
    expect(a.conversationLayer.stats.duplicatesDropped).toBe(6);
    expect(a.conversationLayer.stats.batchesReceived).toBe(2);
    expect(stored.sort()).toEqual(["note", "reply"]);
    expect((await a.conversation("c1")).map((e) => e.event_id)).toEqual([event.event_id]);
    expect(await a.replies(nonce)).toEqual([{ nonce, peer: author, result: 42 }]);
    await settle(nodes);
  });

  test("a batch cannot carry records in another node's name: an unsigned or wrongly signed event or reply of a signer is refused, the rest taken", async () => {
    const nodes = await swarm(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    await warm(nodes); // a has seen b sign
    const nonce = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f7";
    const author = b.toPeer();
    const unsigned = makeEvent({ conversationId: "forged", kind: "note", peer: author, payload: { n: 1 } });
    const wrongKey = c.records.signEvent(makeEvent({ conversationId: "forged", kind: "note", peer: author, payload: { n: 2 } }));
    const altered = { ...b.records.signEvent(makeEvent({ conversationId: "forged", kind: "note", peer: author, payload: { n: 3 } })), payload: { n: 4 } };
    const genuine = b.records.signEvent(makeEvent({ conversationId: "forged", kind: "note", peer: author, payload: { n: 5 } }));
    const items = [
      { event: unsigned },
      { event: wrongKey },
      { event: altered },
      { reply: { nonce, peer: author, result: "forged" } },
      { reply: { nonce, peer: author, result: "forged", sig: c.records.signReply(nonce, "forged") } },
      { event: genuine },
    ];
    await new Client("127.0.0.1", a.port).call(BATCH, items, kw({ from: c.id, have: new Uint8Array(0) }));
    await settle(nodes);
    expect((await a.conversation("forged")).map((e) => e.payload.n)).toEqual([5]);
    // Nothing forged was stored or relayed anywhere (a's relay of the genuine one is not awaited here).
    for (const node of nodes) {
      expect((await node.conversation("forged")).filter((e) => e.payload.n !== 5)).toEqual([]);
      expect(await node.replies(nonce)).toEqual([]);
    }
  });

  test("the answer brings what the caller lacks: items its `have` digest lists, or that it sent, are left out", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    await warm(nodes);
    const one = await a.emitConversationEvent("pull", "note", { n: 1 });
    const two = await a.emitConversationEvent("pull", "note", { n: 2 });
    const client = new Client("127.0.0.1", a.port);
    const have = writeDigest([keyHash(itemKey({ kind: "event", event: one }))]);
    // A caller a knows nothing about (no id of a peer of a's): a answers from what it remembers.
    const answer = await client.call<{ items: Array<{ event?: ConversationEvent }> }>(BATCH, [], kw({ from: "x".repeat(64), have }));
    const ids = answer.items.map((i) => i.event?.event_id);
    expect(ids).toContain(two.event_id);
    expect(ids).not.toContain(one.event_id);
    const again = await client.call<{ items: Array<{ event?: ConversationEvent }> }>(BATCH, [{ event: two }], kw({ from: "y".repeat(64), have }));
    expect(again.items.map((i) => i.event?.event_id)).not.toContain(two.event_id);
    await settle(nodes);
    expect((await b.conversation("pull")).length).toBe(2);
  });

  test("the batch options are checked: an interval in (0, 60] seconds or null, a fan-out of at least 1", () => {
    for (const bad of [0, -1, 61, Number.NaN, "0.1"]) {
      expect(() => new Node({ conversationBatchInterval: bad as number })).toThrow(ConfigError);
    }
    for (const bad of [0, 1.5, Number.POSITIVE_INFINITY]) expect(() => new Node({ conversationBatchFanout: bad })).toThrow(ConfigError);
    expect(() => new Node({ conversationBatchInterval: null, conversationBatchFanout: 3 })).not.toThrow();
  });

  test("the hello answer offers `batch`", async () => {
    const [a] = await swarm(1);
    const hello = await new Client("127.0.0.1", a!.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.batch).toBe(true);
  });

  test("malformed batches are refused or skipped item by item; the node keeps serving", async () => {
    const [a] = await swarm(2);
    const client = new Client("127.0.0.1", a!.port);
    await expect(client.call(BATCH, "not a list")).rejects.toMatchObject({ code: "bad_request" });
    await expect(client.call(BATCH, Array.from({ length: 5000 }, () => 1))).rejects.toMatchObject({ code: "bad_request" });
    const outsider = makeEvent({ conversationId: "c", kind: "note", peer: { ...a!.toPeer(), id: "o".repeat(64), swarm: "other" } });
    const answer = await client.call<{ items: unknown[] }>(BATCH, [7, null, { event: { event_id: 3 } }, { reply: { nonce: "n" } }, { event: outsider }], kw({ from: 5 }));
    expect(answer.items).toEqual([]);
    expect(await a!.conversations()).toEqual([]);
    expect(await client.call("_synapse.ping")).toBe("pong");
  });

  test("events reach every node through batches, each stored once, and the per-event endpoint is not used between Bun peers", async () => {
    const nodes = await swarm(5);
    await warm(nodes);
    const perEvent = nodes.map(() => 0);
    nodes.forEach((node, i) => {
      const endpoint = node.endpoints.get("_synapse.conversation.event")!;
      const original = endpoint.handler;
      endpoint.handler = (...args: unknown[]) => {
        perEvent[i]!++;
        return original(...args);
      };
    });
    const seen = nodes.map(() => 0);
    nodes.forEach((node, i) => node.on("conversation.note", () => void seen[i]!++));
    for (const node of nodes) await node.emitConversationEvent("round", "note", { from: node.name });
    await settle(nodes);
    expect(seen).toEqual(nodes.map(() => nodes.length));
    expect(perEvent).toEqual(nodes.map(() => 0));
    for (const node of nodes) expect((await node.conversation("round")).length).toBe(nodes.length);
    expect(nodes.reduce((sum, n) => sum + n.conversationLayer.stats.batchesSent, 0)).toBeGreaterThan(0);
  });

  test("repair by pull: an item whose parent never arrived makes the node sync that conversation from its sender", async () => {
    const nodes = await swarm(3);
    const [a, , c] = nodes as [Node, Node, Node];
    await warm(nodes);
    // The offer is in a's log only: the batch that should have carried it to c was lost.
    const offer = a.records.signEvent(makeEvent({ conversationId: "job", kind: "task.offer", peer: a.toPeer(), payload: { task: "x" } }));
    expect(await a.conversationLayer.log.append(offer)).toBe(true);
    const claim = a.records.signEvent(makeEvent({ conversationId: "job", kind: "task.claim", peer: a.toPeer(), payload: {}, parentId: offer.event_id }));
    await new Client("127.0.0.1", c.port).call(BATCH, [{ event: claim }], kw({ from: a.id, have: new Uint8Array(0) }));
    expect((await c.conversation("job")).map((e) => e.kind)).toEqual(["task.claim"]);
    await eventually(() => c.conversationLayer.stats.repairs === 1, 10_000, "the repair");
    await settle(nodes);
    expect((await c.conversation("job")).map((e) => e.event_id)).toEqual([offer.event_id, claim.event_id]);
  });

  test("a batch that fails is sent again by a later round: the node that lost it still gets the event", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    await warm(nodes);
    const endpoint = b.endpoints.get(BATCH)!;
    const original = endpoint.handler;
    let dropped = 0;
    endpoint.handler = (...args: unknown[]) => {
      if (dropped++ === 0) throw new Error("lost on the way");
      return original(...args);
    };
    const event = await a.emitConversationEvent("lossy", "note");
    await eventually(() => dropped >= 2, 10_000, "a second batch");
    await settle(nodes);
    expect((await b.conversation("lossy")).map((e) => e.event_id)).toEqual([event.event_id]);
  });
});

describe("conversation - batched dissemination in a mixed swarm", () => {
  test("a Python-like peer only ever gets per-event calls, each one a request a Python node accepts", async () => {
    const nodes = await swarm(3);
    const server = track(new PythonLikeServer().start());
    server.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
    server.endpoint("_synapse.broadcast.reply", () => ({ ok: true }));
    server.endpoint("_synapse.ping", () => "pong");
    server.endpoint("ask.me", () => null);
    const peer: Peer = { id: "p".repeat(64), address: "127.0.0.1", port: server.port, swarm: "conv", team: "default", name: "python", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
    for (const node of nodes) expect((await node.endpoints.dispatch(request("_synapse.join", "j", [peer], {}), { address: "127.0.0.1", port: 1 })).ok).toBe(true);
    await warm(nodes);
    for (const node of nodes.slice(1)) node.endpoint("ask.me", (ctx: CallContext) => void node.reply(ctx.broadcast!, node.name));
    const event = await nodes[1]!.emitConversationEvent("mixed", "note", { n: 1 });
    const b = await nodes[0]!.broadcast("ask.me");
    await eventually(() => nodes.every((n) => n.conversationLayer.stats.batchesSent + n.conversationLayer.stats.batchesReceived > 0), 5000, "batches among the Bun nodes");
    await settle(nodes);
    for (const node of nodes) expect((await node.replies(b)).length).toBe(2);

    const endpoints = new Set(server.log.map((r) => r.endpoint));
    expect(endpoints.has(BATCH)).toBe(false);
    for (const name of endpoints) expect(["_synapse.hello", "_synapse.conversation.event", "_synapse.broadcast.reply", "_synapse.ping", "ask.me"]).toContain(name);
    for (const r of server.log) {
      const message = decode(r.raw) as Record<string, unknown>;
      expect(JSON.stringify(message)).not.toContain("peer_id"); // no reply by reference (a Bun extension)
      expect(Object.keys(message).sort()).toEqual(["args", "endpoint", "id", "kwargs", "type"]);
      if (r.endpoint === "_synapse.conversation.event") {
        expect(r.args.length).toBe(1);
        expect(Object.keys(r.kwargs)).toEqual([]);
        expect(Object.keys(r.args[0] as object)).toEqual(["conversation_id", "event_id", "kind", "peer", "payload", "parent_id", "created_at", "metadata"]);
      }
      if (r.endpoint === "_synapse.broadcast.reply") {
        expect(r.args.length).toBe(2);
        expect(Object.keys(r.kwargs)).toEqual(["result"]);
      }
    }
    const events = server.log.filter((r) => r.endpoint === "_synapse.conversation.event").map((r) => (r.args[0] as ConversationEvent).event_id);
    expect(events).toContain(event.event_id);
    const replies = server.log.filter((r) => r.endpoint === "_synapse.broadcast.reply").map((r) => (r.args[1] as Peer).name);
    expect(new Set(replies)).toEqual(new Set(["n1", "n2"]));
  });
});

describe("conversation - batched dissemination at 50 nodes (in-memory network)", () => {
  test("every node gets every reply to a broadcast all 50 peers answer, with few reply-carrying calls per node", async () => {
    const net = new MemoryNetwork();
    const n = 50;
    const nodes: Node[] = [];
    for (let i = 0; i <= n; i++) {
      const address = `10.5.${Math.floor(i / 200)}.${(i % 200) + 1}`;
      const node = new Node({ name: i === 0 ? "origin" : `p${i}`, swarm: "sim", bind: address, advertise: address, port: 7000, transport: net.transport(address), heartbeatInterval: null });
      track(node);
      await node.start();
      nodes.push(node);
    }
    for (let pass = 0; pass < 2; pass++) await Promise.all(nodes.slice(1).map((node) => node.join({ seeds: ["10.5.0.1:7000"] })));
    await eventually(() => nodes.every((node) => node.peers.size === n), 20_000, "full mesh");
    await warm(nodes);
    const [origin, ...peers] = nodes as [Node, ...Node[]];
    for (const node of peers) node.endpoint("q", (ctx: CallContext) => void node.reply(ctx.broadcast!, node.name));

    // Reply-carrying calls, each counted for its caller: a reply call for its replier (in batched
    // mode only repliers make them, to the origin), a batch whose request or answer holds a reply for
    // the batch's `from`.
    const byCaller = new Map<string, number>();
    const add = (caller: unknown) => typeof caller === "string" && byCaller.set(caller, (byCaller.get(caller) ?? 0) + 1);
    for (const node of nodes) {
      const reply = node.endpoints.get("_synapse.broadcast.reply")!;
      const onReply = reply.handler;
      reply.handler = (...args: unknown[]) => {
        add((args[1] as Peer).id);
        return onReply(...args);
      };
      const batch = node.endpoints.get(BATCH)!;
      const onBatch = batch.handler;
      batch.handler = async (...args: unknown[]) => {
        const answer = (await onBatch(...args)) as { items: unknown };
        if (hasReplyItem(args[0]) || hasReplyItem(answer.items)) add(args[1]);
        return answer;
      };
    }
    const b = await origin.broadcast("q");
    for (let i = 0; i < 2000; i++) {
      const counts = await Promise.all(nodes.map(async (node) => (await node.replies(b)).length));
      if (counts.every((c) => c === n)) break;
      await Bun.sleep(10);
    }
    for (const node of nodes) expect((await node.replies(b)).length).toBe(n);
    await settle(nodes);
    const calls = [...byCaller.values()];
    const total = calls.reduce((sum, c) => sum + c, 0);
    // Flooding would take about n^3 = 125,000 reply calls; a relay fan-out of 3, 10,000.
    expect(total).toBeLessThan(25 * nodes.length);
    expect(Math.max(...calls)).toBeLessThanOrEqual(40);
    console.log(`50 peers: ${total} reply-carrying calls, ${(total / n).toFixed(1)} per peer, at most ${Math.max(...calls)}`);
  }, 60_000);
});
