/**
 * Start the whole example, one process per node: alpha (the seed, on a free port), beta (joins
 * through alpha), then ask_alpha (the driver). When ask_alpha is done, or on Ctrl+C, alpha and
 * beta are stopped cleanly.
 *
 *     bun examples/isolated_agents/launch.ts
 */
import { launch } from "../_shared/launcher.ts";

const alpha = (ready: Map<string, Record<string, string>>) => ready.get("alpha")!.address!;
process.exit(
  await launch("launch", import.meta.dir, [
    { name: "alpha", script: "alpha.ts", args: () => ["--port", "0"] },
    { name: "beta", script: "beta.ts", args: (ready) => ["--seed", alpha(ready)] },
    { name: "ask_alpha", script: "ask_alpha.ts", args: (ready) => ["--seed", alpha(ready)], driver: true },
  ]),
);
