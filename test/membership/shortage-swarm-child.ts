/**
 * The child of `descriptor-shortage.test.ts`, run under a low descriptor limit (`ulimit -n`):
 * `count` gossip nodes (argv[2]) in this one process, each with its own pool, joined through the
 * first, then run for `seconds` (argv[3]) while the process is out of descriptors most of the
 * time. Every node stays alive throughout. Prints one JSON line: the `peer.offline` events the
 * nodes emitted, the most members any node held offline and the fewest it held alive at the end,
 * and the probes the nodes could not send (`swim_probes_unsent`).
 */
import { Node } from "../../src/index.ts";

const count = Number(process.argv[2] ?? 30);
const seconds = Number(process.argv[3] ?? 8);
const nodes: Node[] = [];
let offlineEvents = 0;
for (let i = 0; i < count; i++) {
  const node = new Node({ bind: "127.0.0.1", swarm: "shortage", heartbeatInterval: 1, peerTimeout: 4, name: `n${i}` });
  node.on("peer.offline", () => void offlineEvents++);
  await node.start();
  nodes.push(node);
}
const seed = `127.0.0.1:${nodes[0]!.port}`;
for (const node of nodes.slice(1)) await node.join({ seeds: [seed] }).catch(() => undefined);
await Bun.sleep(seconds * 1000);
const metrics = nodes.map((n) => n.metrics());
const membership = (m: (typeof metrics)[number]) => m.membership as Record<string, number>;
console.log(
  JSON.stringify({
    offlineEvents,
    maxOffline: Math.max(...metrics.map((m) => membership(m).offline ?? 0)),
    minAlive: Math.min(...metrics.map((m) => m.peers_alive)),
    unsent: metrics.reduce((sum, m) => sum + (membership(m).swim_probes_unsent ?? 0), 0),
  }),
);
await Promise.all(nodes.map((n) => n.stop({ leave: false })));
process.exit(0);
