/**
 * The coder: found, and finds the others, by mDNS alone. Runs until Ctrl+C.
 *
 *     bun examples/local_mdns_swarm/coder.ts
 */
import { runAgentProcess } from "../_shared/agent-process.ts";
import { SWARM } from "./common.ts";

await runAgentProcess({
  name: "coder",
  role: "coder",
  swarm: SWARM,
  mdns: true,
  capabilities: ["typescript", "implementation"],
  description: "Turns a task into an implementation sketch.",
  answer: async (task, context) => ({ from: "coder", answer: "I can code it.", task, context }),
});
