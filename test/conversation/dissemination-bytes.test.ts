/**
 * A batch's items as bytes (hello feature `item_bytes`, docs/protocol.md) between nodes: Bun peers
 * that offered it send and answer items as one `bin`; a peer that did not gets (and sends) lists; a
 * relay sends an item on as the bytes it came in, and an item with keys it does not know encoded
 * again without them; malformed bytes are refused whole with `bad_request`, nothing else lost.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { RemoteError } from "../../src/errors.ts";
import { hasReplyItem, itemList } from "../../src/conversation/item-bytes.ts";
import { binaryOf } from "../../src/wire/bin-parts.ts";
import { BATCH_BYTES, MAX_BATCH_ITEMS } from "../../src/conversation/batch-items.ts";
import { skipValue } from "../../src/wire/msgpack-skip.ts";
import { encode } from "../../src/wire/codec.ts";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { broadcastWithReplies, remoteError, settle, stopAll, swarm, until, withoutHelloFeature } from "./swarm.ts";

afterEach(stopAll);

const BATCH = "_synapse.conversation.batch";

type Served = { items: unknown; from: unknown; answer: unknown };

/** Record every batch a node serves: its items as they came, its caller, and its answer's items. */
function logBatches(node: Node): Served[] {
  const log: Served[] = [];
  const endpoint = node.endpoints.get(BATCH)!;
  const serve = endpoint.handler;
  endpoint.handler = async (...args: unknown[]) => {
    const answer = (await serve(...args)) as { items: unknown };
    log.push({ items: args[0], from: args[1], answer: answer.items });
    return answer;
  };
  return log;
}




/** The encodings of the items in items as bytes, each on its own. */
function split(bin: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bin.length; ) {
    const end = skipValue(bin, at, bin.length);
    out.push(bin.slice(at, end));
    at = end;
  }
  return out;
}

/** Items' encodings back to back. */
function join(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

/** A replier/author neither node knows (unsigned, as a Python node's records), inside the swarm. */
const stranger: Peer = { id: "s".repeat(64), address: "127.0.0.1", port: 1, swarm: "conv", team: "default", name: "stranger", kind: "node", capabilities: [], last_seen: 1 };

function note(id: string, conversation: string): Record<string, unknown> {
  return { conversation_id: conversation, event_id: id, kind: "note", peer: stranger, payload: { id }, parent_id: null, created_at: Date.now() / 1000, metadata: {} };
}

describe("conversation - batch items as bytes", () => {
  test("between Bun nodes that offered it, requests and answers carry items as bytes, and every reply reaches every node", async () => {
    const nodes = await swarm(3);
    const logs = nodes.map(logBatches);
    const hello = await new Client("127.0.0.1", nodes[0]!.port).call<Record<string, unknown>>("_synapse.hello", { features: ["multiplex"] });
    expect(hello.item_bytes).toBe(true);
    const nonce = await broadcastWithReplies(nodes);
    const served = logs.flat();
    expect(served.length).toBeGreaterThan(0);
    for (const s of served) {
      expect(s.items).toBeInstanceOf(Uint8Array);
      // The answer as the handler returns it: bytes (in parts, joined when the frame is written).
      expect(binaryOf(s.answer)).toBeInstanceOf(Uint8Array);
    }
    expect(served.some((s) => itemList(s.items).length + itemList(s.answer).length > 0)).toBe(true);
    // The broadcast bench counts reply-carrying calls by hasReplyItem: on items as bytes it says what
    // the list-only test it replaced says of the same items decoded, batch by batch.
    const listHasReply = (items: unknown[]) => items.some((i) => typeof i === "object" && i !== null && "reply" in i);
    for (const s of served) {
      expect(hasReplyItem(s.items)).toBe(listHasReply(itemList(s.items)));
      expect(hasReplyItem(s.answer)).toBe(listHasReply(itemList(s.answer)));
    }
    expect(served.some((s) => hasReplyItem(s.items) || hasReplyItem(s.answer))).toBe(true);
    for (const node of nodes) expect((await node.replies(nonce)).map((r) => r.result)).toHaveLength(2);
  });

  test("a Bun peer that did not offer it is sent lists (answered with lists); the others still use bytes among themselves", async () => {
    const nodes = await swarm(4);
    const older = nodes[3]!;
    withoutHelloFeature(older, "item_bytes");
    for (const node of nodes) node.pool.closeAll(); // hellos are said on new connections
    const logs = nodes.map(logBatches);
    const nonce = await broadcastWithReplies(nodes);
    const toOlder = logs[3]!;
    const among = logs.slice(0, 3).flat().filter((s) => s.from !== older.id);
    expect(toOlder.length).toBeGreaterThan(0);
    expect(among.length).toBeGreaterThan(0);
    for (const s of toOlder) {
      expect(Array.isArray(s.items)).toBe(true);
      expect(Array.isArray(s.answer)).toBe(true);
    }
    expect(toOlder.some((s) => (s.items as unknown[]).length + (s.answer as unknown[]).length > 0)).toBe(true);
    for (const s of among) expect(s.items).toBeInstanceOf(Uint8Array);
    // Every answer comes in the form its request came in.
    for (const s of logs.flat()) expect(binaryOf(s.answer) !== null).toBe(s.items instanceof Uint8Array);
    for (const node of nodes) expect(await node.replies(nonce)).toHaveLength(3);
  });

  test("a relayed item travels as the bytes it came in; one with keys this node does not know is sent on without them", async () => {
    const nodes = await swarm(3);
    const [a, b, c] = nodes as [Node, Node, Node];
    const logs = [a, c].map(logBatches);
    // Written in an order of keys this node never writes (it writes the wire order), so that only
    // bytes sent on as they came can be equal to them.
    const { metadata, ...rest } = note("asis", "relay");
    const asIs = new Uint8Array(encode({ event: { metadata, ...rest } }));
    const unknownInEvent = new Uint8Array(encode({ event: { ...note("extra-event", "relay"), zzz: 1 } }));
    const unknownInPeer = new Uint8Array(encode({ event: { ...note("extra-peer", "relay"), peer: { ...stranger, zzz: 2 } } }));
    const unknownOutside = new Uint8Array(encode({ event: note("extra-outside", "relay"), zzz: 3 }));
    await new Client("127.0.0.1", b.port).call(BATCH, join([asIs, unknownInEvent, unknownInPeer, unknownOutside]), kw({ from: "x".repeat(64), have: new Uint8Array(0) }));
    await until(async () => (await Promise.all([a, c].map((n) => n.conversation("relay")))).every((events) => events.length === 4), 5000, "the events at a and c");
    await settle(nodes);
    const received = logs.flat().flatMap((s) => [s.items, s.answer]).filter((i): i is Uint8Array => i instanceof Uint8Array).flatMap(split);
    const asItems = received.map((bytes) => itemList(bytes)[0] as { event: Record<string, unknown> });
    const ids = (id: string) => asItems.filter((i) => i.event?.event_id === id);
    // b relayed it to a or c (and they to each other) as it came, byte for byte.
    expect(ids("asis").length).toBeGreaterThan(0);
    for (const [i, bytes] of received.entries()) if (asItems[i]!.event?.event_id === "asis") expect(bytes).toEqual(asIs);
    // The others went on encoded again from what was read: without the keys nobody knows.
    for (const id of ["extra-event", "extra-peer", "extra-outside"]) {
      expect(ids(id).length).toBeGreaterThan(0);
      for (const item of ids(id)) {
        expect(Object.keys(item)).toEqual(["event"]);
        expect(Object.keys(item.event)).toEqual(["conversation_id", "event_id", "kind", "peer", "payload", "parent_id", "created_at", "metadata"]);
        expect(item.event.peer).toEqual(stranger);
      }
    }
  });

  test("malformed items as bytes are refused whole with bad_request; the node keeps serving and loses nothing else", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    const client = new Client("127.0.0.1", a.port);
    const call = (items: Uint8Array) => client.call(BATCH, items, kw({ from: b.id, have: new Uint8Array(0) }));
    const item = (id: string) => new Uint8Array(encode({ event: note(id, "bad") }));
    await call(item("kept"));
    const two = join([item("first"), item("second")]);
    const refusals = [
      two.subarray(0, two.length - 4), // truncated: the first item whole, the second cut
      join([item("garbage"), Uint8Array.of(0xc1, 0x00)]),
      join([item("many"), new Uint8Array(MAX_BATCH_ITEMS).fill(0xc0)]),
      join([item("big-neighbour"), new Uint8Array(encode({ event: { ...note("big", "bad"), payload: { text: "x".repeat(BATCH_BYTES) } } }))]),
    ];
    for (const bytes of refusals) {
      const error = await remoteError(call(bytes));
      expect(error).toBeInstanceOf(RemoteError);
      expect(error.code).toBe("bad_request");
      expect(error.message).toContain("invalid conversation batch");
    }
    await call(item("after"));
    await settle(nodes);
    // What came before and after is held (and spread to b); nothing of a refused batch, not even its whole first items.
    for (const node of nodes) {
      await until(async () => (await node.conversation("bad")).length === 2, 5000, "the good events");
      expect((await node.conversation("bad")).map((e) => e.event_id).sort()).toEqual(["after", "kept"]);
    }
  });
});
