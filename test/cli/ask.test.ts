import { afterEach, describe, expect, test } from "bun:test";
import type { Node } from "../../src/node.ts";
import { startNode, stopAll } from "../helpers/net.ts";
import { killAll, sn, SnStream } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const SWARM = "cli-ask";
const NONCE = "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/** A seed and workers joined to it; each worker's ask handler is given (null: none). */
async function swarm(workers: Array<[string, ((task: string, context: Record<string, unknown>) => unknown) | null]>): Promise<{ seed: Node; nodes: Node[]; addr: string }> {
  const [first, ...rest] = workers;
  const seed = await startNode({ name: first![0], swarm: SWARM, heartbeatInterval: null });
  if (first![1]) seed.ask(first![1]);
  const addr = `127.0.0.1:${seed.port}`;
  const nodes = [seed];
  for (const [name, handler] of rest) {
    const node = await startNode({ name, swarm: SWARM, heartbeatInterval: null });
    if (handler) node.ask(handler);
    await node.join({ seeds: [addr] });
    nodes.push(node);
  }
  return { seed, nodes, addr };
}

const local = (addr: string) => ["--no-mdns", "-s", addr];

describe("cli ask - the original's output and stop rule", () => {
  test("every peer answers: ask line, ACKs, replies; stops as soon as all answered; exit 0", async () => {
    const { addr } = await swarm([
      ["reviewer", () => "LGTM after fixing tests"],
      ["tester", (task, context) => `${task}: ${String(context.url)} ${String(context.n)}`],
    ]);
    const result = await sn(["ask", SWARM, "Review this diff", "-c", "url=https://example.com/pr/7", "--context", "n=2", ...local(addr), "--timeout", "60"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^ask: ${NONCE}$`));
    expect(lines[1]).toBe("waiting for ACKs and replies... press Ctrl+C to stop");
    expect(lines.slice(2).sort()).toEqual(["- reviewer: LGTM after fixing tests", "- tester: Review this diff: https://example.com/pr/7 2", "✓ reviewer acked", "✓ tester acked"]);
    // Each peer's ACK comes before its reply.
    for (const name of ["reviewer", "tester"]) expect(lines.indexOf(`✓ ${name} acked`)).toBeLessThan(lines.findIndex((l) => l.startsWith(`- ${name}:`)));
  }, 30_000);

  test("--json: sent, ack, reply and a summary that says why it stopped", async () => {
    const { nodes, addr } = await swarm([
      ["reviewer", () => ({ verdict: "ok" })],
      ["grump", () => {
        throw new Error("not today");
      }],
    ]);
    const result = await sn(["ask", SWARM, "Status?", ...local(addr), "--json"]);
    expect(result.code).toBe(0);
    const records = result.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ event: "ask.sent", endpoint: "synapse.ask", args: ["Status?"], kwargs: { context: {} }, peers: 2 });
    const byEvent = (event: string) => records.filter((r) => r.event === event);
    expect(byEvent("reply").map((r) => r.result)).toEqual([{ verdict: "ok" }]);
    expect(byEvent("error").map((r) => [(r.peer as { id: string }).id, r.error])).toEqual([[nodes[1]!.id, "not today"]]);
    expect(byEvent("ack")).toHaveLength(2);
    expect(records.at(-1)).toMatchObject({ event: "summary", nonce: records[0]!.nonce, peers: 2, replies: 1, errors: 1, acks: 2 });
    expect(["answered", "replied"]).toContain(records.at(-1)!.reason as string);
  }, 30_000);

  test("0.25 s after the first reply it stops, without waiting for a slow peer", async () => {
    const { addr } = await swarm([
      ["fast", () => "here"],
      ["slow", () => Bun.sleep(8_000).then(() => "late")],
    ]);
    const result = await sn(["ask", SWARM, "who is there", ...local(addr), "--json"], 20_000);
    expect(result.code).toBe(0);
    const records = result.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.filter((r) => r.event === "reply").map((r) => r.result)).toEqual(["here"]);
    expect(records.at(-1)).toMatchObject({ event: "summary", reason: "replied", replies: 1 });
  }, 30_000);

  test("no reply: `no replies` after --timeout seconds of silence, exit 1", async () => {
    const { addr } = await swarm([["mute", null], ["mute-too", null]]);
    const result = await sn(["ask", SWARM, "anyone?", ...local(addr), "--timeout", "0.5"]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.slice(1)).toEqual(["waiting for ACKs and replies... press Ctrl+C to stop", "no replies"]);
  }, 30_000);

  test("--forever keeps listening after every reply, until Ctrl+C; exit 0 as a reply came", async () => {
    const { addr } = await swarm([["reviewer", () => "yes"]]);
    const run = SnStream.start(["ask", SWARM, "still there?", ...local(addr), "--forever"]);
    await run.until((lines) => lines.includes("- reviewer: yes"), 10_000, "the reply");
    await Bun.sleep(500); // well past the 0.25 s rule: still running
    expect(run.proc.exitCode).toBeNull();
    run.signal("SIGINT");
    expect((await run.exit(10_000)).code).toBe(0);
  }, 30_000);

  test("colours only when asked for (a terminal, or FORCE_COLOR), never with NO_COLOR", async () => {
    const { addr } = await swarm([["reviewer", () => "ok"]]);
    const coloured = await sn(["ask", SWARM, "hi", ...local(addr)], 15_000, { FORCE_COLOR: "1", NO_COLOR: "" });
    expect(coloured.stdout).toContain("\u001b[32m✓\u001b[0m reviewer acked\n");
    const plain = await sn(["ask", SWARM, "hi", ...local(addr)], 15_000, { FORCE_COLOR: "1", NO_COLOR: "1" });
    expect(plain.stdout).toContain("✓ reviewer acked\n");
    expect(plain.stdout).not.toContain("\u001b[");
  }, 30_000);

  test("SN_SWARM and SN_SEEDS stand in for the swarm argument and the seeds", async () => {
    const { addr } = await swarm([["reviewer", () => "from env"]]);
    const result = await sn(["ask", "hello"], 15_000, { SN_SWARM: SWARM, SN_SEEDS: addr, SN_MDNS: "0" });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("- reviewer: from env\n");
  }, 30_000);
});

describe("cli broadcast - synapse.message", () => {
  test("a watcher shows the message and replies {received_by}; other peers stay silent", async () => {
    const { seed, addr } = await swarm([["plain", null]]);
    const watch = SnStream.start(["watch", SWARM, ...local(addr), "-n", "eyes"]);
    await watch.until((lines) => lines.some((l) => l.startsWith("watching swarm")), 10_000, "the watcher's banner");

    const result = await sn(["broadcast", SWARM, "Ship status?", ...local(addr), "--timeout", "5"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^broadcast: ${NONCE}$`));
    expect(lines[1]).toBe("waiting for replies... press Ctrl+C to stop");
    expect(lines.slice(2)).toEqual(['- eyes: {"received_by":"eyes"}']);
    const nonce = lines[0]!.slice("broadcast: ".length);

    await watch.until((l) => l.some((x) => x.includes(` message `) && x.includes("Ship status?")), 10_000, "the message line");
    expect(watch.lines.find((l) => l.includes(" message "))).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  message {12}speaker {12}[0-9a-f]{8}  Ship status\\?  …${nonce.slice(-8)}$`));
    // The seed has no synapse.message: it neither replied nor recorded anything but the opening.
    expect((await seed.replies(nonce)).map((r) => r.peer.name)).toEqual(["eyes"]);
    watch.signal("SIGTERM");
    expect((await watch.exit(10_000)).code).toBe(0);
  }, 30_000);

  test("nobody serves synapse.message: `no replies`, exit 1", async () => {
    const { addr } = await swarm([["plain", null]]);
    const result = await sn(["broadcast", SWARM, "hello?", ...local(addr), "--timeout", "0.3"]);
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe("no replies");
  }, 30_000);
});
