import { afterEach, describe, expect, test } from "bun:test";
import { encode } from "../../src/wire/codec.ts";
import { request, okResponse } from "../../src/wire/messages.ts";
import { broadcastKwargs } from "../../src/conversation/broadcast.ts";
import { makeEvent, parseEvent } from "../../src/conversation/events.ts";
import { readPeer } from "../../src/wire/peer.ts";
import { kw } from "../../src/rpc/client.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { frameBytes, startNode, stopAll, track, eventually } from "../helpers/net.ts";
import type { Broadcast, Peer } from "../../src/types.ts";
import { loadVectors, type Vector as RawVector } from "../helpers/vectors.ts";

type Vector = Omit<RawVector, "decoded"> & { decoded: Record<string, unknown> };
const vectors = (await loadVectors()) as Vector[];
const find = (prefix: string) => {
  const v = vectors.find((f) => f.name.startsWith(prefix));
  if (!v) throw new Error(`no vector ${prefix}`);
  return v;
};
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const ZERO_ID = "0".repeat(64);

afterEach(stopAll);

describe("conversation - wire vectors", () => {
  test("broadcast request: byte for byte (broadcast kwarg first, then the caller's)", () => {
    const v = find("broadcast request team.question");
    const kwargs = v.decoded.kwargs as { broadcast: Broadcast; question: string };
    const origin = readPeer(kwargs.broadcast.origin, { mode: "lenient" });
    const b: Broadcast = { nonce: kwargs.broadcast.nonce, origin, endpoint: "team.question" };
    const msg = request("team.question", ZERO_ID, [], broadcastKwargs(b, { question: kwargs.question }));
    expect(hex(frameBytes(encode(msg)))).toBe(v.hex);
  });

  test("ack conversation event: key order byte for byte, values equal (created_at is a whole float)", () => {
    const v = find("request _synapse.conversation.event(ack event)");
    const raw = (v.decoded.args as unknown[])[0] as Record<string, unknown>;
    const event = parseEvent(raw);
    expect(event).toEqual(raw as never);
    const rebuilt = makeEvent({
      conversationId: event.conversation_id,
      eventId: event.event_id,
      kind: "ack",
      peer: readPeer(raw.peer, { mode: "lenient" }),
      parentId: event.parent_id,
      createdAt: event.created_at,
    });
    const mine = encode(request("_synapse.conversation.event", ZERO_ID, [rebuilt], {}));
    // Python writes 1700000002.0 as float64 (cb 41d954fc40800000); JavaScript writes the whole number
    // as uint32 (ce 6553f102). Every other byte is the same.
    const expected = v.hex.slice(8).replace("cb41d954fc40800000", "ce6553f102");
    expect(hex(mine)).toBe(expected);
  });

  test("conversation event response and broadcast reply request/response: byte for byte", () => {
    const res = find("response to _synapse.conversation.event");
    expect(hex(frameBytes(encode(okResponse(ZERO_ID, { ok: true, stored: true }))))).toBe(res.hex);
    const v = find("request _synapse.broadcast.reply");
    const [nonce, peer] = v.decoded.args as [string, Peer];
    const msg = request("_synapse.broadcast.reply", ZERO_ID, [nonce, readPeer(peer, { mode: "lenient" })], { result: { answer: "beta can help" } });
    expect(hex(frameBytes(encode(msg)))).toBe(v.hex);
    const ok = find("response to _synapse.broadcast.reply");
    expect(hex(frameBytes(encode(okResponse(ZERO_ID, { ok: true }))))).toBe(ok.hex);
  });

  test("what a node really sends a Python-style peer: broadcast kwargs order, reply and event shapes", async () => {
    const python = track(new PythonLikeServer().start());
    python.endpoint("team.question", () => "seen");
    python.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
    python.endpoint("_synapse.broadcast.reply", () => ({ ok: true }));
    const node = await startNode({ name: "alpha", swarm: "golden" });
    const pyPeer: Peer = { id: "b".repeat(64), address: "127.0.0.1", port: python.port, swarm: "golden", team: "default", name: "beta", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
    const joined = await node.endpoints.dispatch(request("_synapse.join", "j", [pyPeer], {}), { address: "127.0.0.1", port: 1 });
    expect(joined.ok).toBe(true);

    const b = await node.broadcast("team.question", kw({ question: "Who can help?" }));
    await node.ack(b, { note: "me" });
    await node.reply(b, { answer: "alpha can help" });
    await eventually(() => python.log.filter((r) => r.endpoint !== "_synapse.hello").length >= 3, 5000, "three calls");
    const calls = python.log.filter((r) => r.endpoint !== "_synapse.hello");

    const q = calls.find((r) => r.endpoint === "team.question")!;
    expect(q.args).toEqual([]);
    expect(Object.keys(q.kwargs)).toEqual(["broadcast", "question"]);
    const sent = q.kwargs.broadcast as Record<string, unknown>;
    expect(Object.keys(sent)).toEqual(["nonce", "origin", "endpoint"]);
    expect(sent.nonce).toBe(b.nonce);
    expect(Object.keys(sent.origin as object)).toEqual(["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"]);

    const e = calls.find((r) => r.endpoint === "_synapse.conversation.event")!;
    expect(e.kwargs).toEqual({});
    const event = e.args[0] as Record<string, unknown>;
    expect(Object.keys(event)).toEqual(["conversation_id", "event_id", "kind", "peer", "payload", "parent_id", "created_at", "metadata"]);
    expect(event).toMatchObject({ conversation_id: b.nonce, kind: "ack", parent_id: b.nonce, payload: { note: "me" }, metadata: {} });
    expect(Object.keys(event.peer as object)).toEqual(["id", "address", "port", "swarm", "team", "name", "kind", "capabilities", "last_seen"]);

    const r = calls.find((c) => c.endpoint === "_synapse.broadcast.reply")!;
    expect(r.args.length).toBe(2);
    expect(r.args[0]).toBe(b.nonce);
    expect((r.args[1] as Peer).id).toBe(node.id);
    expect(r.kwargs).toEqual({ result: { answer: "alpha can help" } });
  });
});
