/**
 * Three agents and someone with questions, in one process.
 *
 * Each agent is a node with an ask handler (`node.ask(async (task, context) => ...)`) and an agent
 * card it publishes as an artifact. The asker reads the cards, asks one agent directly
 * (`_node.ask`), then asks the whole swarm at once (`synapse.ask` as a broadcast): the agents ACK
 * straight away, work in the background and deliver their answers later as broadcast replies; the
 * agent that cannot do the task reports an `error` conversation event instead.
 *
 *     bun examples/ask/agents.ts
 *
 * Everything listens on loopback (127.0.0.1) on free ports, and the program stops by itself.
 */

import { Client, Node, RemoteError, kw, type ArtifactDescriptor, type Peer } from "../../src/index.ts";
import { AGENT_CARD, fetchAgentCard, publishAgentCard } from "../_shared/agent-card.ts";
import { byName, say, until, watchdog } from "../_shared/narrate.ts";

// No heartbeats: this example is about asking, not liveness, and the nodes live for a second.
const lab = { swarm: "lab", bind: "127.0.0.1", port: 0, heartbeatInterval: null };

// No step below waits forever: a step that does not complete in time ends the program with
// status 1. This watchdog catches anything else that could hang.
const disarm = watchdog("agents", 15);

// 1. The asker starts first; the agents use it as their seed.
const asker = new Node({ ...lab, name: "asker" });
await asker.start();
say(`asker listening on 127.0.0.1:${asker.port}`);

// 2. Three agents. An ask handler gets the task (a string) and a context (a map, {} when the
//    caller sends none) and returns the answer, or throws. Each one takes a moment, as a model
//    call would.

// The translator looks phrases up and reads the target language from the context.
const phrases: Record<string, Record<string, string>> = {
  "good morning": { French: "bonjour", German: "guten Morgen", Italian: "buongiorno" },
  "thank you": { French: "merci", German: "danke", Italian: "grazie" },
};
const translator = new Node({ ...lab, name: "translator", role: "translates short phrases", capabilities: ["translate"] }).ask(async (task, context) => {
  await Bun.sleep(80);
  const language = typeof context.language === "string" ? context.language : "French";
  const translated = phrases[task.toLowerCase()]?.[language];
  return translated ? `${task} in ${language}: ${translated}` : `no ${language} for "${task}" in my phrase book`;
});

// The counter counts words and letters; it ignores the context.
const counter = new Node({ ...lab, name: "counter", role: "counts words", capabilities: ["count"] }).ask(async (task) => {
  await Bun.sleep(40);
  const words = task.split(/\s+/).filter(Boolean);
  return `"${task}" has ${words.length} words and ${words.join("").length} letters`;
});

// The poet only takes tasks that start with "poem:", and throws for anything else. Directly, the
// caller gets the error back (internal_error with the message); in a broadcast, the poet reports
// it as an `error` event in the conversation.
const poet = new Node({ ...lab, name: "poet", role: "writes three-line poems", capabilities: ["poem"] }).ask(async (task, context) => {
  await Bun.sleep(20);
  if (!task.startsWith("poem:")) throw new Error(`poet only writes poems, and "${task}" is not one`);
  const subject = task.slice("poem:".length).trim();
  const mood = typeof context.mood === "string" ? context.mood : "quiet";
  return [`${subject}, ${mood} today,`, "turns its pages one by one", "and reads them again"];
});

// 3. Agent cards. An artifact is a named document that peers fetch with `_synapse.artifacts`
//    (descriptors: name, kind, MIME type, size, sha256, ...) and `_synapse.artifact.get(name)`
//    (the content too). The cards follow the Python examples' convention, so that a Python
//    planner reads them: `agent-card`, {name, role, capabilities, description}, MIME type
//    application/vnd.synapse.agent-card+json (see examples/_shared/agent-card.ts).
const cards: Array<[Node, string]> = [
  [translator, "Translates a phrase; context.language: French, German or Italian."],
  [counter, "Counts the words and letters of any text."],
  [poet, 'Writes a poem for a task starting with "poem:"; context.mood: an adjective.'],
];
for (const [agent, description] of cards) {
  publishAgentCard(agent, description);
  await agent.join({ seeds: [`127.0.0.1:${asker.port}`] });
}
const agents = [...asker.peers.values()].sort(byName);
say(`agents in the swarm: ${agents.map((p) => p.name).join(", ")}`);

// 4. The asker reads every agent's card with plain client calls.
const skillOf = new Map<string, Peer>();
for (const peer of agents) {
  const listed = await Client.fromPeer(peer, { timeout: 3 }).call<ArtifactDescriptor[]>("_synapse.artifacts");
  const descriptor = listed.find((d) => d.name === AGENT_CARD)!;
  const card = (await fetchAgentCard(peer, 3))!;
  say(`card of ${peer.name}: ${descriptor.kind}, ${descriptor.mime_type}, ${descriptor.size} bytes, sha256 ${descriptor.sha256.slice(0, 12)}…`);
  console.log(`    role: ${card.role}; capabilities: ${card.capabilities.join(", ")}; ${card.description}`);
  for (const skill of card.capabilities) skillOf.set(skill, peer);
}

// 5. Ask one agent directly: `_node.ask(task, context=...)` runs its handler and answers with the
//    result. The context goes as a keyword argument, as a Python client sends it.
const poetPeer = skillOf.get("poem")!;
const poetClient = Client.fromPeer(poetPeer, { timeout: 3 });
const poem = await poetClient.call<string[]>("_node.ask", "poem: the sea", kw({ context: { mood: "calm" } }));
say(`direct _node.ask to ${poetPeer.name}: ${poem.join(" / ")}`);
try {
  await poetClient.call("_node.ask", "good morning", kw({ context: {} }));
} catch (error) {
  if (!(error instanceof RemoteError)) throw error;
  say(`direct _node.ask to ${poetPeer.name} failed: ${error.code}: ${error.message}`);
}

// 6. Ask the whole swarm. `synapse.ask` called as part of a broadcast ACKs first, answers
//    {accepted: true, deferred: true} at once, runs the handler in the background and delivers its
//    result as a broadcast reply, or an `error` event when the handler throws. The listeners go
//    on before the broadcast so that nothing is missed.
const outcomes = new Map<string, string>();
asker.on("conversation.ack", (event) => say(`ACK from ${event.peer.name}`));
asker.on("broadcast.reply", (reply) => {
  outcomes.set(reply.peer.name, "reply");
  say(`deferred answer from ${reply.peer.name}: ${reply.result}`);
});
asker.on("conversation.error", (event) => {
  outcomes.set(event.peer.name, "error");
  say(`error event from ${event.peer.name}: ${event.payload.error} (task "${event.payload.task}")`);
});

say('asker broadcasts synapse.ask("good morning", context={language: "German"})');
const question = await asker.broadcast("synapse.ask", "good morning", kw({ context: { language: "German" } }));
// broadcast() resolves once every agent has answered the call itself: the ACKs are in by then,
// the real answers are still being worked on.
const acks = (await asker.conversation(question)).filter((event) => event.kind === "ack");
say(`broadcast() resolved with ${acks.length} ACKs; waiting for the answers`);

// Every agent either replies or reports an error; wait (bounded) until all of them have.
await until("agents", () => outcomes.size === agents.length, 3, "every agent's answer or error");
const replies = (await asker.replies(question)).sort((a, b) => a.peer.name.localeCompare(b.peer.name));
say(`replies: ${replies.map((r) => r.peer.name).join(", ")}; errors: ${[...outcomes].filter(([, o]) => o === "error").map(([name]) => name).join(", ")}`);
const kinds = (await asker.conversation(question)).map((event) => event.kind);
say(`the conversation at asker: ${kinds.join(", ")}`);

// 7. Done. stop() closes each node's listener and connections; nothing keeps the process alive.
await Promise.all([asker, translator, counter, poet].map((node) => node.stop()));
disarm();
say("everyone stopped");
