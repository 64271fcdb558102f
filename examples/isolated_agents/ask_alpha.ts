/**
 * ask_alpha: the one who has a task. It only knows alpha's address. It asks alpha, alpha delegates
 * to beta, and beta's answer comes back through alpha. Then it joins the swarm itself, reads the
 * agent cards, and asks everyone at once with `synapse.ask`: beta ACKs and replies in the shared
 * conversation. Then it ends.
 *
 *     bun examples/isolated_agents/ask_alpha.ts [--seed 127.0.0.1:9999] [--task TEXT]
 */
import { Client, Node, kw, parseSeed } from "../../src/index.ts";
import { fetchAgentCard } from "../_shared/agent-card.ts";
import { nodeArgs } from "../_shared/node-process.ts";
import { names, say, tally, until, watchdog } from "../_shared/narrate.ts";
import { SWARM } from "./common.ts";

const args = nodeArgs("ask_alpha.ts", { port: 0, seed: "127.0.0.1:9999" }, ["task"]);
const task = args.extra.task ?? "summarize the release notes";
const disarm = watchdog("ask_alpha", 30);

// 1. Through alpha: a plain client call to alpha's endpoint.
const { host, port } = parseSeed(args.seeds[0]!);
const alpha = new Client(host, port, { timeout: 10 });
const answer = await alpha.call("alpha.ask_beta", task);
say(`alpha.ask_beta("${task}") → ${JSON.stringify(answer)}`);

// 2. Into the swarm: join through alpha, read the agent cards, ask everyone.
const node = new Node({ name: "asker", role: "client", swarm: SWARM, bind: "127.0.0.1", port: args.port, seeds: args.seeds, heartbeatInterval: null });
const peers = await node.join();
say(`joined the swarm; peers: ${names(peers)}`);
for (const peer of peers) {
  const card = await fetchAgentCard(peer);
  say(card ? `card of ${peer.name}: ${card.role}; capabilities ${card.capabilities.join(", ")}; "${card.description}"` : `${peer.name} has no agent card`);
}

node.on("conversation.ack", (event) => say(`ACK from ${event.peer.name}`));
node.on("broadcast.reply", (reply) => say(`reply from ${reply.peer.name}: ${JSON.stringify(reply.result)}`));
const question = await node.broadcast("synapse.ask", task, kw({ context: { from: "asker" } }));
say(`synapse.ask broadcast to ${peers.length} peers (conversation …${question.nonce.slice(-8)})`);
// alpha has no ask handler and stays silent; beta answers.
await until("ask_alpha", async () => (await node.replies(question)).length >= 1, 10, "beta's reply");
say(`the conversation: ${tally((await node.conversation(question)).map((e) => e.kind))}`);

await node.stop();
disarm();
say("done");
