/**
 * The names and behaviours a user of the Python package looks for (issue #11): compaction by hand,
 * the compaction and retention events, the summarizer option, ack options, asking the swarm as an
 * async iterator, typed `node.on`, and errors of user code reported by default.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import * as api from "../../src/index.ts";
import type { SwarmAnswer } from "../../src/conversation/ask-swarm.ts";
import type { ConversationEvent } from "../../src/types.ts";
import { ConfigError } from "../../src/errors.ts";
import { Node } from "../../src/node.ts";
import { nowSeconds } from "../../src/util/time.ts";
import { eventually, mesh, settle, startNode, stopAll, swarm } from "../conversation/swarm.ts";

afterEach(stopAll);

describe("node - compaction and retention as Python names them", () => {
  test("compactConversation(id) keeps the opening message and the 25 newest (Python's default), fires conversation.compacted", async () => {
    const node = await startNode({ name: "keeper" });
    const compacted: ConversationEvent[] = [];
    const summaries: ConversationEvent[] = [];
    node.on("conversation.compacted", (c) => void compacted.push(c));
    node.on("conversation.summary", (e) => void summaries.push(e));
    const opening = await node.emitConversationEvent("c1", "message", { text: "start" });
    for (let i = 0; i < 30; i++) await node.emitConversationEvent("c1", "note", { i });
    const summary = await node.compactConversation("c1");
    expect(summary).not.toBeNull();
    const events = await node.conversation("c1");
    expect(events[0]).toEqual(opening);
    expect(events[1]).toEqual(summary!);
    expect(events.slice(2).map((e) => e.payload.i)).toEqual(Array.from({ length: 25 }, (_, i) => i + 5));
    expect(summary!.payload.compacted_events).toBe(5);
    expect(summary!.parent_id).toBe(opening.event_id); // as Python links the summary to the opening message
    expect(compacted).toEqual([summary!]); // as Python: the summary event itself
    expect(summaries).toEqual([summary!]);
    // Nothing more to fold.
    expect(await node.compactConversation("c1", { keepRecent: 25 })).toBeNull();
    expect((await node.compactConversation("c1", { keepRecent: 0 }))!.payload.compacted_events).toBe(30);
    await expect(node.compactConversation("c1", { keepRecent: -1 })).rejects.toThrow(ConfigError);
  });

  test("keepKinds keeps a layer's events verbatim (the teams layer's task.offer); the summarizer node option writes the text", async () => {
    const node = await startNode({
      name: "team",
      conversationMaxEvents: 6,
      conversationKeepRecent: 1,
      conversationKeepKinds: ["task.offer"],
      summarizer: (events) => `${events.length} folded`,
    });
    const kinds = ["task.offer", "task.claim", "task.grant", "task.progress", "task.progress", "task.offer", "task.claim", "task.progress", "task.done"];
    for (const [i, kind] of kinds.entries()) await node.emitConversationEvent("task-1", kind, { i });
    await node.conversationLayer.flush();
    const events = await node.conversation("task-1");
    expect(events.filter((e) => e.kind === "task.offer").map((e) => e.payload.i)).toEqual([0, 5]);
    expect(events.at(-1)!.kind).toBe("task.done");
    const summary = events.find((e) => e.kind === "summary")!;
    expect(summary.payload.summary).toMatch(/^\d+ folded$/);
    // By hand, with other kinds for this call only.
    const manual = await node.compactConversation("task-1", { keepRecent: 0, keepKinds: [] });
    expect((await node.conversation("task-1")).map((e) => e.kind)).toEqual(["task.offer", "summary"]);
    expect(manual!.payload.summary).toMatch(/folded$/);
    expect(() => new Node({ conversationKeepKinds: [""] })).toThrow(ConfigError);
  });

  test("retention fires conversation.pruned for each dropped conversation", async () => {
    const node = await startNode({ name: "forgetful", conversationRetention: 60 });
    const pruned: string[] = [];
    node.on("conversation.pruned", (p) => void pruned.push(p));
    await node.emitConversationEvent("quiet", "note", {});
    await node.emitConversationEvent("busy", "note", {});
    await node.conversationLayer.flush();
    expect(await node.conversationLayer.prune(nowSeconds() + 3600)).toEqual(["quiet", "busy"]);
    expect(pruned).toEqual(["quiet", "busy"]); // as Python: the conversation id
  });
});

describe("node - ack options and asking the swarm", () => {
  test("ack(broadcast, payload, { parentId, metadata })", async () => {
    const [a, b] = (await swarm(2)) as [Node, Node];
    const broadcast = await a.broadcast("_synapse.ping");
    const plain = await b.ack(broadcast);
    expect(plain.parent_id).toBe(broadcast.nonce);
    const threaded = await b.ack(broadcast, { eta: 5 }, { parentId: plain.event_id, metadata: { via: "test" } });
    expect([threaded.kind, threaded.conversation_id, threaded.parent_id, threaded.metadata, threaded.payload]).toEqual([
      "ack",
      broadcast.nonce,
      plain.event_id,
      { via: "test", _sig: expect.any(String) }, // the author's signature (docs/security.md)
      { eta: 5 },
    ]);
    await settle([a, b]);
    expect((await a.conversation(broadcast)).map((e) => e.event_id)).toContain(threaded.event_id);
  });

  test("askSwarm yields ACKs, replies and errors as they come and ends when every ACKer has answered", async () => {
    const nodes = (await swarm(4)) as [Node, Node, Node, Node];
    const [asker, helper, failing, silent] = nodes;
    helper.ask(async (task, context) => ({ by: helper.name, task, context }));
    failing.ask(() => {
      throw new Error("cannot do that");
    });
    const received: api.NodeEvents["broadcast.received"][] = [];
    silent.on("broadcast.received", (r) => void received.push(r)); // no ask handler: no ACK
    const answers: SwarmAnswer[] = [];
    let nonce = "";
    for await (const answer of asker.askSwarm("count the stars", { context: { sky: "north" }, timeout: 30, onBroadcast: (b) => (nonce = b.nonce) })) {
      answers.push(answer);
    }
    const summary = answers.map((a) => `${a.kind}:${a.peer.name}`).sort();
    expect(summary).toEqual(["ack:n1", "ack:n2", "error:n2", "reply:n1"]);
    const reply = answers.find((a) => a.kind === "reply")!;
    expect(reply.kind === "reply" && reply.result).toEqual({ by: "n1", task: "count the stars", context: { sky: "north" } });
    const error = answers.find((a) => a.kind === "error")!;
    expect(error.kind === "error" && error.error).toBe("cannot do that");
    for (const a of answers) expect(a.nonce).toBe(nonce);
    // What went on the wire is what `sn ask` sends: synapse.ask(task, context=...).
    await settle(nodes);
    expect(received.map((r) => [r.endpoint, r.args, r.kwargs])).toEqual([["synapse.ask", ["count the stars"], { context: { sky: "north" } }]]);
    // Without ACKs, and stopped early by the caller: listeners are removed.
    const again = asker.askSwarm("again", { acks: false });
    const first = await again.next();
    expect(first.value && first.value.kind).not.toBe("ack");
    expect(asker.events.has("broadcast.reply")).toBe(true);
    await again.return(undefined); // what `break` in a for-await does
    expect(asker.events.has("broadcast.reply")).toBe(false);
    await expect(asker.askSwarm("x", { timeout: -1 }).next()).rejects.toThrow(ConfigError);
  });
});

describe("node - events and errors a user meets first", () => {
  test("a throwing listener or periodic task is reported with a warning line by default, and the node carries on", async () => {
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      const node = await startNode({ name: "buggy" });
      node.on("conversation.note", () => {
        throw new Error("listener bug");
      });
      let runs = 0;
      node.periodic(0.01, () => {
        runs++;
        throw new Error("task bug");
      }, { name: "tick" });
      await node.emitConversationEvent("c", "note", {});
      await eventually(() => runs > 0, 5000, "the task ran");
      await eventually(() => warn.mock.calls.length >= 2, 5000, "two warnings");
      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines).toContain("synapse: warning: listener of conversation.note failed: listener bug");
      expect(lines).toContain('synapse: warning: periodic task "tick" failed: task bug');
      expect((await node.conversation("c")).length).toBe(1);
    } finally {
      warn.mockRestore();
    }
  });

  test("onUserError takes the reports; null silences them", async () => {
    const seen: Array<[string, string]> = [];
    const node = await startNode({ onUserError: (error, source) => void seen.push([source, (error as Error).message]) });
    node.on("conversation.note", async () => {
      throw new Error("async bug");
    });
    await node.emitConversationEvent("c", "note", {});
    await eventually(() => seen.length === 1, 5000, "the report");
    expect(seen).toEqual([["listener of conversation.note", "async bug"]]);
    const warn = spyOn(console, "warn").mockImplementation(() => {});
    try {
      const quiet = await startNode({ onUserError: null });
      quiet.on("conversation.note", () => {
        throw new Error("ignored on purpose");
      });
      await quiet.emitConversationEvent("c", "note", {});
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  test("node.on takes the known event names and conversation.<kind> only (checked by tsc)", async () => {
    const node = await startNode();
    const offs = [
      node.on("peer.joined", (peer) => peer.id),
      node.on("conversation.task.offer", (event) => event.payload),
      node.on("conversation.compacted", (summary) => summary.payload.compacted_events),
      node.on("conversation.pruned", (id) => id.length),
      // @ts-expect-error: not an event a node emits
      node.on("peer.jioned", () => 0),
    ];
    for (const off of offs) off();
    await mesh([node, await startNode()]);
  });

  test("endpoint handlers typed from a named handler type (checked by tsc)", async () => {
    const node = await startNode();
    node.endpoint<(a: number, b: number) => number>("sum", (a, b) => a + b);
    node.endpoint<(name: string, ctx: api.CallContext) => string>("hi", { description: "greet" }, (name, ctx) => `${name.toUpperCase()} ${ctx.endpoint}`);
    // @ts-expect-error: a is a number, not a string
    node.endpoint<(a: number) => number>("bad", (a) => a.toUpperCase());
    const client = new api.Client("127.0.0.1", node.port);
    expect(await client.call("sum", 1, 2)).toBe(3);
    expect(await client.call("hi", "ada")).toBe("ADA hi");
  });

  test("the schedule classes are exported", () => {
    for (const name of ["Scheduler", "PeriodicTask", "IntervalSchedule", "CronSchedule", "SolarSchedule", "every", "cron", "solar"] as const) {
      expect(typeof api[name]).toBe("function");
    }
    expect(api.cron("0 9 1-7 * mon", { dayOr: false })).toBeInstanceOf(api.CronSchedule);
  });
});
