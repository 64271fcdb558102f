/**
 * What the coder and the reviewer share: a node that joins through the bootstrap node, publishes
 * its agent card, and answers asks with `answer(task, context)`. The caller's process runs it
 * until Ctrl+C.
 */
import { Node, type AskHandler } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

/** One agent of the trio. */
export interface TrioAgent {
  name: string;
  role: string;
  capabilities: string[];
  description: string;
  answer: AskHandler;
}

/** Start `agent` as this process's node and serve until Ctrl+C. */
export async function runAgent(agent: TrioAgent): Promise<never> {
  const args = nodeArgs(`${agent.name}.ts`, { port: 0, seed: DEFAULT_SEED });
  const node = new Node({ name: agent.name, role: agent.role, swarm: SWARM, capabilities: agent.capabilities, bind: "127.0.0.1", port: args.port, seeds: args.seeds });
  publishAgentCard(node, agent.description);
  node.on("peer.joined", (peer) => console.log(`joined: ${peer.name} at ${peer.address}:${peer.port}`));
  node.ask(async (task, context, options) => {
    console.log(`asked: "${task}"`);
    return agent.answer(task, context, options);
  });
  await node.join();
  console.log(`${agent.name} online at 127.0.0.1:${node.port}`);
  announceReady(node);
  return stopOnSignal(agent.name, () => node.stop());
}
