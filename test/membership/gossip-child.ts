/**
 * A process the gossip partition test runs inside a network namespace: a Node in gossip mode
 * (no mDNS) that joins its seeds. Prints one JSON object per line: `ready`, then `peer.joined`,
 * `peer.offline`, `peer.suspect`, `peer.alive`, `stats` (SWIM's probes and owned peers, each
 * second), `warn` log lines and `fatal`. Configuration (Node
 * options) as JSON in the first argument. Stops cleanly on SIGTERM.
 */
import { Node, type NodeOptions } from "../../src/node.ts";
import { out } from "../helpers/child-lines.ts";

const options = JSON.parse(process.argv[2] ?? "{}") as NodeOptions;

const node = new Node(options);
for (const event of ["peer.joined", "peer.offline", "peer.suspect", "peer.alive"] as const) {
  node.on(event, (p) => out({ event, id: p.id, name: p.name }));
}
await node.start();
out({ event: "ready", id: node.id, name: node.name, port: node.port, address: node.address });
await node.join();
// SWIM's counters once a second, so the test can tell probes from heartbeats.
setInterval(() => {
  const swim = node.membership.stats.swim;
  out({ event: "stats", probesSent: swim?.probesSent ?? 0, owned: [...node.peers.keys()].filter((id) => node.membership.gossip?.owns(id)) });
}, 1000);
process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
