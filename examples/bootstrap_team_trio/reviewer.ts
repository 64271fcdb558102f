/**
 * The reviewer: reviews a task and returns concise feedback. It takes a moment longer, as a real
 * review would, so its reply arrives after the coder's. Runs until Ctrl+C.
 *
 *     bun examples/bootstrap_team_trio/reviewer.ts [--seed 127.0.0.1:9999]
 */
import { runAgentProcess } from "../_shared/agent-process.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

await runAgentProcess({
  name: "reviewer",
  role: "reviewer",
  swarm: SWARM,
  seed: DEFAULT_SEED,
  capabilities: ["code-review"],
  description: "Reviews a task and returns concise feedback.",
  answer: async (task, context) => {
    await Bun.sleep(300);
    return { from: "reviewer", answer: `I can review it: check error handling and tests for "${task}".`, task, context };
  },
});
