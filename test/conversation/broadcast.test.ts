import { afterEach, describe, expect, test } from "bun:test";
import { kw } from "../../src/rpc/client.ts";
import { Client } from "../../src/rpc/client.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import type { Broadcast, BroadcastReply } from "../../src/types.ts";
import type { BroadcastReceived } from "../../src/conversation/broadcast.ts";
import { replyEventId } from "../../src/conversation/broadcast.ts";
import { MAX_ID_LENGTH } from "../../src/conversation/events.ts";
import { isUuidv7 } from "../../src/conversation/uuid.ts";
import { ConfigError, RemoteError } from "../../src/errors.ts";
import { countCalls, eventually, settle, startNode, stopAll, swarm, remoteError } from "./swarm.ts";

afterEach(stopAll);

describe("conversation - broadcast", () => {
  test("reaches every peer with one UUIDv7 nonce; every node records the opening message", async () => {
    const nodes = await swarm(4);
    const [origin, ...others] = nodes as [typeof nodes[0], ...typeof nodes];
    const seen: Array<{ node: string; broadcast: Broadcast; question: unknown; kwargs: Record<string, unknown> }> = [];
    const received: BroadcastReceived[] = [];
    for (const node of others) {
      // `urgent` names no parameter: accepted as Python's **kwargs would, and left in ctx.kwargs.
      node.endpoint("team.question", { extraKwargs: true }, (question: string, ctx: CallContext) => {
        seen.push({ node: node.name, broadcast: ctx.broadcast!, question, kwargs: ctx.kwargs });
        return `${node.name} saw it`;
      });
      node.on("broadcast.received", (r) => void received.push(r));
    }
    const b = await origin.broadcast("team.question", kw({ question: "Who can help?", urgent: true }));
    expect(isUuidv7(b.nonce)).toBe(true);
    expect(b.endpoint).toBe("team.question");
    expect(b.origin.id).toBe(origin.id);
    // broadcast() resolves once every peer answered: all three handlers ran.
    expect(seen.map((s) => s.node).sort()).toEqual(["n1", "n2", "n3"]);
    for (const s of seen) {
      expect(s.broadcast.nonce).toBe(b.nonce);
      expect(s.broadcast.origin.id).toBe(origin.id);
      expect(s.question).toBe("Who can help?");
      expect(s.kwargs).toEqual({ question: "Who can help?", urgent: true });
    }
    await settle(nodes);
    expect(received.length).toBe(3);
    expect(received[0]!.kwargs).toEqual({ question: "Who can help?", urgent: true });
    for (const node of nodes) {
      const events = await node.conversation(b);
      expect(events.length).toBe(1);
      const [message] = events;
      expect(message!.kind).toBe("message");
      expect(message!.event_id).toBe(b.nonce);
      expect(message!.conversation_id).toBe(b.nonce);
      expect(message!.peer.id).toBe(origin.id);
      expect(message!.payload).toEqual({ endpoint: "team.question", args: [], kwargs: { question: "Who can help?", urgent: true } });
      expect(await node.conversations()).toEqual([b.nonce]);
    }
    // Every node dates the opening message the same (from the UUIDv7 nonce).
    const times = await Promise.all(nodes.map(async (n) => (await n.conversation(b))[0]!.created_at));
    expect(new Set(times).size).toBe(1);
  });

  test("positional arguments travel as args; a failing or unreachable peer does not fail the broadcast", async () => {
    const nodes = await swarm(4);
    const [origin, good, throws, gone] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const got: unknown[] = [];
    good.endpoint("sum", (a: number, b: number) => {
      got.push([a, b]);
      return a + b;
    });
    throws.endpoint("sum", () => {
      throw new Error("nope");
    });
    gone.endpoint("sum", () => 0);
    await gone.stop();
    const b = await origin.broadcast("sum", 2, 3);
    expect(got).toEqual([[2, 3]]);
    expect((await good.conversation(b))[0]!.payload).toEqual({ endpoint: "sum", args: [2, 3], kwargs: {} });
  });

  test("a 'broadcast' kwarg is reserved; unencodable arguments throw before anything is sent", async () => {
    const [origin, peer] = await swarm(2);
    const calls = countCalls(peer!, "_synapse.ping");
    await expect(origin!.broadcast("_synapse.ping", kw({ broadcast: 1 }))).rejects.toBeInstanceOf(ConfigError);
    await expect(origin!.broadcast("_synapse.ping", () => 1)).rejects.toThrow();
    expect(calls.count).toBe(0);
    expect(await origin!.conversations()).toEqual([]);
  });
});

describe("conversation - acks and replies", () => {
  test("ACKs and replies flow back to the origin and reach the whole swarm", async () => {
    const nodes = await swarm(4);
    const [origin, ...others] = nodes as [typeof nodes[0], ...typeof nodes];
    for (const node of others) {
      node.endpoint("team.question", async (question: string, ctx: CallContext) => {
        await node.ack(ctx.broadcast!, { by: node.name });
        // Answer later, on a separate call.
        setTimeout(() => void node.reply(ctx.broadcast!, { answer: `${node.name} can help`, question }), 5);
        return "thinking";
      });
    }
    const replies: BroadcastReply[] = [];
    origin.on("broadcast.reply", (r) => void replies.push(r));
    const b = await origin.broadcast("team.question", kw({ question: "Who can help?" }));
    await eventually(() => replies.length === 3, 5000, "three replies at the origin");
    await settle(nodes);
    for (const node of nodes) {
      const list = await node.replies(b);
      expect(list.map((r) => r.result).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)))).toEqual([
        { answer: "n1 can help", question: "Who can help?" },
        { answer: "n2 can help", question: "Who can help?" },
        { answer: "n3 can help", question: "Who can help?" },
      ]);
      for (const r of list) expect(r.nonce).toBe(b.nonce);
      const events = await node.conversation(b.nonce);
      const kinds = events.map((e) => e.kind);
      expect(kinds[0]).toBe("message");
      expect(kinds.filter((k) => k === "ack").length).toBe(3);
      expect(kinds.filter((k) => k === "reply").length).toBe(3);
      for (const e of events.filter((x) => x.kind !== "message")) expect(e.parent_id).toBe(b.nonce);
      for (const e of events.filter((x) => x.kind === "reply")) {
        expect(e.event_id).toBe(replyEventId(b.nonce, e.peer.id));
        expect(e.payload).toEqual({ result: (await node.replies(b)).find((r) => r.peer.id === e.peer.id)!.result });
      }
      const acks = events.filter((e) => e.kind === "ack");
      expect(acks.map((a) => a.payload.by).sort()).toEqual(["n1", "n2", "n3"]);
    }
  });

  test("a reply is recorded once per (nonce, peer): repeated calls and a second reply change nothing", async () => {
    const nodes = await swarm(3);
    const [origin, a, b] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    const bc = await origin.broadcast("_synapse.ping");
    const atOrigin: BroadcastReply[] = [];
    origin.on("broadcast.reply", (r) => void atOrigin.push(r));
    const events: string[] = [];
    origin.on("conversation.reply", (e) => void events.push(e.event_id));
    await a.reply(bc, "first");
    const again = await a.reply(bc, "second");
    expect(again.result).toBe("first");
    // Replay the same wire call by hand, several times.
    const client = new Client("127.0.0.1", origin.port);
    for (let i = 0; i < 3; i++) {
      expect(await client.call("_synapse.broadcast.reply", bc.nonce, a.toPeer(), kw({ result: "replayed" }))).toEqual({ ok: true });
    }
    await settle(nodes);
    expect(atOrigin.length).toBe(1);
    expect(events.length).toBe(1);
    for (const node of nodes) {
      const list = await node.replies(bc);
      expect(list.length).toBe(1);
      expect(list[0]!.result).toBe("first");
      expect(list[0]!.peer.id).toBe(a.id);
    }
    expect((await b.conversation(bc)).filter((e) => e.kind === "reply").length).toBe(1);
  });

  test("replies are forwarded by receivers: a peer the replier does not know still learns the reply", async () => {
    // origin knows a and b; a and b do not know each other.
    const origin = await startNode({ name: "origin", swarm: "conv", heartbeatInterval: null });
    const a = await startNode({ name: "a", swarm: "conv", heartbeatInterval: null });
    const b = await startNode({ name: "b", swarm: "conv", heartbeatInterval: null });
    await a.join({ seeds: [`127.0.0.1:${origin.port}`] });
    await origin.join({ seeds: [`127.0.0.1:${b.port}`] });
    expect(a.peers.has(b.id)).toBe(false);
    expect(b.peers.has(a.id)).toBe(false);
    const bc = await origin.broadcast("_synapse.ping");
    await a.reply(bc, 42);
    await settle([origin, a, b]);
    expect((await b.replies(bc)).map((r) => [r.peer.id, r.result])).toEqual([[a.id, 42]]);
  });

  test("replies from outside the swarm are refused", async () => {
    const [origin] = await swarm(2);
    const bc = await origin!.broadcast("_synapse.ping");
    const stranger = { ...origin!.toPeer(), id: "f".repeat(64), swarm: "other" };
    const client = new Client("127.0.0.1", origin!.port);
    const error = await remoteError(client.call("_synapse.broadcast.reply", bc.nonce, stranger, kw({ result: 1 })));
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("peer requested a different swarm");
    const malformed = await remoteError(client.call("_synapse.broadcast.reply", 7, stranger));
    expect(malformed.code).toBe("bad_request");
    expect(await origin!.replies(bc)).toEqual([]);
  });
});

describe("conversation - a broadcast to an endpoint this node does not serve (issue #11)", () => {
  test("the message event and broadcast.received are recorded before 'Unregistered endpoint' is answered, as Python does", async () => {
    const [origin, lacking] = (await swarm(2)) as [Awaited<ReturnType<typeof startNode>>, Awaited<ReturnType<typeof startNode>>];
    const received: BroadcastReceived[] = [];
    lacking.on("broadcast.received", (r) => void received.push(r));
    // What the Python `sn broadcast` sends: synapse.message(message, broadcast=...).
    const b = await origin.broadcast("synapse.message", "Ship status?");
    await settle([origin, lacking]);
    const events = await lacking.conversation(b);
    expect(events.map((e) => [e.kind, e.event_id, e.peer.id])).toEqual([["message", b.nonce, origin.id]]);
    expect(events[0]!.payload).toEqual({ endpoint: "synapse.message", args: ["Ship status?"], kwargs: {} });
    expect(received.map((r) => [r.broadcast.nonce, r.endpoint, r.args])).toEqual([[b.nonce, "synapse.message", ["Ship status?"]]]);

    // The caller still gets Python's answer, with the request's id.
    // From a Python-like origin: unsigned, which a Bun origin's broadcast could not be (docs/security.md).
    const again = { nonce: "n-direct", origin: { ...origin.toPeer(), id: "ab".repeat(32) }, endpoint: "synapse.message" };
    const error = await remoteError(new Client("127.0.0.1", lacking.port).call("synapse.message", kw({ broadcast: again, message: "hi" })));
    expect(error.code).toBe("bad_request");
    expect(error.message).toBe("Unregistered endpoint called: synapse.message");
    await settle([lacking]);
    expect((await lacking.conversation("n-direct"))[0]!.payload).toEqual({ endpoint: "synapse.message", args: [], kwargs: { message: "hi" } });
    // A plain call to a missing endpoint records nothing.
    await remoteError(new Client("127.0.0.1", lacking.port).call("nothing.here", 1));
    expect((await lacking.conversations()).length).toBe(2);
  });
});

describe("conversation - a reply's event id", () => {
  test("is the nonce, a tilde and the replier's id: one per pair, the same every time", () => {
    const nonce = "0192f3a4-5b6c-7d8e-9fa0-b1c2d3e4f5a6";
    expect(replyEventId(nonce, "peer-a")).toBe(`${nonce}~peer-a`);
    expect(replyEventId(nonce, "peer-b")).not.toBe(replyEventId(nonce, "peer-a"));
    // A tilde in the replier's id stays after the first one, which ends the nonce.
    expect(replyEventId(nonce, "a~b")).toBe(`${nonce}~a~b`);
  });

  test("a nonce holding a tilde, or a pair too long for an id, gets a hex SHA-256 (no tilde): pairs never share an id", () => {
    // ("a~b", "c") and ("a", "b~c") would both read "a~b~c".
    const hashed = replyEventId("a~b", "c");
    expect(hashed).toMatch(/^[0-9a-f]{64}$/);
    expect(hashed).toBe(new Bun.CryptoHasher("sha256").update("reply\0a~b\0c").digest("hex"));
    expect(replyEventId("a", "b~c")).toBe("a~b~c");
    const long = replyEventId("n".repeat(200), "p".repeat(100));
    expect(long).toMatch(/^[0-9a-f]{64}$/);
    expect(long.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
    expect(replyEventId("n".repeat(100), "p".repeat(100))).toHaveLength(201);
  });
});
