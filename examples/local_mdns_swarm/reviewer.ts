/**
 * The reviewer: no seed, no address to know. It advertises itself over mDNS on the LAN and finds
 * the others the same way. Runs until Ctrl+C.
 *
 *     bun examples/local_mdns_swarm/reviewer.ts
 */
import { runAgentProcess } from "../_shared/agent-process.ts";
import { SWARM } from "./common.ts";

await runAgentProcess({
  name: "reviewer",
  role: "reviewer",
  swarm: SWARM,
  mdns: true,
  capabilities: ["code-review"],
  description: "Reviews a task and returns concise feedback.",
  answer: async (task, context) => ({ from: "reviewer", answer: "I can review it.", task, context }),
});
