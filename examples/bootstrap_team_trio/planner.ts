/**
 * The planner: joins the team through the bootstrap node, fetches every peer's agent card, asks
 * the whole team with `synapse.ask` and collects the ACKs and the replies of the shared
 * conversation. Then it ends.
 *
 *     bun examples/bootstrap_team_trio/planner.ts [--seed 127.0.0.1:9999] [--task TEXT]
 */
import { Node, kw } from "../../src/index.ts";
import { fetchAgentCard, publishAgentCard } from "../_shared/agent-card.ts";
import { nodeArgs } from "../_shared/node-process.ts";
import { byName, names, say, tally, until, watchdog } from "../_shared/narrate.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

const args = nodeArgs("planner.ts", { port: 0, seed: DEFAULT_SEED }, ["task"]);
const task = args.extra.task ?? "add a retry to the HTTP client";
const disarm = watchdog("planner", 30);

const node = new Node({ name: "planner", role: "planner", swarm: SWARM, capabilities: ["planning"], bind: "127.0.0.1", port: args.port, seeds: args.seeds, heartbeatInterval: null });
publishAgentCard(node, "Asks the team and gathers the answers.");
const peers = (await node.join()).sort(byName);
say(`planner joined; peers: ${names(peers)}`);

// Cards first: who is there and what do they do. The bootstrap node has one too.
const workers: string[] = [];
for (const peer of peers) {
  const card = await fetchAgentCard(peer);
  if (!card) continue;
  say(`card: ${card.name} (${card.role}) ${card.capabilities.join(", ") || "-"}: ${card.description}`);
  if (peer.kind !== "bootstrap") workers.push(peer.name);
}

// Then the ask. ACKs arrive before broadcast() resolves; replies whenever each agent is done.
node.on("conversation.ack", (event) => say(`ACK from ${event.peer.name}`));
node.on("broadcast.reply", (reply) => {
  const { answer } = reply.result as { answer: string };
  say(`reply from ${reply.peer.name}: ${answer}`);
});
say(`synapse.ask("${task}") to ${peers.length} peers`);
const question = await node.broadcast("synapse.ask", task, kw({ context: { priority: "high" } }));
await until("planner", async () => (await node.replies(question)).length >= workers.length, 10, `replies from ${workers.join(" and ")}`);
say(`the conversation: ${tally((await node.conversation(question)).map((e) => e.kind))}`);

await node.stop();
disarm();
say("plan complete");
