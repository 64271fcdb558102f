/**
 * A process stopped and continued (a laptop's sleep, `SIGSTOP`, a long synchronous task) heard
 * nobody meanwhile: when it runs again, its timers come before it reads the heartbeats and
 * answers that arrived, and the reaper had dropped every peer it had (`peer.offline` for each,
 * then `peer.joined` a moment later). The seconds its event loop was blocked are no peer's silence
 * now (`Liveness.reap`, `LoopLag.stalledWithin`). The peers that did not stop see the stopped one
 * go offline and come back, as before. Here the stopped node is a real process, in mesh mode (a
 * heartbeat to every peer, as towards Python peers) and in gossip mode (SWIM's waits in its own
 * time).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Node } from "../../src/node.ts";
import type { Peer } from "../../src/types.ts";
import { JsonLines } from "../helpers/netns.ts";
import { eventually, record, startNode, stopAll } from "./fixtures.ts";

const CHILD = join(import.meta.dir, "gossip-child.ts");
const TIMING = { swarm: "lab", heartbeatInterval: 0.5, peerTimeout: 2 };

const children: Bun.Subprocess[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode !== null) continue;
    c.kill("SIGCONT");
    c.kill("SIGKILL");
  }
  await stopAll();
});

describe("membership - this process stopped and continued", () => {
  for (const mode of ["mesh", "gossip"] as const) {
    test(`${mode}: the stopped node drops none of its peers; they see it go and come back`, async () => {
      const a = await startNode({ ...TIMING, name: "a", membership: mode });
      const b = await startNode({ ...TIMING, name: "b", membership: mode, seeds: [`127.0.0.1:${a.port}`] });
      await b.join();
      const child = Bun.spawn([process.execPath, CHILD, JSON.stringify({ ...TIMING, name: "sleeper", bind: "127.0.0.1", membership: mode, seeds: [`127.0.0.1:${a.port}`] })], { stdout: "pipe", stderr: "inherit" });
      children.push(child);
      const lines = new JsonLines(child.stdout);
      const sleeper = (await lines.next((l) => l.event === "ready", 10_000, "the sleeper ready")).id as string;
      const survivors: Node[] = [a, b];
      await eventually(() => survivors.every((n) => n.peers.has(sleeper)), 10_000, "the sleeper known at a and b");
      await eventually(() => ["a", "b"].every((name) => lines.lines.some((l) => l.event === "peer.joined" && l.name === name)), 10_000, "a and b known at the sleeper");
      const offline = record<Peer>((fn) => survivors.forEach((n) => n.on("peer.offline", fn)));
      const mark = lines.lines.length;
      child.kill("SIGSTOP");
      await eventually(() => offline.filter((p) => p.id === sleeper).length === 2, 15_000, "the sleeper offline at a and b");
      await Bun.sleep(1_000); // stopped for well over a peer timeout
      child.kill("SIGCONT");
      await eventually(() => survivors.every((n) => n.peers.has(sleeper)), 10_000, "the sleeper back at a and b");
      // Three peer timeouts of running again: time enough for any reap of the sleeper's own.
      await Bun.sleep(3 * TIMING.peerTimeout * 1000);
      const after = lines.lines.slice(mark);
      expect(after.filter((l) => l.event === "peer.offline" || l.event === "peer.suspect").map((l) => `${String(l.event)} ${String(l.name)}`)).toEqual([]);
      expect(lines.lines.some((l) => l.event === "fatal")).toBe(false);
      expect(survivors.every((n) => n.peers.has(sleeper))).toBe(true);
      expect(offline.every((p) => p.id === sleeper)).toBe(true);
    }, 60_000);
  }
});
