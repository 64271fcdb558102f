/**
 * The coder: proposes an implementation plan. Runs until Ctrl+C.
 *
 *     bun examples/ai_team/coder.ts [--seed 127.0.0.1:9999]
 */
import { runAiAgent } from "./common.ts";

await runAiAgent({
  name: "coder",
  role: "implementation",
  capabilities: ["typescript", "implementation", "tests"],
  description: "Creates implementation plans, patches, and test ideas.",
  instructions: "You are a concise implementation agent. Reply with a practical implementation plan, in three sentences at most.",
  canned: "Coder: I can implement it. I would create a small patch, add tests, and verify behavior.",
});
