/**
 * Which language model the agents talk to, picked by environment variables:
 *
 * - `AI_TEAM_BASE_URL` set: an OpenAI-compatible endpoint (a local Ollama at
 *   `http://127.0.0.1:11434/v1`, vLLM, LM Studio, a hosted API), through `@ai-sdk/openai-compatible`,
 *   with the model `AI_TEAM_MODEL` (default `llama3.2`) and the key `AI_TEAM_API_KEY` (optional).
 * - unset: the AI SDK's own mock model (`MockLanguageModelV4` from `ai/test`), which answers each
 *   agent's canned line plus the task it was given: no network, no key, the same output every run.
 *
 * The AI SDK is a devDependency of this repository, never a dependency of the package: Synapse is
 * the swarm layer, the model is the agent's business.
 */
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModel } from "ai";
import { MockLanguageModelV4 } from "ai/test";

/** The model and a short label for it ("mock" or "MODEL at URL"). */
export interface PickedModel {
  model: LanguageModel;
  label: string;
}

/** The model this process uses; `canned` is what the mock model answers (followed by the task). */
export function pickModel(canned: string, env: Record<string, string | undefined> = process.env): PickedModel {
  const baseURL = env.AI_TEAM_BASE_URL;
  if (baseURL) {
    const modelId = env.AI_TEAM_MODEL || "llama3.2";
    const provider = createOpenAICompatible({ name: "ai-team", baseURL, apiKey: env.AI_TEAM_API_KEY || undefined });
    return { model: provider.chatModel(modelId), label: `${modelId} at ${baseURL}` };
  }
  const model = new MockLanguageModelV4({
    modelId: "mock",
    // The mock reads the prompt like a model would: the first line of the last user message is the task.
    doGenerate: async ({ prompt }) => {
      const user = prompt.filter((message) => message.role === "user").at(-1);
      const text = user?.content.map((part) => (part.type === "text" ? part.text : "")).join("") ?? "";
      const task = text.split("\n")[0]!;
      return {
        content: [{ type: "text", text: `${canned} (task: ${task})` }],
        finishReason: { unified: "stop", raw: "stop" },
        usage: { inputTokens: { total: task.length, noCache: task.length, cacheRead: 0, cacheWrite: 0 }, outputTokens: { total: canned.length, text: canned.length, reasoning: 0 } },
        warnings: [],
      };
    },
  });
  return { model, label: "mock (set AI_TEAM_BASE_URL for a real model)" };
}
