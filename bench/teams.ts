/**
 * Teams: tasks per second through one team with W workers (W = 10, 50), offer to done, no-op
 * handlers. One process on loopback, full mesh, the nodes sharing one connection pool.
 *
 * Measured per scenario:
 *
 * - throughput: T tasks offered at once (`team.offer` for all of them), until `team.wait` resolved
 *   for every one: tasks per second. Workers take one task at a time (`concurrency: 1`, as a worker
 *   process usually does); every idle worker claims the offers it sees, so a task costs up to
 *   W + 3 conversation events, each gossiped through the swarm. Under the burst a gossip call can
 *   wait past its 10 s timeout (every node shares one thread here), and the event it carried is
 *   lost for that peer: the team's lease (10 s here) recovers the task, and `reoffered` counts them;
 * - latency: one task at a time, offer to done (median ms);
 * - the same handoff as direct calls, as the baseline, in the same run: T calls of a no-op endpoint
 *   from the team's node to the workers (round robin), all in flight at once (calls per second),
 *   and one call at a time (median ms). This is what exactly-once assignment costs over a plain
 *   call to a worker picked in advance.
 *
 * Two gossip settings, as in bench/broadcast.ts: `flood` (the default, as Python nodes do; W = 10
 * only, since each event costs about W^2 calls) and `fanout 3` (`conversationGossipFanout: 3`).
 *
 * Prints a table and writes `bench/results/teams.json`. `--quick` (or `BENCH_QUICK=1`): fewer
 * tasks.
 *
 * Run: `bun bench/teams.ts [--quick]`
 *
 * @module
 */
import { Client, Team, Worker, type Node } from "../src/index.ts";
import { median, settle, startSwarm } from "./broadcast.ts";
import { QUICK, printTable, round, watchdog, writeResults } from "./lib/harness.ts";

/** One scenario's numbers. */
export interface TeamsResult {
  workers: number;
  gossip: string;
  tasks: number;
  /** Tasks per second, T offered at once, offer to done. */
  tasksPerSec: number;
  /** One task at a time, offer to done, median ms. */
  taskLatencyMs: number;
  /** Conversation events the team's node stored per task. */
  eventsPerTask: number;
  /** Throughput tasks that needed more than one offer (an event lost under load costs a lease). */
  reoffered: number;
  /** Baseline: T direct calls all in flight, calls per second. */
  directCallsPerSec: number;
  /** Baseline: one direct call at a time, median ms. */
  directCallMs: number;
}

/** Measure one scenario: `workers` workers, `tasks` tasks, `sequential` one-at-a-time tasks. */
export async function measureTeams(workers: number, tasks: number, sequential: number, fanout?: number): Promise<TeamsResult> {
  const nodes = await startSwarm(workers, fanout); // node 0, the seed, is the team's
  const [boss, ...rest] = nodes as [Node, ...Node[]];
  // Under this load a gossip call can fail (every node shares one thread): a lost claim, grant or
  // done is recovered by the lease, as on a real network. A short one keeps such a stall short;
  // `reoffered` counts the tasks it hit.
  const team = new Team(boss, { lease: 10 });
  for (const node of rest) {
    new Worker(node, { concurrency: 1 }).task(() => null);
    node.endpoint("bench.task", () => null);
  }
  try {
    // Warm up connections and code paths.
    await Promise.all(Array.from({ length: 5 }, async (_, i) => team.wait(await team.offer(`warm ${i}`), { timeout: 60 })));
    await settle(nodes);

    let t = performance.now();
    const offered = await Promise.all(Array.from({ length: tasks }, (_, i) => team.offer(`task ${i}`)));
    await Promise.all(offered.map((task) => team.wait(task, { timeout: 300 })));
    const tasksPerSec = tasks / ((performance.now() - t) / 1000);
    await settle(nodes);
    let events = 0;
    for (const task of offered) events += (await boss.conversation(task.id)).length;

    const latencies: number[] = [];
    for (let i = 0; i < sequential; i++) {
      t = performance.now();
      await team.wait(await team.offer(`one ${i}`), { timeout: 60 });
      latencies.push(performance.now() - t);
      await settle(nodes);
    }

    const clients = rest.map((node) => new Client("127.0.0.1", node.port, { pool: boss.pool }));
    await Promise.all(clients.map((c) => c.call("bench.task")));
    t = performance.now();
    await Promise.all(Array.from({ length: tasks }, (_, i) => clients[i % clients.length]!.call("bench.task")));
    const directCallsPerSec = tasks / ((performance.now() - t) / 1000);
    const direct: number[] = [];
    for (let i = 0; i < sequential; i++) {
      t = performance.now();
      await clients[i % clients.length]!.call("bench.task");
      direct.push(performance.now() - t);
    }
    return {
      workers,
      gossip: fanout === undefined ? "flood" : `fanout ${fanout}`,
      tasks,
      tasksPerSec: round(tasksPerSec, 1),
      taskLatencyMs: round(median(latencies)),
      eventsPerTask: round(events / tasks, 1),
      reoffered: offered.filter((task) => task.attempt > 1).length,
      directCallsPerSec: round(directCallsPerSec, 1),
      directCallMs: round(median(direct)),
    };
  } finally {
    team.close();
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

/** Run every scenario, print the table, write the JSON; returns the results. */
export async function runTeamsBench(): Promise<TeamsResult[]> {
  const plan: Array<[number, number, number, number | undefined]> = QUICK
    ? [
        [10, 20, 3, undefined],
        [50, 10, 2, 3],
      ]
    : [
        [10, 200, 20, undefined],
        [10, 200, 20, 3],
        [50, 30, 5, 3],
      ];
  const results: TeamsResult[] = [];
  for (const [workers, tasks, sequential, fanout] of plan) {
    const result = await measureTeams(workers, tasks, sequential, fanout);
    console.error(`  W=${workers} ${result.gossip}: done`);
    results.push(result);
  }
  printTable(
    "teams: one team, W workers, no-op handlers, one process, loopback, full mesh",
    ["workers", "gossip", "tasks", "tasks/s (offer to done)", "re-offered", "task latency ms", "events/task", "direct calls/s", "direct call ms"],
    results.map((r) => [String(r.workers), r.gossip, r.tasks, r.tasksPerSec, r.reoffered, r.taskLatencyMs, r.eventsPerTask, r.directCallsPerSec, r.directCallMs]),
  );
  const summary = results.flatMap((r) => [
    { metric: `W=${r.workers} ${r.gossip}: tasks/s offer to done`, value: r.tasksPerSec, unit: "tasks/s" },
    { metric: `W=${r.workers} ${r.gossip}: baseline direct calls/s`, value: r.directCallsPerSec, unit: "calls/s" },
  ]);
  writeResults("teams", { scenarios: results }, summary);
  return results;
}

if (import.meta.main) {
  watchdog(QUICK ? 180 : 900);
  await runTeamsBench();
  process.exit(0);
}
