/**
 * The demo that `bun run demo` runs: a live swarm on loopback, in one process. It ends by itself
 * in about 20 seconds with status 0 (`--forever` keeps it running until Ctrl+C).
 *
 * A seed starts first: any node can be one, it is only the first contact. Four agents join
 * through it, one a second; each has capabilities (carried in its peer record), an agent card and
 * an ask handler (`node.ask(async (task, context) => answer)`). The weather agent also runs a
 * periodic task: it checks the sky every few seconds. Then someone with a question joins and asks
 * the whole swarm at once: a `synapse.ask` broadcast. Every agent ACKs straight away ("I saw this
 * and wade in"), works in the background, and delivers its answer as a broadcast reply that
 * reaches the asker and every other node. Last, the planner broadcasts the plan to everyone (a
 * broadcast of an endpoint of its own), and whoever brings something replies.
 *
 * On a terminal it is shown in the live view of `sn watch`; in a pipe, or with `--lines`, as a
 * line log (see view.ts).
 *
 *     bun run demo                      (the same as: bun examples/demo/demo.ts)
 *     bun run demo --lines              the line log even on a terminal
 *     bun run demo --forever            keep the swarm running after the summary, until Ctrl+C
 *     DEMO_PACE=0.1 bun run demo        every pause and thinking time ten times shorter
 *
 * Everything listens on loopback (127.0.0.1) on free ports chosen by the system.
 */
import { parseArgs } from "node:util";
import { Node, every, kw, type AskHandler, type Broadcast, type CallContext, type Peer } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { names, tally, until as untilOr, watchdog } from "../_shared/narrate.ts";
import { lineView, screenView, type DemoView } from "./view.ts";

const options = readOptions();
/** Every pause, thinking time and period is multiplied by this (its test runs the same steps faster). */
const pace = options.pace;

// Every node of the demo shares these options. Port 0: the system picks a free port, read it from
// `node.port` after start. The default heartbeat settings (every 5 s, a peer is dropped after 20 s
// of silence) are kept: nobody goes quiet during the demo.
const picnic = { swarm: "picnic", bind: "127.0.0.1", port: 0 };

// No step below waits forever: a step that does not complete in time ends the program with
// status 1 and says what it was waiting for. This guard catches anything else that could hang.
const disarm = options.forever ? () => {} : watchdog("demo", 60 * Math.max(1, pace));

const everyone: Node[] = [];
let stopping: Promise<void> | null = null;
/** Stop every node, leave the view, end the program (on Ctrl+C, q, or after the summary). */
function stopAll(reason: string): Promise<void> {
  stopping ??= (async () => {
    view.event("STOP", "demo", reason);
    await Promise.all(everyone.map((node) => node.stop()));
    view.close();
    disarm();
    console.log(`[${(performance.now() / 1000).toFixed(2).padStart(5)}s] everyone stopped; bye`);
    process.exit(0);
  })();
  return stopping;
}
const view: DemoView = options.lines ? lineView() : screenView("picnic", () => void stopAll("quit"));
process.on("SIGINT", () => void stopAll("Ctrl+C"));
process.on("SIGTERM", () => void stopAll("SIGTERM"));

if (options.lines) {
  console.log(`synapse-p2p demo: a swarm on loopback (127.0.0.1) in one process; ${options.forever ? "it stops with Ctrl+C" : "it stops by itself in about 20 s"}`);
  console.log("");
}

// 1. The seed. `kind: "bootstrap"` only labels it in peer records; it has no ask handler.
const seed = new Node({ ...picnic, name: "seed", kind: "bootstrap", role: "first contact" });
everyone.push(seed);
await seed.start();
view.event("START", "seed", `listening on 127.0.0.1:${seed.port} (swarm "picnic"); the others know only this address`);
// The seed hears of every newcomer first: its `peer.joined` events show the swarm growing.
seed.on("peer.joined", (peer) => view.event("JOINED", peer.name, describe(peer)));

// 2. Four agents. An ask handler gets the task (a string) and a context (a map) and returns the
//    answer (or throws). `thinks` is how long each takes before answering, in seconds; `brings`
//    is its answer to the planner's broadcast at the end.
type Agent = { name: string; role: string; capabilities: string[]; thinks: number; brings: string | null; answer: (task: string, context: Record<string, unknown>) => string };
const skies = ["sunny, 24 °C", "sunny, 25 °C, a light westerly wind", "a few clouds, 23 °C", "sunny again, 24 °C"];
let sky = skies[0]!;
const roster: Agent[] = [
  { name: "weather", role: "knows the forecast", capabilities: ["forecast"], thinks: 0, brings: "sun cream", answer: (_task, context) => `${context.day ?? "tomorrow"}: ${sky}; no rain before 18:00` },
  { name: "cook", role: "plans meals", capabilities: ["menu", "shopping-list"], thinks: 3, brings: "lemonade and a plum cake", answer: (_task, context) => `for ${context.people ?? "everyone"}: lemonade, flatbread, three salads and a plum cake; the shopping list is ready` },
  { name: "scout", role: "knows the places", capabilities: ["maps", "routes"], thinks: 6, brings: "the frisbee", answer: () => "Riverside Park: shade, picnic tables, 12 minutes by bike" },
  { name: "planner", role: "puts plans together", capabilities: ["plan", "schedule"], thinks: 9, brings: null, answer: () => "11:00 meet at the park gate, 12:30 lunch, 15:00 frisbee, 17:30 pack up" },
];
const roles = new Map([["seed", "first contact"], ["asker", "has a question"], ...roster.map((a): [string, string] => [a.name, a.role])]);
view.follow(seed, roles);
const thinks = new Map(roster.map((agent) => [agent.name, agent.thinks]));
const agents = roster.map((agent) => {
  const handler: AskHandler = async (task, context) => {
    await pause(agent.thinks);
    return agent.answer(task, context);
  };
  const node = new Node({ ...picnic, name: agent.name, role: agent.role, capabilities: agent.capabilities }).ask(handler);
  // The agent card, in the convention the Python examples use (see examples/_shared/agent-card.ts).
  publishAgentCard(node, `${agent.role}; ask me with synapse.ask`);
  everyone.push(node);
  return node;
});
const [weather, , , planner] = agents as [Node, Node, Node, Node];

// The weather agent's periodic task: check the sky now and every 4 s, for as long as it runs.
let checks = 0;
weather.periodic(
  every({ seconds: 4 * pace }),
  function checkSky() {
    sky = skies[checks++ % skies.length]!;
    view.event("TASK", "weather", `periodic check-sky #${checks}: ${sky}`);
  },
  { name: "check-sky" },
);

// join() starts the node, calls `_synapse.join` on the seed, adds the seed and every peer the
// seed knows, and announces itself to those peers with a heartbeat, so they learn of it at once.
for (const agent of agents) {
  await pause(1);
  const peers = await agent.join({ seeds: [`127.0.0.1:${seed.port}`] });
  view.event("PEERS", agent.name, `joined through the seed and was told about: ${names(peers)}`);
}

// 3. Someone with a question joins the same way. It has no ask handler of its own.
await pause(1);
const asker = new Node({ ...picnic, name: "asker", role: "has a question" });
everyone.push(asker);
const known = await asker.join({ seeds: [`127.0.0.1:${seed.port}`] });
view.event("PEERS", "asker", `joined through the seed and was told about: ${names(known)}`);
await until(() => agents.every((agent) => agent.peers.has(asker.id)), 5, "every agent knowing the asker");

// 4. The ask. Listeners go on before the broadcast so that nothing is missed: the ACKs arrive
//    before broadcast() resolves (so before its nonce is known here: `phase` tells the two
//    broadcasts of the demo apart), the replies whenever each agent is done.
let phase: "ask" | "notice" = "ask";
let askedAt = 0;
const since = () => `+${((performance.now() - askedAt) / 1000).toFixed(2)}s`;
const task = "plan a picnic";
asker.on("conversation.ack", (event) => phase === "ask" && view.event("ACK", event.peer.name, `wades in (${since()} after the ask)`));
asker.on("broadcast.reply", (reply) => {
  if (phase !== "ask") return;
  const style = thinks.get(reply.peer.name) === 0 ? "immediate" : "deferred";
  view.event("REPLY", reply.peer.name, `(${style}, ${since()}): ${reply.result}`);
});

await pause(1);
const context = { day: "Saturday", people: 6 };
view.event("ASK", "asker", `broadcasts synapse.ask("${task}", context={day: "Saturday", people: 6}) to ${asker.peers.size} peers`);
askedAt = performance.now();
// `synapse.ask` called as part of a broadcast ACKs first, answers {accepted: true, deferred: true}
// at once and runs the handler in the background; its result becomes a broadcast reply. The
// seed, with no ask handler, answers the call with an error, which a broadcast ignores.
const asked = await asker.broadcast("synapse.ask", task, kw({ context }));
view.event("DONE", "asker", `broadcast() resolved: every peer has answered the call (conversation …${asked.nonce.slice(-8)}); replies come as each agent finishes`);

// Every agent replies; wait (bounded) until the asker holds all the replies.
const longest = Math.max(...roster.map((agent) => agent.thinks));
await until(async () => (await asker.replies(asked)).length === agents.length, longest + 10, "every agent's reply");

// 5. A broadcast of the planner's own: every node with a `picnic.notice` endpoint gets the plan;
//    those who bring something ACK and reply (on the conversation the broadcast opened), the
//    others stay silent. The seed has no such endpoint: the call fails there, which a broadcast ignores.
for (const node of [...agents, asker]) {
  const brings = roster.find((agent) => agent.name === node.name)?.brings ?? null;
  node.endpoint("picnic.notice", { description: "Hear the plan" }, async (_plan: string, ctx: CallContext) => {
    if (!ctx.broadcast || brings === null) return null;
    await node.ack(ctx.broadcast);
    await node.reply(ctx.broadcast, `${node.name} brings ${brings}`);
    return "noted";
  });
}
const bringers = roster.filter((agent) => agent.brings !== null && agent.name !== "planner").length;
planner.on("conversation.ack", (event) => phase === "notice" && view.event("ACK", event.peer.name, "wades into the plan"));
planner.on("broadcast.reply", (reply) => phase === "notice" && view.event("REPLY", reply.peer.name, String(reply.result)));
await pause(1);
phase = "notice";
const plan = "Saturday 11:00 at the park gate";
view.event("CALL", "planner", `broadcasts picnic.notice("${plan}") to ${planner.peers.size} peers`);
const noticed: Broadcast = await planner.broadcast("picnic.notice", plan);
await until(async () => (await planner.replies(noticed)).length === bringers, 10, "the replies to the plan");

// 6. The summary. A reply reaches the asker first and is gossiped to every other node, so each
//    node ends up holding the same replies: the conversation is shared, with no coordinator.
await until(async () => (await Promise.all(everyone.map((node) => node.replies(asked)))).every((r) => r.length === agents.length), 5, "every node holding every reply");
const events = await asker.conversation(asked);
const acks = events.filter((event) => event.kind === "ack").map((event) => event.peer.name);
const replies = (await asker.replies(asked)).map((reply) => reply.peer.name);
const immediate = replies.filter((name) => thinks.get(name) === 0);
const deferred = replies.filter((name) => thinks.get(name) !== 0);
const noticeReplies = (await planner.replies(noticed)).map((reply) => reply.peer.name);
view.print("");
view.print("summary");
view.print(`    swarm "picnic": ${everyone.length} nodes (${everyone.map((node) => node.name).join(", ")})`);
view.print(`    ask: ${asker.peers.size} peers asked; ${acks.length} ACKs (${acks.sort().join(", ")})`);
view.print(`    ${replies.length} replies: ${immediate.length} immediate (${immediate.sort().join(", ")}: answered at once), ${deferred.length} deferred (${deferred.sort().join(", ")}: thought first)`);
view.print(`    silent: seed (no ask handler)`);
view.print(`    the conversation at asker: ${tally(events.map((event) => event.kind))}`);
view.print(`    every node holds all ${agents.length} replies`);
view.print(`    broadcast picnic.notice: ${noticeReplies.length} replies (${noticeReplies.sort().join(", ")})`);
view.print(`    periodic task check-sky: ran ${checks} times`);
view.print("");

// 7. A clean stop: stop() closes each node's listener and connections and cancels its heartbeats
//    and periodic tasks, so nothing is left to keep the process alive.
if (options.forever) {
  view.event("WAIT", "demo", "running until Ctrl+C (or q)");
} else {
  await pause(2);
  await stopAll("done");
}

/** Sleep `seconds` × the pace. */
function pause(seconds: number): Promise<void> {
  return Bun.sleep(seconds * pace * 1000);
}

/** A peer as the seed sees it: short id, address, capabilities. */
function describe(peer: Peer): string {
  return `${peer.id.slice(0, 8)}  ${peer.address}:${peer.port}  capabilities: ${peer.capabilities.join(", ") || "none"}`;
}

/** Wait until `check` holds for at most `seconds` (never less than 1 s, whatever the pace); else exit 1. */
function until(check: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
  return untilOr("demo", check, Math.max(1, seconds * Math.max(pace, 1)), what);
}

/** The command line and DEMO_PACE; a bad value exits with status 2. */
function readOptions(): { forever: boolean; lines: boolean; pace: number } {
  try {
    const { values } = parseArgs({ options: { forever: { type: "boolean" }, lines: { type: "boolean" } }, strict: true });
    const raw = process.env.DEMO_PACE;
    const value = raw === undefined || raw === "" ? 1 : Number(raw);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`DEMO_PACE must be a positive number, got ${JSON.stringify(raw)}`);
    // The live view needs a terminal on both sides (it reads q from the keyboard).
    const lines = values.lines === true || !process.stdout.isTTY || !process.stdin.isTTY;
    return { forever: values.forever === true, lines, pace: value };
  } catch (error) {
    console.error(`demo: ${(error as Error).message}`);
    console.error("usage: bun run demo [--forever] [--lines]   (DEMO_PACE=0.1 for a faster run)");
    process.exit(2);
  }
}
