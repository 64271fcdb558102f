/**
 * A swarm command leaves the swarm when it ends: the Bun peers it called drop its node at once
 * (`_synapse.leave`), not after their peer timeout (issue #9: "four stale `sn-*` peers after three
 * commands").
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { Peer } from "../../src/types.ts";
import { eventually, startNode, stopAll } from "../helpers/net.ts";
import { killAll, sn } from "./run-sn.ts";

afterEach(async () => {
  await killAll();
  await stopAll();
});

const SWARM = "cli-leave";

describe("cli - swarm commands leave when they end", () => {
  test("after three commands the seed lists none of their nodes, each dropped with one peer.offline", async () => {
    // A peer timeout of ten minutes: a drop seen here can only come from the commands' leaves.
    const seed = await startNode({ name: "seed", swarm: SWARM, heartbeatInterval: null, peerTimeout: 600 });
    seed.endpoint("synapse.message", (message: string) => `got ${message}`);
    const joined: Peer[] = [];
    const offline: Peer[] = [];
    seed.on("peer.joined", (p) => void joined.push(p));
    seed.on("peer.offline", (p) => void offline.push(p));
    const addr = `127.0.0.1:${seed.port}`;
    const runs = [
      ["broadcast", SWARM, "one", "--no-mdns", "--seed", addr, "--timeout", "0.3"],
      ["ask", SWARM, "two?", "--no-mdns", "--seed", addr, "--timeout", "0.3"],
      ["broadcast", SWARM, "three", "--no-mdns", "--seed", addr, "--timeout", "0.3", "--json"],
    ];
    for (const args of runs) {
      const before = joined.length;
      const r = await sn(args);
      expect(r.stderr).not.toContain("Error");
      expect(joined.length).toBe(before + 1);
      // The command's node is gone from the seed's table by the time (or very soon after) it exits.
      const id = joined.at(-1)!.id;
      await eventually(() => !seed.peers.has(id), 5000, `the seed to drop ${args[0]}'s node`);
    }
    expect(seed.peers.size).toBe(0);
    expect(offline.map((p) => p.id).sort()).toEqual(joined.map((p) => p.id).sort());
  }, 60_000);
});
