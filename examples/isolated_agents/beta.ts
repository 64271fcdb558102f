/**
 * beta: a worker with an ask handler. It joins alpha's swarm through alpha (its seed) and answers
 * tasks, whether alpha delegates one directly (`_node.ask`) or someone asks the whole swarm
 * (`synapse.ask`: beta ACKs, then replies in the shared conversation). Runs until Ctrl+C.
 *
 *     bun examples/isolated_agents/beta.ts [--seed 127.0.0.1:9999] [--port 0]
 */
import { Node } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { SWARM } from "./common.ts";

const args = nodeArgs("beta.ts", { port: 0, seed: process.env.SYNAPSE_ALPHA ?? "127.0.0.1:9999" });
const node = new Node({ name: "beta", role: "worker", swarm: SWARM, capabilities: ["answer", "echo"], bind: "127.0.0.1", port: args.port, seeds: args.seeds });
publishAgentCard(node, "Handles direct ask requests from alpha.");

// The ask handler: a task (a string) and a context (a map) in, any MessagePack value out.
node.ask(async (task, context) => {
  console.log(`handling "${task}" for ${String(context.from ?? "someone")}`);
  return { handled_by: "beta", task, context };
});

const peers = await node.join();
console.log(`beta joined alpha's team on 127.0.0.1:${node.port}; knows ${peers.map((p) => p.name).sort().join(", ")}`);
announceReady(node);
await stopOnSignal("beta", () => node.stop());
