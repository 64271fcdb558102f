/**
 * `team.wait` with a timeout against this process's own stall: a task's result that arrived while
 * the team's event loop was blocked past the wait's timeout is taken (the verdict waits for the
 * socket reads of its turn: `util/turn.ts`), not a `TeamTaskError` of code `timeout`. The worker
 * is a process of its own, so that it finishes during the block.
 */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { Team } from "../../src/index.ts";
import { JsonLines } from "../helpers/netns.ts";
import { eventually, startNode, stopAll } from "./helpers.ts";

const CHILD = join(import.meta.dir, "worker-child.ts");
const children: Bun.Subprocess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await stopAll();
});

const busy = (ms: number): void => {
  const t = performance.now();
  while (performance.now() - t < ms) {
    // the event loop is blocked
  }
};

test("a result that arrived while the team's loop was blocked past the wait's timeout is taken", async () => {
  const boss = await startNode({ name: "boss", swarm: "teams", heartbeatInterval: null });
  const child = Bun.spawn([process.execPath, CHILD, `127.0.0.1:${boss.port}`], { stdout: "pipe", stderr: "inherit" });
  children.push(child);
  const hand = (await new JsonLines(child.stdout).next((l) => l.event === "ready", 10_000, "the worker joined")).id as string;
  await eventually(() => boss.peers.has(hand), 5_000, "the worker known to the boss");
  const team = new Team(boss, { lease: 30 });
  // The worker finishes 50 ms after its progress report; the boss's loop is blocked from the
  // report for 1 s, past the wait's timeout.
  boss.on("team.task.progress", () => busy(1000));
  for (let round = 0; round < 2; round++) {
    const task = await team.offer(`task ${round}`);
    expect(await team.wait(task, { timeout: 0.3 })).toBe(`done: task ${round}`);
  }
  team.close();
}, 30_000);
