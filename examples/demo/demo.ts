/**
 * The demo that `bun run demo` runs: a live swarm on loopback, in one process, narrated as it
 * happens. It ends by itself in about 20 seconds with status 0.
 *
 * A seed starts first: any node can be one, it is only the first contact. Four agents join through
 * it, one a second; each has capabilities (carried in its peer record) and an ask handler
 * (`node.ask(async (task, context) => answer)`). The weather agent answers at once; the others
 * think for a few seconds, as a model call would. Then someone with a question joins and asks the
 * whole swarm at once: a `synapse.ask` broadcast. Every agent ACKs straight away ("I saw this and
 * wade in"), works in the background, and delivers its answer later as a broadcast reply that
 * reaches the asker and every other node. The seed has no ask handler and stays out of it.
 *
 *     bun run demo                      (the same as: bun examples/demo/demo.ts)
 *     DEMO_PACE=0.1 bun run demo        every pause and thinking time ten times shorter
 *
 * Everything listens on loopback (127.0.0.1) on free ports chosen by the system.
 */

import { Node, kw, type AskHandler, type Peer } from "../../src/index.ts";

/** Every pause and thinking time is multiplied by this (its test runs the same steps faster). */
const pace = readPace(process.env.DEMO_PACE);

// Every node of the demo shares these options. Port 0: the system picks a free port, read it from
// `node.port` after start. The default heartbeat settings (every 5 s, a peer is dropped after 20 s
// of silence) are kept: nobody goes quiet during the demo.
const picnic = { swarm: "picnic", bind: "127.0.0.1", port: 0 };

// No step below waits forever: a step that does not complete in time ends the program with
// status 1 and says what it was waiting for. This guard catches anything else that could hang.
const guard = setTimeout(() => {
  console.error("demo: still running after 60 s, giving up");
  process.exit(1);
}, 60_000 * Math.max(1, pace));

console.log("synapse-p2p demo: a swarm on loopback (127.0.0.1) in one process; it stops by itself in about 20 s");
console.log("");

// 1. The seed. `kind: "bootstrap"` only labels it in peer records; it has no ask handler.
const seed = new Node({ ...picnic, name: "seed", kind: "bootstrap", role: "first contact" });
await seed.start();
say(`seed       listening on 127.0.0.1:${seed.port} (swarm "picnic"); the others know only this address`);
// The seed hears of every newcomer first: its `peer.joined` events show the swarm growing.
seed.on("peer.joined", (peer) => say(`seed       peer.joined ${describe(peer)}`));

// 2. Four agents. An ask handler gets the task (a string) and a context (a map) and returns the
//    answer (or throws). `thinks` is how long each takes before answering, in seconds.
type Agent = { name: string; role: string; capabilities: string[]; thinks: number; answer: (task: string, context: Record<string, unknown>) => string };
const roster: Agent[] = [
  {
    name: "weather",
    role: "knows the forecast",
    capabilities: ["forecast"],
    thinks: 0,
    answer: (_task, context) => `${context.day ?? "tomorrow"}: sunny, 24 °C, a light westerly wind; no rain before 18:00`,
  },
  {
    name: "cook",
    role: "plans meals",
    capabilities: ["menu", "shopping-list"],
    thinks: 3,
    answer: (_task, context) => `for ${context.people ?? "everyone"}: lemonade, flatbread, three salads and a plum cake; the shopping list is ready`,
  },
  {
    name: "scout",
    role: "knows the places",
    capabilities: ["maps", "routes"],
    thinks: 6,
    answer: () => "Riverside Park: shade, picnic tables, 12 minutes by bike",
  },
  {
    name: "planner",
    role: "puts plans together",
    capabilities: ["plan", "schedule"],
    thinks: 12,
    answer: () => "11:00 meet at the park gate, 12:30 lunch, 15:00 frisbee, 17:30 pack up",
  },
];
const agents = roster.map((agent) => {
  const handler: AskHandler = async (task, context) => {
    await pause(agent.thinks);
    return agent.answer(task, context);
  };
  return new Node({ ...picnic, name: agent.name, role: agent.role, capabilities: agent.capabilities }).ask(handler);
});
const thinks = new Map(roster.map((agent) => [agent.name, agent.thinks]));

// join() starts the node, calls `_synapse.join` on the seed, adds the seed and every peer the
// seed knows, and announces itself to those peers with a heartbeat, so they learn of it at once.
for (const agent of agents) {
  await pause(1);
  const peers = await agent.join({ seeds: [`127.0.0.1:${seed.port}`] });
  say(`${agent.name.padEnd(10)} joined through the seed and was told about: ${names(peers)}`);
}

// 3. Someone with a question joins the same way. It has no ask handler of its own.
await pause(1);
const asker = new Node({ ...picnic, name: "asker", role: "has a question" });
const known = await asker.join({ seeds: [`127.0.0.1:${seed.port}`] });
say(`asker      joined through the seed and was told about: ${names(known)}`);
await until(() => agents.every((agent) => agent.peers.has(asker.id)), 5, "every agent knowing the asker");

// 4. The ask. Listeners go on before the broadcast so that nothing is missed: the ACKs arrive
//    before broadcast() resolves, the replies whenever each agent is done.
let askedAt = 0;
const since = () => `+${((performance.now() - askedAt) / 1000).toFixed(2)}s after the ask`;
asker.on("conversation.ack", (event) => say(`ACK        from ${event.peer.name.padEnd(8)} (${since()})`));
asker.on("broadcast.reply", (reply) => {
  const style = thinks.get(reply.peer.name) === 0 ? "immediate" : "deferred";
  say(`reply      from ${reply.peer.name.padEnd(8)} (${style}, ${since()}): ${reply.result}`);
});

await pause(1);
const task = "plan a picnic";
const context = { day: "Saturday", people: 6 };
say(`asker      broadcasts synapse.ask("${task}", context={day: "Saturday", people: 6}) to ${asker.peers.size} peers`);
askedAt = performance.now();
// `synapse.ask` called as part of a broadcast ACKs first, answers {accepted: true, deferred: true}
// at once and runs the handler in the background; its result becomes a broadcast reply. The
// seed, with no ask handler, answers the call with an error, which a broadcast ignores.
const question = await asker.broadcast("synapse.ask", task, kw({ context }));
say(`broadcast() resolved: every peer has answered the call (conversation …${question.nonce.slice(-8)}); replies come as each agent finishes`);

// Every agent replies; wait (bounded) until the asker holds all the replies.
const longest = Math.max(...roster.map((agent) => agent.thinks));
await until(async () => (await asker.replies(question)).length === agents.length, longest + 10, "every agent's reply");

// 5. The summary. A reply reaches the asker first and is gossiped to every other node, so each
//    node ends up holding the same replies: the conversation is shared, with no coordinator.
const everyone = [seed, ...agents, asker];
await until(async () => (await Promise.all(everyone.map((node) => node.replies(question)))).every((r) => r.length === agents.length), 5, "every node holding every reply");
const events = await asker.conversation(question);
const acks = events.filter((event) => event.kind === "ack").map((event) => event.peer.name);
const replies = (await asker.replies(question)).map((reply) => reply.peer.name);
const immediate = replies.filter((name) => thinks.get(name) === 0);
const deferred = replies.filter((name) => thinks.get(name) !== 0);
console.log("");
say("summary");
console.log(`    swarm "picnic": ${everyone.length} nodes (${everyone.map((node) => node.name).join(", ")})`);
console.log(`    asked ${asker.peers.size} peers; ${acks.length} ACKs (${acks.sort().join(", ")})`);
console.log(`    ${replies.length} replies: ${immediate.length} immediate (${immediate.sort().join(", ")}: answered at once), ${deferred.length} deferred (${deferred.sort().join(", ")}: thought first)`);
console.log(`    silent: seed (no ask handler)`);
console.log(`    the conversation at asker: ${tally(events.map((event) => event.kind))}`);
console.log(`    every node holds all ${agents.length} replies`);
console.log("");

// 6. A clean stop: stop() closes each node's listener and connections and cancels its heartbeats,
//    so nothing is left to keep the process alive.
await pause(1);
await Promise.all(everyone.map((node) => node.stop()));
clearTimeout(guard);
say("everyone stopped; bye");

/** Print a line with the seconds since the program started. */
function say(message: string): void {
  console.log(`[${(performance.now() / 1000).toFixed(2).padStart(5)}s] ${message}`);
}

/** Sleep `seconds` × the pace. */
function pause(seconds: number): Promise<void> {
  return Bun.sleep(seconds * pace * 1000);
}

/** A peer as the seed sees it: name, short id, address, capabilities. */
function describe(peer: Peer): string {
  return `${peer.name.padEnd(8)} ${peer.id.slice(0, 8)}  ${peer.address}:${peer.port}  capabilities: ${peer.capabilities.join(", ") || "none"}`;
}

/** Peers' names, sorted and comma-separated. */
function names(peers: Peer[]): string {
  return peers.map((p) => p.name).sort().join(", ") || "nobody";
}

/** Kinds in order, runs of one kind folded: "message, ack ×4, reply ×4". */
function tally(kinds: string[]): string {
  const runs: Array<[string, number]> = [];
  for (const kind of kinds) {
    const last = runs.at(-1);
    if (last && last[0] === kind) last[1]++;
    else runs.push([kind, 1]);
  }
  return runs.map(([kind, n]) => (n === 1 ? kind : `${kind} ×${n}`)).join(", ");
}

/** Wait until `check` holds, polling every 20 ms, for at most `seconds` (never less, whatever the pace); else exit 1. */
async function until(check: () => boolean | Promise<boolean>, seconds: number, what: string): Promise<void> {
  const ms = Math.max(1000, seconds * 1000 * Math.max(pace, 1));
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      console.error(`demo: timed out after ${ms} ms waiting for ${what}`);
      process.exit(1);
    }
    await Bun.sleep(20);
  }
}

/** DEMO_PACE: a positive number, 1 when unset. */
function readPace(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 1;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`demo: DEMO_PACE must be a positive number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}
