import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import { request } from "../../src/wire/messages.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { Broadcast, ConversationEvent, Peer } from "../../src/types.ts";
import type { Node } from "../../src/node.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { track } from "../helpers/net.ts";
import { eventually, settle, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

/** A Python-style peer (one request per connection) joined to every Bun node of `nodes`. */
async function pythonPeer(nodes: Node[], handlers: Record<string, (args: unknown[], kwargs: Record<string, unknown>) => unknown> = {}) {
  const server = track(new PythonLikeServer().start());
  server.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
  server.endpoint("_synapse.broadcast.reply", () => ({ ok: true }));
  server.endpoint("_synapse.heartbeat", () => ({ ok: true, self: {} }));
  for (const [name, handler] of Object.entries(handlers)) server.endpoint(name, handler);
  const peer: Peer = { id: "p".repeat(64), address: "127.0.0.1", port: server.port, swarm: "conv", team: "default", name: "python", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
  for (const node of nodes) {
    const res = await node.endpoints.dispatch(request("_synapse.join", "j", [peer], {}), { address: "127.0.0.1", port: 1 });
    expect(res.ok).toBe(true);
  }
  return { server, peer };
}

describe("conversation - mixed swarm with a Python-style peer", () => {
  test("a Bun broadcast collects ACKs and replies from Bun and Python peers alike", async () => {
    const nodes = await swarm(2);
    const [origin, bun] = nodes as [Node, Node];
    bun.endpoint("team.question", async (question: string, ctx: { broadcast: Broadcast }) => {
      await bun.ack(ctx.broadcast);
      await bun.reply(ctx.broadcast, `bun: ${question}`);
    });
    // The Python peer ACKs and replies the way a Python node does: its own calls, random event ids.
    const { server, peer } = await pythonPeer(nodes, {
      "team.question": (_args, kwargs) => {
        const b = kwargs.broadcast as Broadcast;
        const client = new Client("127.0.0.1", origin.port);
        const ack = makeEvent({ conversationId: b.nonce, eventId: "a1".repeat(32), kind: "ack", peer, parentId: b.nonce });
        void client.call("_synapse.conversation.event", ack).then(() => client.call("_synapse.broadcast.reply", b.nonce, peer, kw({ result: `python: ${kwargs.question}` })));
        return null;
      },
    });
    const b = await origin.broadcast("team.question", kw({ question: "who?" }));
    // The Python peer's reply comes on calls of its own: wait for it (bounded), then for the relays.
    for (let i = 0; i < 300 && (await origin.replies(b)).length < 2; i++) await Bun.sleep(10);
    await settle(nodes);
    for (const node of nodes) {
      const replies = (await node.replies(b)).map((r) => r.result).sort();
      expect(replies).toEqual(["bun: who?", "python: who?"]);
      const acks = (await node.conversation(b)).filter((e) => e.kind === "ack").map((e) => e.peer.name).sort();
      expect(acks).toEqual(["n1", "python"]);
    }
    // The Python peer heard the Bun node's ACK and reply too.
    await eventually(() => server.log.some((r) => r.endpoint === "_synapse.broadcast.reply"), 5000, "reply at the Python peer");
    const events = server.log.filter((r) => r.endpoint === "_synapse.conversation.event").map((r) => (r.args[0] as ConversationEvent).kind);
    expect(events).toContain("ack");
  });

  test("custom events gossip across: Python to Bun to Bun, and Bun to Python", async () => {
    const nodes = await swarm(2);
    const [a, b] = nodes as [Node, Node];
    const { server, peer } = await pythonPeer(nodes);
    // An event authored by the Python peer, delivered to a only: a relays it to b (not back to its author).
    const pyEvent = makeEvent({ conversationId: "task-9", eventId: "9".repeat(64), kind: "task.offer", peer, payload: { job: "index" } });
    expect(await new Client("127.0.0.1", a.port).call("_synapse.conversation.event", pyEvent)).toEqual({ ok: true, stored: true });
    await settle(nodes);
    expect((await b.conversation("task-9")).map((e) => e.event_id)).toEqual([pyEvent.event_id]);
    expect(server.log.filter((r) => r.endpoint === "_synapse.conversation.event").length).toBe(0);
    // A Bun event reaches the Python peer, as a strict Python constructor expects it.
    const claim = await b.emitConversationEvent("task-9", "task.claim", { by: "n1" }, { parentId: pyEvent.event_id });
    await settle(nodes);
    const got = server.log.filter((r) => r.endpoint === "_synapse.conversation.event").map((r) => r.args[0] as ConversationEvent);
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got[0]).toEqual(claim);
  });
});
