/**
 * Start the whole team, one process per node: the bootstrap node (on a free port), the coder and
 * the reviewer (join through it), then the planner (the driver). When the planner is done, or on
 * Ctrl+C, the others are stopped cleanly.
 *
 *     bun examples/bootstrap_team_trio/launch.ts
 */
import { launch } from "../_shared/launcher.ts";

const seed = (ready: Map<string, Record<string, string>>) => ["--seed", ready.get("bootstrap")!.address!];
process.exit(
  await launch("launch", import.meta.dir, [
    { name: "bootstrap", script: "bootstrap.ts", args: () => ["--port", "0"] },
    { name: "coder", script: "coder.ts", args: seed },
    { name: "reviewer", script: "reviewer.ts", args: seed },
    { name: "planner", script: "planner.ts", args: seed, driver: true },
  ]),
);
