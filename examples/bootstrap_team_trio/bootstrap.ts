/**
 * The bootstrap node: the first contact of the team (`kind: "bootstrap"`). It does no work of its
 * own; it tells newcomers who is there. Runs until Ctrl+C.
 *
 *     bun examples/bootstrap_team_trio/bootstrap.ts [--port 9999]
 */
import { Node } from "../../src/index.ts";
import { publishAgentCard } from "../_shared/agent-card.ts";
import { announceReady, nodeArgs, stopOnSignal } from "../_shared/node-process.ts";
import { SWARM } from "./common.ts";

const args = nodeArgs("bootstrap.ts", { port: 9999 });
const node = new Node({ name: "bootstrap", kind: "bootstrap", role: "bootstrap", swarm: SWARM, bind: "127.0.0.1", port: args.port });
publishAgentCard(node, "First contact for the team; does no work of its own.");
node.on("peer.joined", (peer) => console.log(`joined: ${peer.name} (${peer.capabilities.join(", ") || "no capabilities"})`));

await node.start();
console.log(`bootstrap listening on 127.0.0.1:${node.port} (swarm ${SWARM})`);
announceReady(node);
await stopOnSignal("bootstrap", () => node.stop());
