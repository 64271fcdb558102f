import { afterEach, describe, expect, test } from "bun:test";
import { kw, type CallContext } from "../../src/index.ts";
import type { Node } from "../../src/node.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { killAll, SnStream } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const SWARM = "cli-watch";

/** A node whose `kitchen.who_can` ACKs and then replies, as a cook in the README does. */
async function cook(name: string, seed?: string): Promise<Node> {
  const node = await startNode({ name, swarm: SWARM, heartbeatInterval: null });
  node.endpoint("kitchen.who_can", async (dish: string, ctx: CallContext) => {
    await node.ack(ctx.broadcast!);
    await node.reply(ctx.broadcast!, `${name} can make ${dish}`);
    return "thinking";
  });
  node.ask((task) => `${name} says: ${task}`);
  if (seed) await node.join({ seeds: [seed] });
  return node;
}

type Rec = Record<string, unknown>;
const peerId = (r: Rec) => (r.peer as { id?: string } | undefined)?.id;

describe("cli watch", () => {
  test("--json: peers joining, a broadcast with its ACK and reply, an ask, a custom event; SIGINT stops it", async () => {
    const seed = await cook("seed-cook");
    const seedAddr = `127.0.0.1:${seed.port}`;
    const watch = SnStream.start(["watch", SWARM, "--no-mdns", "--seed", seedAddr, "--json"]);

    const started = await watch.record((r) => r.event === "watch.started", 10_000, "watch.started");
    const watcher = started.node as { id: string; name: string; port: number };
    expect(watcher.name).toBe("watcher");
    expect(started).toMatchObject({ swarm: SWARM, team: "default" });
    await watch.record((r) => r.event === "peer.joined" && peerId(r) === seed.id, 10_000, "the seed as a peer");

    const other = await cook("line-cook", seedAddr);
    await watch.record((r) => r.event === "peer.joined" && peerId(r) === other.id, 10_000, "line-cook joining");

    // The watcher does not serve kitchen.who_can; it records the broadcast all the same (as a
    // Python node does) and answers "Unregistered endpoint".
    const b = await seed.broadcast("kitchen.who_can", kw({ dish: "soup" }));
    const ack = await watch.record((r) => r.event === "conversation.ack" && r.conversation_id === b.nonce, 10_000, "the ACK");
    expect(peerId(ack)).toBe(other.id);
    expect(ack.parent_id).toBe(b.nonce);
    const reply = await watch.record((r) => r.event === "broadcast.reply" && r.nonce === b.nonce, 10_000, "the reply");
    expect(reply.result).toBe("line-cook can make soup");
    expect(peerId(reply)).toBe(other.id);
    const received = await watch.record((r) => r.event === "broadcast.received" && r.nonce === b.nonce, 10_000, "the broadcast");
    expect(received).toMatchObject({ endpoint: "kitchen.who_can", args: [], kwargs: { dish: "soup" } });
    expect((received.origin as { id: string }).id).toBe(seed.id);

    // synapse.ask reaches the watcher directly; having no ask handler, it stays quiet.
    const asked = await seed.broadcast("synapse.ask", "what's for lunch", kw({ context: {} }));
    const askReceived = await watch.record((r) => r.event === "broadcast.received" && r.nonce === asked.nonce, 10_000, "the ask");
    expect(askReceived).toMatchObject({ endpoint: "synapse.ask", args: ["what's for lunch"], kwargs: { context: {} } });
    await watch.record((r) => r.event === "broadcast.reply" && r.nonce === asked.nonce && r.result === "line-cook says: what's for lunch", 10_000, "the ask reply");
    const acks = (await seed.conversation(asked)).filter((e) => e.kind === "ack").map((e) => e.peer.id);
    expect(acks).toEqual([other.id]);

    // A custom kind, outside any broadcast.
    await seed.emitConversationEvent("task-7", "task.offer", { task: "chop onions" });
    const offer = await watch.record((r) => r.event === "conversation.task.offer", 10_000, "the custom event");
    expect(offer).toMatchObject({ conversation_id: "task-7", kind: "task.offer", payload: { task: "chop onions" } });

    watch.signal("SIGINT");
    const { code } = await watch.exit(10_000);
    expect(code).toBe(0);
    const records = watch.records; // every line is JSON
    const last = records.at(-1)!;
    expect(last).toMatchObject({ event: "watch.stopped", reason: "SIGINT" });
    expect(last.events).toBe(records.length - 2); // everything between watch.started and watch.stopped
    for (const r of records) expect(typeof r.time).toBe("number");
    // Each reply shows once, as broadcast.reply (not again as conversation.reply).
    expect(records.filter((r) => r.event === "broadcast.reply" && r.nonce === b.nonce)).toHaveLength(1);
    expect(records.some((r) => r.event === "conversation.reply")).toBe(false);
  }, 40_000);

  test("text: one aligned line per event with short names and id prefixes; --duration stops it", async () => {
    const seed = await cook("seed-cook");
    const seedAddr = `127.0.0.1:${seed.port}`;
    const watch = SnStream.start(["watch", SWARM, "--no-mdns", "-s", seedAddr, "--duration", "4"]);
    await watch.until((lines) => lines.some((l) => l.startsWith("watching swarm cli-watch (team default) as watcher ") && l.includes(" on 127.0.0.1:")), 10_000, "the banner");
    const other = await cook("a-cook-with-a-long-name", seedAddr);
    const b = await seed.broadcast("kitchen.who_can", "stew");
    const tag = `…${b.nonce.slice(-8)}`;
    await watch.until((lines) => lines.some((l) => l.includes("broadcast.reply")), 10_000, "the reply line");
    const { code } = await watch.exit(15_000);
    expect(code).toBe(0);

    const lines = watch.lines;
    const id8 = other.id.slice(0, 8);
    const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${time}  peer\\.joined {7} seed-cook {10}${seed.id.slice(0, 8)}  127\\.0\\.0\\.1:${seed.port}  node$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${time}  peer\\.joined {7} a-cook-with-a-lon… ${id8}  127\\.0\\.0\\.1:${other.port}  node$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${time}  conversation\\.ack {2} a-cook-with-a-lon… ${id8}  ${tag}$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${time}  broadcast\\.reply {4}a-cook-with-a-lon… ${id8}  a-cook-with-a-long-name can make stew  ${tag}$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${time}  broadcast\\.received seed-cook {10}${seed.id.slice(0, 8)}  kitchen\\.who_can\\("stew"\\)  ${tag}$`)));
    expect(lines.at(-1)).toMatch(/^stopped \(after 4s\), \d+ event\(s\)$/);
  }, 40_000);

  test("--peer-timeout: a peer that goes silent is reported offline; --show-heartbeats shows beats", async () => {
    const seed = await cook("seed-cook");
    const seedAddr = `127.0.0.1:${seed.port}`;
    const watch = SnStream.start(["watch", SWARM, "--no-mdns", "--seed", seedAddr, "--heartbeat", "0.2", "--peer-timeout", "1", "--show-heartbeats", "--json"]);
    const started = await watch.record((r) => r.event === "watch.started", 10_000, "watch.started");
    expect(started.swarm).toBe(SWARM);
    await watch.record((r) => r.event === "peer.heartbeat" && peerId(r) === seed.id, 10_000, "a heartbeat with the seed");
    const other = await cook("leaver", seedAddr);
    await watch.record((r) => r.event === "peer.joined" && peerId(r) === other.id, 10_000, "leaver joining");
    await other.stop();
    const offline = await watch.record((r) => r.event === "peer.offline" && peerId(r) === other.id, 15_000, "leaver offline");
    expect((offline.peer as { name: string }).name).toBe("leaver");
    watch.signal("SIGTERM");
    expect((await watch.exit(10_000)).code).toBe(0);
    expect(watch.records.at(-1)).toMatchObject({ event: "watch.stopped", reason: "SIGTERM" });
  }, 40_000);
});

describe("cli watch - order of events (issue #11)", () => {
  test("a conversation revealed by a later reply: the fetched broadcast comes before the reply", async () => {
    const cookNode = await startNode({ name: "slow-cook", swarm: SWARM, heartbeatInterval: null });
    let pending: Parameters<Node["reply"]>[0] | null = null;
    cookNode.endpoint("kitchen.slow", (dish: string, ctx: CallContext) => {
      pending = ctx.broadcast;
      return `later: ${dish}`;
    });
    const origin = await startNode({ name: "waiter", swarm: SWARM, heartbeatInterval: null });
    await origin.join({ seeds: [`127.0.0.1:${cookNode.port}`] });
    // Said before the watcher is there: it never sees the broadcast itself.
    const b = await origin.broadcast("kitchen.slow", "stew");
    expect(pending).not.toBeNull();

    const watch = SnStream.start(["watch", SWARM, "--no-mdns", "--seed", `127.0.0.1:${cookNode.port}`, "--json"]);
    const started = await watch.record((r) => r.event === "watch.started", 10_000, "watch.started");
    const watcherId = (started.node as { id: string }).id;
    for (let i = 0; i < 100 && !cookNode.peers.has(watcherId); i++) await Bun.sleep(20);
    expect(cookNode.peers.has(watcherId)).toBe(true);

    await cookNode.reply(pending!, "stew is ready");
    await watch.record((r) => r.event === "broadcast.reply" && r.nonce === b.nonce, 10_000, "the reply");
    const events = watch.records.filter((r) => r.nonce === b.nonce).map((r) => r.event);
    expect(events).toEqual(["broadcast.received", "broadcast.reply"]);
  });
});
