/**
 * A member's process killed (`SIGKILL`, on loopback): the kernel closes its sockets without a word,
 * and a node whose pooled connection to it drops probes it first in its next probe round
 * (`Pool.onDropped`, then `SwimCore.connectionDropped`): the refused ping is the verdict. Real processes and sockets; the
 * wait for the verdict is bounded, not timed.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Client, type Node, type NodeOptions } from "../../src/index.ts";
import { JsonLines } from "../helpers/netns.ts";
import { eventually, LOOPBACK, startNode, stopAll } from "../helpers/net.ts";

const CHILD = join(import.meta.dir, "gossip-child.ts");
/** A slow probe round (one member every 5 s). */
const GOSSIP: NodeOptions = { swarm: "lab", heartbeatInterval: 5, peerTimeout: 30, bind: LOOPBACK, advertise: LOOPBACK };

const children: Array<ReturnType<typeof Bun.spawn>> = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  await stopAll();
});

describe("gossip membership - a dropped connection", () => {
  test("a killed member's dropped connection is counted at each node that held one, and the member goes offline", async () => {
    const a = await startNode({ ...GOSSIP, name: "a" });
    const b = await startNode({ ...GOSSIP, name: "b", seeds: [`${LOOPBACK}:${a.port}`] });
    await b.join();
    const child = Bun.spawn([process.execPath, CHILD, JSON.stringify({ ...GOSSIP, name: "victim", seeds: [`${LOOPBACK}:${a.port}`] })], { stdout: "pipe", stderr: "inherit" });
    children.push(child);
    const lines = new JsonLines(child.stdout as ReadableStream<Uint8Array>);
    const ready = await lines.next((l) => l.event === "ready", 15_000, "the victim's ready line");
    const victimId = ready.id as string;
    const victimPort = ready.port as number;
    const nodes: Node[] = [a, b];
    await eventually(() => nodes.every((n) => n.peers.has(victimId) && n.membership.gossip?.core?.member(victimId)?.state === "alive"), 15_000, "every node holding the victim alive");
    // Each node calls it through its own pool: a pooled connection to it is open at the kill.
    for (const n of nodes) await new Client(LOOPBACK, victimPort, { pool: n.pool, timeout: 5 }).call("_synapse.ping");
    for (const n of nodes) expect(n.pool.peek(LOOPBACK, victimPort)?.connected).toBe(true);
    const offline = nodes.map((n) => new Promise<void>((resolve) => n.on("peer.offline", (p) => p.id === victimId && resolve())));
    child.kill("SIGKILL");
    await Promise.race([Promise.all(offline), Bun.sleep(20_000)]);
    for (const n of nodes) {
      expect(n.peers.has(victimId)).toBe(false);
      const swim = n.membership.stats.swim!;
      expect(swim.droppedConnections).toBeGreaterThanOrEqual(1);
    }
  }, 60_000);
});
