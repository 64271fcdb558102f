/**
 * The lead: joins the team, reads the agent cards, asks everyone at once with `synapse.ask`, and
 * prints the ACKs and the answers as they arrive, all in one shared conversation. Then it ends.
 *
 *     bun examples/ai_team/ask.ts [--seed 127.0.0.1:9999] [--task TEXT] [--wait SECONDS]
 */
import { Node, kw } from "../../src/index.ts";
import { fetchAgentCard } from "../_shared/agent-card.ts";
import { nodeArgs } from "../_shared/node-process.ts";
import { byName, names, say, tally, until, watchdog } from "../_shared/narrate.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

const args = nodeArgs("ask.ts", { port: 0, seed: DEFAULT_SEED }, ["task", "wait"]);
const task = args.extra.task ?? "Add rate limiting to the public API";
// A real model may take a while; the mock answers at once.
const wait = Number(args.extra.wait ?? 120);
const disarm = watchdog("ask", wait + 30);

const lead = new Node({ name: "lead", role: "lead", swarm: SWARM, bind: "127.0.0.1", port: args.port, seeds: args.seeds, heartbeatInterval: null });
const peers = (await lead.join()).sort(byName);
say(`lead joined; peers: ${names(peers)}`);
for (const peer of peers) {
  const card = await fetchAgentCard(peer);
  if (card) say(`card: ${card.name} (${card.role}): ${card.description}`);
}

lead.on("conversation.ack", (event) => say(`ACK from ${event.peer.name}: wading in`));
lead.on("broadcast.reply", (reply) => {
  const { role, answer } = reply.result as { role: string; answer: string };
  // A real model's answer may run over several lines: one line each here.
  say(`answer from ${reply.peer.name} (${role}): ${answer.replace(/\s+/g, " ").trim()}`);
});
say(`synapse.ask("${task}")`);
const question = await lead.broadcast("synapse.ask", task, kw({ context: { repository: "synapse-p2p" } }));
say(`conversation ${question.nonce}: every agent ACKed or declined; waiting for the answers`);
await until("ask", async () => (await lead.replies(question)).length >= peers.length, wait, "every agent's answer");
say(`the conversation: ${tally((await lead.conversation(question)).map((e) => e.kind))}`);

await lead.stop();
disarm();
say("done");
