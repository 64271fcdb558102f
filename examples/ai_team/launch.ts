/**
 * Start the team, one process per node: the reviewer (the seed, on a free port), the coder and the
 * product strategist, then the lead (the driver) with its question. When the lead is done, or on
 * Ctrl+C, the agents are stopped cleanly. Any argument is passed on to the lead (`--task TEXT`).
 *
 *     bun examples/ai_team/launch.ts [--task TEXT]
 */
import { launch } from "../_shared/launcher.ts";

const seed = (ready: Map<string, Record<string, string>>) => ["--seed", ready.get("reviewer")!.address!];
process.exit(
  await launch("launch", import.meta.dir, [
    { name: "reviewer", script: "reviewer.ts", args: () => ["--port", "0"] },
    { name: "coder", script: "coder.ts", args: seed },
    { name: "product", script: "product.ts", args: seed },
    { name: "lead", script: "ask.ts", args: (ready) => [...seed(ready), ...process.argv.slice(2)], driver: true },
  ]),
);
