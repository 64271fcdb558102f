/**
 * `sn list-swarms` and `sn watch` over mDNS, only inside a network namespace created (and deleted)
 * here: the nodes are the mDNS tests' child processes, `sn` runs in the same namespace. Skipped,
 * with the reason, without root or `ip`.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { groupSwarms, listingLines } from "../../src/cli/list-swarms.ts";
import { JsonLines, Netns, cleanupNamespaces, netnsUnavailable } from "../helpers/netns.ts";
import { ROOT } from "./run-sn.ts";

const unavailable = netnsUnavailable();
if (unavailable) console.warn(`SKIP cli list-swarms over mDNS: ${unavailable}`);
const nsTest = unavailable ? test.skip : test;

const CHILD = join(ROOT, "test", "membership", "mdns-child.ts");
const MAIN = join(ROOT, "src", "cli", "main.ts");

afterEach(cleanupNamespaces);

describe("cli list-swarms - grouping and text", () => {
  test("swarms and teams sorted; the default team unnamed; a missing swarm as -", () => {
    const swarms = groupSwarms([
      ["b-1._synapse._tcp.local", { id: "1", name: "bo", swarm: "lab", team: "default" }],
      ["a-2._synapse._tcp.local", { id: "2", name: "al", swarm: "lab", team: "default", capabilities: "x,y" }],
      ["c-3._synapse._tcp.local", { id: "3", name: "cy", swarm: "lab", team: "kitchen" }],
      ["d-4._synapse._tcp.local", { id: "4", name: "di", swarm: "" }],
      ["d-4-again._synapse._tcp.local", { id: "4", name: "di", swarm: "" }],
      ["e-5._synapse._tcp.local", { id: "5", name: "ed", swarm: "alpha" }],
    ]);
    expect(swarms.map((s) => [s.swarm, s.team, s.nodes.map((n) => n.name)])).toEqual([
      [null, "default", ["di"]],
      ["alpha", "default", ["ed"]],
      ["lab", "default", ["al", "bo"]],
      ["lab", "kitchen", ["cy"]],
    ]);
    expect(swarms[2]!.nodes[0]).toEqual({ id: "2", name: "al", kind: "node", capabilities: ["x", "y"] });
    expect(listingLines(swarms)).toEqual(["-  (1 node)", "  - di", "alpha  (1 node)", "  - ed", "lab  (2 nodes)", "  - al", "  - bo", "lab / kitchen  (1 node)", "  - cy"]);
    expect(listingLines([])).toEqual(["no local Synapse swarms found"]);
  });
});

describe("cli list-swarms - over mDNS in a namespace", () => {
  nsTest(
    "lists each swarm with its teams, node count and names; --json too; nothing found is said",
    async () => {
      const ns = Netns.create();
      const empty = ns.spawnBun(MAIN, ["list-swarms", "--seconds", "0.5"], { NO_COLOR: "1" });
      expect(await new Response(empty.stdout).text()).toBe("no local Synapse swarms found\n");
      expect(await empty.exited).toBe(0);

      const nodes = [
        { name: "ana", swarm: "lab" },
        { name: "ben", swarm: "lab" },
        { name: "cook", swarm: "lab", team: "kitchen" },
        { name: "solo", swarm: "other" },
      ].map((config) => {
        const proc = ns.spawnBun(CHILD, ["node", JSON.stringify({ ...config, bind: "0.0.0.0", mdns: { hostName: "box" } })]);
        return new JsonLines(proc.stdout);
      });
      // A node advertised the way the Python package does (its TXT keys only, zeroconf host name).
      const python = ns.spawnBun(CHILD, ["python", JSON.stringify({ name: "pyworker", swarm: "other", bind: "0.0.0.0" })]);
      nodes.push(new JsonLines(python.stdout));
      for (const lines of nodes) await lines.next((l) => l.event === "ready", 10_000, "a node ready");

      const text = ns.spawnBun(MAIN, ["list-swarms", "-s", "2"], { NO_COLOR: "1" });
      const stdout = await new Response(text.stdout).text();
      expect(await text.exited).toBe(0);
      expect(stdout).toBe("lab  (2 nodes)\n  - ana\n  - ben\nlab / kitchen  (1 node)\n  - cook\nother  (2 nodes)\n  - pyworker\n  - solo\n");

      const json = ns.spawnBun(MAIN, ["list-swarms", "--seconds", "2", "--json"], { NO_COLOR: "1" });
      const listed = JSON.parse(await new Response(json.stdout).text()) as Array<{ swarm: string; team: string; nodes: Array<{ name: string; kind: string }> }>;
      expect(listed.map((s) => `${s.swarm}/${s.team}:${s.nodes.map((n) => n.name).join(",")}`)).toEqual(["lab/default:ana,ben", "lab/kitchen:cook", "other/default:pyworker,solo"]);
      expect(listed[0]!.nodes[0]!.kind).toBe("node");
    },
    60_000,
  );

  nsTest(
    "swarm commands use mDNS by default: `sn watch lab` with no seed finds the swarm's nodes, not the others",
    async () => {
      const ns = Netns.create();
      const nodes = ["ana", "ben"].map((name) => new JsonLines(ns.spawnBun(CHILD, ["node", JSON.stringify({ name, swarm: "lab", bind: "0.0.0.0", mdns: { hostName: "box" } })]).stdout));
      nodes.push(new JsonLines(ns.spawnBun(CHILD, ["node", JSON.stringify({ name: "stranger", swarm: "other", bind: "0.0.0.0", mdns: { hostName: "box" } })]).stdout));
      for (const lines of nodes) await lines.next((l) => l.event === "ready", 10_000, "a node ready");
      const watch = new JsonLines(ns.spawnBun(MAIN, ["watch", "lab", "--json", "--duration", "6"], { NO_COLOR: "1" }).stdout);
      const started = await watch.next((l) => l.event === "watch.started", 10_000, "watch.started");
      expect(started).toMatchObject({ swarm: "lab", team: "default" });
      const names = new Set<string>();
      for (const name of ["ana", "ben"]) {
        const joined = await watch.next((l) => l.event === "peer.joined" && (l.peer as { name: string }).name === name, 10_000, `${name} joining`);
        names.add((joined.peer as { name: string }).name);
      }
      expect([...names].sort()).toEqual(["ana", "ben"]);
      expect(watch.filter((l) => l.event === "peer.joined" && (l.peer as { name: string }).name === "stranger")).toEqual([]);
    },
    60_000,
  );
});
