/**
 * Start the mDNS swarm, one process per node: the reviewer and the coder (no seeds: they find each
 * other by mDNS), then the asker (the driver). When the asker is done, or on Ctrl+C, the agents
 * are stopped cleanly. Needs a network where multicast works (a LAN, not every container).
 *
 *     bun examples/local_mdns_swarm/launch.ts [--task TEXT]
 */
import { launch } from "../_shared/launcher.ts";

process.exit(
  await launch("launch", import.meta.dir, [
    { name: "reviewer", script: "reviewer.ts" },
    { name: "coder", script: "coder.ts" },
    { name: "ask", script: "ask.ts", args: () => process.argv.slice(2), driver: true },
  ]),
);
