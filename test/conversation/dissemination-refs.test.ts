/**
 * Batched replies by reference (hello feature `reply_ref`, docs/protocol.md): between Bun peers that
 * offered it a reply item carries its replier's id, and the receiver files it with its own record of
 * the replier; a peer that did not offer it (an older Bun node) gets whole records and is never asked
 * for references; a replier unknown to the receiver is left out and brought whole by its next pull;
 * malformed references are skipped, never a crash.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { rawKey, readItems, toRefWire, toWire, type Item } from "../../src/conversation/batch-items.ts";
import { itemList } from "../../src/conversation/item-bytes.ts";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { broadcastWithReplies, settle, stopAll, swarm, until, withoutHelloFeature } from "./swarm.ts";

afterEach(stopAll);

const BATCH = "_synapse.conversation.batch";

type Logged = { items: unknown[]; from: unknown; refs: unknown };


/** Record every batch a node serves: its items, `from` and `refs`. */
function logBatches(node: Node): Logged[] {
  const log: Logged[] = [];
  const endpoint = node.endpoints.get(BATCH)!;
  const serve = endpoint.handler;
  endpoint.handler = (...args: unknown[]) => {
    log.push({ items: itemList(args[0]), from: args[1], refs: args[3] });
    return serve(...args);
  };
  return log;
}

/** The reply maps of the items a node was sent. */
function replies(log: Logged[]): Array<Record<string, unknown>> {
  return log.flatMap((b) => b.items.filter((i): i is { reply: Record<string, unknown> } => typeof i === "object" && i !== null && "reply" in i).map((i) => i.reply));
}



describe("conversation - batched replies by reference", () => {
  test("the item forms: by reference a reply carries its replier's id for its record; readItems reads both, a record winning over an id", () => {
    const peer: Peer = { id: "r".repeat(64), address: "127.0.0.1", port: 9, swarm: "s", team: null, name: "r", kind: "node", capabilities: [], last_seen: 1 };
    const item: Item = { kind: "reply", nonce: "n1", peer, result: { x: 1 }, sig: new Uint8Array(64), mac: new Uint8Array([1, 2]) };
    const ref = toRefWire(item, toWire(item));
    expect(ref).toEqual({ reply: { nonce: "n1", peer_id: peer.id, result: { x: 1 }, sig: new Uint8Array(64), mac: new Uint8Array([1, 2]) } });
    const event: Item = { kind: "event", event: { conversation_id: "c", event_id: "e", kind: "note", peer, payload: {}, parent_id: null, created_at: 1, metadata: {} } };
    const wire = toWire(event);
    expect(toRefWire(event, wire)).toBe(wire);
    const [byRef, whole, both] = readItems([ref, toWire(item), { reply: { nonce: "n1", peer, peer_id: "someone else", result: null } }]);
    expect(byRef).toMatchObject({ kind: "reply", nonce: "n1", peerId: peer.id, peer: undefined, known: false });
    expect(rawKey(byRef!)).toBe(`reply\0n1\0${peer.id}`);
    expect(whole).toMatchObject({ kind: "reply", peerId: peer.id, peer, known: false });
    expect(both).toMatchObject({ kind: "reply", peerId: peer.id, peer });
  });

  test("between Bun peers that offered it, replies travel by reference and every node files them with the replier's whole record", async () => {
    const nodes = await swarm(4);
    const logs = nodes.map(logBatches);
    const hello = await new Client("127.0.0.1", nodes[0]!.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.reply_ref).toBe(true);
    const nonce = await broadcastWithReplies(nodes);
    const sent = logs.flatMap(replies);
    expect(sent.some((r) => typeof r.peer_id === "string" && r.peer === undefined)).toBe(true);
    expect(sent.every((r) => (r.peer === undefined) !== (r.peer_id === undefined))).toBe(true);
    // Answers by reference only to calls that asked for them.
    expect(logs.flat().some((b) => b.refs === true)).toBe(true);
    for (const node of nodes) {
      const got = await node.replies(nonce);
      expect(got.map((r) => r.peer.name).sort()).toEqual(["n1", "n2", "n3"]);
      for (const r of got) {
        expect(r.result).toEqual({ from: r.peer.name });
        expect(r.peer.port).toBe(nodes.find((n) => n.id === r.peer.id)!.port);
      }
    }
  });

  test("a Bun peer that did not offer `reply_ref` gets whole records and is never asked for references", async () => {
    const nodes = await swarm(4);
    const older = nodes[3]!;
    withoutHelloFeature(older, "reply_ref");
    // Hellos are said on new connections: drop the ones made while meshing.
    for (const node of nodes) node.pool.closeAll();
    const log = logBatches(older);
    const nonce = await broadcastWithReplies(nodes);
    expect(log.length).toBeGreaterThan(0);
    for (const batch of log) expect(batch.refs).toBeUndefined();
    const got = replies(log);
    expect(got.length).toBeGreaterThan(0);
    for (const r of got) {
      expect(r.peer_id).toBeUndefined();
      expect(typeof (r.peer as Peer).id).toBe("string");
    }
    expect((await older.replies(nonce)).length).toBe(3);
  });

  test("a reply by reference to a replier unknown here is left out, and the next pull asks for whole records, which brings it", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    await a.emitConversationEvent("warm-up", "note");
    await b.emitConversationEvent("warm-up", "note");
    await settle(nodes);
    const pulls = logBatches(b);
    const toA = logBatches(a);
    // A replier neither node knows (unsigned, as a Python node's reply), given to b whole.
    const stranger: Peer = { id: "s".repeat(64), address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "stranger", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
    const nonce = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f8";
    await new Client("127.0.0.1", b.port).call(BATCH, [{ reply: { nonce, peer: stranger, result: "hi" } }], kw({ from: "x".repeat(64), have: new Uint8Array(0) }));
    // b pushes it on to a by reference; a cannot resolve it: the next call a makes asks for whole records.
    await until(async () => (await a.replies(nonce)).length === 1, 5000, "the stranger's reply at a");
    expect((await a.replies(nonce))[0]!.peer).toEqual(stranger);
    expect(replies(toA).some((r) => r.peer_id === stranger.id)).toBe(true); // it did come by reference first
    const fromA = pulls.filter((p) => p.from === a.id);
    expect(fromA.some((p) => p.refs === undefined)).toBe(true);
    // And a reference from a direct caller to an unknown replier: skipped, answered, nothing filed.
    const other = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f9";
    const answer = await new Client("127.0.0.1", a.port).call<{ items: unknown[] }>(BATCH, [{ reply: { nonce: other, peer_id: "u".repeat(64), result: 1 } }], kw({ from: b.id, have: new Uint8Array(0), refs: true }));
    expect(Array.isArray(answer.items)).toBe(true);
    expect(await a.replies(other)).toEqual([]);
    await settle(nodes);
  });

  test("malformed references are skipped item by item; the rest is taken and the node keeps serving", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    const nonce = "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5fa";
    const good = { reply: { nonce, peer_id: b.id, result: "ok", sig: b.records.signReply(nonce, "ok") } };
    const items = [
      { reply: { nonce, peer_id: 42, result: 1 } },
      { reply: { nonce, peer_id: "", result: 1 } },
      { reply: { nonce, peer_id: "x".repeat(5000), result: 1 } },
      { reply: { nonce, peer_id: [b.id], result: 1 } },
      { reply: { nonce, peer: "not a map", peer_id: b.id, result: 1 } },
      { reply: { nonce: 7, peer_id: b.id, result: 1 } },
      // b's id with a result b did not sign: refused by the signature check.
      { reply: { nonce, peer_id: b.id, result: "forged", sig: a.records.signReply(nonce, "forged") } },
      good,
    ];
    const client = new Client("127.0.0.1", a.port);
    const answer = await client.call<{ items: unknown[] }>(BATCH, items, kw({ from: b.id, have: new Uint8Array(0), refs: "yes" }));
    expect(Array.isArray(answer.items)).toBe(true);
    const got = await a.replies(nonce);
    expect(got.map((r) => [r.peer.id, r.result])).toEqual([[b.id, "ok"]]);
    expect(got[0]!.peer.port).toBe(b.port);
    expect(await client.call("_synapse.ping")).toBeDefined();
    await settle(nodes);
  });
});
