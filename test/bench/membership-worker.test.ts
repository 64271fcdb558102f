/**
 * bench/lib/membership-worker.ts: a worker's nodes join only when told to. The paced join
 * (`--join-rate`) paces the `join` command; nodes made with their seeds joined them by themselves
 * a heartbeat interval after `start` (seed discovery's rejoin round), so every node of the swarm
 * joined at once, before the paced joins began.
 */
import { afterEach, expect, test } from "bun:test";
import { join } from "node:path";
import { Node } from "../../src/index.ts";

const WORKER = join(import.meta.dir, "../../bench/lib/membership-worker.ts");

interface Answer {
  type: string;
  minKnown?: number;
  maxKnown?: number;
  message?: string;
}

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** The worker as a subprocess, asked one command at a time over IPC. */
function spawnWorker() {
  let waiting: ((a: Answer) => void) | null = null;
  const proc = Bun.spawn([process.execPath, WORKER], {
    stdout: "inherit",
    stderr: "inherit",
    ipc: (message: Answer) => {
      const w = waiting;
      waiting = null;
      w?.(message);
    },
  });
  cleanup.push(() => {
    proc.kill();
    return proc.exited;
  });
  const ask = (command: object, seconds = 20): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(command)} in ${seconds} s`)), seconds * 1000);
      waiting = (a) => {
        clearTimeout(timer);
        if (a.type === "error") reject(new Error(a.message));
        else resolve(a);
      };
      proc.send(command);
    });
  return { ask };
}

test("membership bench worker - started nodes stay unjoined until the join command, then join the seed", async () => {
  const options = { swarm: "bench-worker-test", heartbeatInterval: 0.2, peerTimeout: 2, membership: "gossip" as const };
  const seed = new Node({ ...options, bind: "127.0.0.1", name: "seed" });
  await seed.start();
  cleanup.push(() => seed.stop({ leave: false }));
  const worker = spawnWorker();
  await worker.ask({ type: "start", count: 3, seeds: [`127.0.0.1:${seed.port}`], options, name: "t0" });
  // Five heartbeat intervals: seed discovery's rejoin round would have joined the seed by now.
  await Bun.sleep(1000);
  const before = await worker.ask({ type: "status", heap: false });
  expect(before.maxKnown).toBe(0);
  expect(seed.membership.table.size).toBe(0);

  await worker.ask({ type: "join", rate: 0, index: 0, processes: 1 });
  const limit = Date.now() + 10_000;
  let after = await worker.ask({ type: "status", heap: false });
  while (after.minKnown !== 3 && Date.now() < limit) {
    await Bun.sleep(100);
    after = await worker.ask({ type: "status", heap: false });
  }
  // Each node knows the seed and the worker's two others.
  expect(after.minKnown).toBe(3);
  expect(seed.membership.table.size).toBe(3);
}, 30_000);
