/**
 * What the agents of ai_team share: the swarm, the default seed, and {@link runAiAgent}, a Synapse
 * node whose ask handler is a language model (through the Vercel AI SDK's `generateText`).
 */
import { generateText } from "ai";
import { runAgentProcess } from "../_shared/agent-process.ts";
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
  const { model, label } = pickModel(agent.canned);
  return runAgentProcess({
    ...agent,
    swarm: SWARM,
    port: agent.first ? 9999 : 0,
    seed: agent.first ? undefined : DEFAULT_SEED,
    note: `model: ${label}`,
    // The brain: the task goes to the model as the prompt, the context as a line of JSON after it.
    answer: async (task, context) => {
      const prompt = Object.keys(context).length === 0 ? task : `${task}\n\nContext: ${JSON.stringify(context)}`;
      const { text } = await generateText({ model, system: agent.instructions, prompt, maxRetries: 0 });
      return { role: agent.role, answer: text };
    },
  });
}
