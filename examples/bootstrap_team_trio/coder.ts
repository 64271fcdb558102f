/**
 * The coder: turns a task into an implementation sketch. Runs until Ctrl+C.
 *
 *     bun examples/bootstrap_team_trio/coder.ts [--seed 127.0.0.1:9999]
 */
import { runAgent } from "./agent.ts";

await runAgent({
  name: "coder",
  role: "coder",
  capabilities: ["typescript", "implementation"],
  description: "Turns a task into an implementation sketch.",
  answer: async (task, context) => ({ from: "coder", answer: `I can code it: a module for "${task}" with unit tests.`, task, context }),
});
