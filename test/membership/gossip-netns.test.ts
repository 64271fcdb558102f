/**
 * Gossip membership across a real partition: two network namespaces joined by a veth pair, two
 * nodes (subprocesses) in each. Cutting the link makes each side declare the other offline while
 * the nodes of one side keep each other; bringing it back merges the swarm again. Created and
 * deleted here; skipped, with the reason, without root or `ip`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { JsonLines, Netns, cleanupNamespaces, linkPair, netnsUnavailable } from "../helpers/netns.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP gossip partition test: ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

const CHILD = join(import.meta.dir, "gossip-child.ts");

afterEach(cleanupNamespaces);

const is = (event: string, id?: unknown) => (l: Record<string, unknown>) => l.event === event && (id === undefined || l.id === id);

describe("membership - gossip partition", () => {
  nsTest(
    "a partition between two namespaces: each side sees the other offline and keeps its own, then the swarm merges again",
    async () => {
      const ns1 = Netns.create({ loopback: "up" });
      const ns2 = Netns.create({ loopback: "up" });
      linkPair(ns1, ns2, "syn-a", "syn-b", "192.0.2.1", "192.0.2.2");
      const common = { swarm: "lab", bind: "0.0.0.0", heartbeatInterval: 0.3, peerTimeout: 2 };
      const start = (ns: Netns, name: string, iface: string, seeds: string[]) => new JsonLines(ns.spawnBun(CHILD, [JSON.stringify({ ...common, name, interface: iface, seeds })]).stdout);
      const a1 = start(ns1, "a1", "syn-a", []);
      const ready1 = await a1.next(is("ready"), 10_000, "a1 ready");
      const seed = [`192.0.2.1:${ready1.port}`];
      const others = [start(ns1, "a2", "syn-a", seed), start(ns2, "b1", "syn-b", seed), start(ns2, "b2", "syn-b", seed)];
      const nodes = [a1, ...others];
      const ready = [ready1, ...(await Promise.all(others.map((n, i) => n.next(is("ready"), 10_000, `node ${i + 1} ready`))))];
      const ids = ready.map((r) => r.id);
      for (const [i, n] of nodes.entries()) {
        for (const id of ids) if (id !== ids[i]) await n.next(is("peer.joined", id), 15_000, `${ready[i]!.name} to know ${String(id).slice(0, 8)}`);
      }
      const sideOf = (i: number) => (i < 2 ? 0 : 1);
      // Liveness among them is SWIM's: every node probes, and owns the three others.
      for (const [i, n] of nodes.entries()) {
        await n.next((l) => l.event === "stats" && (l.probesSent as number) > 0 && (l.owned as string[]).length === 3, 15_000, `${ready[i]!.name} to probe by SWIM`);
      }

      ns1.ip(["link", "set", "syn-a", "down"]);
      for (const [i, n] of nodes.entries()) {
        for (const [j, id] of ids.entries()) if (sideOf(i) !== sideOf(j)) await n.next(is("peer.offline", id), 20_000, `${ready[i]!.name} to see ${ready[j]!.name} offline`);
      }
      const marks = nodes.map((n) => n.lines.length);

      ns1.ip(["link", "set", "syn-a", "up"]);
      for (const [i, n] of nodes.entries()) {
        for (const [j, id] of ids.entries()) if (sideOf(i) !== sideOf(j)) await n.next(is("peer.joined", id), 30_000, `${ready[i]!.name} to see ${ready[j]!.name} back`, marks[i]);
      }
      for (const [i, n] of nodes.entries()) {
        for (const [j, id] of ids.entries()) {
          if (i === j) continue;
          // Nodes of one side never lost each other; each node of the other side went offline once.
          expect(n.filter(is("peer.offline", id)).length).toBe(sideOf(i) === sideOf(j) ? 0 : 1);
        }
        expect(n.filter(is("fatal"))).toEqual([]);
      }
    },
    120_000,
  );
});
