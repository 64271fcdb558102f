/**
 * What the agents of ai_team share: the swarm, the default seed, and {@link runAiAgent}, a Synapse
 * node whose ask handler is a language model (through the Vercel AI SDK's `generateText`).
 */
import { generateText } from "ai";
import { Node } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { pickModel } from "./model.ts";

/** The swarm of the team. */
export const SWARM = "ai-team";

/** Where the reviewer (the first agent, which the others join through) listens by default. */
export const DEFAULT_SEED = "127.0.0.1:9999";

/** One agent of the team. */
export interface AiAgent {
  name: string;
  role: string;
  capabilities: string[];
  description: string;
  /** The system prompt. */
  instructions: string;
  /** What the mock model answers. */
  canned: string;
  /** The first agent listens on 9999 and needs no seed; the others join through it. */
  first?: boolean;
}

/** Start `agent` as this process's node and serve asks until Ctrl+C. */
export async function runAiAgent(agent: AiAgent): Promise<never> {
  const args = nodeArgs(`${agent.name}.ts`, agent.first ? { port: 9999 } : { port: 0, seed: DEFAULT_SEED });
  const { model, label } = pickModel(agent.canned);
  const node = new Node({ name: agent.name, role: agent.role, swarm: SWARM, capabilities: agent.capabilities, bind: "127.0.0.1", port: args.port, seeds: args.seeds });
  publishAgentCard(node, agent.description);

  // The brain: the task goes to the model as the prompt, the context as a line of JSON after it.
  // `synapse.ask` ACKs before this runs and delivers the result as a reply in the conversation.
  node.ask(async (task, context) => {
    console.log(`thinking about "${task}"`);
    const prompt = Object.keys(context).length === 0 ? task : `${task}\n\nContext: ${JSON.stringify(context)}`;
    const { text } = await generateText({ model, system: agent.instructions, prompt, maxRetries: 0 });
    return { role: agent.role, answer: text };
  });

  if (args.seeds.length > 0) await node.join();
  else await node.start();
  console.log(`${agent.name} online at 127.0.0.1:${node.port}; model: ${label}`);
  announceReady(node);
  return stopOnSignal(agent.name, () => node.stop());
}
