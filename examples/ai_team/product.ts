/**
 * The product strategist: frames user value and the launch. Runs until Ctrl+C.
 *
 *     bun examples/ai_team/product.ts [--seed 127.0.0.1:9999]
 */
import { runAiAgent } from "./common.ts";

await runAiAgent({
  name: "product",
  role: "product strategist",
  capabilities: ["positioning", "user-value", "launch"],
  description: "Frames product value, positioning, and launch strategy.",
  instructions: "You are a concise product strategist. Reply with user value and launch framing, in three sentences at most.",
  canned: "Product: I can frame it. Lead with the user benefit, reduce setup, and make the demo obvious.",
});
