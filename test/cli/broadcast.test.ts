import { afterEach, describe, expect, test } from "bun:test";
import type { CallContext } from "../../src/index.ts";
import type { Node } from "../../src/node.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { freePort, killAll, sn, SnStream } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const SWARM = "cli-broadcast";
type Rec = Record<string, unknown>;
const peerId = (r: Rec) => (r.peer as { id?: string } | undefined)?.id;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * A seed, two cooks that ACK and reply to `kitchen.who_can` (and answer asks), a grump whose ask
 * handler throws, and a quiet node with neither (it answers the broadcast with null, no ACK).
 */
async function kitchen(): Promise<{ seed: Node; cooks: Node[]; grump: Node; quiet: Node; addr: string }> {
  const seed = await startNode({ name: "pass", swarm: SWARM, heartbeatInterval: null });
  const addr = `127.0.0.1:${seed.port}`;
  const make = async (name: string, setup: (node: Node) => void) => {
    const node = await startNode({ name, swarm: SWARM, heartbeatInterval: null });
    setup(node);
    await node.join({ seeds: [addr] });
    return node;
  };
  const cook = (node: Node) => {
    // `spicy` names no parameter: taken as Python's **kwargs would (in ctx.kwargs).
    node.endpoint("kitchen.who_can", { extraKwargs: true }, async (dish: string, ctx: CallContext) => {
      await node.ack(ctx.broadcast!);
      const spicy = ctx.kwargs.spicy === true ? " (spicy)" : "";
      await node.reply(ctx.broadcast!, `${node.name} can make ${dish}${spicy}`);
      return "thinking";
    });
    node.ask((task, context) => `${task}? ${String(context.hint ?? "no idea")}`);
  };
  const cooks = [await make("ana", cook), await make("ben", cook)];
  const grump = await make("grump", (node) => {
    node.endpoint("kitchen.who_can", () => null);
    node.ask(() => {
      throw new Error("not today");
    });
  });
  const quiet = await make("quiet", (node) => node.endpoint("kitchen.who_can", () => null));
  seed.endpoint("kitchen.who_can", () => null);
  return { seed, cooks, grump, quiet, addr };
}

describe("cli broadcast-call", () => {
  test("--json: the nonce, then an ACK and a reply from each cook, then the summary (stopped by SIGINT)", async () => {
    const { cooks, grump, quiet, seed, addr } = await kitchen();
    const run = SnStream.start(["broadcast-call", SWARM, "--no-mdns", "--seed", addr, "kitchen.who_can", "soup", "--kw", "spicy=true", "--wait", "60", "--json"]);
    const sent = await run.record((r) => r.event === "broadcast.sent", 10_000, "broadcast.sent");
    expect(sent).toMatchObject({ endpoint: "kitchen.who_can", args: ["soup"], kwargs: { spicy: true }, peers: 5 });
    const nonce = sent.nonce as string;
    expect(nonce).toMatch(UUID);
    const ours = (r: Rec) => r.nonce === nonce || r.conversation_id === nonce;
    await run.until(() => run.records.filter((r) => ours(r) && (r.event === "broadcast.reply" || r.event === "conversation.ack")).length === 4, 10_000, "2 ACKs and 2 replies");
    run.signal("SIGINT");
    expect((await run.exit(10_000)).code).toBe(0);

    const records = run.records;
    const replies = records.filter((r) => r.event === "broadcast.reply");
    expect(replies.map((r) => r.result).sort()).toEqual(["ana can make soup (spicy)", "ben can make soup (spicy)"]);
    expect(replies.map(peerId).sort()).toEqual(cooks.map((c) => c.id).sort());
    const acks = records.filter((r) => r.event === "conversation.ack");
    expect(acks.map(peerId).sort()).toEqual(cooks.map((c) => c.id).sort());
    for (const ack of acks) expect(ack.parent_id).toBe(nonce);
    // Nothing from the nodes that stayed out of it.
    for (const silent of [seed, grump, quiet]) expect(records.some((r) => peerId(r) === silent.id)).toBe(false);
    expect(records.at(-1)).toMatchObject({ event: "summary", nonce, peers: 5, acks: 2, replies: 2, errors: 0, others: 0, reason: "SIGINT" });
    // The cooks' view agrees: one conversation, opened by the sn node.
    expect((await cooks[0]!.conversation(nonce))[0]!.peer.id).toBe((sent.node as { id: string }).id);
  }, 40_000);

  test("text: nonce line, aligned ACK and reply lines, summary after --wait", async () => {
    const { cooks, addr } = await kitchen();
    const { code, stdout, stderr } = await sn(["broadcast-call", SWARM, "-s", addr, "--no-mdns", "kitchen.who_can", "stew", "--wait", "3"], 20_000);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^broadcast kitchen\\.who_can\\("stew"\\) to 5 peer\\(s\\) in swarm ${SWARM} as caller$`));
    expect(lines[1]).toMatch(/^nonce [0-9a-f-]{36}$/);
    for (const cook of cooks) {
      const label = `${cook.name.padEnd(18)} ${cook.id.slice(0, 8)}`;
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\+\\d+\\.\\d{3}s  ack {8}${label}$`)));
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^\\+\\d+\\.\\d{3}s  reply {6}${label}  ${cook.name} can make stew$`)));
    }
    expect(lines.at(-1)).toBe("2 ack(s), 2 replies (5 peer(s) asked, waited 3s)");
    expect(lines).toHaveLength(7);
  }, 40_000);

  test("no reachable seed: exit 1; port taken: exit 1 saying what to do; no seed at all: usage error", async () => {
    const port = freePort();
    const unreachable = await sn(["broadcast-call", SWARM, "--seed", `127.0.0.1:${port}`, "--no-mdns", "x", "--wait", "0.1"]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`warning: seed 127.0.0.1:${port}: nothing accepts connections at 127.0.0.1:${port}: is a node running there? check the host and port\n`);
    expect(unreachable.stderr).toContain("error: no_peers: no peers to broadcast to");

    const noSeed = await sn(["broadcast-call", SWARM, "x", "--no-mdns"]);
    expect(noSeed.code).toBe(2);
    expect(noSeed.stderr).toStartWith("error: with --no-mdns, give at least one --seed HOST:PORT");

    const held = await startNode({ name: "holder", swarm: SWARM, heartbeatInterval: null });
    const taken = await sn(["broadcast-call", SWARM, "x", "--no-mdns", "-s", `127.0.0.1:${port}`, "--bind", "127.0.0.1", "--port", String(held.port)]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toBe(`error: address_in_use: cannot listen on 127.0.0.1:${held.port}: address in use: pass another --port (0 picks a free one)\n`);

    const broken = await sn(["broadcast-call", SWARM, "x", "[1,", "--no-mdns", "-s", "127.0.0.1:1"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toStartWith("error: argument 1 looks like JSON but does not parse");
  }, 40_000);
});
