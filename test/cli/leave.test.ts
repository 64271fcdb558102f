/**
 * A swarm command leaves the swarm when it ends: the Bun peers it called drop its node at once
 * (`_synapse.leave`), not after their peer timeout (issue #9: "four stale `sn-*` peers after three
 * commands").
 */
import { afterEach, describe, expect, test } from "bun:test";
import { Client } from "../../src/rpc/client.ts";
import type { Peer } from "../../src/types.ts";
import { eventually, sleep, startNode, stopAll } from "../helpers/net.ts";
import { killAll, sn, SnStream } from "./run-sn.ts";

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

  test("`sn watch` leaves too when it stops: the seed drops it at once", async () => {
    const seed = await startNode({ name: "seed", swarm: SWARM, heartbeatInterval: null, peerTimeout: 600 });
    const joined: Peer[] = [];
    const offline: Peer[] = [];
    seed.on("peer.joined", (p) => void joined.push(p));
    seed.on("peer.offline", (p) => void offline.push(p));
    // --duration rather than a signal: the stop is the same (node.stop()), and its moment is the command's own.
    const r = await sn(["watch", SWARM, "--no-mdns", "--seed", `127.0.0.1:${seed.port}`, "--json", "--duration", "1"]);
    expect(r.code).toBe(0);
    expect(joined.length).toBe(1);
    await eventually(() => !seed.peers.has(joined[0]!.id), 5000, "the seed to drop the watcher");
    expect(offline.map((p) => p.id)).toEqual([joined[0]!.id]);
  }, 60_000);

  test("Ctrl+C while the command is still joining: it leaves the seeds that know it, then exits 130", async () => {
    const seed = await startNode({ name: "seed", swarm: SWARM, heartbeatInterval: null, peerTimeout: 600 });
    // A second seed that accepts the connection and never answers: the join waits for it.
    const hole = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const joined: Peer[] = [];
      seed.on("peer.joined", (p) => void joined.push(p));
      const watch = SnStream.start(["watch", SWARM, "--no-mdns", "--seed", `127.0.0.1:${seed.port}`, "--seed", `127.0.0.1:${hole.port}`, "--json"]);
      await eventually(() => joined.length === 1, 10_000, "the command's node to join the seed");
      // The seed knows the node once the join arrived; the node knows the seed once it read the
      // answer: ask it (only a peer it knows is told it leaves).
      const node = new Client("127.0.0.1", joined[0]!.port, { timeout: 5 });
      const deadline = Date.now() + 10_000;
      while (!(await node.call<Peer[]>("_synapse.peers")).some((p) => p.id === seed.id)) {
        if (Date.now() > deadline) throw new Error("the command's node never knew the seed");
        await sleep(20);
      }
      expect(watch.records.some((r) => r.event === "watch.started")).toBe(false); // still joining
      watch.signal("SIGINT");
      expect((await watch.exit(10_000)).code).toBe(130);
      await eventually(() => !seed.peers.has(joined[0]!.id), 5000, "the seed to drop the interrupted command's node");
    } finally {
      hole.stop(true);
    }
  }, 60_000);
});
