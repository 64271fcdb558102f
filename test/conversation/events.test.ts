import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { ConfigError, RemoteError } from "../../src/errors.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import { countCalls, settle, sleep, startNode, stopAll, swarm, remoteError } from "./swarm.ts";

afterEach(stopAll);

describe("conversation - events and gossip", () => {
  test("custom kinds gossip to every node, with parent id and metadata, and fire conversation.<kind>", async () => {
    const nodes = await swarm(3);
    const [a] = nodes as [typeof nodes[0]];
    const offers: Array<{ node: string; event: ConversationEvent }> = [];
    const all: string[] = [];
    for (const node of nodes) {
      node.on("conversation.task.offer", (event) => void offers.push({ node: node.name, event }));
      node.on("conversation.event", (event) => void all.push(`${node.name}:${event.kind}`));
    }
    const offer = await a.emitConversationEvent("task-7", "task.offer", { task: "sort the mail" }, { metadata: { priority: 2 } });
    const claim = await nodes[1]!.emitConversationEvent("task-7", "task.claim", { by: "n1" }, { parentId: offer.event_id });
    await settle(nodes);
    expect(offers.map((o) => o.node).sort()).toEqual(["n0", "n1", "n2"]);
    expect(all.sort()).toEqual(["n0:task.claim", "n0:task.offer", "n1:task.claim", "n1:task.offer", "n2:task.claim", "n2:task.offer"]);
    for (const node of nodes) {
      const events = await node.conversation("task-7");
      expect(events.map((e) => e.event_id)).toEqual([offer.event_id, claim.event_id]);
      expect(events[0]).toEqual(offer);
      // The author's signature rides along in the metadata (docs/security.md).
      expect(events[0]!.metadata).toEqual({ priority: 2, _sig: expect.any(String) });
      expect(events[1]!.parent_id).toBe(offer.event_id);
      expect(events[1]!.peer.id).toBe(nodes[1]!.id);
      expect(await node.conversations()).toEqual(["task-7"]);
    }
  });

  // Per-event mode (batching off): what every peer that does not batch, a Python node, gets.
  test("flooding with de-duplication: one event costs n-1 + (n-1)(n-2) calls, then stops", async () => {
    const nodes = await swarm(4, { conversationBatchInterval: null });
    const counters = nodes.map((n) => countCalls(n, "_synapse.conversation.event"));
    const stored: string[] = [];
    for (const node of nodes) node.on("conversation.note", () => void stored.push(node.name));
    await nodes[0]!.emitConversationEvent("c", "note", { n: 1 });
    await settle(nodes);
    await sleep(50);
    await settle(nodes);
    const total = counters.reduce((sum, c) => sum + c.count, 0);
    expect(total).toBe(3 + 3 * 2);
    expect(counters[0]!.count).toBe(0); // never sent back to its author
    expect(stored.sort()).toEqual(["n0", "n1", "n2", "n3"]); // stored once everywhere
  });

  test("gossipFanout bounds relays; a relayed event still reaches a node the author does not know", async () => {
    const nodes = await swarm(5, { conversationGossipFanout: 1, conversationBatchInterval: null });
    const counters = nodes.map((n) => countCalls(n, "_synapse.conversation.event"));
    await nodes[0]!.emitConversationEvent("c", "note");
    await settle(nodes);
    expect(counters.reduce((sum, c) => sum + c.count, 0)).toBe(4 + 4 * 1);

    // Line: a - b - c (a and c do not know each other).
    const a = await startNode({ name: "a", swarm: "line", heartbeatInterval: null, conversationGossipFanout: 1 });
    const b = await startNode({ name: "b", swarm: "line", heartbeatInterval: null, conversationGossipFanout: 1 });
    const c = await startNode({ name: "c", swarm: "line", heartbeatInterval: null, conversationGossipFanout: 1 });
    await a.join({ seeds: [`127.0.0.1:${b.port}`] });
    await b.join({ seeds: [`127.0.0.1:${c.port}`] });
    expect(a.peers.has(c.id)).toBe(false);
    const e = await a.emitConversationEvent("line", "note", { hop: 2 });
    await settle([a, b, c]);
    expect((await c.conversation("line")).map((x) => x.event_id)).toEqual([e.event_id]);
  });

  test("events authored outside the swarm or team are refused with bad_request", async () => {
    const [node] = await swarm(2, { team: "red" });
    const client = new Client("127.0.0.1", node!.port);
    const base = node!.toPeer();
    for (const [peer, message] of [
      [{ ...base, id: "x".repeat(64), swarm: "elsewhere" }, "peer requested a different swarm"],
      [{ ...base, id: "y".repeat(64), swarm: null }, "peer requested a different swarm"],
      [{ ...base, id: "z".repeat(64), team: "blue" }, "peer requested a different team"],
    ] as const) {
      const event = makeEvent({ conversationId: "c", kind: "note", peer });
      const error = await remoteError(client.call("_synapse.conversation.event", event));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.code).toBe("bad_request");
      expect(error.message).toBe(message);
    }
    expect(await node!.conversations()).toEqual([]);
    // A node without a swarm accepts any.
    const open = await startNode({ name: "open", swarm: null, team: null, heartbeatInterval: null });
    const foreign = makeEvent({ conversationId: "c", kind: "note", peer: { ...base, id: "w".repeat(64), swarm: "any", team: "any" } });
    expect(await new Client("127.0.0.1", open.port).call("_synapse.conversation.event", foreign)).toEqual({ ok: true, stored: true });
  });

  test("a broadcast whose origin is outside the swarm is served but not recorded", async () => {
    const [node] = await swarm(2);
    let ran = 0;
    node!.endpoint("job", () => ++ran);
    const foreign = { ...node!.toPeer(), id: "f".repeat(64), swarm: "elsewhere" };
    const client = new Client("127.0.0.1", node!.port);
    const broadcast = { nonce: "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6", origin: foreign, endpoint: "job" };
    expect(await client.call("job", kw({ broadcast }))).toBe(1);
    await node!.conversationLayer.flush();
    expect(await node!.conversations()).toEqual([]);
    // The same call from a member is recorded.
    expect(await client.call("job", kw({ broadcast: { ...broadcast, origin: { ...foreign, swarm: "conv" } } }))).toBe(2);
    await node!.conversationLayer.flush();
    expect(await node!.conversations()).toEqual([broadcast.nonce]);
  });

  test("malformed events are refused with an error and the node keeps serving", async () => {
    const [node] = await swarm(2);
    const client = new Client("127.0.0.1", node!.port);
    // An unsigned event of a Python-like author (one never seen signing), accepted in an open swarm.
    const good = makeEvent({ conversationId: "c", kind: "note", peer: { ...node!.toPeer(), id: "ab".repeat(32) } });
    const cases: Array<[unknown, string]> = [
      ["not a map", "invalid conversation event: not a map"],
      [[1, 2], "invalid conversation event: not a map"],
      [{ ...good, conversation_id: "" }, "invalid conversation event: conversation_id must be a non-empty string"],
      [{ ...good, event_id: 5 }, "invalid conversation event: event_id must be a non-empty string"],
      [{ ...good, kind: null }, "invalid conversation event: kind must be a non-empty string"],
      [{ ...good, peer: "me" }, "invalid conversation event peer: not a map"],
      [{ ...good, peer: { id: "p" } }, "invalid conversation event peer: address must be a string"],
      [{ ...good, payload: [1] }, "invalid conversation event: payload must be a map"],
      [{ ...good, metadata: "m" }, "invalid conversation event: metadata must be a map"],
      [{ ...good, parent_id: 3 }, "invalid conversation event: parent_id must be a string or nil"],
      [{ ...good, created_at: "yesterday" }, "invalid conversation event: created_at must be a number"],
      [{ ...good, event_id: "e".repeat(300) }, "invalid conversation event: event_id is longer than 256 characters"],
    ];
    for (const [event, message] of cases) {
      const error = await remoteError(client.call("_synapse.conversation.event", event));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.code).toBe("bad_request");
      expect(error.message).toBe(message);
    }
    const none = await remoteError(client.call("_synapse.conversation.event"));
    expect(none.message).toBe("invalid conversation event: not a map");
    expect(await node!.conversations()).toEqual([]);
    // Missing optional fields are fine; extra top-level keys are dropped (Python ignores them).
    const { parent_id: _p, metadata: _m, payload: _pl, ...minimal } = good;
    expect(await client.call("_synapse.conversation.event", { ...minimal, extra: 1 })).toEqual({ ok: true, stored: true });
    const [stored] = await node!.conversation("c");
    expect(stored).toEqual({ ...good, payload: {}, parent_id: null, metadata: {} });
    expect(await client.call("_synapse.ping")).toBe("pong");
  });

  test("a throwing or rejecting event listener never stops the node", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [typeof nodes[0], typeof nodes[0]];
    let after = 0;
    b.on("conversation.event", () => {
      throw new Error("listener bug");
    });
    b.on("conversation.note", async () => {
      throw new Error("async listener bug");
    });
    b.on("broadcast.received", () => {
      throw new Error("listener bug");
    });
    b.on("conversation.event", () => void after++);
    await a.emitConversationEvent("c", "note");
    await a.broadcast("_synapse.ping");
    await settle(nodes);
    expect(after).toBe(2);
    expect((await b.conversations()).length).toBe(2);
    expect(await new Client("127.0.0.1", b.port).call("_synapse.ping")).toBe("pong");
  });

  test("emit checks its arguments", async () => {
    const [a] = await swarm(2);
    await expect(a!.emitConversationEvent("", "note")).rejects.toBeInstanceOf(ConfigError);
    await expect(a!.emitConversationEvent("c", "")).rejects.toBeInstanceOf(ConfigError);
    await expect(a!.emitConversationEvent("c", "reply", { result: 1 })).rejects.toThrow("use reply()");
    await expect(a!.emitConversationEvent("c", "note", [] as never)).rejects.toBeInstanceOf(ConfigError);
    await expect(a!.emitConversationEvent("c", "note", { f: () => 1 })).rejects.toThrow();
    expect(await a!.conversations()).toEqual([]);
  });

  test("conversation.list and conversation.sync over the wire", async () => {
    const [a, b] = await swarm(2);
    const e1 = await a!.emitConversationEvent("c1", "note", { i: 1 });
    await sleep(5);
    const e2 = await a!.emitConversationEvent("c1", "note", { i: 2 });
    await a!.emitConversationEvent("c2", "note");
    const client = new Client("127.0.0.1", b!.port);
    await settle([a!, b!]);
    expect(await client.call("_synapse.conversation.list")).toEqual(["c1", "c2"]);
    const all = await client.call<{ events: ConversationEvent[] }>("_synapse.conversation.sync", "c1");
    expect(all.events.map((e) => e.event_id)).toEqual([e1.event_id, e2.event_id]);
    const later = await client.call<{ events: ConversationEvent[] }>("_synapse.conversation.sync", "c1", kw({ since: e1.created_at }));
    expect(later.events.map((e) => e.event_id)).toEqual([e2.event_id]);
    expect(await client.call("_synapse.conversation.sync", "unknown")).toEqual({ events: [] });
    const bad = await remoteError(client.call("_synapse.conversation.sync", "c1", kw({ since: "x" })));
    expect(bad.code).toBe("bad_request");
  });
});
