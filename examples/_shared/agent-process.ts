/**
 * An agent as a process of its own: a node with capabilities, an agent card and an ask handler,
 * that joins its swarm (through a seed, or by mDNS), prints the `ready` line a launcher waits for,
 * and serves asks until Ctrl+C. The agents of several examples differ only in these options.
 */
import { Node, type AskHandler } from "../../src/index.ts";
import { publishAgentCard } from "./agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "./node-process.ts";

/** One agent. */
export interface AgentProcess {
  name: string;
  role: string;
  swarm: string;
  capabilities: string[];
  /** The card's description. */
  description: string;
  /** The ask handler: the agent's brain. */
  answer: AskHandler;
  /** The port when `--port` is not given (default 0: a free one). */
  port?: number;
  /** The seed when `--seed` is not given; none: the agent is the first (and others join it). */
  seed?: string;
  /** Find peers by mDNS on the LAN (binds 0.0.0.0), with or without seeds. */
  mdns?: boolean;
  /** Added to the "online" line, e.g. the model in use. */
  note?: string;
}

/** Start `agent` as this process's node and serve asks until Ctrl+C. */
export async function runAgentProcess(agent: AgentProcess): Promise<never> {
  const args = nodeArgs(`${agent.name}.ts`, { port: agent.port ?? 0, seed: agent.seed });
  const node = new Node({
    name: agent.name,
    role: agent.role,
    swarm: agent.swarm,
    capabilities: agent.capabilities,
    bind: agent.mdns ? "0.0.0.0" : "127.0.0.1",
    port: args.port,
    seeds: args.seeds,
    mdns: agent.mdns ?? false,
  });
  publishAgentCard(node, agent.description);
  node.on("peer.joined", (peer) => console.log(`joined: ${peer.name} at ${peer.address}:${peer.port}`));
  // `synapse.ask` ACKs before the handler runs and delivers its result as a reply.
  node.ask(async (task, context, options) => {
    console.log(`asked: "${task}"`);
    return agent.answer(task, context, options);
  });
  // With mDNS, start() advertises and browses; nobody needs to be there yet.
  if (args.seeds.length > 0) await node.join();
  else await node.start();
  console.log(`${agent.name} online at ${node.address}:${node.port}${agent.note ? `; ${agent.note}` : ""}`);
  announceReady(node);
  return stopOnSignal(agent.name, () => node.stop());
}
