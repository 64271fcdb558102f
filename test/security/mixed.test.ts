/**
 * Signed records in a mixed open swarm: two Bun nodes and a Python-like node (strict Python
 * binding, one request per connection). The Python node is never sent a `sig` keyword argument nor
 * a `sig` in a broadcast map (it would refuse them), takes the Bun nodes' events with their
 * `metadata._sig` and passes them on unchanged (they still verify when synced from it), and its own
 * unsigned events and replies are accepted and relayed by the Bun nodes, as before.
 */
import { afterEach, expect, test } from "bun:test";
import { kw } from "../../src/rpc/client.ts";
import { makeEvent } from "../../src/conversation/events.ts";
import type { CallContext } from "../../src/rpc/endpoints.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";
import { PythonNode, pyCall } from "../interop/python-node.ts";
import { until } from "./signed-helpers.ts";

afterEach(stopAll);

test("a Python-like peer gets no signature argument, passes signatures through, and is believed unsigned", async () => {
  const py = new PythonNode({ swarm: "golden" }).start();
  py.endpoint("ask.it", [{ name: "q" }, { name: "broadcast", default: null }], () => ({ ok: true }));
  const options = { swarm: "golden", heartbeatInterval: null, peerTimeout: null } as const;
  const a = await startNode({ name: "a", ...options });
  const b = await startNode({ name: "b", ...options });
  for (const n of [a, b]) await n.join({ seeds: [`127.0.0.1:${py.port}`] });
  await b.join({ seeds: [`127.0.0.1:${a.port}`] });
  await a.join({ seeds: [`127.0.0.1:${b.port}`] });
  await eventually(() => a.peers.has(b.id) && a.peers.has(py.id) && b.peers.has(a.id) && b.peers.has(py.id), 5000, "mesh");
  b.endpoint("ask.it", (q: unknown, ctx: CallContext) => void b.reply(ctx.broadcast!, { from: "b", q }));

  // a's broadcast, b's signed reply, a's signed event: everything reaches py in Python's shapes.
  const broadcast = await a.broadcast("ask.it", kw({ q: 1 }));
  await until(async () => (await a.replies(broadcast)).length === 1, "b's reply at a");
  const event = await a.emitConversationEvent("topic", "note", { text: "hi" });
  await eventually(() => py.events.has(event.event_id) && py.replies.has(`${broadcast.nonce} ${b.id}`), 5000, "py got the event and the reply");
  for (const r of py.server.log) {
    expect({ endpoint: r.endpoint, sig: "sig" in r.kwargs }).toEqual({ endpoint: r.endpoint, sig: false });
    const map = r.kwargs.broadcast as Record<string, unknown> | undefined;
    if (map) expect(Object.keys(map).sort()).toEqual(["endpoint", "nonce", "origin"]);
  }
  expect(typeof py.events.get(event.event_id)!.metadata._sig).toBe("string");

  // Synced from py, a's event still verifies at a third Bun node.
  const c = await startNode({ name: "c", ...options });
  const synced = await c.syncConversation({ address: "127.0.0.1", port: py.port }, "topic");
  expect(synced.map((e) => e.event_id)).toEqual([event.event_id]);

  // py's own unsigned event and reply: accepted at a and relayed to b.
  const own = makeEvent({ conversationId: "py-topic", kind: "note", peer: py.self(), payload: { from: "py" } });
  const okOf = async (call: ReturnType<typeof pyCall>) => ((await call).response.value as Map<string, unknown>).get("ok");
  expect(await okOf(pyCall(a.port, "_synapse.conversation.event", [own]))).toBe(true);
  expect(await okOf(pyCall(a.port, "_synapse.broadcast.reply", [broadcast.nonce, py.self()], { result: "from py" }))).toBe(true);
  await until(async () => (await b.conversation("py-topic")).length === 1 && (await b.replies(broadcast)).some((r) => r.peer.id === py.id), "relayed to b");
});
