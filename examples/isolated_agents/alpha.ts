/**
 * alpha: the coordinator and the seed. It knows nothing about beta's work; it has one endpoint,
 * `alpha.ask_beta(task)`, that finds beta among its peers and delegates the task to it with a
 * direct `_node.ask`. Runs until Ctrl+C.
 *
 *     bun examples/isolated_agents/alpha.ts [--port 9999]
 */
import { Client, Node, kw } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { SWARM } from "./common.ts";

const args = nodeArgs("alpha.ts", { port: 9999 });
const node = new Node({ name: "alpha", role: "coordinator", swarm: SWARM, capabilities: ["delegate"], bind: "127.0.0.1", port: args.port });
publishAgentCard(node, "Coordinates work and delegates tasks to beta.");

node.on("peer.joined", (peer) => console.log(`joined: ${peer.name} at ${peer.address}:${peer.port}`));

node.endpoint("alpha.ask_beta", { description: "Ask beta to handle a task" }, async (task: string) => {
  const beta = [...node.peers.values()].find((peer) => peer.name === "beta");
  if (!beta) throw new Error("beta has not joined yet");
  console.log(`delegating "${task}" to beta at ${beta.address}:${beta.port}`);
  // `_node.ask(task, context=...)` runs beta's ask handler and answers with its result.
  return Client.fromPeer(beta, { timeout: 10 }).call("_node.ask", task, kw({ context: { from: "alpha" } }));
});

await node.start();
console.log(`alpha listening on 127.0.0.1:${node.port} (swarm ${SWARM})`);
announceReady(node);
await stopOnSignal("alpha", () => node.stop());
