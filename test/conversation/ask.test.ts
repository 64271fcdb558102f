import { afterEach, describe, expect, test } from "bun:test";
import { Client, kw } from "../../src/rpc/client.ts";
import type { Broadcast, BroadcastReply, ConversationEvent, Peer } from "../../src/types.ts";
import type { AskInfo } from "../../src/conversation/contracts.ts";
import { PythonLikeServer } from "../helpers/python-like-server.ts";
import { track } from "../helpers/net.ts";
import { eventually, remoteError, settle, sleep, startNode, stopAll, swarm } from "./swarm.ts";

afterEach(stopAll);

describe("conversation - ask", () => {
  test("_node.ask and synapse.ask without a broadcast return the handler's result", async () => {
    const [node] = await swarm(1);
    const seen: Array<[string, Record<string, unknown>, AskInfo]> = [];
    node!.ask(async (task, context, info) => {
      seen.push([task, context, info]);
      return { answer: task.toUpperCase(), lang: context.lang ?? null };
    });
    const client = new Client("127.0.0.1", node!.port);
    expect(await client.call("_node.ask", "hello", kw({ context: { lang: "en" } }))).toEqual({ answer: "HELLO", lang: "en" });
    expect(await client.call("_node.ask", kw({ task: "kw only" }))).toEqual({ answer: "KW ONLY", lang: null });
    expect(await client.call("synapse.ask", "direct", { lang: "fr" })).toEqual({ answer: "DIRECT", lang: "fr" });
    expect(seen.map(([t, c, i]) => [t, c, i.broadcast])).toEqual([
      ["hello", { lang: "en" }, null],
      ["kw only", {}, null],
      ["direct", { lang: "fr" }, null],
    ]);
    const bad = await remoteError(client.call("_node.ask", 42));
    expect(bad.code).toBe("bad_request");
  });

  test("no ask handler: internal_error 'node has no ask handler'", async () => {
    const [node] = await swarm(1);
    const client = new Client("127.0.0.1", node!.port);
    for (const endpoint of ["_node.ask", "synapse.ask"]) {
      const error = await remoteError(client.call(endpoint, "anything"));
      expect(error.code).toBe("internal_error");
      expect(error.message).toBe("node has no ask handler");
    }
    node!.ask(() => "now I can").ask(null);
    expect((await remoteError(client.call("_node.ask", "x"))).message).toBe("node has no ask handler");
  });

  test("via broadcast: ACK before the deferred answer, the result later as a reply, gossiped to all", async () => {
    const nodes = await swarm(4);
    const [origin, fast, slow, silent] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    fast.ask((task, context, info) => ({ by: "fast", task, context, nonce: info.broadcast?.nonce }));
    slow.ask(async (task) => {
      await slowGate;
      return { by: "slow", task };
    });
    void silent; // no handler: fails quietly, no ACK, no reply
    const replies: BroadcastReply[] = [];
    origin.on("broadcast.reply", (r) => void replies.push(r));
    const b = await origin.broadcast("synapse.ask", "summarise the log", kw({ context: { depth: 1 } }));
    // Both handlers' ACKs reached the origin before their deferred answers (broadcast() awaited those).
    const acks = (await origin.conversation(b)).filter((e) => e.kind === "ack");
    expect(acks.map((a) => a.peer.name).sort()).toEqual(["n1", "n2"]);
    for (const a of acks) expect(a.parent_id).toBe(b.nonce);
    await eventually(() => replies.length === 1, 5000, "the fast reply");
    expect(replies[0]!.result).toEqual({ by: "fast", task: "summarise the log", context: { depth: 1 }, nonce: b.nonce });
    await sleep(30);
    expect(replies.length).toBe(1); // the slow one is still thinking
    releaseSlow();
    await eventually(() => replies.length === 2, 5000, "the slow reply, later");
    expect(replies[1]!.result).toEqual({ by: "slow", task: "summarise the log" });
    await settle(nodes);
    for (const node of nodes) {
      const kinds = (await node.conversation(b)).map((e) => e.kind);
      expect(kinds.filter((k) => k === "ack").length).toBe(2);
      expect(kinds.filter((k) => k === "reply").length).toBe(2);
      expect((await node.replies(b)).map((r) => r.peer.name).sort()).toEqual(["n1", "n2"]);
    }
  });

  test("the deferred answer itself, and an error event when the handler throws", async () => {
    const nodes = await swarm(3);
    const [origin, worker, watcher] = nodes as [typeof nodes[0], typeof nodes[0], typeof nodes[0]];
    worker.ask(async (task) => {
      throw new Error(`cannot do ${task}`);
    });
    const errors: ConversationEvent[] = [];
    watcher.on("conversation.error", (e) => void errors.push(e));
    // Call synapse.ask as a broadcast would, to see its answer.
    const b: Broadcast = { nonce: "01890a5d-ac96-774b-bcce-b302099a8057", origin: origin.toPeer(), endpoint: "synapse.ask" };
    const answer = await new Client("127.0.0.1", worker.port).call("synapse.ask", "the impossible", kw({ broadcast: b }));
    expect(answer).toEqual({ accepted: true, deferred: true });
    await eventually(() => errors.length === 1, 5000, "error event at the watcher");
    expect(errors[0]!.payload).toEqual({ task: "the impossible", error: "cannot do the impossible" });
    expect(errors[0]!.parent_id).toBe(b.nonce);
    expect(errors[0]!.conversation_id).toBe(b.nonce);
    expect(errors[0]!.peer.id).toBe(worker.id);
    await settle(nodes);
    expect(await origin.replies(b)).toEqual([]);
    // The worker recorded the opening message it received; the origin (which did not really
    // broadcast here) learnt the ACK and the error by gossip.
    expect((await worker.conversation(b)).map((e) => e.kind).sort()).toEqual(["ack", "error", "message"]);
    expect((await origin.conversation(b)).map((e) => e.kind).sort()).toEqual(["ack", "error"]);
  });

  test("a Python-style origin asking Bun nodes gets their ACKs and replies (sn ask)", async () => {
    // The Python side: a one-request-per-connection peer that logs what Bun nodes send it.
    const python = track(new PythonLikeServer().start());
    python.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
    python.endpoint("_synapse.broadcast.reply", () => ({ ok: true }));
    const bunNodes = await swarm(2, { swarm: "lab" });
    for (const node of bunNodes) node.ask((task) => `${node.name} did ${task}`);
    const pyPeer: Peer = { id: "a".repeat(64), address: "127.0.0.1", port: python.port, swarm: "lab", team: "default", name: "py", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
    // Not yet a known peer of the Bun nodes: they check the origin with `_synapse.info` (a Python built-in) first.
    python.endpoint("_synapse.info", () => ({ id: pyPeer.id, name: "py", address: "127.0.0.1", port: python.port, kind: "node", swarm: "lab", team: "default", role: "", description: "", capabilities: [] }));
    const b = { nonce: "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f6", origin: pyPeer, endpoint: "synapse.ask" };
    // What Python's `sn ask` does: synapse.ask(task, broadcast=..., context=...) to each node, one connection each.
    for (const node of bunNodes) {
      const answer = await new Client("127.0.0.1", node.port).call("synapse.ask", "the dishes", kw({ broadcast: b, context: {} }));
      expect(answer).toEqual({ accepted: true, deferred: true });
    }
    await eventually(() => python.log.filter((r) => r.endpoint === "_synapse.broadcast.reply").length >= 2, 5000, "replies at the Python origin");
    const acks = python.log.filter((r) => r.endpoint === "_synapse.conversation.event").map((r) => r.args[0] as ConversationEvent);
    expect(acks.filter((e) => e.kind === "ack").map((e) => e.peer.name).sort()).toEqual(["n0", "n1"]);
    const replies = python.log.filter((r) => r.endpoint === "_synapse.broadcast.reply");
    expect(replies.map((r) => r.args[0])).toEqual([b.nonce, b.nonce]);
    expect(replies.map((r) => r.kwargs.result).sort()).toEqual(["n0 did the dishes", "n1 did the dishes"]);
    // Each Bun node also knows both replies (they reach each other).
    await settle(bunNodes);
    for (const node of bunNodes) expect((await node.replies(b.nonce)).length).toBe(2);
  });

  test("synapse.ask as a broadcast sends nothing to an origin outside the swarm or not at its address; the handler does not run", async () => {
    const python = track(new PythonLikeServer().start());
    python.endpoint("_synapse.conversation.event", () => ({ ok: true, stored: true }));
    python.endpoint("_synapse.broadcast.reply", () => ({ ok: true }));
    // This address answers as another node: an attacker naming a victim's address as the origin.
    python.endpoint("_synapse.info", () => ({ id: "b".repeat(64), name: "victim", address: "127.0.0.1", port: python.port, kind: "node", swarm: "lab", team: "default" }));
    const [node] = await swarm(1, { swarm: "lab" });
    let runs = 0;
    node!.ask(() => ++runs);
    const client = new Client("127.0.0.1", node!.port);
    const origin: Peer = { id: "a".repeat(64), address: "127.0.0.1", port: python.port, swarm: "lab", team: "default", name: "forger", kind: "node", capabilities: [], last_seen: Date.now() / 1000 };
    const elsewhere = { nonce: "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f7", origin: { ...origin, swarm: "other" }, endpoint: "synapse.ask" };
    const outsider = await remoteError(client.call("synapse.ask", "x", kw({ broadcast: elsewhere, context: {} })));
    expect([outsider.code, outsider.message]).toEqual(["bad_request", "broadcast origin refused: peer requested a different swarm"]);
    const impostor = { nonce: "0190f0e1-5b2a-7c3d-8e4f-a1b2c3d4e5f8", origin, endpoint: "synapse.ask" };
    const wrong = await remoteError(client.call("synapse.ask", "x", kw({ broadcast: impostor, context: {} })));
    expect(wrong.code).toBe("bad_request");
    expect(wrong.message).toBe(`broadcast origin 127.0.0.1:${python.port} is not node aaaaaaaa`);
    await settle([node!]);
    expect(runs).toBe(0);
    // Only the check reached the address (and the pool's hello before it, which a Python node refuses harmlessly).
    expect(python.log.filter((r) => r.endpoint !== "_synapse.info" && r.endpoint !== "_synapse.hello")).toEqual([]);
  });
});
