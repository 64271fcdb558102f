/**
 * A killed process closes every connection to it at once, unannounced (a Bun node that stops or
 * sheds a connection sends a going-away first). A gossip node whose pooled connection a member
 * dropped so probes that member out of turn: its refused connect is the verdict, without waiting
 * for the member's turn in the probe round or for another node's send to it. Here the victim is a
 * real process, killed with SIGKILL; the survivors probe once every 5 s, so the victim's turn
 * could be ten seconds away.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Node, type NodeOptions } from "../../src/node.ts";
import { MemoryNetwork } from "../../src/transport/memory-transport.ts";
import { Client } from "../../src/rpc/client.ts";
import type { Peer } from "../../src/types.ts";
import { JsonLines } from "../helpers/netns.ts";
import { eventually, record, startNode, stopAll } from "./fixtures.ts";

const CHILD = join(import.meta.dir, "gossip-child.ts");
const SLOW = { swarm: "lab", heartbeatInterval: 5, peerTimeout: 20 };

const children: Bun.Subprocess[] = [];
const made: Node[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
  await Promise.all(made.splice(0).map((n) => n.stop()));
  await stopAll();
});

/** A node of `net` at `address` (port 9999) with the slow timing, not started; stopped after the test. */
function nodeOn(net: MemoryNetwork, address: string, options: NodeOptions = {}): Node {
  const node = new Node({ ...SLOW, name: address, bind: address, advertise: address, port: 9999, transport: net.transport(address), ...options });
  made.push(node);
  return node;
}

const swim = (node: Node) => node.membership.stats.swim!;

describe("membership - a member that drops its connections", () => {
  test("a killed process's member is probed at once by the survivors it dropped connections of, and its refused connect is the verdict", async () => {
    const a = await startNode({ ...SLOW, name: "a" });
    const b = await startNode({ ...SLOW, name: "b", seeds: [`127.0.0.1:${a.port}`] });
    await b.join();
    const child = Bun.spawn([process.execPath, CHILD, JSON.stringify({ ...SLOW, name: "victim", bind: "127.0.0.1", seeds: [`127.0.0.1:${a.port}`] })], { stdout: "pipe", stderr: "inherit" });
    children.push(child);
    const lines = new JsonLines(child.stdout);
    const ready = await lines.next((l) => l.event === "ready", 10_000, "the victim ready");
    const victim = ready.id as string;
    // Both survivors hold it alive in SWIM, each through a pooled connection of its own.
    await eventually(() => [a, b].every((n) => n.membership.gossip!.owns(victim) && n.membership.gossip!.core!.member(victim)?.state === "alive"), 10_000, "the victim known to SWIM at a and b");
    await eventually(() => [a, b].every((n) => n.pool.list().some((c) => c.port === ready.port && c.connected)), 10_000, "pooled connections to the victim");
    // The connections open for the survivors' probe rounds, which come together (both started at
    // once, 5 s apart): kill between rounds, not while a probe of the victim is under way (a drop
    // then waits for that probe, which finds the port refused too, instead of probing anew).
    await Bun.sleep(1_000);
    const offline = record<Peer>((fn) => {
      a.on("peer.offline", fn);
      b.on("peer.offline", fn);
    });
    const before = [a, b].map((n) => ({ ...swim(n) }));
    child.kill("SIGKILL");
    await eventually(() => offline.filter((p) => p.id === victim).length === 2, 15_000, "the victim offline at a and b");
    const after = [a, b].map((n) => swim(n));
    // The survivors were told of their dropped connections and probed the victim out of turn (at
    // most one each; a survivor whose round probe of the victim was under way lets that probe decide).
    const dropped = after.map((stats, i) => stats.droppedProbes - before[i]!.droppedProbes);
    expect(dropped.every((d) => d <= 1) && dropped.some((d) => d === 1)).toBe(true);
    // The verdict came from a refused connect (a probe's, or a send's to the suspect), not from a suspicion that ran out.
    expect(after.reduce((sum, s, i) => sum + s.deathsRefused - before[i]!.deathsRefused + s.deathsRefusedSuspect - before[i]!.deathsRefusedSuspect, 0)).toBeGreaterThanOrEqual(1);
    expect(after.reduce((sum, s, i) => sum + s.suspects - before[i]!.suspects, 0)).toBe(0);
    expect(offline.every((p) => p.id === victim)).toBe(true);
  }, 40_000);

  test("a member whose connection broke (a live one) is probed and stays; a dropped peer that offered no SWIM (a Bun node in mesh mode) costs no walk of the table", async () => {
    const net = new MemoryNetwork();
    const at = (address: string, options: NodeOptions = {}) => nodeOn(net, address, options);
    const a = at("10.8.0.1");
    await a.start();
    const b = at("10.8.0.2", { seeds: ["10.8.0.1:9999"] });
    const mesh = at("10.8.0.3", { seeds: ["10.8.0.1:9999"], membership: "mesh" });
    for (const n of [b, mesh]) {
      await n.start();
      await n.join();
    }
    await eventually(() => a.membership.gossip!.owns(b.id) && a.peers.has(mesh.id), 10_000, "b SWIM's at a, the mesh node known");
    // Pooled connections from a to both (a heartbeats the mesh node; SWIM talks to b).
    await new Client("10.8.0.3", 9999, { pool: a.pool }).call("_synapse.ping");
    await new Client("10.8.0.2", 9999, { pool: a.pool }).call("_synapse.ping");
    const table = a.membership.table;
    const at0 = table.at.bind(table);
    let walks = 0;
    table.at = (host, port) => (walks++, at0(host, port));
    const offline = record<Peer>((fn) => a.on("peer.offline", fn));
    await Bun.sleep(300); // past the probe that may have opened a connection (one under way takes the drop)
    const before = swim(a).droppedProbes;
    expect(net.cut("10.8.0.3:9999")).toBeGreaterThan(0);
    await Bun.sleep(100);
    expect(walks).toBe(0);
    expect(swim(a).droppedProbes).toBe(before);
    expect(net.cut("10.8.0.2:9999")).toBeGreaterThan(0);
    await eventually(() => swim(a).droppedProbes === before + 1, 5_000, "a's probe of b");
    expect(walks).toBe(1);
    const failed = swim(a).probesFailed;
    await Bun.sleep(300);
    // b answered on a fresh connection: alive, nobody offline.
    expect(swim(a).probesFailed).toBe(failed);
    expect(a.membership.gossip!.core!.member(b.id)?.state).toBe("alive");
    expect(offline).toEqual([]);
  });

  test("in a closed swarm too: a member's connection cut under the encrypted transport is reported, and the member probed and kept", async () => {
    const net = new MemoryNetwork();
    const at = (address: string, seeds: string[] = []) => nodeOn(net, address, { swarmKey: new Uint8Array(32).fill(7), seeds });
    const a = at("10.7.0.1");
    await a.start();
    const b = at("10.7.0.2", ["10.7.0.1:9999"]);
    await b.start();
    await b.join();
    await eventually(() => a.membership.gossip!.owns(b.id) && a.pool.list().some((c) => c.host === "10.7.0.2" && c.connected), 10_000, "b SWIM's at a, over a pooled connection");
    await Bun.sleep(300); // past the probe that may have opened the connection (one under way takes the drop)
    const before = swim(a).droppedProbes;
    expect(net.cut("10.7.0.2:9999")).toBeGreaterThan(0);
    await eventually(() => swim(a).droppedProbes === before + 1, 5_000, "a's probe of b");
    await Bun.sleep(300);
    expect(a.membership.gossip!.core!.member(b.id)?.state).toBe("alive");
    expect(a.peers.has(b.id)).toBe(true);
  });
});
