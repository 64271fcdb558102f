/**
 * The coder: turns a task into an implementation sketch. Runs until Ctrl+C.
 *
 *     bun examples/bootstrap_team_trio/coder.ts [--seed 127.0.0.1:9999]
 */
import { runAgentProcess } from "../_shared/agent-process.ts";
import { DEFAULT_SEED, SWARM } from "./common.ts";

await runAgentProcess({
  name: "coder",
  role: "coder",
  swarm: SWARM,
  seed: DEFAULT_SEED,
  capabilities: ["typescript", "implementation"],
  description: "Turns a task into an implementation sketch.",
  answer: async (task, context) => ({ from: "coder", answer: `I can code it: a module for "${task}" with unit tests.`, task, context }),
});
