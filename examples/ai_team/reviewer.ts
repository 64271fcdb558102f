/**
 * The reviewer: points out risks and missing tests. The first agent: it listens on 9999 and the
 * others join through it. Runs until Ctrl+C.
 *
 *     bun examples/ai_team/reviewer.ts [--port 9999]
 */
import { runAiAgent } from "./common.ts";

await runAiAgent({
  name: "reviewer",
  role: "code reviewer",
  capabilities: ["code-review", "risk-analysis"],
  description: "Reviews code and points out risks and missing tests.",
  instructions: "You are a concise senior code reviewer. Reply with risks and suggested tests, in three sentences at most.",
  canned: "Reviewer: I can review the diff. I would check edge cases, error handling, and tests.",
  first: true,
});
