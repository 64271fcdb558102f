/**
 * A process the mDNS tests run inside a network namespace. Prints one JSON object per line.
 *
 * Modes (first argument), configuration as JSON in the second:
 * - `node`: a Node with mDNS; prints `ready`, then `peer.joined` / `peer.offline`, `warn` log lines
 *   and `joined` (the result of `join({ wait })`); stops cleanly on SIGTERM (prints `stopped`).
 * - `browse`: a raw mDNS browser; queries `_synapse._tcp.local` and prints every TXT/SRV/A record seen.
 * - `python`: a Bun node without mDNS (the TCP side) plus a raw responder advertising it the way
 *   the Python implementation does (Python TXT keys only, zeroconf-style host name, no `ext`).
 * - `clash`: holds UDP 5353 exclusively, then starts a Node with mDNS (which must survive).
 */
import dgram from "node:dgram";
import makeMdns from "multicast-dns";
import { Node, type NodeOptions } from "../../src/node.ts";
import { Client } from "../../src/rpc/client.ts";
import { out } from "../helpers/child-lines.ts";

const [mode = "node", configText = "{}"] = process.argv.slice(2);
const config = JSON.parse(configText) as NodeOptions & { wait?: number; exitAfter?: number };

async function runNode(options: NodeOptions): Promise<Node> {
  const node = new Node({ heartbeatInterval: 0.3, peerTimeout: 2, ...options });
  node.on("peer.joined", (p) => out({ event: "peer.joined", id: p.id, name: p.name, address: p.address, port: p.port, capabilities: p.capabilities }));
  node.on("peer.offline", (p) => out({ event: "peer.offline", id: p.id, name: p.name }));
  await node.start();
  out({ event: "ready", id: node.id, name: node.name, port: node.port, address: node.address });
  process.on("SIGTERM", () => {
    void node.stop().then(() => {
      out({ event: "stopped" });
      process.exit(0);
    });
  });
  return node;
}

if (mode === "node" || mode === "clash") {
  if (mode === "clash") {
    const hog = dgram.createSocket({ type: "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      hog.once("error", reject);
      hog.bind(5353, "0.0.0.0", () => resolve());
    });
    out({ event: "hogging", port: 5353 });
  }
  const { wait, exitAfter, ...options } = config;
  const node = await runNode({ mdns: true, ...options });
  const peers = await node.join({ wait: wait ?? 3 });
  out({ event: "joined", peers: peers.map((p) => p.name) });
  // The node still serves calls after whatever went wrong with multicast.
  // (With loopback down there is nothing to dial: report the error instead.)
  await new Client("127.0.0.1", node.port, { timeout: 2 })
    .ping()
    .then((result) => out({ event: "ping", result }), (error: Error) => out({ event: "ping", error: error.message }));
  if (exitAfter !== undefined) {
    await Bun.sleep(exitAfter * 1000);
    await node.stop();
    out({ event: "stopped" });
    process.exit(0);
  }
} else if (mode === "browse") {
  const mdns = makeMdns();
  mdns.on("error", (e: Error) => out({ event: "error", message: e.message }));
  mdns.on("response", (packet) => {
    for (const r of [...packet.answers, ...packet.additionals]) {
      if (r.type === "TXT") out({ event: "TXT", name: r.name, data: (r.data as Buffer[]).map((b) => b.toString()) });
      else if (r.type === "SRV") out({ event: "SRV", name: r.name, data: r.data });
      else if (r.type === "A" || r.type === "PTR") out({ event: r.type, name: r.name, data: r.data, ttl: r.ttl });
    }
  });
  const ask = () => mdns.query({ questions: [{ name: "_synapse._tcp.local", type: "PTR" }] });
  ask();
  setInterval(ask, 300);
  out({ event: "ready" });
} else if (mode === "python") {
  // The TCP side: a node of the swarm without mDNS, answering join/heartbeat like any node.
  const node = await runNode({ ...config, mdns: false });
  const label = node.name.replace(/[^A-Za-z0-9-]/g, "-");
  const instance = `${label}-${node.id.slice(0, 8)}._synapse._tcp.local`;
  const host = "python-host.local";
  const mdns = makeMdns();
  mdns.on("error", (e: Error) => out({ event: "error", message: e.message }));
  const records = [
    { name: "_synapse._tcp.local", type: "PTR" as const, ttl: 4500, data: instance },
    { name: instance, type: "SRV" as const, ttl: 120, data: { port: node.port, target: host } },
    {
      name: instance,
      type: "TXT" as const,
      ttl: 4500,
      data: [`id=${node.id}`, `name=${node.name}`, "kind=node", `swarm=${node.swarm}`, `team=${node.team}`, "host=python-host", "capabilities=python,numpy"],
    },
    { name: host, type: "A" as const, ttl: 120, data: "127.0.0.1" },
  ];
  mdns.on("query", (query) => {
    if (query.questions.some((q) => q.name === "_synapse._tcp.local")) mdns.respond({ answers: records.slice(0, 1), additionals: records.slice(1) });
  });
  out({ event: "advertising", instance });
}
