/**
 * The asker: finds the swarm by mDNS (no seed, no address), reads the agent cards, and asks
 * everyone with `synapse.ask`: every agent ACKs and replies in one shared conversation. Then it
 * ends.
 *
 *     bun examples/local_mdns_swarm/ask.ts [--task TEXT] [--agents N]
 */
import { Node, kw } from "../../src/index.ts";
import { fetchAgentCard } from "../_shared/agent-card.ts";
import { nodeArgs } from "../_shared/node-process.ts";
import { byName, names, say, tally, until, watchdog } from "../_shared/narrate.ts";
import { SWARM } from "./common.ts";

const args = nodeArgs("ask.ts", { port: 0 }, ["task", "agents"]);
const task = args.extra.task ?? "Who can help with the release?";
const expected = Number(args.extra.agents ?? 2);
const disarm = watchdog("ask", 40);

const node = new Node({ name: "asker", role: "client", swarm: SWARM, mdns: true, port: args.port, seeds: args.seeds, heartbeatInterval: null });
// join() sends an mDNS query at once, then waits (at most 10 s) until the agents have answered.
const peers = (await node.join({ wait: 10, minPeers: expected })).sort(byName);
say(`found by mDNS: ${names(peers)}`);
for (const peer of peers) {
  const card = await fetchAgentCard(peer);
  if (card) say(`card: ${card.name} (${card.role}): ${card.description}`);
}

node.on("conversation.ack", (event) => say(`ACK from ${event.peer.name}`));
node.on("broadcast.reply", (reply) => say(`reply from ${reply.peer.name}: ${(reply.result as { answer: string }).answer}`));
const question = await node.broadcast("synapse.ask", task, kw({ context: { from: "asker" } }));
say(`synapse.ask("${task}") to ${peers.length} peers, conversation …${question.nonce.slice(-8)}`);
await until("ask", async () => (await node.replies(question)).length >= peers.length, 10, "every agent's reply");
say(`the conversation: ${tally((await node.conversation(question)).map((e) => e.kind))}`);

await node.stop(); // mDNS goodbye: the agents drop the asker at once
disarm();
say("done");
