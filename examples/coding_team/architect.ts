/**
 * The architect: splits the request into one task per function, offers each task to the team
 * (`Team.offer`), follows the task life cycle through the node's `team.task.*` events, waits for
 * every result (`Team.wait`) and assembles the module the coders wrote.
 *
 *     bun examples/coding_team/architect.ts [--coders N] [--out DIR] [--lease SECONDS]
 *
 * It listens on 127.0.0.1 on a free port, prints `architect listening on 127.0.0.1:<port>` for the
 * coders' seed, waits until `--coders` coders (default 1) have joined, offers the tasks, and exits
 * 0 once every task is done (1 when a task failed or a step timed out). Coders that join later
 * take part too: they receive the re-offers of the tasks that are still open when a lease runs out.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Node, Team, TeamTaskError, type TeamTask } from "../../src/index.ts";
import { REQUEST, plan } from "./plan.ts";

const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : undefined;
};
const coders = Number(option("coders") ?? "1");
const out = option("out");
const lease = Number(option("lease") ?? "1");

// Bounded: a step that does not complete in time ends the program with status 1.
const guard = setTimeout(() => fail("still running after 30 s, giving up"), 30_000);

const node = new Node({ name: "architect", role: "splits requests into tasks", swarm: "coding", bind: "127.0.0.1", port: 0, heartbeatInterval: null });
await node.start();
say(`architect listening on 127.0.0.1:${node.port}`);

// Wait for the coders to join (they seed through this node).
const joined = Date.now();
while (node.peers.size < coders) {
  if (Date.now() - joined > 15_000) fail(`only ${node.peers.size} of ${coders} coders joined`);
  await Bun.sleep(20);
}
say(`coders so far: ${[...node.peers.values()].map((p) => `${p.name} (${p.capabilities.join(", ")})`).sort().join(", ")}`);

// A short lease so that a coder that dies is noticed within a second; a real team keeps the
// default (300 s) and lets its workers' heartbeats renew it.
const team = new Team(node, { lease, maxAttempts: 5 });
const name = (task: TeamTask) => String(task.spec.function);
node.on("team.task.offered", ({ task }) => say(`offered ${name(task)} (attempt ${task.attempt})`));
node.on("team.task.granted", ({ task }) => say(`granted ${name(task)} to ${task.assignee?.name}`));
node.on("team.task.progress", ({ task }) => say(`progress on ${name(task)}: ${task.progress.at(-1)?.message}`));
node.on("team.task.done", ({ task }) => say(`done ${name(task)} by ${task.assignee?.name} (attempt ${task.attempt})`));
node.on("team.task.failed", ({ task }) => say(`failed ${name(task)}: ${task.error}`));

say(`request: ${REQUEST}`);
const tasks = await Promise.all(plan().map((spec) => team.offer(`write ${spec.function}`, { spec, requires: ["typescript"] })));

const sources: string[] = [];
try {
  for (const task of tasks) {
    const result = (await team.wait(task, { timeout: 20 })) as { source: string };
    sources.push(`export ${result.source}`);
  }
} catch (error) {
  fail(error instanceof TeamTaskError ? `${error.message} (${error.code})` : String(error));
}

const module = `// ${REQUEST}\n// Written by the coding team: one function per task.\n\n${sources.join("\n\n")}\n`;
if (out) {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "toolkit.ts"), module);
  say(`wrote ${join(out, "toolkit.ts")} (${sources.length} functions)`);
} else {
  say(`the module (${sources.length} functions):\n${module}`);
}
const reoffered = tasks.filter((t) => t.attempt > 1).map(name);
say(`re-offered after a lease ran out: ${reoffered.length ? reoffered.join(", ") : "none"}`);
team.close();
await node.stop();
clearTimeout(guard);
say("architect done");

function say(line: string): void {
  console.log(line);
}

function fail(why: string): never {
  console.error(`architect: ${why}`);
  process.exit(1);
}
